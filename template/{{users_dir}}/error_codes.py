"""Error codes in the `detail` of 400 responses (the same strings FastAPI Users sends), and the
body that carries them. The exceptions they answer are in exceptions.py."""

from enum import StrEnum

from pydantic import BaseModel


class ErrorCode(StrEnum):
    REGISTER_INVALID_PASSWORD = "REGISTER_INVALID_PASSWORD"
    REGISTER_USER_ALREADY_EXISTS = "REGISTER_USER_ALREADY_EXISTS"
    # Not in FastAPI Users: a unique field other than email is taken ({"code", "field"}).
    REGISTER_VALUE_ALREADY_EXISTS = "REGISTER_VALUE_ALREADY_EXISTS"
    LOGIN_BAD_CREDENTIALS = "LOGIN_BAD_CREDENTIALS"
    LOGIN_USER_NOT_VERIFIED = "LOGIN_USER_NOT_VERIFIED"
    RESET_PASSWORD_BAD_TOKEN = "RESET_PASSWORD_BAD_TOKEN"
    RESET_PASSWORD_INVALID_PASSWORD = "RESET_PASSWORD_INVALID_PASSWORD"
    VERIFY_USER_BAD_TOKEN = "VERIFY_USER_BAD_TOKEN"
    VERIFY_USER_ALREADY_VERIFIED = "VERIFY_USER_ALREADY_VERIFIED"
    UPDATE_USER_EMAIL_ALREADY_EXISTS = "UPDATE_USER_EMAIL_ALREADY_EXISTS"
    UPDATE_USER_INVALID_PASSWORD = "UPDATE_USER_INVALID_PASSWORD"
    UPDATE_USER_VALUE_ALREADY_EXISTS = "UPDATE_USER_VALUE_ALREADY_EXISTS"
    # Not in FastAPI Users: an email or password change without the right current password.
    UPDATE_USER_BAD_CURRENT_PASSWORD = "UPDATE_USER_BAD_CURRENT_PASSWORD"
    # Not in FastAPI Users (nor is GET /users): a cursor the user list did not give out.
    LIST_USERS_BAD_CURSOR = "LIST_USERS_BAD_CURSOR"


class ErrorModel(BaseModel):
    """The body of an error response: a code, or a code with the reason a password was refused."""

    detail: str | dict[str, str]
