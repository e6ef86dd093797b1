"""The user manager: the rules of accounts, and hooks to run your code when things happen.

Routers call the manager; the manager calls storage. Put your own behaviour in the ``on_…``
hooks (send a welcome email, write an audit log…) and your password policy in
`validate_password`.
"""

import hmac
import uuid
from dataclasses import KW_ONLY, dataclass
from typing import Any

from fastapi import Request, Response

from ..mail import Outbox
from . import emails
from .adapter import SQLAlchemyUserDatabase
from .addresses import canonical_email
from .exceptions import (
    InvalidPasswordException,
    InvalidResetPasswordToken,
    InvalidVerifyToken,
    UserAlreadyExists,
    UserAlreadyVerified,
    UserInactive,
    UserNotExists,
)
from .listing import Cursor, Order, UserFilter, UserPage
from .passwords import PasswordHasher
from .schemas import UserAdminUpdate, UserCreate, UserDB, UserUpdate
from .sessions import SessionStore
from .tokens import RESET_PASSWORD_AUDIENCE, VERIFY_AUDIENCE, InvalidToken, TokenSigner

# Longer passwords add nothing but hashing work, so every endpoint refuses them, login included.
PASSWORD_MAX_LENGTH = 128


@dataclass(eq=False)
class UserManager:
    """Registers, authenticates and updates users."""

    user_db: SQLAlchemyUserDatabase
    sessions: SessionStore
    passwords: PasswordHasher
    tokens: TokenSigner
    outbox: Outbox
    # The settings it follows, given by name.
    _: KW_ONLY
    password_min_length: int
    verify_token_lifetime_seconds: int
    reset_password_token_lifetime_seconds: int
    frontend_url: str
    require_current_password: bool

    # --- hooks: edit these -------------------------------------------------------------

    async def validate_password(self, password: str, user: UserCreate | UserDB) -> None:
        """Your password policy; raise `InvalidPasswordException` to refuse a password.

        Length is checked before this runs. NIST SP 800-63B advises against composition
        rules (a digit, a symbol…); checking against known-breached passwords helps more.
        """

    async def on_after_register(self, user: UserDB, request: Request | None = None) -> None:
        """Runs after a user registered."""

    async def on_after_login(
        self, user: UserDB, request: Request | None = None, response: Response | None = None
    ) -> None:
        """Runs after a successful login."""

    async def on_after_update(
        self, user: UserDB, update_dict: dict[str, Any], request: Request | None = None
    ) -> None:
        """Runs after a user was updated; ``update_dict`` holds the changed fields."""

    async def on_after_request_verify(
        self, user: UserDB, token: str, request: Request | None = None
    ) -> None:
        """Runs when a user asked to verify their email: sends them the link with ``token``."""
        link = emails.link(self.frontend_url, "/verify", token)
        subject, body = emails.verification(link, self.verify_token_lifetime_seconds)
        self.outbox.send_soon(user.email, subject, body)

    async def on_after_verify(self, user: UserDB, request: Request | None = None) -> None:
        """Runs after a user verified their email."""

    async def on_after_forgot_password(
        self, user: UserDB, token: str, request: Request | None = None
    ) -> None:
        """Runs when a user forgot their password: sends them the reset link with ``token``."""
        link = emails.link(self.frontend_url, "/reset-password", token)
        subject, body = emails.password_reset(link, self.reset_password_token_lifetime_seconds)
        self.outbox.send_soon(user.email, subject, body)

    async def on_after_reset_password(self, user: UserDB, request: Request | None = None) -> None:
        """Runs after a user reset their password."""

    async def on_before_delete(self, user: UserDB, request: Request | None = None) -> None:
        """Runs before a user is deleted."""

    async def on_after_delete(self, user: UserDB, request: Request | None = None) -> None:
        """Runs after a user was deleted."""

    # --- the rules ---------------------------------------------------------------------

    async def get(self, id: uuid.UUID) -> UserDB:
        """The user with this id, or `UserNotExists`."""
        user = await self.user_db.get(id)
        if user is None:
            raise UserNotExists
        return user

    async def get_by_email(self, email: str) -> UserDB:
        """The user with this email (any case, see addresses.py), or `UserNotExists`."""
        user = await self.user_db.get_by_email(email)
        if user is None:
            raise UserNotExists
        return user

    async def list_users(
        self, filters: UserFilter, cursor: Cursor | None, limit: int, order: Order = Order.OLDEST
    ) -> UserPage:
        """A page of the users matching ``filters``, after ``cursor`` (see listing.py)."""
        return await self.user_db.page(filters, cursor, limit, order)

    async def create(
        self, user_create: UserCreate, *, superuser: bool = False, request: Request | None = None
    ) -> UserDB:
        """Register a user. Only `superuser=True` (the create-superuser command) makes one.

        Raises `UserAlreadyExists`, `UserValueTaken` (a unique field's value is in use) or
        `InvalidPasswordException`.
        """
        await self.check_password(user_create.password, user_create)
        if await self.user_db.get_by_email(user_create.email) is not None:
            raise UserAlreadyExists
        values = user_create.model_dump(exclude={"password"})
        values["hashed_password"] = await self.passwords.hash(user_create.password)
        values.update(is_active=True, is_superuser=superuser, is_verified=superuser)
        user = await self.user_db.create(values)
        await self.on_after_register(user, request)
        return user

    async def authenticate(self, email: str, password: str) -> UserDB | None:
        """The user these credentials belong to, or None.

        An unknown email costs one hash verification too, so timing does not tell which
        accounts exist; an outdated hash is replaced now that the password is known.
        """
        if len(password) > PASSWORD_MAX_LENGTH:
            return None
        user = await self.user_db.get_by_email(email)
        if user is None:
            await self.passwords.dummy_verify(password)
            return None
        verified, new_hash = await self.passwords.verify_and_update(password, user.hashed_password)
        if not verified:
            return None
        if new_hash is not None:
            await self.user_db.rehash(user, user.hashed_password, new_hash)
        return user

    async def update(
        self, changes: UserUpdate | UserAdminUpdate, user: UserDB, request: Request | None = None
    ) -> UserDB:
        """Apply the fields set in ``changes``.

        A new email must be free and is no longer verified; a new password must pass the
        policy and ends every session of the user, and so does deactivation (a reactivated
        user logs in again). Raises `UserAlreadyExists`, `UserValueTaken` (a unique field's
        value is in use), `InvalidPasswordException`, or `UserNotExists` if the user was
        deleted meanwhile.
        """
        # The current password (PATCH /users/me) is the route's to check, never a column.
        update_dict = changes.model_dump(exclude_unset=True, exclude={"current_password"})
        values = dict(update_dict)
        email_changed = False
        if "email" in values:
            owner = await self.user_db.get_by_email(values["email"])
            if owner is not None and owner.id != user.id:
                raise UserAlreadyExists
            if canonical_email(values["email"]) != canonical_email(user.email):
                values["is_verified"] = False
                email_changed = True
        if "password" in values:
            password = values.pop("password")
            await self.check_password(password, user)
            values["hashed_password"] = await self.passwords.hash(password)
        updated = await self.user_db.update(user, values)
        if "hashed_password" in values or values.get("is_active") is False:
            await self.sessions.delete_all(user.id)
        if "hashed_password" in values:
            self.outbox.send_soon(updated.email, *emails.password_changed())
        if email_changed:
            # To the old address: if someone else made the change, its owner learns of it.
            self.outbox.send_soon(user.email, *emails.email_changed(updated.email))
        await self.on_after_update(updated, update_dict, request)
        return updated

    async def is_password(self, user: UserDB, password: str) -> bool:
        """Whether ``password`` is the user's current password."""
        if len(password) > PASSWORD_MAX_LENGTH:
            return False
        verified, _ = await self.passwords.verify_and_update(password, user.hashed_password)
        return verified

    async def request_verify(self, user: UserDB, request: Request | None = None) -> None:
        """Send ``user`` a link to verify their email; `UserInactive` or `UserAlreadyVerified`
        if there is nothing to verify."""
        if not user.is_active:
            raise UserInactive
        if user.is_verified:
            raise UserAlreadyVerified
        claims = {"sub": str(user.id), "email": user.email}
        token = self.tokens.encode(claims, VERIFY_AUDIENCE, self.verify_token_lifetime_seconds)
        await self.on_after_request_verify(user, token, request)

    async def verify(self, token: str, request: Request | None = None) -> UserDB:
        """Mark the user of a verification ``token`` verified.

        The token names the user and the address it was sent to, exactly as written: it stops
        working once the address changes in any way, so it can only ever verify the address
        that received it. Raises `InvalidVerifyToken` or `UserAlreadyVerified`.
        """
        try:
            claims = self.tokens.decode(token, VERIFY_AUDIENCE)
            user = await self.get(self.tokens.uuid_claim(claims, "sub"))
            email = claims.get("email")
        except (InvalidToken, KeyError, TypeError, ValueError, UserNotExists):
            raise InvalidVerifyToken from None
        if email != user.email:
            raise InvalidVerifyToken
        if user.is_verified:
            raise UserAlreadyVerified
        try:
            verified = await self.user_db.update(user, {"is_verified": True})
        except UserNotExists:  # deleted meanwhile
            raise InvalidVerifyToken from None
        await self.on_after_verify(verified, request)
        return verified

    async def forgot_password(self, user: UserDB, request: Request | None = None) -> None:
        """Send ``user`` a link to choose a new password; `UserInactive` for a deactivated one.

        The token carries a fingerprint of the current password hash: once the password
        changes (by this reset or otherwise), the token no longer matches, so it works once.
        It also names the address it is sent to, and stops working if that changes.
        """
        if not user.is_active:
            raise UserInactive
        claims = {
            "sub": str(user.id),
            "email": user.email,
            "password_fgpt": self.tokens.fingerprint(user.hashed_password),
        }
        token = self.tokens.encode(
            claims, RESET_PASSWORD_AUDIENCE, self.reset_password_token_lifetime_seconds
        )
        await self.on_after_forgot_password(user, token, request)

    async def reset_password(
        self, token: str, password: str, request: Request | None = None
    ) -> UserDB:
        """Set a new password with a reset ``token``, and end every session of the user.

        Raises `InvalidResetPasswordToken` (bad, expired or used token, unknown or inactive
        user) or `InvalidPasswordException`.
        """
        try:
            claims = self.tokens.decode(token, RESET_PASSWORD_AUDIENCE)
            user = await self.get(self.tokens.uuid_claim(claims, "sub"))
            fingerprint = str(claims["password_fgpt"])
            email = claims["email"]
        except (InvalidToken, KeyError, TypeError, ValueError, UserNotExists):
            raise InvalidResetPasswordToken from None
        if not hmac.compare_digest(fingerprint, self.tokens.fingerprint(user.hashed_password)):
            raise InvalidResetPasswordToken
        if email != user.email:
            raise InvalidResetPasswordToken
        if not user.is_active:
            raise InvalidResetPasswordToken
        await self.check_password(password, user)
        new_hash = await self.passwords.hash(password)
        # Two requests racing with one token both got this far; only the first write matches
        # the old hash, so the token is used once even then.
        if not await self.user_db.replace_password(user, user.hashed_password, new_hash):
            raise InvalidResetPasswordToken
        await self.sessions.delete_all(user.id)
        try:
            updated = await self.get(user.id)
        except UserNotExists:  # deleted meanwhile
            raise InvalidResetPasswordToken from None
        await self.on_after_reset_password(updated, request)
        return updated

    async def delete(self, user: UserDB, request: Request | None = None) -> None:
        """Delete a user and end their sessions."""
        await self.on_before_delete(user, request)
        await self.user_db.delete(user)
        await self.on_after_delete(user, request)

    async def check_password(self, password: str, user: UserCreate | UserDB) -> None:
        """Enforce the length bounds, then your `validate_password` policy."""
        if len(password) < self.password_min_length:
            raise InvalidPasswordException(
                f"Password should be at least {self.password_min_length} characters"
            )
        if len(password) > PASSWORD_MAX_LENGTH:
            raise InvalidPasswordException(
                f"Password should be at most {PASSWORD_MAX_LENGTH} characters"
            )
        await self.validate_password(password, user)
