"""Login sessions: every access token names a row here, so logging out really logs out.

A bare JWT stays valid until it expires, whatever the user does. Ours also carries the id of
a session row (``sid``): logging out deletes that row, and a password change or reset deletes
all of the user's rows, which revokes every older token at once, bearer or cookie, in every
process that shares the database. A per-user token version in the JWT would revoke too, but
only all of a user's tokens at once: logging out on one device would log out every other.

Each row also keeps the user's password version from when the password was checked: a password
change counts it up in the same UPDATE that stores the new hash, and a session only resolves
while the two agree. So a login that checked the old password while a change or reset ran can
open a session, but never a working one, however the requests interleave.

Resolving a token stays one indexed lookup: the session's primary key, joined to the user's,
which is the query that loading the user behind a plain JWT needs anyway.

Each session also records the client that opened it and when it was last used, so users can
see their sessions and end the ones they do not recognize. The last use is written at most
once a minute per session, so requests stay reads; a session unused for the inactivity
timeout ends even before its absolute lifetime.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Database, UTCDateTime, is_foreign_key_violation, table_values
from .exceptions import UserNotExists
from .schemas import UserDB

USER_AGENT_MAX_LENGTH = 512


class UserSessionTable(Base):
    """One row per logged-in client."""

    __tablename__ = "user_session"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    password_version: Mapped[int] = mapped_column(sa.Integer(), server_default="0")
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(sa.String(USER_AGENT_MAX_LENGTH))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))  # room for IPv6
    # The SHA-256 of the session's refresh token, and of the one it replaced (see refresh.py).
    refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    previous_refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


user_sessions = cast(sa.Table, UserSessionTable.__table__)

# Last use is written when it is older than this, so most requests only read.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Client:
    """Who opened a session, as the request told."""

    user_agent: str | None
    ip_address: str | None


@dataclass(frozen=True)
class SessionInfo:
    """A live session, as its user (or a superuser) sees it."""

    id: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str | None
    ip_address: str | None


class SessionStore:
    """Creates, resolves and deletes sessions."""

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

    async def create(
        self,
        user: UserDB,
        lifetime_seconds: int,
        client: Client | None = None,
        *,
        session_id: uuid.UUID | None = None,
        refresh_token_hash: str | None = None,
    ) -> uuid.UUID:
        """Open a session for ``user``, as read when their password was checked (from
        ``client``), and return its id; `UserNotExists` if the user was deleted meanwhile
        (where the database checks the reference). A refresh token names its session, so its
        caller picks the id."""
        try:
            return await self._create(
                user, lifetime_seconds, client, session_id or uuid.uuid4(), refresh_token_hash
            )
        except Exception as error:
            if is_foreign_key_violation(error):
                raise UserNotExists from error
            raise

    async def _create(
        self,
        user: UserDB,
        lifetime_seconds: int,
        client: Client | None,
        session_id: uuid.UUID,
        refresh_token_hash: str | None,
    ) -> uuid.UUID:
        user_id = user.id
        now = dt.datetime.now(dt.UTC)
        client = client or Client(user_agent=None, ip_address=None)
        async with self.database.transaction():
            # Housekeeping: the user's expired sessions go as a new one comes.
            await self.database.execute(
                user_sessions.delete().where(
                    user_sessions.c.user_id == user_id,
                    sa.or_(
                        user_sessions.c.expires_at <= now,
                        user_sessions.c.last_used_at <= now - self.inactivity_timeout,
                    ),
                )
            )
            await self.database.execute(
                user_sessions.insert().values(
                    id=session_id,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + dt.timedelta(seconds=lifetime_seconds),
                    password_version=user.password_version,
                    last_used_at=now,
                    user_agent=client.user_agent,
                    ip_address=client.ip_address,
                    refresh_token_hash=refresh_token_hash,
                )
            )
        return session_id

    async def get_user(self, session_id: uuid.UUID, user_id: uuid.UUID) -> UserDB | None:
        """The user of a live session, or None if it ended, expired, sat unused too long, or the
        password changed since it began."""
        now = dt.datetime.now(dt.UTC)
        query = (
            sa.select(self.users, user_sessions.c.last_used_at.label("session_last_used_at"))
            .join(
                user_sessions,
                sa.and_(
                    user_sessions.c.user_id == self.users.c.id,
                    user_sessions.c.password_version == self.users.c.password_version,
                ),
            )
            .where(
                user_sessions.c.id == session_id,
                user_sessions.c.user_id == user_id,
                user_sessions.c.expires_at > now,
                user_sessions.c.last_used_at > now - self.inactivity_timeout,
            )
        )
        row = await self.database.fetch_one(query)
        if row is None:
            return None
        if _aware(row["session_last_used_at"]) < now - LAST_USED_PRECISION:
            await self.database.execute(
                user_sessions.update()
                .where(user_sessions.c.id == session_id)
                .values(last_used_at=now)
            )
        return self.user_model.model_validate(table_values(row, self.users))

    async def active(self, user_id: uuid.UUID) -> list[SessionInfo]:
        """The user's live sessions, the most recently used first."""
        now = dt.datetime.now(dt.UTC)
        rows = await self.database.fetch_all(
            sa.select(user_sessions)
            .where(
                user_sessions.c.user_id == user_id,
                user_sessions.c.expires_at > now,
                user_sessions.c.last_used_at > now - self.inactivity_timeout,
            )
            .order_by(user_sessions.c.last_used_at.desc(), user_sessions.c.id)
        )
        sessions = []
        for row in rows:
            sessions.append(
                SessionInfo(
                    id=row["id"],
                    created_at=_aware(row["created_at"]),
                    last_used_at=_aware(row["last_used_at"]),
                    expires_at=_aware(row["expires_at"]),
                    user_agent=row["user_agent"],
                    ip_address=row["ip_address"],
                )
            )
        return sessions

    async def delete(self, session_id: uuid.UUID, user_id: uuid.UUID | None = None) -> bool:
        """End one session (log out one client), only if it is ``user_id``'s when given; tell
        whether there was one to end."""
        condition = user_sessions.c.id == session_id
        if user_id is not None:
            condition &= user_sessions.c.user_id == user_id
        async with self.database.transaction():
            found = await self.database.fetch_val(sa.select(user_sessions.c.id).where(condition))
            await self.database.execute(user_sessions.delete().where(condition))
        return found is not None

    async def delete_all(self, user_id: uuid.UUID, keep: uuid.UUID | None = None) -> None:
        """End every session of a user (after a password change or reset), but ``keep``."""
        condition = user_sessions.c.user_id == user_id
        if keep is not None:
            condition &= user_sessions.c.id != keep
        await self.database.execute(user_sessions.delete().where(condition))


def _aware(value: dt.datetime) -> dt.datetime:
    """Some drivers return naive UTC datetimes where SQLAlchemy does not convert (see db.py)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
