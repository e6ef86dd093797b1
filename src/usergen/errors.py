"""The one error type the CLI reports: a message for the user and an exit code."""


class UsergenError(Exception):
    """Something the user can fix; ``str(error)`` says what and how."""

    exit_code = 1


class UsageError(UsergenError):
    """A bad argument or option."""

    exit_code = 2
