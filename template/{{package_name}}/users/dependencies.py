"""FastAPI dependencies: the user services of the app, and the current user of a request."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer

from .auth import COOKIE_NAME, AccessTokens, Authenticated
from .exceptions import UserNotExists
from .manager import UserManager
from .ratelimits import RateLimits
from .schemas import UserDB


@dataclass(frozen=True)
class UserServices:
    """What the user routes need, built once by `create_app` and kept on ``app.state``."""

    manager: UserManager
    access_tokens: AccessTokens
    rate_limits: RateLimits


# These are `async def` although they do not await: FastAPI runs a plain `def` dependency in a
# worker thread, and that hand-off cost every authenticated request about a tenth of its time.
async def get_services(request: Request) -> UserServices:
    services: UserServices = request.app.state.user_services
    return services


async def get_user_manager(
    services: Annotated[UserServices, Depends(get_services)],
) -> UserManager:
    return services.manager


# Both schemes are optional on their own: `current_session` accepts either.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="auth/jwt/login", auto_error=False)
cookie_scheme = APIKeyCookie(name=COOKIE_NAME, auto_error=False)


async def current_session(
    request: Request,
    bearer_token: Annotated[str | None, Depends(bearer_scheme)],
    cookie_token: Annotated[str | None, Depends(cookie_scheme)],
) -> Authenticated:
    """The active user behind the request's token (header first, then cookie), or 401."""
    # The services straight from the request, not through `get_services`: every authenticated
    # request comes here, and each dependency FastAPI resolves costs about 25 µs.
    services: UserServices = request.app.state.user_services
    for token in (bearer_token, cookie_token):
        if token:
            found = await services.access_tokens.resolve(token)
            if found is not None and found.user.is_active:
                return found
    raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Unauthorized")


async def current_active_user(
    authenticated: Annotated[Authenticated, Depends(current_session)],
) -> UserDB:
    return authenticated.user


async def current_superuser(user: Annotated[UserDB, Depends(current_active_user)]) -> UserDB:
    """The current user if a superuser, else 403."""
    if not user.is_superuser:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Forbidden")
    return user


async def get_user_or_404(
    id: str, manager: Annotated[UserManager, Depends(get_user_manager)]
) -> UserDB:
    """The user named in the path; 404 for an unknown or malformed id, as FastAPI Users does."""
    try:
        return await manager.get(uuid.UUID(id))
    except (ValueError, UserNotExists):
        raise HTTPException(status.HTTP_404_NOT_FOUND) from None
