"""Access tokens and how they travel: a bearer header or a cookie.

A login opens a session (see `sessions`) and returns a JWT naming it; each request resolves the
JWT back to its user in one query. Both transports carry the same token.
"""

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response, status
from fastapi.responses import JSONResponse

from .schemas import UserDB
from .sessions import USER_AGENT_MAX_LENGTH, Client, SessionStore
from .tokens import ACCESS_AUDIENCE, InvalidToken, TokenSigner

# FastAPI Users' cookie name, so existing clients and proxies keep working.
COOKIE_NAME = "fastapiusersauth"
# The Secure cookie's name. Browsers keep a `__Host-` cookie only if this very host set it over
# HTTPS, for every path and no other domain, so neither a plain-http page nor a sibling
# subdomain can plant one (to fix a victim's session) or overwrite it.
HOST_COOKIE_NAME = "__Host-" + COOKIE_NAME
# Token responses must not be stored by browsers or proxies (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store"}


def cookie_name(secure: bool) -> str:
    """The login cookie's name: with the `__Host-` prefix when it is Secure (it needs HTTPS)."""
    return HOST_COOKIE_NAME if secure else COOKIE_NAME


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
            user, self.lifetime_seconds, client_of(request) if request else None
        )
        claims = {"sub": str(user.id), "sid": str(session_id)}
        return self.signer.encode(claims, ACCESS_AUDIENCE, self.lifetime_seconds)

    async def resolve(self, token: str) -> Authenticated | None:
        """The user and session of a valid, unrevoked token; None otherwise."""
        try:
            claims = self.signer.decode(token, ACCESS_AUDIENCE)
            user_id = self.signer.uuid_claim(claims, "sub")
            session_id = self.signer.uuid_claim(claims, "sid")
        except InvalidToken:
            return None
        user = await self.sessions.get_user(session_id, user_id)
        return None if user is None else Authenticated(user, session_id)

    async def revoke(self, session_id: uuid.UUID) -> None:
        """End the session of one token."""
        await self.sessions.delete(session_id)


def is_cross_site(request: Request) -> bool:
    """Whether a browser sent ``request`` from a page of another site: its Fetch Metadata says
    so, or, from a browser without it, its Origin names another host. Clients that are not
    browsers send neither, and cannot be tricked into a request anyway."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "cross-site"
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host")


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
    # Another site's page cannot read the token a login returns, so it gains nothing.
    same_site_login_only = False

    def login_response(self, token: str) -> Response:
        return JSONResponse({"access_token": token, "token_type": "bearer"}, headers=NO_STORE)

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
    # A form on another site's page could log the visitor in to the attacker's account (login
    # CSRF), and what they then enter lands there; a cross-site login is refused.
    same_site_login_only = True

    def __init__(self, *, max_age: int, secure: bool) -> None:
        self.cookie_name = cookie_name(secure)
        self.max_age = max_age
        self.secure = secure

    def login_response(self, token: str) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
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
