"""FastAPI dependencies: the user services of the app, and the current user of a request.

Routes take them through the aliases defined next to each, as the FastAPI docs do:
``user: CurrentUser`` is ``user: Annotated[UserDB, Depends(current_active_user)]``.
"""

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer

from .auth import HOST_COOKIE_NAME, Authenticated
from .exceptions import UserNotExists
from .manager import UserManager
from .schemas import UserDB
from .services import UserServices


# These are `async def` although they do not await: FastAPI runs a plain `def` dependency in a
# worker thread, and that hand-off cost every authenticated request about a tenth of its time.
async def get_services(request: Request) -> UserServices:
    services: UserServices = request.app.state.user_services
    return services


UserServicesDep = Annotated[UserServices, Depends(get_services)]


async def get_user_manager(services: UserServicesDep) -> UserManager:
    return services.manager


UserManagerDep = Annotated[UserManager, Depends(get_user_manager)]


# Both schemes are optional on their own: `current_session` accepts either. The cookie is
# documented under its name with the default, Secure cookies.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="auth/jwt/login", auto_error=False)
cookie_scheme = APIKeyCookie(name=HOST_COOKIE_NAME, auto_error=False)


async def current_session(
    request: Request,
    bearer_token: Annotated[str | None, Depends(bearer_scheme)],
    cookie_token: Annotated[str | None, Depends(cookie_scheme)],
    services: UserServicesDep,
) -> Authenticated:
    """The active user behind the request's token (header first, then cookie), or 401; 403
    if verification is required and the user has not verified their email (FastAPI Users'
    answer). Login checks it too, but a session can outlive it: opened before the setting
    was on, or followed by a change of email."""
    if services.cookie_name != HOST_COOKIE_NAME:
        cookie_token = request.cookies.get(services.cookie_name)
    for token in (bearer_token, cookie_token):
        if token:
            found = await services.access_tokens.resolve(token)
            if found is not None and found.user.is_active:
                if services.requires_verification and not found.user.is_verified:
                    raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Forbidden")
                return found
    raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Unauthorized")


# The user and the session of the request's token (what logging out ends).
CurrentSession = Annotated[Authenticated, Depends(current_session)]


async def current_active_user(authenticated: CurrentSession) -> UserDB:
    """The user of the request's token: always an active one (`current_session` refuses the
    others), as FastAPI Users' ``current_user(active=True)``."""
    return authenticated.user


CurrentUser = Annotated[UserDB, Depends(current_active_user)]


async def current_superuser(user: CurrentUser) -> UserDB:
    """The current user if a superuser, else 403."""
    if not user.is_superuser:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Forbidden")
    return user


CurrentSuperuser = Annotated[UserDB, Depends(current_superuser)]


async def get_user_or_404(id: str, manager: UserManagerDep) -> UserDB:
    """The user named in the path; 404 for an unknown or malformed id, as FastAPI Users does."""
    try:
        return await manager.get(uuid.UUID(id))
    except (ValueError, UserNotExists):
        raise HTTPException(status.HTTP_404_NOT_FOUND) from None


# The user of a /users/{id} route. Its router checks the caller is a superuser first
# (``dependencies=[Depends(current_superuser)]``), so that others learn nothing from a 404.
UserFromPath = Annotated[UserDB, Depends(get_user_or_404)]
