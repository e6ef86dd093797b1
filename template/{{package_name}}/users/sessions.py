"""Login sessions: every access token names a row here, so logging out really logs out.

A bare JWT stays valid until it expires, whatever the user does. Ours also carries the id of
a session row (``sid``): logging out deletes that row, and a password change or reset deletes
all of the user's rows, which revokes every older token at once, bearer or cookie, in every
process that shares the database. A per-user token version in the JWT would revoke too, but
only all of a user's tokens at once: logging out on one device would log out every other.
Resolving a token stays one indexed lookup: the session's primary key, joined to the user's,
which is the query that loading the user behind a plain JWT needs anyway.
"""

import datetime as dt
import uuid
from typing import cast

import sqlalchemy as sa
from databases import Database
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, table_values
from .schemas import UserDB


class UserSessionTable(Base):
    """One row per logged-in client."""

    __tablename__ = "user_session"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


user_sessions = cast(sa.Table, UserSessionTable.__table__)


class SessionStore:
    """Creates, resolves and deletes sessions."""

    def __init__(self, database: Database, users: sa.Table, user_model: type[UserDB]) -> None:
        self.database = database
        self.users = users
        self.user_model = user_model

    async def create(self, user_id: uuid.UUID, lifetime_seconds: int) -> uuid.UUID:
        """Open a session for ``user_id`` and return its id."""
        now = dt.datetime.now(dt.UTC)
        session_id = uuid.uuid4()
        async with self.database.transaction():
            # Housekeeping: the user's expired sessions go as a new one comes.
            await self.database.execute(
                user_sessions.delete().where(
                    user_sessions.c.user_id == user_id, user_sessions.c.expires_at <= now
                )
            )
            await self.database.execute(
                user_sessions.insert().values(
                    id=session_id,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + dt.timedelta(seconds=lifetime_seconds),
                )
            )
        return session_id

    async def get_user(self, session_id: uuid.UUID, user_id: uuid.UUID) -> UserDB | None:
        """The user of a live session, or None if it ended or expired."""
        query = (
            sa.select(self.users)
            .join(user_sessions, user_sessions.c.user_id == self.users.c.id)
            .where(
                user_sessions.c.id == session_id,
                user_sessions.c.user_id == user_id,
                user_sessions.c.expires_at > dt.datetime.now(dt.UTC),
            )
        )
        row = await self.database.fetch_one(query)
        if row is None:
            return None
        return self.user_model.model_validate(table_values(row, self.users))

    async def delete(self, session_id: uuid.UUID) -> None:
        """End one session (log out one client)."""
        await self.database.execute(user_sessions.delete().where(user_sessions.c.id == session_id))

    async def delete_all(self, user_id: uuid.UUID) -> None:
        """End every session of a user (after a password change or reset)."""
        await self.database.execute(
            user_sessions.delete().where(user_sessions.c.user_id == user_id)
        )
