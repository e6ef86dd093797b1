"""Registration: POST /auth/register."""

from fastapi import APIRouter, HTTPException, Request, status

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import InvalidPasswordException, UserAlreadyExists, UserValueTaken
from ..schemas import User, UserCreate
from .responses import TOO_MANY_REQUESTS, bad_request, invalid_password, value_taken

router = APIRouter(route_class=StrictJSONRoute)


@router.post(
    "/register",
    response_model=User,
    status_code=status.HTTP_201_CREATED,
    name="register:register",
    summary="Register",
    responses={
        **bad_request(
            {
                ErrorCode.REGISTER_USER_ALREADY_EXISTS: "A user with this email already exists.",
                **invalid_password(ErrorCode.REGISTER_INVALID_PASSWORD),
                **value_taken(ErrorCode.REGISTER_VALUE_ALREADY_EXISTS),
            }
        ),
        **TOO_MANY_REQUESTS,
    },
)
async def register(
    request: Request,
    user_create: UserCreate,
    services: UserServicesDep,
) -> User:
    rate_limits = services.rate_limits
    await rate_limits.hit_address("register", rate_limits.register, request)
    try:
        user = await services.manager.create(user_create, request=request)
    except UserAlreadyExists:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=ErrorCode.REGISTER_USER_ALREADY_EXISTS
        ) from None
    except InvalidPasswordException as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail={"code": ErrorCode.REGISTER_INVALID_PASSWORD, "reason": error.reason},
        ) from None
    except UserValueTaken as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail={"code": ErrorCode.REGISTER_VALUE_ALREADY_EXISTS, "field": error.field},
        ) from None
    return user
