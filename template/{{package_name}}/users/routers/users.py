"""The current user (/users/me) and, for superusers, any user (/users/{id}) and the list of
users (/users)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from ...strict_json import StrictJSONRoute
from ..addresses import canonical_email
from ..dependencies import (
    CurrentUser,
    UserFromPath,
    UserManagerDep,
    UserServicesDep,
    current_superuser,
)
from ..error_codes import ErrorCode
from ..exceptions import InvalidPasswordException, UserAlreadyExists, UserNotExists, UserValueTaken
from ..listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Cursor, Order, UserFilter, UserPage
from ..manager import UserManager
from ..schemas import User, UserAdminUpdate, UserDB, UserSelfUpdate, UserUpdate
from . import sessions
from .refusals import refused_as_400
from .responses import (
    FORBIDDEN,
    SUPERUSER_ONLY,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    ErrorExamples,
    OpenAPIResponses,
    bad_request,
    invalid_password,
    value_taken,
)

router = APIRouter(route_class=StrictJSONRoute)
# The sessions of the current user and, for superusers, of any user (/users/…/sessions).
router.include_router(sessions.router)

UPDATE_EXAMPLES: ErrorExamples = {
    ErrorCode.UPDATE_USER_EMAIL_ALREADY_EXISTS: "A user with this email already exists.",
    **invalid_password(ErrorCode.UPDATE_USER_INVALID_PASSWORD),
    **value_taken(ErrorCode.UPDATE_USER_VALUE_ALREADY_EXISTS),
}
UPDATE_ERRORS: OpenAPIResponses = bad_request(UPDATE_EXAMPLES)
UPDATE_ME_ERRORS: OpenAPIResponses = bad_request(
    {
        **UPDATE_EXAMPLES,
        ErrorCode.UPDATE_USER_BAD_CURRENT_PASSWORD: "The email or password changes, and "
        "current_password is missing or wrong.",
    }
)


async def apply_update(
    manager: UserManager, changes: UserUpdate, user: UserDB, request: Request
) -> UserDB:
    """Update ``user``, turning refusals into FastAPI Users' 400 responses."""
    with refused_as_400(
        {
            InvalidPasswordException: ErrorCode.UPDATE_USER_INVALID_PASSWORD,
            UserAlreadyExists: ErrorCode.UPDATE_USER_EMAIL_ALREADY_EXISTS,
            UserValueTaken: ErrorCode.UPDATE_USER_VALUE_ALREADY_EXISTS,
        }
    ):
        return await manager.update(changes, user, request)


@router.get(
    "/me",
    response_model=User,
    name="users:current_user",
    summary="Get the current user",
    responses=UNAUTHORIZED,
)
async def me(user: CurrentUser) -> UserDB:
    return user


@router.patch(
    "/me",
    response_model=User,
    name="users:patch_current_user",
    summary="Update the current user",
    responses={**UNAUTHORIZED, **UPDATE_ME_ERRORS, **TOO_MANY_REQUESTS},
)
async def update_me(
    request: Request,
    changes: UserSelfUpdate,
    user: CurrentUser,
    services: UserServicesDep,
) -> UserDB:
    manager, rate_limits = services.manager, services.rate_limits
    if changes.password is not None:
        await rate_limits.hit_address("password-change", rate_limits.password_change, request)
    new_email = changes.email is not None and (
        canonical_email(changes.email) != canonical_email(user.email)
    )
    if manager.require_current_password and (new_email or changes.password is not None):
        # A wrong current password is a password guess: it counts like a login.
        await rate_limits.hit("login", rate_limits.login, request, user.email)
        current = changes.current_password
        if current is None or not await manager.is_password(user, current):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, detail=ErrorCode.UPDATE_USER_BAD_CURRENT_PASSWORD
            )
    try:
        return await apply_update(manager, changes, user, request)
    except UserNotExists:  # deleted meanwhile, and their sessions with them
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Unauthorized") from None


def parse_cursor(cursor: str | None) -> Cursor | None:
    """The cursor of the query string; 400 if it is not one this list gave out."""
    if cursor is None:
        return None
    try:
        return Cursor.decode(cursor)
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=ErrorCode.LIST_USERS_BAD_CURSOR
        ) from None


LIST_ERRORS: OpenAPIResponses = bad_request(
    {ErrorCode.LIST_USERS_BAD_CURSOR: "The cursor is not the next_cursor of a page of this list."}
)


@router.get(
    "",
    response_model=UserPage,
    dependencies=[Depends(current_superuser)],
    name="users:list_users",
    summary="List users",
    description="The users matching the filters, oldest (or newest) first, a page at a time: "
    "pass the `next_cursor` of a page as `cursor`, with the same filters and order, to get the "
    "next one. Users created meanwhile never shift a page. `total` is counted with the first "
    "page, and later pages repeat it.",
    responses={**UNAUTHORIZED, **FORBIDDEN, **LIST_ERRORS},
)
async def list_users(
    manager: UserManagerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Users per page.")] = (
        DEFAULT_PAGE_SIZE
    ),
    cursor: Annotated[
        str | None, Query(max_length=200, description="The `next_cursor` of the previous page.")
    ] = None,
    email: Annotated[
        str | None,
        Query(
            max_length=320,
            # PostgreSQL refuses NUL characters in text; no address has one.
            pattern=r"^[^\x00]*$",
            description="Only emails that start with this, in any case.",
            examples=["ada@"],
        ),
    ] = None,
    is_active: Annotated[bool | None, Query(description="Only active or inactive users.")] = None,
    is_verified: Annotated[
        bool | None, Query(description="Only users who verified their email, or who did not.")
    ] = None,
    is_superuser: Annotated[
        bool | None, Query(description="Only superusers, or only other users.")
    ] = None,
    order: Annotated[
        Order, Query(description="Oldest accounts first (the default), or newest first.")
    ] = Order.OLDEST,
) -> UserPage:
    filters = UserFilter(
        email_prefix=email,
        is_active=is_active,
        is_verified=is_verified,
        is_superuser=is_superuser,
    )
    return await manager.list_users(filters, parse_cursor(cursor), limit, order)


@router.get(
    "/{id}",
    response_model=User,
    dependencies=[Depends(current_superuser)],
    name="users:user",
    summary="Get a user",
    responses=SUPERUSER_ONLY,
)
async def get_user(user: UserFromPath) -> UserDB:
    return user


@router.patch(
    "/{id}",
    response_model=User,
    dependencies=[Depends(current_superuser)],
    name="users:patch_user",
    summary="Update a user",
    responses={**SUPERUSER_ONLY, **UPDATE_ERRORS},
)
async def update_user(
    request: Request,
    changes: UserAdminUpdate,
    user: UserFromPath,
    manager: UserManagerDep,
) -> UserDB:
    try:
        return await apply_update(manager, changes, user, request)
    except UserNotExists:  # deleted meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND) from None


@router.delete(
    "/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Depends(current_superuser)],
    name="users:delete_user",
    summary="Delete a user",
    responses=SUPERUSER_ONLY,
)
async def delete_user(
    request: Request,
    user: UserFromPath,
    manager: UserManagerDep,
) -> None:
    await manager.delete(user, request)
