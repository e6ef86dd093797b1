"""OpenAPI descriptions shared by the routers, so every status a route can return is documented."""

from typing import Any

from fastapi import status

from ..error_codes import ErrorCode, ErrorModel
from ..table import users

OpenAPIResponses = dict[int | str, dict[str, Any]]

UNAUTHORIZED: OpenAPIResponses = {
    status.HTTP_401_UNAUTHORIZED: {
        "description": "Missing, expired or revoked token, or inactive user."
    }
}
FORBIDDEN: OpenAPIResponses = {status.HTTP_403_FORBIDDEN: {"description": "Not a superuser."}}
NOT_FOUND: OpenAPIResponses = {
    status.HTTP_404_NOT_FOUND: {"description": "The user does not exist."}
}

ACCEPTED_EITHER_WAY: OpenAPIResponses = {
    status.HTTP_202_ACCEPTED: {
        "description": "Accepted, whether or not a message is sent: the answer does not "
        "tell which addresses have an account."
    }
}
UNPARSABLE_BODY: OpenAPIResponses = {
    status.HTTP_400_BAD_REQUEST: {"description": "The body could not be parsed."}
}
TOO_MANY_REQUESTS: OpenAPIResponses = {
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "description": "Too many attempts (from this client address, or for this email "
        "address where the route takes one); retry after the number of seconds in the "
        "Retry-After header.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}
SERVICE_UNAVAILABLE: OpenAPIResponses = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "description": "The database (or Redis) cannot be reached, or too many passwords wait "
        "to be hashed, right now; retry later.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}


def bad_request(examples: dict[ErrorCode, tuple[str, str | dict[str, str]]]) -> OpenAPIResponses:
    """A documented 400 with one example per error code: code → (summary, detail)."""
    return {
        status.HTTP_400_BAD_REQUEST: {
            "model": ErrorModel,
            "content": {
                "application/json": {
                    "examples": {
                        code: {"summary": summary, "value": {"detail": detail}}
                        for code, (summary, detail) in examples.items()
                    }
                }
            },
        }
    }


def invalid_password(code: ErrorCode) -> tuple[str, dict[str, str]]:
    """The example of a refused password under ``code``."""
    return (
        "Password validation failed.",
        {"code": code, "reason": "Password should be at least 8 characters"},
    )


def value_taken(code: ErrorCode) -> dict[ErrorCode, tuple[str, str | dict[str, str]]]:
    """The example of a value another user already has in a unique field, under ``code``,
    naming one of this app's unique fields; none if it has no unique field but the email."""
    # The email's uniqueness lives in normalized_email and has error codes of its own.
    fields = [
        column.name
        for column in users.columns
        if column.unique and column.name not in {"email", "normalized_email"}
    ]
    if not fields:
        return {}
    return {code: ("Another user has this value.", {"code": code, "field": fields[0]})}
