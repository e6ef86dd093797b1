"""FastAPI Users 15 with OAuth, set up as its documentation's SQLAlchemy OAuth example
(docs/configuration/oauth.md, examples/sqlalchemy-oauth), against a generic OpenID Connect
provider found by discovery (httpx-oauth's `OpenID` client).

Routers (each an `APIRouter` of FastAPI Users, with its defaults unless said):
- /auth/jwt, /auth/cookie: password login (bearer JWT; cookie `fastapiusersauth`);
  /auth/register; /users.
- /auth/openid: `get_oauth_router(openid, bearer backend, SECRET)`;
- /auth/cookie/openid: the same with the cookie backend;
- /auth/openid-by-email: `associate_by_email=True, is_verified_by_default=True` (the
  documented opt-ins whose risk the recording shows);
- /auth/associate/openid: `get_oauth_associate_router(openid, UserRead, SECRET)`.
The CSRF cookie keeps its defaults (Secure, HttpOnly, SameSite=lax, Path=/, 3600 s): the
recording talks to the app as https://testserver so that the cookie comes back.

Imports FastAPI Users and httpx-oauth only, never usergen.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin
from fastapi_users import schemas as fu_schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
    JWTStrategy,
)
from fastapi_users.db import (
    SQLAlchemyBaseOAuthAccountTableUUID,
    SQLAlchemyBaseUserTableUUID,
    SQLAlchemyUserDatabase,
)
from fastapi_users.password import PasswordHelper
from httpx_oauth.clients.openid import OpenID
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship


class Base(DeclarativeBase):
    pass


class OAuthAccount(SQLAlchemyBaseOAuthAccountTableUUID, Base):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    oauth_accounts: Mapped[list[OAuthAccount]] = relationship("OAuthAccount", lazy="joined")


class UserRead(fu_schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(fu_schemas.BaseUserCreate):
    pass


class UserUpdate(fu_schemas.BaseUserUpdate):
    pass


def create_reference_app(
    database_url: str,
    secret: str,
    discovery_url: str,
    client_id: str,
    client_secret: str,
    base_url: str = "https://testserver",
) -> FastAPI:
    """The app; `await app.state.create_tables()` before its first request (no lifespan runs
    under httpx's ASGITransport). `app.state.session_maker` and `UserManager` let a script
    change users directly, as the docs' scripts do."""
    engine = create_async_engine(database_url)
    session_maker = async_sessionmaker(engine, expire_on_commit=False)

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = secret
        verification_token_secret = secret

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with session_maker() as session:
            yield session

    async def get_user_db(
        session: Annotated[AsyncSession, Depends(get_session)],
    ) -> AsyncIterator[Any]:
        yield SQLAlchemyUserDatabase(session, User, OAuthAccount)

    # Argon2 at its lowest cost: the recording times nothing.
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

    # Discovery happens here, synchronously (httpx.Client): a provider that is down when the
    # app is built stops the app from starting (OpenIDConfigurationError).
    openid = OpenID(client_id, client_secret, discovery_url)

    app = FastAPI()
    app.include_router(fastapi_users.get_auth_router(jwt_backend), prefix="/auth/jwt")
    app.include_router(fastapi_users.get_auth_router(cookie_backend), prefix="/auth/cookie")
    app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
    app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")
    app.include_router(
        fastapi_users.get_oauth_router(openid, jwt_backend, secret), prefix="/auth/openid"
    )
    app.include_router(
        fastapi_users.get_oauth_router(openid, cookie_backend, secret),
        prefix="/auth/cookie/openid",
    )
    app.include_router(
        # An explicit redirect_url: two routers of one client and one backend share their
        # route names, and url_for() would send this one's users to /auth/openid/callback.
        fastapi_users.get_oauth_router(
            openid,
            jwt_backend,
            secret,
            redirect_url=f"{base_url}/auth/openid-by-email/callback",
            associate_by_email=True,
            is_verified_by_default=True,
        ),
        prefix="/auth/openid-by-email",
    )
    app.include_router(
        fastapi_users.get_oauth_associate_router(openid, UserRead, secret),
        prefix="/auth/associate/openid",
    )

    async def create_tables() -> None:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    app.state.create_tables = create_tables
    app.state.dispose = engine.dispose
    app.state.session_maker = session_maker
    app.state.user_manager = lambda session: UserManager(
        SQLAlchemyUserDatabase(session, User, OAuthAccount), password_helper
    )
    return app


CALLBACK_PATHS = (
    "/auth/openid/callback",
    "/auth/cookie/openid/callback",
    "/auth/openid-by-email/callback",
    "/auth/associate/openid/callback",
)
