"""Login, logout and refresh, once per transport: /auth/jwt/… (bearer) and /auth/cookie/…
(cookie)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status

from ...strict_json import StrictJSONRoute
from ..auth import Transport, is_cross_site
from ..dependencies import CurrentSession, UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import UserNotExists
from .refresh import build_refresh_router
from .responses import TOO_MANY_REQUESTS, UNAUTHORIZED, bad_request, described

CROSS_SITE_LOGIN = described(
    status.HTTP_403_FORBIDDEN, "A browser sent the login from another site."
)


class LoginForm:
    """OAuth2's password form: the email as ``username``, and the password. FastAPI reads an
    empty field as a missing one (422), so the schema asks for at least one character."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1)],
        password: Annotated[str, Form(min_length=1, json_schema_extra={"format": "password"})],
    ) -> None:
        self.username = username
        self.password = password


def build_auth_router(
    transport: Transport, *, requires_verification: bool, refresh_tokens: bool = True
) -> APIRouter:
    """The login and logout routes for ``transport``, and with ``refresh_tokens`` its refresh
    route; with ``requires_verification``, users must have verified their email to log in."""
    router = APIRouter(route_class=StrictJSONRoute)

    def refresh_path(request: Request) -> str | None:
        """Where the refresh cookie goes: the path of this transport's refresh route."""
        if not refresh_tokens:
            return None
        return request.url_for(f"auth:{transport.name}.refresh").path

    @router.post(
        "/login",
        name=f"auth:{transport.name}.login",
        summary="Log in",
        status_code=transport.login_status_code,
        response_class=Response,
        responses={
            **transport.openapi_login_success(),
            **bad_request(
                {
                    ErrorCode.LOGIN_BAD_CREDENTIALS: "Bad credentials or the user is inactive.",
                    ErrorCode.LOGIN_USER_NOT_VERIFIED: "The user is not verified.",
                }
            ),
            **TOO_MANY_REQUESTS,
            **(CROSS_SITE_LOGIN if transport.same_site_login_only else {}),
        },
    )
    async def login(
        request: Request,
        credentials: Annotated[LoginForm, Depends()],
        services: UserServicesDep,
    ) -> Response:
        if transport.same_site_login_only and is_cross_site(request):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Forbidden")
        # Both transports count as one: a client cannot double its guesses by switching.
        await services.rate_limits.hit(
            "login", services.rate_limits.login, request, credentials.username
        )
        manager = services.manager
        user = await manager.authenticate(credentials.username, credentials.password)
        if user is None or not user.is_active:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=ErrorCode.LOGIN_BAD_CREDENTIALS)
        if requires_verification and not user.is_verified:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, detail=ErrorCode.LOGIN_USER_NOT_VERIFIED
            )
        try:
            tokens = await services.access_tokens.issue(user, request)
        except UserNotExists:  # deleted since the password was checked
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, detail=ErrorCode.LOGIN_BAD_CREDENTIALS
            ) from None
        response = transport.login_response(tokens, refresh_path(request))
        await manager.on_after_login(user, request, response)
        return response

    @router.post(
        "/logout",
        name=f"auth:{transport.name}.logout",
        summary="Log out",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses={**transport.openapi_logout_success(), **UNAUTHORIZED},
    )
    async def logout(
        request: Request,
        authenticated: CurrentSession,
        services: UserServicesDep,
    ) -> Response:
        await services.access_tokens.revoke(authenticated.session_id)
        return transport.logout_response(refresh_path(request))

    if refresh_tokens:
        router.include_router(build_refresh_router(transport))
    return router
