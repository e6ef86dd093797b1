"""The user manager: the rules of accounts, and hooks to run your code when things happen.

Routers call the manager; the manager calls storage. Put your own behaviour in the ``on_…``
hooks (send a welcome email, write an audit log…) and your password policy in
`validate_password`.
"""

import uuid
from typing import Any

from fastapi import Request, Response

from .adapter import SQLAlchemyUserDatabase
from .exceptions import InvalidPasswordException, UserAlreadyExists, UserNotExists
from .passwords import PasswordHasher
from .schemas import UserAdminUpdate, UserCreate, UserDB, UserUpdate
from .sessions import SessionStore

# Longer passwords add nothing but hashing work, so every endpoint refuses them, login included.
PASSWORD_MAX_LENGTH = 128


class UserManager:
    """Registers, authenticates and updates users."""

    def __init__(
        self,
        user_db: SQLAlchemyUserDatabase,
        sessions: SessionStore,
        passwords: PasswordHasher,
        *,
        password_min_length: int,
    ) -> None:
        self.user_db = user_db
        self.sessions = sessions
        self.passwords = passwords
        self.password_min_length = password_min_length

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
        """The user with this email (any case), or `UserNotExists`."""
        user = await self.user_db.get_by_email(email)
        if user is None:
            raise UserNotExists
        return user

    async def create(
        self, user_create: UserCreate, *, superuser: bool = False, request: Request | None = None
    ) -> UserDB:
        """Register a user. Only `superuser=True` (the create-superuser command) makes one.

        Raises `UserAlreadyExists` or `InvalidPasswordException`.
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
            user = await self.user_db.update(user, {"hashed_password": new_hash})
        return user

    async def update(
        self, changes: UserUpdate | UserAdminUpdate, user: UserDB, request: Request | None = None
    ) -> UserDB:
        """Apply the fields set in ``changes``.

        A new email must be free and is no longer verified; a new password must pass the
        policy and ends every session of the user. Raises `UserAlreadyExists` or
        `InvalidPasswordException`.
        """
        update_dict = changes.model_dump(exclude_unset=True)
        values = dict(update_dict)
        if "email" in values:
            owner = await self.user_db.get_by_email(values["email"])
            if owner is not None and owner.id != user.id:
                raise UserAlreadyExists
            if values["email"].lower() != user.email.lower():
                values["is_verified"] = False
        if "password" in values:
            password = values.pop("password")
            await self.check_password(password, user)
            values["hashed_password"] = await self.passwords.hash(password)
        updated = await self.user_db.update(user, values)
        if "hashed_password" in values:
            await self.sessions.delete_all(user.id)
        await self.on_after_update(updated, update_dict, request)
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
