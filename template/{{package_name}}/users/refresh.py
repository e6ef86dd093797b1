"""Refresh tokens: a short-lived access token, renewed from a long-lived, single-use refresh token.

A refresh token belongs to one session row, and the row keeps only the SHA-256 of the token. A
fast hash is right here, unlike for passwords: the token holds 256 random bits, so nobody can
guess one from its hash, however fast they hash. A leaked table therefore gives no working
token, and ending the session (logout, a password change, deactivation, deleting it from the
session list) ends its refresh token too.

Each use rotates the token (RFC 9700, section 4.14.2): the row takes the hash of a new token in
one conditional UPDATE, which only succeeds while the row still holds the hash of the token
presented. The database serializes updates of a row, so of two clients racing with one token
exactly one wins; the other finds the token already replaced.

Presenting a token that was already replaced means two parties hold the session's tokens, and
the server cannot tell the thief from the owner, so the whole session ends: the thief's
successor stops working as well as the owner's. That holds for every token the session ever
had, not only the last one replaced: a thief who refreshes twice in a row must not make the
owner's stale token look like a stranger's. So each token carries, besides the session id and
its random part, a tag only the server can compute for that session (an HMAC of the id under a
key from SECRET): a stale token with the right tag came from this session, while a guess built
from a session id (which every access token shows) is refused and ends nothing.

One exception: the token replaced last, presented within `REUSE_GRACE` of its replacement, is
only refused, and the session goes on. That covers the honest second uses, two tabs or requests
of one client refreshing at the same moment, and a client retrying because the answer to its
refresh was lost: ending the session there would log out the request that did win. The
retrying client cannot be given its successor back (only hashes are kept), so it logs in again
either way. A thief gains nothing from the grace, as their request is refused too; only the
alarm is skipped, and only for that one token. Ten seconds spans retries after a timeout and
requests queued behind a slow one; a longer grace would only widen that blind spot.
"""

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ..db import as_utc, table_values
from .schemas import UserDB
from .sessions import SessionStore
from .table import user_sessions

# How long after a rotation the token replaced last is refused without ending the session.
REUSE_GRACE = dt.timedelta(seconds=10)


def refresh_token_hash(token: str) -> str:
    """What the database keeps of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Renewed:
    """A refresh that won: the session's user, and the token that replaces the one used."""

    user: UserDB
    session_id: uuid.UUID
    refresh_token: str
    session_expires_at: dt.datetime


class RefreshTokenStore:
    """Makes refresh tokens and rotates them, kept (hashed) in the rows of ``sessions``, whose
    database, inactivity timeout and user lookup it shares."""

    def __init__(self, sessions: SessionStore, *, secret: str) -> None:
        self.sessions = sessions
        # A key of its own, so a tag can never pass for a signature or a fingerprint.
        self._tag_key = hashlib.sha256(b"refresh-token:" + secret.encode()).digest()

    def new_token(self, session_id: uuid.UUID) -> str:
        """A fresh token for the session: its id, its tag, then 256 random bits (base64url)."""
        return f"{session_id.hex}.{self._tag(session_id)}.{secrets.token_urlsafe(32)}"

    def session_of(self, token: str) -> uuid.UUID | None:
        """The session a token was made for, or None if it is not one of ours."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        session, tag, secret = parts
        if len(session) != 32 or len(secret) != 43:
            return None
        try:
            session_id = uuid.UUID(hex=session)
        except ValueError:
            return None
        return session_id if hmac.compare_digest(tag, self._tag(session_id)) else None

    def _tag(self, session_id: uuid.UUID) -> str:
        """128 bits of an HMAC of the session id: proof that a token came from this server."""
        digest = hmac.new(self._tag_key, session_id.bytes, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    async def rotate(self, token: str) -> Renewed | None:
        """Replace ``token`` with a new one and return it with the session's active user; None
        if the token is not ours, was replaced, or its session ended, expired or sat unused too
        long. A replaced token ends its session, but within `REUSE_GRACE` of its replacement."""
        session_id = self.session_of(token)
        if session_id is None:
            return None
        presented = refresh_token_hash(token)
        successor = self.new_token(session_id)
        now = dt.datetime.now(dt.UTC)
        live = sa.and_(
            user_sessions.c.id == session_id,
            user_sessions.c.expires_at > now,
            user_sessions.c.last_used_at > now - self.sessions.inactivity_timeout,
        )
        # The compare-and-swap: only the request whose token the row still holds changes it.
        database = self.sessions.database
        await database.execute(
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
        found = await database.fetch_one(sa.select(user_sessions).where(live))
        if found is None:
            return None
        session = table_values(found, user_sessions)
        if session["refresh_token_hash"] == refresh_token_hash(successor):
            # The session's user, if still active and under the password the session began with.
            user = await self.sessions.get_user(session_id, session["user_id"])
            if user is None or not user.is_active:
                return None
            return Renewed(user, session_id, successor, as_utc(session["expires_at"]))
        if session["refresh_token_hash"] is None:  # opened without refresh tokens
            return None
        # The hash of the replaced token and the time of its replacement are written together.
        just_replaced = session["previous_refresh_token_hash"] == presented
        if not (just_replaced and as_utc(session["refreshed_at"]) > now - REUSE_GRACE):
            await database.execute(user_sessions.delete().where(user_sessions.c.id == session_id))
        return None
