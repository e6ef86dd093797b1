"""The rules of logging in with a provider and of linking provider accounts to users.

A provider login logs in the user its account is linked to. An unlinked one whose email is a
local account's is linked to it only if the provider says the address is verified AND the local
account verified it too (and OAUTH_LINK_VERIFIED_EMAILS is on): otherwise anyone could register
a victim's address first, with a password, and share the account once the victim logs in with
the provider (pre-account hijacking), or take an account over from a provider that does not
check addresses. Those users link the provider from their account instead (association). A new
address makes a new user, verified only if the provider says so.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from httpx_oauth.oauth2 import OAuth2Token
from pydantic import EmailStr, TypeAdapter, ValidationError

from ..error_codes import ErrorCode
from ..exceptions import UserAlreadyExists, UserNotExists
from ..manager import UserManager
from ..ratelimits import RateLimits
from ..schemas import UserDB
from .clients import Identity
from .crypto import TokenCipher
from .store import AlreadyLinked, OAuthStore, StoredOAuthAccount

EMAIL = TypeAdapter(EmailStr)


class OAuthRefused(Exception):
    """The login or association is refused with 400 and ``code`` (FastAPI Users' codes)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


NOT_AVAILABLE_EMAIL = "OAUTH_NOT_AVAILABLE_EMAIL"
USER_ALREADY_EXISTS = "OAUTH_USER_ALREADY_EXISTS"


@dataclass
class OAuthAccounts:
    manager: UserManager
    store: OAuthStore
    cipher: TokenCipher
    rate_limits: RateLimits
    store_tokens: bool
    link_verified_emails: bool

    def _values(self, identity: Identity, token: OAuth2Token) -> dict[str, Any]:
        """What a link stores: the provider's address, and its tokens if they are kept (else
        none, even those kept before the setting was turned off)."""
        # (Cut to the column's size: the address is only shown, never compared.)
        values: dict[str, Any] = {"account_email": (identity.email or "")[:320]}
        if not self.store_tokens:
            return values | {"access_token": None, "refresh_token": None, "expires_at": None}
        expires_at = token.get("expires_at")
        values.update(
            access_token=self.cipher.encrypt(str(token["access_token"])),
            expires_at=expires_at if isinstance(expires_at, int) else None,
        )
        # Many providers send a refresh token only at the first consent: one stored before
        # stays until a new one comes.
        refresh = token.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            values["refresh_token"] = self.cipher.encrypt(refresh)
        return values

    def _update(
        self, linked: StoredOAuthAccount, identity: Identity, token: OAuth2Token
    ) -> dict[str, Any]:
        """What a login or association writes to an existing link: its id as used now too, and
        no kept refresh token that does not decrypt (FastAPI Users stored them in clear)."""
        values = {**self._values(identity, token), "account_id": identity.account_id}
        if "refresh_token" not in values and self.cipher.decrypt(linked.refresh_token) is None:
            values["refresh_token"] = None
        return values

    async def _linked(self, oauth_name: str, identity: Identity) -> StoredOAuthAccount | None:
        """The link of the provider account, also one made under an id that FastAPI Users'
        client gave the same account (`Identity.former_account_ids`)."""
        for account_id in (identity.account_id, *identity.former_account_ids):
            linked = await self.store.get(oauth_name, account_id)
            if linked is not None:
                return linked
        return None

    async def login(
        self, oauth_name: str, identity: Identity, token: OAuth2Token, request: Request
    ) -> UserDB:
        """The user a provider login logs in (made or linked as the module says), or
        `OAuthRefused`. An inactive user is refused as FastAPI Users refuses them
        (LOGIN_BAD_CREDENTIALS), and nothing is written for them first."""
        if identity.email is None:
            raise OAuthRefused(NOT_AVAILABLE_EMAIL)
        linked = await self._linked(oauth_name, identity)
        if linked is not None:
            try:
                user = await self.manager.get(linked.user_id)
            except UserNotExists:  # deleted meanwhile
                raise OAuthRefused(USER_ALREADY_EXISTS) from None
            if not user.is_active:
                raise OAuthRefused(ErrorCode.LOGIN_BAD_CREDENTIALS)
            # The provider's address may have changed; the user's own email stays. If the link
            # went meanwhile (its user proved the address: see UserManager.verify), so does
            # this login; a session opened from ``user`` as read before then would not resolve.
            if not await self.store.update(linked.id, self._update(linked, identity, token)):
                raise OAuthRefused(ErrorCode.LOGIN_BAD_CREDENTIALS)
            return user
        local = await self.manager.user_db.get_by_email(identity.email)
        if local is not None:
            if not (self.link_verified_emails and identity.email_verified and local.is_verified):
                raise OAuthRefused(USER_ALREADY_EXISTS)
            if not local.is_active:
                raise OAuthRefused(ErrorCode.LOGIN_BAD_CREDENTIALS)
            await self._link(local, oauth_name, identity, token)
            return local
        return await self._register(oauth_name, identity, token, request)

    async def associate(
        self, user: UserDB, oauth_name: str, identity: Identity, token: OAuth2Token
    ) -> UserDB:
        """Link the provider account to ``user`` (logged in); `OAuthRefused` if it is linked
        to another user."""
        if identity.email is None:
            raise OAuthRefused(NOT_AVAILABLE_EMAIL)
        linked = await self._linked(oauth_name, identity)
        if linked is not None:
            if linked.user_id != user.id:
                raise OAuthRefused(USER_ALREADY_EXISTS)
            await self.store.update(linked.id, self._update(linked, identity, token))
        else:
            await self._link(user, oauth_name, identity, token)
        await self.manager.on_after_update(user, {})
        return user

    async def _link(
        self, user: UserDB, oauth_name: str, identity: Identity, token: OAuth2Token
    ) -> None:
        try:
            await self.store.link(
                user.id, oauth_name, identity.account_id, self._values(identity, token)
            )
        except AlreadyLinked:  # by a request running at the same moment
            raise OAuthRefused(USER_ALREADY_EXISTS) from None

    async def _register(
        self, oauth_name: str, identity: Identity, token: OAuth2Token, request: Request
    ) -> UserDB:
        """A new user for the provider's address, with a random password nobody knows (a
        password reset gives one), verified only if the provider says the address is."""
        try:
            email = EMAIL.validate_python(identity.email)
        except ValidationError:
            raise OAuthRefused(NOT_AVAILABLE_EMAIL) from None
        await self.rate_limits.hit_address("register", self.rate_limits.register, request)
        hashed_password = await self.manager.passwords.hash(secrets.token_urlsafe(32))
        database = self.store.database
        try:
            async with database.transaction():
                user = await self.manager.user_db.create(
                    {
                        "email": email,
                        "hashed_password": hashed_password,
                        "is_active": True,
                        "is_superuser": False,
                        "is_verified": identity.email_verified,
                    }
                )
                await self.store.link(
                    user.id, oauth_name, identity.account_id, self._values(identity, token)
                )
        except (UserAlreadyExists, AlreadyLinked):  # registered at the same moment
            raise OAuthRefused(USER_ALREADY_EXISTS) from None
        await self.manager.on_after_register(user, request)
        return user
