"""Email verification: POST /auth/request-verify-token and POST /auth/verify."""

from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from pydantic import EmailStr

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import InvalidVerifyToken, UserAlreadyVerified
from ..schemas import User, UserDB
from .links import send_link_later
from .refusals import refused_as_400
from .responses import LINK_REQUESTED, bad_request

router = APIRouter(route_class=StrictJSONRoute)


@router.post(
    "/request-verify-token",
    status_code=status.HTTP_202_ACCEPTED,
    name="verify:request-token",
    summary="Ask for an email verification link",
    responses=LINK_REQUESTED,
)
async def request_verify_token(
    request: Request,
    email: Annotated[EmailStr, Body(embed=True)],
    services: UserServicesDep,
) -> None:
    await send_link_later(
        request,
        email,
        services,
        limit="request-verify-token",
        send=services.manager.request_verify,
        what="send a verification link",
    )


@router.post(
    "/verify",
    response_model=User,
    name="verify:verify",
    summary="Verify the email",
    responses=bad_request(
        {
            ErrorCode.VERIFY_USER_BAD_TOKEN: "Bad token, not existing user or not the e-mail "
            "currently set for the user.",
            ErrorCode.VERIFY_USER_ALREADY_VERIFIED: "The user is already verified.",
        }
    ),
)
async def verify(
    request: Request,
    token: Annotated[str, Body(embed=True)],
    services: UserServicesDep,
) -> UserDB:
    with refused_as_400(
        {
            InvalidVerifyToken: ErrorCode.VERIFY_USER_BAD_TOKEN,
            UserAlreadyVerified: ErrorCode.VERIFY_USER_ALREADY_VERIFIED,
        }
    ):
        return await services.manager.verify(token, request)
