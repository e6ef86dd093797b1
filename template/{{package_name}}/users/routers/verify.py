"""Email verification: POST /auth/request-verify-token and POST /auth/verify."""

from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from pydantic import EmailStr

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import InvalidVerifyToken, UserAlreadyVerified, UserInactive, UserNotExists
from ..schemas import User, UserDB
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
    await services.rate_limits.hit(
        "request-verify-token", services.rate_limits.email, request, email
    )

    async def send_verification_link() -> None:
        try:
            user = await services.manager.get_by_email(email)
            await services.manager.request_verify(user, request)
        except (UserNotExists, UserInactive, UserAlreadyVerified):
            pass

    # The lookup too runs after the response, so known and unknown addresses are answered
    # alike and equally fast.
    services.manager.outbox.run_soon(send_verification_link, "send a verification link")


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
