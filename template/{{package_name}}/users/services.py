"""The user services: what the user routes need, built from the settings once, for the app and
the command line."""

from dataclasses import dataclass

from limits import parse_many

from ..db import Database
from ..mail import ConsoleSender, EmailSender, FileSender, Outbox, SmtpSender
from ..settings import Settings
from .adapter import SQLAlchemyUserDatabase
from .auth import HOST_COOKIE_NAME, AccessTokens, cookie_name
from .manager import UserManager
from .passwords import PasswordHasher
from .ratelimits import Limit, RateLimits, create_storage
from .refresh import RefreshTokenStore
from .schemas import UserDB
from .sessions import SessionStore
from .table import users
from .tokens import TokenSigner


@dataclass(frozen=True)
class UserServices:
    """What the user routes need, built once by `build_user_services` and kept on ``app.state``."""

    manager: UserManager
    access_tokens: AccessTokens
    rate_limits: RateLimits
    # The login cookie's name, which depends on COOKIE_SECURE (see `auth.cookie_name`).
    cookie_name: str = HOST_COOKIE_NAME
    # REQUIRE_VERIFICATION: only users who verified their email may use their token.
    requires_verification: bool = False


def build_sender(settings: Settings) -> EmailSender:
    """The email sender that EMAIL_BACKEND names."""
    if settings.email_backend == "file":
        return FileSender(settings.email_file_path)
    if settings.email_backend == "smtp":
        password = settings.smtp_password
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            security=settings.smtp_security,
        )
    return ConsoleSender()


def build_user_services(settings: Settings, database: Database, outbox: Outbox) -> UserServices:
    """The manager, access tokens and rate limits, wired to ``database`` and ``outbox``."""
    sessions = SessionStore(
        database,
        users,
        UserDB,
        inactivity_timeout_seconds=settings.session_inactivity_timeout_seconds,
    )
    signer = TokenSigner(settings.secret.get_secret_value())
    passwords = PasswordHasher(
        memory_cost_kib=settings.argon2_memory_cost_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hashing_concurrency,
        max_waiting=settings.hashing_max_waiting,
    )
    manager = UserManager(
        SQLAlchemyUserDatabase(UserDB, database, users),
        sessions,
        passwords,
        signer,
        outbox,
        password_min_length=settings.password_min_length,
        verify_token_lifetime_seconds=settings.verify_token_lifetime_seconds,
        reset_password_token_lifetime_seconds=settings.reset_password_token_lifetime_seconds,
        frontend_url=settings.frontend_url,
        require_current_password=settings.require_current_password,
    )
    rate_limits = RateLimits(
        create_storage(
            settings.redis_url, settings.rate_limit_key_prefix, settings.command_timeout_seconds
        ),
        login=Limit.parse(
            settings.login_rate_limit_per_address, settings.login_rate_limit_per_email
        ),
        email=Limit.parse(
            settings.email_rate_limit_per_address, settings.email_rate_limit_per_email
        ),
        register=parse_many(settings.register_rate_limit_per_address),
        password_change=parse_many(settings.password_change_rate_limit_per_address),
        refresh=parse_many(settings.refresh_rate_limit_per_address),
    )
    refresh_tokens = RefreshTokenStore(sessions, secret=settings.secret.get_secret_value())
    access_tokens = AccessTokens(
        signer,
        sessions,
        settings.access_token_lifetime_seconds,
        refresh_tokens=refresh_tokens if settings.refresh_tokens else None,
        session_lifetime_seconds=settings.refresh_token_lifetime_seconds,
    )
    return UserServices(
        manager=manager,
        access_tokens=access_tokens,
        rate_limits=rate_limits,
        requires_verification=settings.require_verification,
        cookie_name=cookie_name(settings.cookie_secure),
    )
