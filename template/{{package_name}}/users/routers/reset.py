"""Password reset: POST /auth/forgot-password and POST /auth/reset-password."""

from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from pydantic import EmailStr

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import (
    InvalidPasswordException,
    InvalidResetPasswordToken,
    UserInactive,
    UserNotExists,
)
from .refusals import refused_as_400
from .responses import LINK_REQUESTED, bad_request, described, invalid_password

router = APIRouter(route_class=StrictJSONRoute)


@router.post(
    "/forgot-password",
    status_code=status.HTTP_202_ACCEPTED,
    name="reset:forgot_password",
    summary="Ask for a password reset link",
    responses=LINK_REQUESTED,
)
async def forgot_password(
    request: Request,
    email: Annotated[EmailStr, Body(embed=True)],
    services: UserServicesDep,
) -> None:
    await services.rate_limits.hit("forgot-password", services.rate_limits.email, request, email)

    async def send_reset_link() -> None:
        try:
            user = await services.manager.get_by_email(email)
            await services.manager.forgot_password(user, request)
        except (UserNotExists, UserInactive):
            pass

    # The lookup too runs after the response, so known and unknown addresses are answered
    # alike and equally fast.
    services.manager.outbox.run_soon(send_reset_link, "send a password reset link")


@router.post(
    "/reset-password",
    name="reset:reset_password",
    summary="Reset the password",
    responses={
        **described(status.HTTP_200_OK, "The password is changed; every session ended."),
        **bad_request(
            {
                ErrorCode.RESET_PASSWORD_BAD_TOKEN: "Bad, expired or already used token.",
                **invalid_password(ErrorCode.RESET_PASSWORD_INVALID_PASSWORD),
            }
        ),
    },
)
async def reset_password(
    request: Request,
    token: Annotated[str, Body()],
    password: Annotated[str, Body()],
    services: UserServicesDep,
) -> None:
    with refused_as_400(
        {
            InvalidResetPasswordToken: ErrorCode.RESET_PASSWORD_BAD_TOKEN,
            InvalidPasswordException: ErrorCode.RESET_PASSWORD_INVALID_PASSWORD,
        }
    ):
        await services.manager.reset_password(token, password, request)
