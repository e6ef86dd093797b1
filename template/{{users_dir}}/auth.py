"""Access tokens and how they travel: a bearer header or a cookie.

A login opens a session (see `sessions`) and returns a JWT naming it; each request resolves the
JWT back to its user in one query. Both transports carry the same token. With refresh tokens
(see `refresh`), the login also returns one, which renews the access token when it expires.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .refresh import RefreshTokenStore, refresh_token_hash
from .schemas import UserDB
from .sessions import Client, SessionStore
from .table import USER_AGENT_MAX_LENGTH
from .tokens import ACCESS_AUDIENCE, InvalidToken, TokenSigner

# FastAPI Users' cookie name, so existing clients and proxies keep working.
COOKIE_NAME = "fastapiusersauth"
# The Secure cookie's name. Browsers keep a `__Host-` cookie only if this very host set it over
# HTTPS, for every path and no other domain, so neither a plain-http page nor a sibling
# subdomain can plant one (to fix a victim's session) or overwrite it.
HOST_COOKIE_NAME = "__Host-" + COOKIE_NAME
# The refresh cookie's name. Browsers send it only to the refresh route (its Path), and a
# `__Host-` cookie must have Path=/, so a Secure one takes the `__Secure-` prefix instead: still
# only settable over HTTPS, though a sibling subdomain could set one for the whole site.
REFRESH_COOKIE_NAME = "fastapiusersrefresh"
SECURE_REFRESH_COOKIE_NAME = "__Secure-" + REFRESH_COOKIE_NAME
# Token responses must not be stored by browsers or proxies (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store"}


def cookie_name(secure: bool) -> str:
    """The login cookie's name: with the `__Host-` prefix when it is Secure (it needs HTTPS)."""
    return HOST_COOKIE_NAME if secure else COOKIE_NAME


def refresh_cookie_name(secure: bool) -> str:
    """The refresh cookie's name: with the `__Secure-` prefix when it is Secure."""
    return SECURE_REFRESH_COOKIE_NAME if secure else REFRESH_COOKIE_NAME


class BearerTokens(BaseModel):
    """The body of a bearer login or refresh."""

    access_token: str
    token_type: str = "bearer"
    # With refresh tokens on (REFRESH_TOKENS=true, the default).
    refresh_token: str | None = None
    expires_in: int | None = None


REFRESH_TOKEN_EXAMPLE = (
    "3fa85f6457174562b3fc2c963f66afa6.jD3Xw0cK2uJ9mQ1rT5vY8A."
    "Vh0cV1kP1qgqX3nXo0wq7Vb0y0m1pF1a2R3t4y5u6i8"
)
BEARER_EXAMPLE = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
    "token_type": "bearer",
    "refresh_token": REFRESH_TOKEN_EXAMPLE,
    "expires_in": 900,
}


@dataclass(frozen=True)
class Authenticated:
    """The user behind a request, and the session their token belongs to."""

    user: UserDB
    session_id: uuid.UUID


@dataclass(frozen=True)
class IssuedTokens:
    """What a login or a refresh hands the client."""

    access_token: str
    # Seconds the access token lasts.
    expires_in: int
    # None when refresh tokens are off (REFRESH_TOKENS=false).
    refresh_token: str | None
    # Seconds the refresh token lasts: what is left of its session's lifetime.
    refresh_expires_in: int


class AccessTokens:
    """Issues access tokens at login and refresh, resolves them per request, revokes them at
    logout. With ``refresh_tokens``, a login also returns a refresh token, and its session
    lasts ``session_lifetime_seconds``; without, it lasts as long as its access token."""

    def __init__(
        self,
        signer: TokenSigner,
        sessions: SessionStore,
        lifetime_seconds: int,
        *,
        refresh_tokens: RefreshTokenStore | None = None,
        session_lifetime_seconds: int | None = None,
    ) -> None:
        self.signer = signer
        self.sessions = sessions
        self.lifetime_seconds = lifetime_seconds
        self.refresh_tokens = refresh_tokens
        # Without refresh, nothing could renew a token, so a session ends with its first one.
        self.session_lifetime_seconds = lifetime_seconds
        if refresh_tokens is not None and session_lifetime_seconds is not None:
            self.session_lifetime_seconds = session_lifetime_seconds

    async def issue(self, user: UserDB, request: Request | None = None) -> IssuedTokens:
        """Open a session for ``user`` (from the client of ``request``) and return its tokens."""
        session_id = uuid.uuid4()
        refresh_token = self.refresh_tokens.new_token(session_id) if self.refresh_tokens else None
        await self.sessions.create(
            user,
            self.session_lifetime_seconds,
            client_of(request) if request else None,
            session_id=session_id,
            refresh_token_hash=refresh_token_hash(refresh_token) if refresh_token else None,
        )
        return IssuedTokens(
            access_token=self._access_token(user.id, session_id),
            expires_in=self.lifetime_seconds,
            refresh_token=refresh_token,
            refresh_expires_in=self.session_lifetime_seconds,
        )

    async def refresh(self, refresh_token: str) -> IssuedTokens | None:
        """A new access token and refresh token for a valid ``refresh_token``, which is
        thereby used up; None if it is not valid (see `refresh.RefreshTokenStore.rotate`)."""
        if self.refresh_tokens is None:
            return None
        renewed = await self.refresh_tokens.rotate(refresh_token)
        if renewed is None:
            return None
        left = renewed.session_expires_at - dt.datetime.now(dt.UTC)
        return IssuedTokens(
            access_token=self._access_token(renewed.user.id, renewed.session_id),
            expires_in=self.lifetime_seconds,
            refresh_token=renewed.refresh_token,
            refresh_expires_in=max(1, int(left.total_seconds())),
        )

    def _access_token(self, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
        claims = {"sub": str(user_id), "sid": str(session_id)}
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
        """End the session of one token, and with it its refresh token."""
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


def single_cookie(request: Request, name: str) -> str | None:
    """The cookie ``name`` if the browser sent exactly one by that name, else None. A page of
    a sibling subdomain (or, without the Secure prefixes, another port of this host) can set
    a cookie of the same name for a wider path, which the browser then sends too, and the last
    one would be read: a refresh cookie planted so would log the visitor into the planter's
    account."""
    sent = [
        value
        for pair in request.headers.get("cookie", "").split(";")
        for key, equals, value in [pair.strip().partition("=")]
        if equals and key == name
    ]
    return sent[0] if len(sent) == 1 else None


def client_of(request: Request) -> Client:
    """The user agent and address a session shows its user, to tell their devices apart."""
    user_agent = request.headers.get("user-agent")
    return Client(
        user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
        ip_address=request.client.host if request.client else None,
    )


class BearerTransport:
    """The tokens in the JSON body at login, then the access token in an ``Authorization:
    Bearer`` header, and the refresh token in the body of /refresh."""

    name = "jwt"
    login_status_code = status.HTTP_200_OK
    # Another site's page cannot read the token a login returns, so it gains nothing.
    same_site_login_only = False

    def login_response(self, tokens: IssuedTokens, refresh_path: str | None = None) -> Response:
        """FastAPI Users' body (``access_token``, ``token_type``), plus ``refresh_token`` and
        ``expires_in`` with refresh tokens on: its clients read only the keys they know."""
        body: dict[str, str | int] = {"access_token": tokens.access_token, "token_type": "bearer"}
        if tokens.refresh_token is not None:
            body |= {"refresh_token": tokens.refresh_token, "expires_in": tokens.expires_in}
        return JSONResponse(body, headers=NO_STORE)

    def logout_response(self, refresh_path: str | None = None) -> Response:
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    def openapi_login_success(self) -> dict[int | str, dict[str, Any]]:
        return {
            status.HTTP_200_OK: {
                "description": "The access token and, with refresh tokens on, the refresh token.",
                "model": BearerTokens,
                "content": {"application/json": {"example": BEARER_EXAMPLE}},
            }
        }

    def openapi_logout_success(self) -> dict[int | str, dict[str, Any]]:
        return {status.HTTP_204_NO_CONTENT: {"description": "Logged out; the token is revoked."}}


class CookieTransport:
    """The access token in an HttpOnly cookie, for browsers, and the refresh token in another,
    which browsers send only to the refresh route."""

    name = "cookie"
    login_status_code = status.HTTP_204_NO_CONTENT
    # A form on another site's page could log the visitor in to the attacker's account (login
    # CSRF), and what they then enter lands there; a cross-site login is refused.
    same_site_login_only = True

    def __init__(self, *, max_age: int, secure: bool) -> None:
        self.cookie_name = cookie_name(secure)
        self.refresh_cookie_name = refresh_cookie_name(secure)
        self.max_age = max_age
        self.secure = secure

    def login_response(self, tokens: IssuedTokens, refresh_path: str | None = None) -> Response:
        """204 with the access cookie and, given the refresh route's path, the refresh cookie."""
        response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
        self.set_cookies(response, tokens, refresh_path)
        return response

    def logout_response(self, refresh_path: str | None = None) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        self.clear_cookies(response, refresh_path)
        return response

    def set_cookies(
        self, response: Response, tokens: IssuedTokens, refresh_path: str | None = None
    ) -> None:
        """Put the access cookie on ``response`` and, given the path of the route that
        refreshes it, the refresh cookie."""
        response.set_cookie(
            self.cookie_name,
            tokens.access_token,
            max_age=self.max_age,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        if tokens.refresh_token is not None and refresh_path is not None:
            # Strict: only pages of this site ever need to refresh.
            response.set_cookie(
                self.refresh_cookie_name,
                tokens.refresh_token,
                max_age=tokens.refresh_expires_in,
                path=refresh_path,
                secure=self.secure,
                httponly=True,
                samesite="strict",
            )

    def clear_cookies(self, response: Response, refresh_path: str | None = None) -> None:
        """Make the browser drop the access cookie and, given its path, the refresh cookie."""
        response.set_cookie(
            self.cookie_name, "", max_age=0, secure=self.secure, httponly=True, samesite="lax"
        )
        if refresh_path is not None:
            response.set_cookie(
                self.refresh_cookie_name,
                "",
                max_age=0,
                path=refresh_path,
                secure=self.secure,
                httponly=True,
                samesite="strict",
            )

    def openapi_login_success(self) -> dict[int | str, dict[str, Any]]:
        return {
            status.HTTP_204_NO_CONTENT: {
                "description": "Logged in; the cookie is set, and with refresh tokens on, the "
                "refresh cookie too."
            }
        }

    def openapi_logout_success(self) -> dict[int | str, dict[str, Any]]:
        return {status.HTTP_204_NO_CONTENT: {"description": "Logged out; the cookie is cleared."}}


Transport = BearerTransport | CookieTransport
