"""Password reset: POST /auth/forgot-password and POST /auth/reset-password."""

from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from pydantic import EmailStr

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import InvalidPasswordException, InvalidResetPasswordToken
from .links import send_link_later
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
    await send_link_later(
        request,
        email,
        services,
        limit="forgot-password",
        send=services.manager.forgot_password,
        what="send a password reset link",
    )


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
