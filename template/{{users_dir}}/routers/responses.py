"""OpenAPI descriptions shared by the routers, so every status a route can return is documented."""

from typing import Any

from fastapi import status

from ..error_codes import ErrorCode, ErrorModel
from ..table import users

OpenAPIResponses = dict[int | str, dict[str, Any]]
# A 400's documented examples: code → its summary (the detail is the code itself), or
# code → (summary, detail).
Example = str | tuple[str, str | dict[str, str]]
ErrorExamples = dict[ErrorCode, Example]

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}}}


def described(code: int, description: str, **more: Any) -> OpenAPIResponses:
    """A documented status: ``code`` with its ``description`` (and ``more``, such as headers)."""
    return {code: {"description": description, **more}}


UNAUTHORIZED = described(
    status.HTTP_401_UNAUTHORIZED, "Missing, expired or revoked token, or inactive user."
)
FORBIDDEN = described(status.HTTP_403_FORBIDDEN, "Not a superuser.")
NOT_FOUND = described(status.HTTP_404_NOT_FOUND, "The user does not exist.")
SUPERUSER_ONLY: OpenAPIResponses = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}

ACCEPTED_EITHER_WAY = described(
    status.HTTP_202_ACCEPTED,
    "Accepted, whether or not a message is sent: the answer does not tell which addresses "
    "have an account.",
)
UNPARSABLE_BODY = described(status.HTTP_400_BAD_REQUEST, "The body could not be parsed.")
TOO_MANY_REQUESTS = described(
    status.HTTP_429_TOO_MANY_REQUESTS,
    "Too many attempts (from this client address, or for this email address where the route "
    "takes one); retry after the number of seconds in the Retry-After header.",
    headers=RETRY_AFTER,
)
SERVICE_UNAVAILABLE = described(
    status.HTTP_503_SERVICE_UNAVAILABLE,
    "The database (or Redis) cannot be reached, or too many passwords wait to be hashed, "
    "right now; retry later.",
    headers=RETRY_AFTER,
)
# The routes that take an email address and send a link to it, if it has an account.
LINK_REQUESTED: OpenAPIResponses = {**ACCEPTED_EITHER_WAY, **UNPARSABLE_BODY, **TOO_MANY_REQUESTS}


def bad_request(examples: ErrorExamples) -> OpenAPIResponses:
    """A documented 400 with one example per error code."""
    return {
        status.HTTP_400_BAD_REQUEST: {
            "model": ErrorModel,
            "content": {
                "application/json": {
                    "examples": {
                        code: example(code, summary_and_detail)
                        for code, summary_and_detail in examples.items()
                    }
                }
            },
        }
    }


def example(code: ErrorCode, summary_and_detail: Example) -> dict[str, Any]:
    """The example of ``code``: its summary, and a body whose detail is the code itself
    unless a detail is given."""
    if isinstance(summary_and_detail, str):
        return {"summary": summary_and_detail, "value": {"detail": code}}
    summary, detail = summary_and_detail
    return {"summary": summary, "value": {"detail": detail}}


def invalid_password(code: ErrorCode) -> ErrorExamples:
    """The example of a refused password under ``code``."""
    reason = "Password should be at least 8 characters"
    return {code: ("Password validation failed.", {"code": code, "reason": reason})}


def value_taken(code: ErrorCode) -> ErrorExamples:
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
