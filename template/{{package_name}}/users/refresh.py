"""Refresh tokens: a short-lived access token, renewed from a long-lived, single-use refresh token.

A refresh token belongs to one session row (its id is the token's first part), and the row
keeps only the SHA-256 of the token. A fast hash is right here, unlike for passwords: the token
holds 256 random bits, so nobody can guess one from its hash, however fast they hash. A leaked
table therefore gives no working token, and ending the session (logout, a password change,
deactivation, deleting it from the session list) ends its refresh token too.

Each use rotates the token (RFC 9700, section 4.14.2): the row takes the hash of a new token in
one conditional UPDATE, which only succeeds while the row still holds the hash of the token
presented. The database serializes updates of a row, so of two clients racing with one token
exactly one wins; the other finds the token already replaced.

Presenting the token that was just replaced means two parties hold it, and the server cannot
tell the thief from the owner, so the whole session ends: the thief's successor stops working
as well as the owner's. Except within `REUSE_GRACE` of the rotation: then the request is only
refused, and the session goes on. That covers the honest cases of a second use, two tabs or
requests of one client refreshing at the same moment, and a client retrying because the answer
to its refresh was lost: ending the session there would log out the request that did win. The
retrying client cannot be given its successor back (only hashes are kept), so it logs in again
either way. A thief gains nothing from the grace, as their request is refused too; only the
alarm is skipped. Ten seconds spans retries after a timeout and requests queued behind a slow
one; a longer grace would only widen that blind spot.

Only the last token replaced is remembered: an older one is refused, without ending the
session, since it could be anyone's guess at a session id (the id is in every access token).
"""

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ..db import Database, table_values
from .schemas import UserDB
from .sessions import _aware, user_sessions

# How long after a rotation the replaced token is refused without ending the session.
REUSE_GRACE = dt.timedelta(seconds=10)


def new_refresh_token(session_id: uuid.UUID) -> str:
    """A fresh token for the session: its id, a dot, then 256 random bits (base64url)."""
    return f"{session_id.hex}.{secrets.token_urlsafe(32)}"


def refresh_token_hash(token: str) -> str:
    """What the database keeps of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_of(token: str) -> uuid.UUID | None:
    """The session a token names, or None if it is not shaped like one of ours."""
    session, dot, secret = token.partition(".")
    if not dot or len(session) != 32 or not 40 <= len(secret) <= 64:
        return None
    try:
        return uuid.UUID(hex=session)
    except ValueError:
        return None


@dataclass(frozen=True)
class Renewed:
    """A refresh that won: the session's user, and the token that replaces the one used."""

    user: UserDB
    session_id: uuid.UUID
    refresh_token: str
    session_expires_at: dt.datetime


class RefreshTokenStore:
    """Rotates the refresh tokens kept (hashed) in the session rows."""

    def __init__(
        self,
        database: Database,
        users: sa.Table,
        user_model: type[UserDB],
        *,
        inactivity_timeout_seconds: int,
    ) -> None:
        self.database = database
        self.users = users
        self.user_model = user_model
        self.inactivity_timeout = dt.timedelta(seconds=inactivity_timeout_seconds)

    async def rotate(self, token: str) -> Renewed | None:
        """Replace ``token`` with a new one and return it with the session's active user; None
        if the token is unknown, was replaced, or its session ended, expired or sat unused too
        long. A token replaced more than `REUSE_GRACE` ago ends its session."""
        session_id = session_of(token)
        if session_id is None:
            return None
        presented = refresh_token_hash(token)
        successor = new_refresh_token(session_id)
        now = dt.datetime.now(dt.UTC)
        live = sa.and_(
            user_sessions.c.id == session_id,
            user_sessions.c.expires_at > now,
            user_sessions.c.last_used_at > now - self.inactivity_timeout,
        )
        # The compare-and-swap: only the request whose token the row still holds changes it.
        await self.database.execute(
            user_sessions.update()
            .where(live, user_sessions.c.refresh_token_hash == presented)
            .values(
                refresh_token_hash=refresh_token_hash(successor),
                previous_refresh_token_hash=presented,
                refreshed_at=now,
                last_used_at=now,
            )
        )
        # Which request won is read back: not every driver reports the rows an UPDATE changed.
        found = await self.database.fetch_one(sa.select(user_sessions).where(live))
        if found is None:
            return None
        session = table_values(found, user_sessions)
        if session["refresh_token_hash"] == refresh_token_hash(successor):
            user = await self._active_user(session["user_id"], session["password_version"])
            if user is None:
                return None
            return Renewed(user, session_id, successor, _aware(session["expires_at"]))
        # The hash of the replaced token and the time of its replacement are written together.
        reused = session["previous_refresh_token_hash"] == presented
        if reused and _aware(session["refreshed_at"]) <= now - REUSE_GRACE:
            await self.database.execute(
                user_sessions.delete().where(user_sessions.c.id == session_id)
            )
        return None

    async def _active_user(self, user_id: uuid.UUID, password_version: int) -> UserDB | None:
        """The session's user, if still active and under the password the session began with
        (see sessions.py)."""
        row = await self.database.fetch_one(
            sa.select(self.users).where(
                self.users.c.id == user_id, self.users.c.password_version == password_version
            )
        )
        if row is None:
            return None
        user = self.user_model.model_validate(table_values(row, self.users))
        return user if user.is_active else None
