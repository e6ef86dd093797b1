"""Exception handlers of the app: 503 while a backing service is unreachable or too many
passwords wait to be hashed, and 405 answers that list every allowed method."""

import re

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from limits.errors import StorageError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from .db import is_unavailable, unavailable_error_types
from .users.passwords import HashingBusy


async def service_unavailable(request: Request, error: Exception) -> Response:
    """Answer 503 while the database or Redis cannot be reached, so clients retry instead of
    waiting; any other error stays a 500."""
    if not (isinstance(error, StorageError) or is_unavailable(error)):
        raise error
    return JSONResponse(
        {"detail": "Service temporarily unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def hashing_busy(request: Request, error: Exception) -> Response:
    """Answer 503 when too many password hashes wait already: the client retries shortly
    instead of waiting in a queue that only grows."""
    return JSONResponse(
        {"detail": "Service temporarily unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


def allowed_methods(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """Each documented path (as a pattern) with its methods, read once from the OpenAPI schema."""
    table: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = [
            (compile_path(path)[0], ", ".join(sorted(method.upper() for method in operations)))
            for path, operations in app.openapi()["paths"].items()
        ]
        app.state.allowed_methods = table
    return table


async def method_not_allowed(request: Request, error: Exception) -> Response:
    """Starlette's 405 names the methods of the first route of the path only (GET for
    /users/me, though PATCH works too); HTTP wants Allow to list them all."""
    assert isinstance(error, HTTPException)
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        for pattern, methods in allowed_methods(request.app):
            if pattern.match(request.url.path):
                error.headers = {**(error.headers or {}), "Allow": methods}
                break
    return await http_exception_handler(request, error)


def add_exception_handlers(app: FastAPI) -> None:
    for error_type in (*unavailable_error_types(), StorageError):
        app.add_exception_handler(error_type, service_unavailable)
    app.add_exception_handler(HashingBusy, hashing_busy)
    app.add_exception_handler(HTTPException, method_not_allowed)
