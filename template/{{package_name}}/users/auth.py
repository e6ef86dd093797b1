"""Access tokens and how they travel: a bearer header or a cookie.

A login opens a session (see `sessions`) and returns a JWT naming it; each request resolves the
JWT back to its user in one query. Both transports carry the same token.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response, status
from fastapi.responses import JSONResponse

from .schemas import UserDB
from .sessions import USER_AGENT_MAX_LENGTH, Client, SessionStore
from .tokens import ACCESS_AUDIENCE, InvalidToken, TokenSigner

# FastAPI Users' cookie name, so existing clients and proxies keep working.
COOKIE_NAME = "fastapiusersauth"


@dataclass(frozen=True)
class Authenticated:
    """The user behind a request, and the session their token belongs to."""

    user: UserDB
    session_id: uuid.UUID


class AccessTokens:
    """Issues access tokens at login, resolves them per request, revokes them at logout."""

    def __init__(self, signer: TokenSigner, sessions: SessionStore, lifetime_seconds: int) -> None:
        self.signer = signer
        self.sessions = sessions
        self.lifetime_seconds = lifetime_seconds

    async def issue(self, user: UserDB, request: Request | None = None) -> str:
        """Open a session for ``user`` (from the client of ``request``) and return its token."""
        session_id = await self.sessions.create(
            user.id, self.lifetime_seconds, client_of(request) if request else None
        )
        claims = {"sub": str(user.id), "sid": str(session_id)}
        return self.signer.encode(claims, ACCESS_AUDIENCE, self.lifetime_seconds)

    async def resolve(self, token: str) -> Authenticated | None:
        """The user and session of a valid, unrevoked token; None otherwise."""
        try:
            claims = self.signer.decode(token, ACCESS_AUDIENCE)
            user_id = uuid.UUID(claims["sub"])
            session_id = uuid.UUID(claims["sid"])
        except (InvalidToken, KeyError, TypeError, ValueError):
            return None
        user = await self.sessions.get_user(session_id, user_id)
        return None if user is None else Authenticated(user, session_id)

    async def revoke(self, session_id: uuid.UUID) -> None:
        """End the session of one token."""
        await self.sessions.delete(session_id)


def client_of(request: Request) -> Client:
    """The user agent and address a session shows its user, to tell their devices apart."""
    user_agent = request.headers.get("user-agent")
    return Client(
        user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
        ip_address=request.client.host if request.client else None,
    )


class BearerTransport:
    """The token in the JSON body at login, then in an ``Authorization: Bearer`` header."""

    name = "jwt"
    login_status_code = status.HTTP_200_OK

    def login_response(self, token: str) -> Response:
        return JSONResponse({"access_token": token, "token_type": "bearer"})

    def logout_response(self) -> Response:
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    def openapi_login_success(self) -> dict[int | str, dict[str, Any]]:
        example = {"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…", "token_type": "bearer"}
        return {
            status.HTTP_200_OK: {
                "description": "The access token.",
                "content": {"application/json": {"example": example}},
            }
        }

    def openapi_logout_success(self) -> dict[int | str, dict[str, Any]]:
        return {status.HTTP_204_NO_CONTENT: {"description": "Logged out; the token is revoked."}}


class CookieTransport:
    """The token in an HttpOnly cookie, for browsers."""

    name = "cookie"
    login_status_code = status.HTTP_204_NO_CONTENT

    def __init__(self, *, max_age: int, secure: bool, cookie_name: str = COOKIE_NAME) -> None:
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.secure = secure

    def login_response(self, token: str) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        response.set_cookie(
            self.cookie_name,
            token,
            max_age=self.max_age,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        return response

    def logout_response(self) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        response.set_cookie(
            self.cookie_name, "", max_age=0, secure=self.secure, httponly=True, samesite="lax"
        )
        return response

    def openapi_login_success(self) -> dict[int | str, dict[str, Any]]:
        return {status.HTTP_204_NO_CONTENT: {"description": "Logged in; the cookie is set."}}

    def openapi_logout_success(self) -> dict[int | str, dict[str, Any]]:
        return {status.HTTP_204_NO_CONTENT: {"description": "Logged out; the cookie is cleared."}}


Transport = BearerTransport | CookieTransport
