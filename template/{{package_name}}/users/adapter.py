"""Reading and writing users with SQLAlchemy Core."""

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from ..db import Database, is_unique_violation, table_values, unique_violation_columns
from .addresses import canonical_email
from .exceptions import UserAlreadyExists, UserNotExists, UserValueTaken
from .listing import (
    Cursor,
    ListedUser,
    Order,
    UserFilter,
    UserPage,
    count_query,
    page_query,
)
from .schemas import UserDB
from .table import user_sessions


class SQLAlchemyUserDatabase:
    """The user table's data access: get, get_by_email, create, update, delete, page."""

    def __init__(self, user_db_model: type[UserDB], database: Database, users: sa.Table) -> None:
        self.user_db_model = user_db_model
        self.database = database
        self.users = users

    async def get(self, id: uuid.UUID) -> UserDB | None:
        """The user with this id, if any."""
        return await self._fetch_user(self.users.c.id == id)

    async def get_by_email(self, email: str) -> UserDB | None:
        """The user whose address has the canonical form of ``email`` (see addresses.py)."""
        # Registration refuses NUL characters in emails, so no user has one; and PostgreSQL
        # answers a NUL in a query parameter with an error, which would make a login a 500.
        if "\x00" in email:
            return None
        return await self._fetch_user(self.users.c.normalized_email == canonical_email(email))

    async def create(self, values: dict[str, Any]) -> UserDB:
        """Insert a user and return it; `UserAlreadyExists` if the email is taken, even by a
        registration running at the same moment (the unique index decides), `UserValueTaken`
        if another unique column is."""
        # The id is chosen here, to read the row back by it (and `databases` would not run a
        # Python-side default); the flags and the password version have server defaults. The
        # creation time is the app's clock: microseconds on every database (SQLite's own clock,
        # which the server default reads, has milliseconds).
        values = {
            "id": uuid.uuid4(),
            "created_at": dt.datetime.now(dt.UTC),
            **values,
            "normalized_email": canonical_email(values["email"]),
        }
        try:
            await self.database.execute(self.users.insert().values(**values))
        except Exception as error:
            self._raise_if_taken(error)
            raise
        return await self._fetch(values["id"])

    async def update(self, user: UserDB, values: dict[str, Any]) -> UserDB:
        """Write ``values`` (column → value) to the user and return it as now stored;
        `UserNotExists` if the user was deleted meanwhile.

        A new password hash counts the password version up in the same statement, which ends
        every session opened before (see sessions.py).
        """
        values = dict(values)
        if "email" in values:
            values["normalized_email"] = canonical_email(values["email"])
        if "hashed_password" in values:
            values["password_version"] = self.users.c.password_version + 1
        if values:
            query = self.users.update().where(self.users.c.id == user.id).values(**values)
            try:
                await self.database.execute(query)
            except Exception as error:
                self._raise_if_taken(error)
                raise
        return await self._fetch(user.id)

    async def replace_password(self, user: UserDB, old_hash: str, new_hash: str) -> bool:
        """Store the hash of a new password only if the stored hash is still ``old_hash``, and
        end every session opened before (the password version counts up); tell whether it was.

        A compare-and-set in one UPDATE: of two writers racing from the same old hash, the
        database lets exactly one match, and the loser sees someone else's new hash. (The
        drivers do not all report affected rows, so the result is read back.)
        """
        await self.database.execute(
            self.users.update()
            .where(self.users.c.id == user.id, self.users.c.hashed_password == old_hash)
            .values(hashed_password=new_hash, password_version=self.users.c.password_version + 1)
        )
        stored: str | None = await self.database.fetch_val(
            sa.select(self.users.c.hashed_password).where(self.users.c.id == user.id)
        )
        return stored == new_hash

    async def rehash(self, user: UserDB, old_hash: str, new_hash: str) -> None:
        """Replace ``old_hash`` by ``new_hash``, a hash of the same password with today's
        parameters; sessions stay. If the password changed meanwhile, nothing is written: the
        new password must not be overwritten with a hash of the old one."""
        await self.database.execute(
            self.users.update()
            .where(self.users.c.id == user.id, self.users.c.hashed_password == old_hash)
            .values(hashed_password=new_hash)
        )

    async def delete(self, user: UserDB) -> None:
        """Delete the user and their sessions."""
        async with self.database.transaction():
            # SQLite only enforces ON DELETE CASCADE when asked to, so sessions go explicitly.
            await self.database.execute(
                user_sessions.delete().where(user_sessions.c.user_id == user.id)
            )
            await self.database.execute(self.users.delete().where(self.users.c.id == user.id))

    async def page(
        self, filters: UserFilter, cursor: Cursor | None, limit: int, order: Order
    ) -> UserPage:
        """The first ``limit`` users matching ``filters`` after ``cursor`` (from the start if
        None) in ``order``, with how many match in all and the cursor of the next page.

        The first page counts the matching users exactly, a second query over the same
        conditions; the pages after it repeat that count from the cursor. With no filter the
        count reads a whole index (about 0.2 s at a million users on PostgreSQL, see the
        benchmarks): once per walk through the list, not once per page.
        """
        query = page_query(self.users, filters, cursor, limit, order)
        rows = await self.database.fetch_all(query)
        if cursor is None:
            total: int = await self.database.fetch_val(count_query(self.users, filters))
        else:
            total = cursor.total
        listed = [ListedUser.model_validate(table_values(row, self.users)) for row in rows]
        next_cursor = None
        if len(listed) > limit:
            listed = listed[:limit]
            last = listed[-1]
            next_cursor = Cursor(last.created_at, last.id, total).encode()
        return UserPage(items=listed, total=total, next_cursor=next_cursor)

    def _raise_if_taken(self, error: Exception) -> None:
        """Turn a unique violation into the error naming what was taken."""
        if not is_unique_violation(error):
            return
        columns = unique_violation_columns(error, self.users)
        if columns and "normalized_email" not in columns:
            raise UserValueTaken(columns[0]) from error
        raise UserAlreadyExists from error

    async def _fetch(self, id: uuid.UUID) -> UserDB:
        user = await self.get(id)
        if user is None:  # deleted by a request running at the same moment
            raise UserNotExists
        return user

    async def _fetch_user(self, condition: sa.ColumnElement[bool]) -> UserDB | None:
        row = await self.database.fetch_one(sa.select(self.users).where(condition))
        if row is None:
            return None
        return self.user_db_model.model_validate(table_values(row, self.users))
