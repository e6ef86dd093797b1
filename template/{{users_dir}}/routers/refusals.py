"""The manager's refusals answered as FastAPI Users answers them: a 400 with the error code."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import HTTPException, status

from ..error_codes import ErrorCode
from ..exceptions import InvalidPasswordException, UserValueTaken


@contextmanager
def refused_as_400(codes: Mapping[type[Exception], ErrorCode]) -> Iterator[None]:
    """Answer the exceptions ``codes`` names with a 400 whose detail is their error code, so
    every route words a refusal the same way."""
    try:
        yield
    except tuple(codes) as error:
        code = next(codes[refusal] for refusal in codes if isinstance(error, refusal))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=detail(code, error)) from None


def detail(code: ErrorCode, error: Exception) -> str | dict[str, str]:
    """The code alone, or with what the client needs to correct its request: the reason a
    password is refused, or the field whose value another user has."""
    if isinstance(error, InvalidPasswordException):
        return {"code": code, "reason": error.reason}
    if isinstance(error, UserValueTaken):
        return {"code": code, "field": error.field}
    return code
