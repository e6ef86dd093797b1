"""Registration: POST /auth/register."""

from fastapi import APIRouter, Request, status

from ...strict_json import StrictJSONRoute
from ..dependencies import UserServicesDep
from ..error_codes import ErrorCode
from ..exceptions import InvalidPasswordException, UserAlreadyExists, UserValueTaken
from ..schemas import User, UserCreate
from .refusals import refused_as_400
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
    with refused_as_400(
        {
            UserAlreadyExists: ErrorCode.REGISTER_USER_ALREADY_EXISTS,
            InvalidPasswordException: ErrorCode.REGISTER_INVALID_PASSWORD,
            UserValueTaken: ErrorCode.REGISTER_VALUE_ALREADY_EXISTS,
        }
    ):
        return await services.manager.create(user_create, request=request)
