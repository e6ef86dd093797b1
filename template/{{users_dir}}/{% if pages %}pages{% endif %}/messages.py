"""What the pages say: the API's refusals as sentences, and the notices after a form succeeds.
Edit the wording here."""

from fastapi import HTTPException, status

from ..error_codes import ErrorCode

# Refusals worded alike wherever they come from.
PASSWORD_NOT_ALLOWED = ("password", "This password is not allowed.")
VALUE_TAKEN = ("form", "Another account has this value.")

# The API's error codes as the pages word them, and the form field each belongs to.
REFUSALS: dict[str, tuple[str, str]] = {
    ErrorCode.REGISTER_USER_ALREADY_EXISTS: ("email", "An account with this email exists."),
    ErrorCode.REGISTER_INVALID_PASSWORD: PASSWORD_NOT_ALLOWED,
    ErrorCode.REGISTER_VALUE_ALREADY_EXISTS: VALUE_TAKEN,
    ErrorCode.LOGIN_BAD_CREDENTIALS: ("form", "Wrong email or password."),
    ErrorCode.LOGIN_USER_NOT_VERIFIED: (
        "form",
        "Verify your email address first: follow the link we sent you.",
    ),
    ErrorCode.RESET_PASSWORD_BAD_TOKEN: (
        "form",
        "This link is invalid, has expired or was used already. Ask for a new one.",
    ),
    ErrorCode.RESET_PASSWORD_INVALID_PASSWORD: PASSWORD_NOT_ALLOWED,
    ErrorCode.VERIFY_USER_BAD_TOKEN: (
        "form",
        "This link is invalid or has expired, or your email address changed since it was sent.",
    ),
    ErrorCode.VERIFY_USER_ALREADY_VERIFIED: ("form", "Your email address is verified already."),
    ErrorCode.UPDATE_USER_EMAIL_ALREADY_EXISTS: ("email", "Another account has this email."),
    ErrorCode.UPDATE_USER_INVALID_PASSWORD: PASSWORD_NOT_ALLOWED,
    ErrorCode.UPDATE_USER_VALUE_ALREADY_EXISTS: VALUE_TAKEN,
    ErrorCode.UPDATE_USER_BAD_CURRENT_PASSWORD: (
        "current_password",
        "Your current password is not right.",
    ),
}

# Shown once after a form succeeds: the page it leads to gets ``?done=KEY``.
NOTICES = {
    "signed-up": "Welcome! We sent you a link to verify your email address.",
    "signed-up-verify": "We sent you a link to verify your email address: follow it, then log in.",
    "logged-out": "You are logged out.",
    "verify-sent": "If an account has this address and it is not verified yet, we sent it a "
    "new link to verify it.",
    "verify-first": "Verify your email address first: follow the link we sent you, or ask for a "
    "new one here.",
    "reset-sent": "If an account has this email address, we sent it a link to choose a new "
    "password.",
    "password-reset": "Your password is changed. Log in with it.",
    "password-changed": "Your password is changed, and every session ended. Log in again.",
    "email-changed": "Your email address is changed. We sent a verification link to it.",
    "saved": "Saved.",
    "session-ended": "The session is ended.",
    "others-ended": "Every other session is ended.",
}


def refusal_message(refusal: HTTPException) -> tuple[str, str]:
    """The form field a refusal of the API belongs to ("form" for the whole form), and what to
    tell the user."""
    if refusal.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        retry = (refusal.headers or {}).get("Retry-After", "a few")
        return "form", f"Too many attempts. Try again in {retry} seconds."
    detail = refusal.detail
    code = detail.get("code", "") if isinstance(detail, dict) else str(detail)
    field, message = REFUSALS.get(code, ("form", "That did not work. Try again."))
    if isinstance(detail, dict) and "reason" in detail:
        message = f"{message} {detail['reason']}"
    if isinstance(detail, dict) and "field" in detail:
        field = detail["field"]
    return field, message
