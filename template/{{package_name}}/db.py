"""Database access: the connection, the SQLAlchemy metadata and everything driver-specific.

This is the only module that knows which driver runs underneath. URLs in their conventional
form (``postgresql://…``) are given their async driver here, driver errors are translated here,
and the other modules only speak SQLAlchemy Core.
"""

import asyncio
import datetime as dt
import json
import re
import sqlite3
from collections.abc import Awaitable
from typing import Any, TypeVar

import sqlalchemy as sa
from databases import Database
from databases.core import Connection
from databases.interfaces import Record
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

# The one async driver used for each database, by the app (through `databases`) and by Alembic.
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
_BACKEND_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}

# Seconds to wait for a connection before answering 503 instead of hanging.
CONNECT_TIMEOUT = 5
# Seconds a query may take on a database server before the request gives up with 503 (the
# COMMAND_TIMEOUT_SECONDS setting).
COMMAND_TIMEOUT = 10

T = TypeVar("T")
Query = sa.ClauseElement | str


class Base(DeclarativeBase):
    """Declarative base of every table; the naming convention gives constraints stable names."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, stored as naive UTC so SQLite, MySQL and PostgreSQL all agree.

    Values must be timezone-aware when written; they come back aware (UTC) where SQLAlchemy
    converts the result (with `databases`, not on PostgreSQL and MySQL, whose drivers return
    datetimes themselves: the pydantic models read naive values as UTC). MySQL keeps
    microseconds only in DATETIME(6).
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def async_url(url: str) -> str:
    """Return ``url`` with this app's async driver, e.g. ``postgresql://`` → ``postgresql+asyncpg://``.

    An explicit driver is accepted only if it is the one the app is built for, so a URL never
    silently means something other than what it says.
    """
    parsed = make_url(url)
    backend, _, given = parsed.drivername.partition("+")
    backend = _BACKEND_ALIASES.get(backend, backend)
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise ValueError(
            f"DATABASE_URL uses {backend!r}; use sqlite://, postgresql:// or mysql:// instead"
        )
    if given and given != driver:
        raise ValueError(
            f"DATABASE_URL asks for the {given!r} driver; this app uses {driver!r} "
            f"(write {backend}:// or {backend}+{driver}://)"
        )
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


async def keep_session_state(connection: Any) -> None:
    """What asyncpg's pool runs on a connection coming back: nothing beyond its own cleanup.

    The pool always rolls back a transaction left open, whatever this does. Its default reset
    also sends ``RESET ALL; UNLISTEN *; CLOSE ALL; SELECT pg_advisory_unlock_all()``: a round
    trip after every query, about a tenth of GET /users/me, undoing state this app never sets.
    If your code uses SET (without LOCAL), LISTEN or advisory locks, remove the ``reset``
    option below to get the default back.
    """


class BoundedDatabase(Database):
    """A `databases.Database` whose queries give up after ``query_timeout`` seconds.

    The drivers bound the connect only: a server that accepts the connection and then stops
    answering would hold the request, and its pool connection, for as long as that lasts.
    A query past its time raises TimeoutError (answered 503), and its connection is closed
    rather than returned to the pool with half an answer unread. (asyncpg bounds its own
    queries too, and cancels them on the server.)
    """

    def __init__(self, url: str, *, query_timeout: float, **options: Any) -> None:
        super().__init__(url, **options)
        self.query_timeout = query_timeout

    async def bounded(self, connection: Connection, call: Awaitable[T]) -> T:
        """Await ``call``, a query on ``connection``, for at most ``query_timeout``."""
        try:
            async with asyncio.timeout(self.query_timeout):
                return await call
        except TimeoutError:
            driver = connection.raw_connection
            # Drop the socket at once: asyncpg's terminate(), aiomysql's close().
            close = getattr(driver, "terminate", None) or driver.close
            close()
            raise

    async def fetch_all(self, query: Query, values: dict[str, Any] | None = None) -> list[Record]:
        async with self.connection() as connection:
            return await self.bounded(connection, connection.fetch_all(query, values))

    async def fetch_one(self, query: Query, values: dict[str, Any] | None = None) -> Record | None:
        async with self.connection() as connection:
            return await self.bounded(connection, connection.fetch_one(query, values))

    async def fetch_val(
        self, query: Query, values: dict[str, Any] | None = None, column: Any = 0
    ) -> Any:
        async with self.connection() as connection:
            return await self.bounded(connection, connection.fetch_val(query, values, column))

    async def execute(self, query: Query, values: dict[str, Any] | None = None) -> Any:
        async with self.connection() as connection:
            return await self.bounded(connection, connection.execute(query, values))

    async def execute_many(self, query: Query, values: list[dict[str, Any]]) -> None:
        async with self.connection() as connection:
            await self.bounded(connection, connection.execute_many(query, values))


def create_database(
    url: str, pool_size: int = 20, command_timeout: float = COMMAND_TIMEOUT
) -> Database:
    """Build the `databases` connection pool for ``url``, with bounded connect and query times
    on a database server."""
    normalized = async_url(url)
    backend = make_url(normalized).get_backend_name()
    options: dict[str, Any]
    if backend == "postgresql":
        options = {
            "min_size": 1,
            "max_size": pool_size,
            "timeout": CONNECT_TIMEOUT,
            "command_timeout": command_timeout,
            "init": _decode_json,
            "reset": keep_session_state,
        }
    elif backend == "mysql":
        options = {"minsize": 1, "maxsize": pool_size, "connect_timeout": CONNECT_TIMEOUT}
    else:
        # SQLite waits this long for a lock held by another writer before failing. A file on
        # this machine does not stop answering, so its queries need no bound of their own.
        return Database(normalized, timeout=CONNECT_TIMEOUT)
    return BoundedDatabase(normalized, query_timeout=command_timeout, **options)


def result_processor(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Any:
    """SQLAlchemy's conversion of what the driver returns for ``type_``, if it needs one.

    For numbers the PostgreSQL dialect chooses by the driver's type code, known only once a
    query ran, and refuses without it; asyncpg already returns float and Decimal as the columns
    say, so those need no conversion.
    """
    try:
        return type_.dialect_impl(dialect).result_processor(dialect, None)
    except (TypeError, sa.exc.InvalidRequestError):
        return None


class CompiledSelect:
    """A SELECT compiled once, then run with new values straight on the driver's connection.

    `databases` builds and compiles the SQLAlchemy statement again on every call. For the query
    behind every authenticated request that was most of the request's time (measured with
    py-spy: about 0.9 ms of CPU, against 0.2 ms for running it), so the hot queries are compiled
    here once, when the app is built. Write the statement with ``sa.bindparam("name")``
    placeholders and pass the values by name; other queries can keep using `databases`.
    """

    def __init__(self, database: Database, statement: sa.Select[Any]) -> None:
        self.database = database
        self.backend = make_url(str(database.url)).get_backend_name()
        # The SQLAlchemy dialect of the async driver itself, so the SQL has the driver's
        # placeholders ($1, %s or ?) and values convert as SQLAlchemy would convert them.
        dialect = make_url(str(database.url)).get_dialect()()
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._params = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        ]
        self._columns = [
            (key, result_processor(column.type, dialect))
            for key, column in statement.selected_columns.items()
        ]

    async def fetch_one(self, **values: Any) -> dict[str, Any] | None:
        """The first row for these parameter values, as column key → value; None if none."""
        args = [
            values[name] if process is None else process(values[name])
            for name, process in self._params
        ]
        # The connection of the current task (or of its transaction), as `databases` uses it.
        async with self.database.connection() as connection:
            if isinstance(self.database, BoundedDatabase):
                row = await self.database.bounded(connection, self._fetch(connection, args))
            else:
                row = await self._fetch(connection, args)
        if row is None:
            return None
        return {
            key: value if process is None else process(value)
            for (key, process), value in zip(self._columns, row, strict=True)
        }

    async def _fetch(self, connection: Connection, args: list[Any]) -> Any:
        driver = connection.raw_connection
        if self.backend == "postgresql":
            return await driver.fetchrow(self.sql, *args)
        if self.backend == "mysql":
            async with driver.cursor() as cursor:
                await cursor.execute(self.sql, args)
                return await cursor.fetchone()
        async with driver.execute(self.sql, args) as cursor:
            return await cursor.fetchone()


async def _decode_json(connection: Any) -> None:
    """Have asyncpg decode JSON columns, as SQLAlchemy's own asyncpg connections do.

    SQLAlchemy leaves decoding JSON to the driver there, and asyncpg returns text by default.
    Values arrive already encoded by SQLAlchemy, so they pass through as they are.
    """
    await connection.set_type_codec(
        "json", schema="pg_catalog", encoder=str, decoder=json.loads, format="text"
    )


# PostgreSQL and MySQL report unique violations with these codes (SQLSTATE and server error).
_PG_UNIQUE_VIOLATION = "23505"
_MYSQL_DUPLICATE_ENTRY = 1062


def is_unique_violation(error: BaseException) -> bool:
    """Tell whether a driver error means a unique constraint refused the write."""
    if isinstance(error, sqlite3.IntegrityError):
        return error.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_UNIQUE
    module = type(error).__module__
    if module.startswith("asyncpg"):
        return getattr(error, "sqlstate", None) == _PG_UNIQUE_VIOLATION
    if module.startswith("pymysql"):
        return type(error).__name__ == "IntegrityError" and error.args[:1] == (
            _MYSQL_DUPLICATE_ENTRY,
        )
    return False


# PostgreSQL and MySQL report a row referring to a missing one with these codes.
_PG_FOREIGN_KEY_VIOLATION = "23503"
_MYSQL_NO_REFERENCED_ROW = 1452


def is_foreign_key_violation(error: BaseException) -> bool:
    """Tell whether a driver error means a write referred to a row that does not exist (SQLite
    does not check foreign keys unless told to, so it never reports one)."""
    module = type(error).__module__
    if module.startswith("asyncpg"):
        return getattr(error, "sqlstate", None) == _PG_FOREIGN_KEY_VIOLATION
    if module.startswith("pymysql"):
        return type(error).__name__ == "IntegrityError" and error.args[:1] == (
            _MYSQL_NO_REFERENCED_ROW,
        )
    return False


# How SQLite and MySQL name what refused a duplicate ("UNIQUE constraint failed: user.email",
# "Duplicate entry 'x' for key 'ix_user_email'", MySQL 8: "... for key 'user.ix_user_email'").
_SQLITE_UNIQUE_COLUMNS = re.compile(r"UNIQUE constraint failed: (.+)$")
_MYSQL_DUPLICATE_KEY = re.compile(r"for key '(?:[^']*\.)?([^'.]+)'$")


def unique_violation_columns(error: BaseException, table: sa.Table) -> list[str]:
    """The columns of ``table`` whose uniqueness refused a write ([] when the driver won't say).

    Call it only for an error `is_unique_violation` recognizes.
    """
    if isinstance(error, sqlite3.IntegrityError):
        found = _SQLITE_UNIQUE_COLUMNS.search(str(error))
        names = found.group(1).split(", ") if found else []
        return [name.rpartition(".")[2] for name in names]
    key: str | None = None
    module = type(error).__module__
    if module.startswith("asyncpg"):
        key = getattr(error, "constraint_name", None)
    elif module.startswith("pymysql") and len(error.args) > 1:
        found = _MYSQL_DUPLICATE_KEY.search(str(error.args[1]))
        key = found.group(1) if found else None
    if key is None:
        return []
    for unique in [*table.indexes, *table.constraints]:
        if isinstance(unique, sa.Index | sa.UniqueConstraint) and unique.name == key:
            return [column.name for column in unique.columns]
    return []


# MySQL client errors meaning the server is unreachable: can't connect (2002, 2003), gone away
# (2006), lost connection (2013), too many connections (1040).
_MYSQL_UNAVAILABLE = {1040, 2002, 2003, 2006, 2013}


def unavailable_error_types() -> tuple[type[Exception], ...]:
    """The exception types a driver raises when the database cannot be reached.

    The app answers 503 for these (when `is_unavailable` confirms), so clients retry instead
    of waiting on a hung request.
    """
    types: list[type[Exception]] = [OSError]
    try:
        import asyncpg

        # OperatorInterventionError: the server is shutting down or starting (57P01-57P03),
        # as during a restart.
        types += [
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError,
        ]
    except ImportError:
        pass
    try:
        import pymysql

        types += [pymysql.err.OperationalError, pymysql.err.InterfaceError]
    except ImportError:
        pass
    return tuple(types)


def is_unavailable(error: BaseException) -> bool:
    """Tell whether an error means the database cannot be reached right now."""
    if isinstance(error, OSError):
        return True
    module = type(error).__module__
    if module.startswith("asyncpg"):
        return True
    if module.startswith("pymysql"):
        return type(error).__name__ == "InterfaceError" or error.args[:1] in {
            (code,) for code in _MYSQL_UNAVAILABLE
        }
    return False
