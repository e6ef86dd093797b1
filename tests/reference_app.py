"""The reference: a FastAPI Users app set up as its documentation's SQLAlchemy example, with
the same password policy as the generated app (minimum 8, maximum 128 characters) so both
answer the same requests the same way."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, InvalidPasswordException, UUIDIDMixin
from fastapi_users import schemas as fu_schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
    JWTStrategy,
)
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(fu_schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(fu_schemas.BaseUserCreate):
    pass


class UserUpdate(fu_schemas.BaseUserUpdate):
    pass


def create_reference_app(
    database_url: str, secret: str
) -> tuple[FastAPI, dict[str, dict[str, str]]]:
    """The reference app, and the tokens its email hooks would send (kind → email → token)."""
    engine = create_async_engine(database_url)
    session_maker = async_sessionmaker(engine, expire_on_commit=False)
    sent: dict[str, dict[str, str]] = {"reset": {}, "verify": {}}

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = secret
        verification_token_secret = secret

        async def validate_password(self, password: str, user: Any) -> None:
            if len(password) < 8:
                raise InvalidPasswordException("Password should be at least 8 characters")
            if len(password) > 128:
                raise InvalidPasswordException("Password should be at most 128 characters")

        async def on_after_forgot_password(
            self, user: User, token: str, request: Request | None = None
        ) -> None:
            sent["reset"][user.email] = token

        async def on_after_request_verify(
            self, user: User, token: str, request: Request | None = None
        ) -> None:
            sent["verify"][user.email] = token

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with session_maker() as session:
            yield session

    async def get_user_db(
        session: Annotated[AsyncSession, Depends(get_session)],
    ) -> AsyncIterator[Any]:
        yield SQLAlchemyUserDatabase(session, User)

    # Argon2 at its lowest cost, as the generated app is configured in the test (the default
    # m=64 MiB, t=3 took most of the test's time); hashes never reach a response.
    password_helper = PasswordHelper(
        PasswordHash((Argon2Hasher(memory_cost=1024, time_cost=1, parallelism=1),))
    )

    async def get_user_manager(user_db: Annotated[Any, Depends(get_user_db)]) -> AsyncIterator[Any]:
        yield UserManager(user_db, password_helper)

    def get_strategy() -> JWTStrategy[User, uuid.UUID]:
        return JWTStrategy(secret=secret, lifetime_seconds=3600)

    jwt_backend = AuthenticationBackend(
        name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"), get_strategy=get_strategy
    )
    cookie_backend = AuthenticationBackend(
        name="cookie", transport=CookieTransport(cookie_max_age=3600), get_strategy=get_strategy
    )
    fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [jwt_backend, cookie_backend])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(fastapi_users.get_auth_router(jwt_backend), prefix="/auth/jwt")
    app.include_router(fastapi_users.get_auth_router(cookie_backend), prefix="/auth/cookie")
    app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
    app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth")
    app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth")
    app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")
    app.state.user_manager_class = UserManager
    app.state.session_maker = session_maker
    return app, sent


async def make_superuser(app: FastAPI, email: str, password: str) -> None:
    """Create a superuser in the reference app, as its docs do from a script."""
    async with app.state.session_maker() as session:
        manager = app.state.user_manager_class(SQLAlchemyUserDatabase(session, User))
        await manager.create(
            UserCreate(email=email, password=password, is_superuser=True, is_verified=True)
        )
