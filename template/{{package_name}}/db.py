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
    url: str,
    pool_size: int = 20,
    command_timeout: float = COMMAND_TIMEOUT,
    sqlite_busy_timeout: float = 5,
) -> Database:
    """Build the `databases` connection pool for ``url``, with bounded connect and query times
    on a database server.

    On SQLite a writer waits up to ``sqlite_busy_timeout`` seconds for another writer's lock
    before failing (and the request answering 503).
    """
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
        # A file on this machine does not stop answering, so its queries need no bound of
        # their own.
        return Database(normalized, timeout=sqlite_busy_timeout)
    return BoundedDatabase(normalized, query_timeout=command_timeout, **options)


async def connect(database: Database) -> None:
    """Connect, and on SQLite switch the file to write-ahead logging.

    In its default journal mode SQLite makes readers and the writer wait for each other, and
    under concurrent writes some requests failed with "database is locked" after the busy
    timeout; in WAL mode reads never wait and writes only wait for each other. The mode is
    stored in the database file, so this only changes something the first time.
    """
    await database.connect()
    if database.url.dialect == "sqlite" and database.url.database not in ("", ":memory:"):
        await database.execute("PRAGMA journal_mode=WAL")


def table_values(row: Record, table: sa.Table) -> dict[str, Any]:
    """The values of ``table``'s columns in ``row`` (a select of the table), as Python values.

    Reading each column through the row converts it as the column's type says; the row's
    ``_mapping`` holds what the driver returned, which on PostgreSQL is JSON still as text
    unless the pool decodes it (as `create_database` sets it up to).
    """
    return {column.key: row[column.key] for column in table.columns}


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
    types: list[type[Exception]] = [OSError, sqlite3.OperationalError]
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
    if isinstance(error, sqlite3.OperationalError):
        # Another writer held the lock for longer than the busy timeout: worth a retry.
        return error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    module = type(error).__module__
    if module.startswith("asyncpg"):
        return True
    if module.startswith("pymysql"):
        return type(error).__name__ == "InterfaceError" or error.args[:1] in {
            (code,) for code in _MYSQL_UNAVAILABLE
        }
    return False


# What the servers answer for a database that does not exist: SQLSTATE 3D000 (PostgreSQL) and
# error 1049, "Unknown database" (MySQL).
_PG_INVALID_CATALOG = "3D000"
_MYSQL_UNKNOWN_DATABASE = 1049


def is_missing_database(error: BaseException) -> bool:
    """Tell whether ``error``, or an error it was raised from, says the database of the URL
    does not exist."""
    checked: list[BaseException] = []
    found: BaseException | None = error
    while found is not None and not any(found is earlier for earlier in checked):
        if getattr(found, "sqlstate", None) == _PG_INVALID_CATALOG:
            return True
        if type(found).__module__.startswith("pymysql") and found.args[:1] == (
            _MYSQL_UNKNOWN_DATABASE,
        ):
            return True
        checked.append(found)
        found = getattr(found, "orig", None) or found.__cause__ or found.__context__
    return False
