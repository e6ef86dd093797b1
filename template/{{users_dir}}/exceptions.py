"""What can go wrong with users: the exceptions the manager raises, which the routers answer
with FastAPI Users' error codes (error_codes.py)."""


class UserError(Exception):
    """Base of the user errors."""


class UserAlreadyExists(UserError):
    """Another account has this email (compared without regard to case)."""


class UserValueTaken(UserError):
    """Another account has this value in a unique column other than email; ``field`` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class UserNotExists(UserError):
    """No account matches."""


class UserInactive(UserError):
    """The account is deactivated."""


class UserAlreadyVerified(UserError):
    """The email address is verified already."""


class InvalidVerifyToken(UserError):
    """The verification token is malformed, expired, or for another user or email."""


class InvalidResetPasswordToken(UserError):
    """The reset token is malformed, expired, or already used (the password changed since)."""


class InvalidPasswordException(UserError):
    """The password does not meet the policy; ``reason`` says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
