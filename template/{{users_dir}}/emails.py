"""The emails of the account flows: subject and plain-text body, with the link to follow.

Edit the wording here; `UserManager.on_after_request_verify` and `on_after_forgot_password`
decide when those two are sent, `UserManager.update` when the notices of a change are.
"""

from urllib.parse import urlencode


def link(frontend_url: str, path: str, token: str) -> str:
    """The front end's page at ``path``, given the token in its query string."""
    return f"{frontend_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def verification(url: str, lifetime_seconds: int) -> tuple[str, str]:
    return (
        "Verify your email address",
        f"Open this link to verify your email address:\n\n{url}\n\n"
        f"It works for {_duration(lifetime_seconds)}. "
        "If you did not create an account, ignore this message.\n",
    )


def password_reset(url: str, lifetime_seconds: int) -> tuple[str, str]:
    return (
        "Reset your password",
        f"Open this link to choose a new password:\n\n{url}\n\n"
        f"It works once, for {_duration(lifetime_seconds)}. "
        "If you did not ask for it, ignore this message: your password stays as it is.\n",
    )


def password_changed() -> tuple[str, str]:
    return (
        "Your password was changed",
        "The password of your account was just changed. If you did not do it, reset your "
        "password now and check your account.\n",
    )


def email_changed(new_email: str) -> tuple[str, str]:
    return (
        "Your email address was changed",
        f"The email address of your account was just changed to {new_email}. If you did not "
        "do it, contact us now.\n",
    )


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
