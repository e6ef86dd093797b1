"""Refreshing: POST /auth/jwt/refresh (the refresh token in the body) and /auth/cookie/refresh
(the refresh cookie), each answering as its login does. See refresh.py for the rotation."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import APIKeyCookie
from pydantic import BaseModel, Field

from ...strict_json import StrictJSONRoute
from ..auth import (
    REFRESH_TOKEN_EXAMPLE,
    BearerTransport,
    CookieTransport,
    IssuedTokens,
    Transport,
)
from ..dependencies import UserServicesDep
from ..services import UserServices
from .responses import TOO_MANY_REQUESTS, described

REFUSED = described(
    status.HTTP_401_UNAUTHORIZED,
    "Missing, unknown, used or expired refresh token, or its session ended (logout, password "
    "change, deactivation). Presenting a token that was already used ends its session. Log in "
    "again.",
    content={"application/json": {"example": {"detail": "Unauthorized"}}},
)

RENEWED = {
    "jwt": "A new access token and refresh token; the refresh token sent is used up.",
    "cookie": "Both cookies are renewed; the refresh cookie sent is used up.",
}


class RefreshRequest(BaseModel):
    """The refresh token a login or the last refresh returned."""

    refresh_token: str = Field(min_length=1, max_length=256)

    model_config = {"json_schema_extra": {"examples": [{"refresh_token": REFRESH_TOKEN_EXAMPLE}]}}


async def renew(
    request: Request, services: UserServices, refresh_token: str | None
) -> IssuedTokens:
    """New tokens for ``refresh_token``, counted against the client's refresh limit; 401 if it
    does not renew."""
    rate_limits = services.rate_limits
    await rate_limits.hit_address("refresh", rate_limits.refresh, request)
    tokens = await services.access_tokens.refresh(refresh_token) if refresh_token else None
    if tokens is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Unauthorized")
    return tokens


def build_refresh_router(transport: Transport) -> APIRouter:
    """The refresh route of ``transport``."""
    router = APIRouter(route_class=StrictJSONRoute)
    name = f"auth:{transport.name}.refresh"
    # The login's answer, renewed.
    renewed = {
        code: {**response, "description": RENEWED[transport.name]}
        for code, response in transport.openapi_login_success().items()
    }
    responses = {**renewed, **REFUSED, **TOO_MANY_REQUESTS}

    if isinstance(transport, BearerTransport):
        bearer = transport

        @router.post(
            "/refresh",
            name=name,
            summary="Refresh the access token",
            response_class=Response,
            responses=responses,
        )
        async def refresh(
            request: Request,
            body: RefreshRequest,
            services: UserServicesDep,
        ) -> Response:
            """Exchange the refresh token for a new access token and a new refresh token. The
            old refresh token is used up."""
            return bearer.login_response(await renew(request, services, body.refresh_token))

    if isinstance(transport, CookieTransport):
        cookie = transport
        # Documents the cookie in the OpenAPI schema, under the name these settings give it.
        refresh_cookie = APIKeyCookie(
            name=cookie.refresh_cookie_name,
            scheme_name="RefreshCookie",
            description="The refresh token, which the cookie login sets for this route only.",
            auto_error=False,
        )

        @router.post(
            "/refresh",
            name=name,
            summary="Refresh the access cookie",
            status_code=status.HTTP_204_NO_CONTENT,
            response_class=Response,
            responses=responses,
        )
        async def refresh_with_cookie(
            request: Request,
            refresh_token: Annotated[str | None, Depends(refresh_cookie)],
            services: UserServicesDep,
        ) -> Response:
            """Renew both cookies with the refresh cookie, which browsers send only here. A
            refused refresh leaves the cookies alone: another tab may just have renewed them."""
            tokens = await renew(request, services, refresh_token)
            return cookie.login_response(tokens, request.url_for(name).path)

    return router
