"""add-field on an edited project, end to end: the code stays clean, the app's own tests pass
on SQLite, PostgreSQL and MariaDB, and the migrations carry 100,000 existing users.

Slow (they run generated apps' test suites and bulk migrations); the database server tests
also need PostgreSQL and MariaDB (see tests/helpers.py for the URLs).
"""

import asyncio
import os
import shutil
import sys
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import (
    FIELD_DATABASE_TESTS,
    SERVERS,
    check_code,
    new_project,
    run,
    run_app_tests,
    server_reachable,
    usergen,
)

from .user_edits import edit_like_a_user, missing_edits

pytestmark = pytest.mark.slow

THREE_FIELDS = [
    ["age", "int", "--required", "--default", "18", "--index"],
    ["nickname", "str", "--max-length", "50", "--unique"],
    ["last_seen", "datetime", "--index"],
]
# Every other type and option, added after those three.
EVERY_OTHER_TYPE = [
    ["bio", "text", "--default", 'it\'s "quoted"'],
    ["score", "float", "--default", "1.5", "--read-only"],
    ["balance", "decimal", "--required", "--default", "12.5"],
    ["newsletter", "bool", "--required", "--default", "false"],
    ["birthday", "date", "--default", "2024-05-17"],
    [
        "signup_at",
        "datetime",
        "--required",
        "--default",
        "2024-05-17T12:30:00.5+02:00",
        "--read-only",
    ],
    ["external_id", "uuid", "--unique"],
    ["prefs", "json", "--required", "--default", '{"theme": "dark", "sizes": [1, 2]}'],
    [
        "tier",
        "choices",
        "--choices",
        "free,pro,team",
        "--required",
        "--default",
        "free",
        "--read-only",
    ],
    ["ratio", "decimal", "--precision", "3", "--scale", "3"],
    ["contact_email", "email", "--required", "--unique", "--backfill-from", "email"],
    ["code", "str", "--max-length", "8", "--index", "--read-only"],
]


@pytest.fixture(scope="session")  # see conftest.py: the longest tests first
def edited_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project, edited as a user would, then given three fields."""
    project = new_project(tmp_path_factory.mktemp("edited"))
    edit_like_a_user(project)
    for args in THREE_FIELDS:
        usergen("add-field", *args, cwd=project)
    return project


@pytest.fixture(scope="session")  # see conftest.py: the longest tests first
def every_type_app(edited_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The edited app, given a field of every other type and option, one add-field at a time."""
    project = Path(shutil.copytree(edited_app, tmp_path_factory.mktemp("every") / "shop"))
    for args in EVERY_OTHER_TYPE:
        usergen("add-field", *args, cwd=project)
    return project


def server_or_skip(backend: str) -> str | None:
    if backend == "sqlite":
        return None
    if not server_reachable(SERVERS[backend]):
        if os.environ.get("CI"):
            pytest.fail(f"the {backend} server at {SERVERS[backend]} is not running")
        pytest.skip(f"no {backend} server at {SERVERS[backend]}")
    return backend


def test_edits_survive_and_the_code_is_clean(edited_app: Path) -> None:
    assert missing_edits(edited_app) == []
    check_code(edited_app)
    migration = (edited_app / "migrations/versions/0002_add_age_to_user.py").read_text()
    assert 'down_revision: str | None = "7c1e2f"' in migration


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_the_apps_tests_pass(edited_app: Path, backend: str) -> None:
    """The tests of the fields and the table on each database, and the user's own test; the
    whole suite runs on a project with these edits and fields (and more) in
    test_every_type_works_on_each_database, on SQLite."""
    summary = run_app_tests(
        edited_app, server_or_skip(backend), *FIELD_DATABASE_TESTS, "tests/test_profile.py"
    )

    assert "passed" in summary and "failed" not in summary and "error" not in summary


def test_every_type_added_in_a_row_is_clean(every_type_app: Path) -> None:
    assert missing_edits(every_type_app) == []
    check_code(every_type_app)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_every_type_works_on_each_database(every_type_app: Path, backend: str) -> None:
    """The app's whole suite passes on SQLite with every type (a field clients must send among
    them: every test's registration sends it), the tests of the fields and of the table on
    the servers; the models match the migrations (alembic check finds nothing to
    generate)."""
    server = server_or_skip(backend)
    summary = run_app_tests(
        every_type_app, server, *([] if server is None else FIELD_DATABASE_TESTS)
    )
    assert "passed" in summary and "failed" not in summary and "error" not in summary

    with database(backend, every_type_app.parent) as url:
        alembic(every_type_app, url, "upgrade", "head")
        checked = alembic(every_type_app, url, "check")
        assert "No new upgrade operations detected" in checked


# --- 100,000 users ----------------------------------------------------------------------

USERS = 100_000
ADMIN_DATABASES = {"postgresql": "postgres", "mysql": "mysql"}


@pytest.fixture(scope="module")
def password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash("one password for everyone")


class database:
    """A fresh, uniquely named database on ``backend`` (a SQLite file under ``folder``), dropped
    on exit; its URL as the app writes it."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.name = f"usergen_test_{uuid.uuid4().hex[:12]}"
        self.folder = folder

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / (self.name + '.db')}"
        server = make_url(SERVERS[self.backend])
        if self.backend == "mysql":
            create = f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        else:
            create = f"CREATE DATABASE {self.name}"
        asyncio.run(_on_server(self.backend, create))
        return server.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        if self.backend == "sqlite":
            (self.folder / (self.name + ".db")).unlink(missing_ok=True)
            return
        force = " WITH (FORCE)" if self.backend == "postgresql" else ""
        asyncio.run(_on_server(self.backend, f"DROP DATABASE IF EXISTS {self.name}{force}"))


def _async(url: str) -> str:
    drivers = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
    parsed = make_url(url)
    return parsed.set(
        drivername=f"{parsed.get_backend_name()}+{drivers[parsed.get_backend_name()]}"
    ).render_as_string(hide_password=False)


async def _on_server(backend: str, statement: str) -> None:
    engine = create_async_engine(_async(SERVERS[backend]), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(sa.text(statement))
    await engine.dispose()


def alembic(project: Path, url: str, *args: str) -> str:
    result = run(sys.executable, "-m", "alembic", *args, cwd=project, env={"DATABASE_URL": url})
    return result.stdout + result.stderr


# The columns the user table has before add-field's migrations: the built-in ones, and the
# user's own phone column.
BEFORE = sa.Table(
    "user",
    sa.MetaData(),
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(320)),
    sa.Column("hashed_password", sa.String(1024)),
    sa.Column("is_active", sa.Boolean()),
    sa.Column("is_superuser", sa.Boolean()),
    sa.Column("is_verified", sa.Boolean()),
    sa.Column("phone", sa.String(32)),
)


def make_users(password_hash: str, count: int = USERS) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.UUID(int=n + 1),
            "email": f"user{n}@example.com",
            "hashed_password": password_hash,
            "is_active": n % 7 != 0,
            "is_superuser": n == 0,
            "is_verified": n % 2 == 0,
            "phone": f"+1555{n:07d}" if n % 3 else None,
        }
        for n in range(count)
    ]


async def insert(url: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (the columns of BEFORE), with the canonical email where the table has
    that column (template 0.2.0 on; the app computes it, see users/addresses.py)."""
    engine = create_async_engine(_async(url))
    async with engine.begin() as connection:
        columns = await connection.run_sync(
            lambda sync: {column["name"] for column in sa.inspect(sync).get_columns("user")}
        )
        table = BEFORE
        if "normalized_email" in columns:
            table = sa.Table(
                "user",
                sa.MetaData(),
                *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in BEFORE.c),
                sa.Column("normalized_email", sa.String()),
            )
            rows = [{**row, "normalized_email": canonical_email(row["email"])} for row in rows]
        for start in range(0, len(rows), 10_000):
            await connection.execute(table.insert(), rows[start : start + 10_000])
    await engine.dispose()


def canonical_email(email: str) -> str:
    """The app's canonical form of an email (users/addresses.py)."""
    composed = unicodedata.normalize("NFC", email.strip())
    return unicodedata.normalize("NFC", composed.casefold())


async def read(
    url: str, extra: list[str]
) -> tuple[list[tuple[Any, ...]], list[str], dict[str, bool]]:
    """Every row (the columns of BEFORE, then ``extra``), the table's columns, its indexes."""
    engine = create_async_engine(_async(url))
    async with engine.connect() as connection:
        columns = [*BEFORE.c, *(sa.column(name) for name in extra)]
        query = sa.select(*columns).select_from(BEFORE).order_by(BEFORE.c.id)
        rows = [tuple(row) for row in await connection.execute(query)]

        def inspect(sync: Any) -> tuple[list[str], dict[str, bool]]:
            inspector = sa.inspect(sync)
            names = [column["name"] for column in inspector.get_columns("user")]
            indexes = {
                index["name"]: bool(index["unique"]) for index in inspector.get_indexes("user")
            }
            return names, indexes

        names, indexes = await connection.run_sync(inspect)
    await engine.dispose()
    return rows, names, indexes


def expected(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[column.name] for column in BEFORE.c) for row in rows]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_migrations_keep_100k_users(
    edited_app: Path, backend: str, password_hash: str, tmp_path: Path
) -> None:
    server_or_skip(backend)
    users = make_users(password_hash)
    with database(backend, tmp_path) as url:
        alembic(edited_app, url, "upgrade", "7c1e2f")  # the user's own revision
        asyncio.run(insert(url, users))

        started = time.perf_counter()
        alembic(edited_app, url, "upgrade", "head")
        upgrade = time.perf_counter() - started

        rows, columns, indexes = asyncio.run(read(url, ["age", "nickname", "last_seen"]))
        assert len(rows) == USERS
        assert [row[:7] for row in rows] == expected(users)
        assert {row[7:] for row in rows} == {(18, None, None)}  # the default filled every row
        assert columns[-3:] == ["age", "nickname", "last_seen"]
        assert {
            name: indexes.get(name)
            for name in ("ix_user_age", "ix_user_nickname", "ix_user_last_seen")
        } == {
            "ix_user_age": False,
            "ix_user_nickname": True,
            "ix_user_last_seen": False,
        }

        downgrades = []
        for removed in ("last_seen", "nickname", "age"):
            started = time.perf_counter()
            alembic(edited_app, url, "downgrade", "-1")
            downgrades.append(time.perf_counter() - started)
            rows, columns, indexes = asyncio.run(read(url, []))
            assert removed not in columns
            assert f"ix_user_{removed}" not in indexes
            assert rows == expected(users)
        assert indexes["ix_user_normalized_email"] is True

        if backend == "sqlite":  # the table was rebuilt: one address still makes one account
            with pytest.raises(sa.exc.IntegrityError):
                asyncio.run(
                    insert(url, [{**users[0], "id": uuid.uuid4(), "email": "USER0@example.com"}])
                )

    print(
        f"\n{backend}: {USERS:,} users; upgrade head (3 revisions) {upgrade:.2f} s; "
        f"downgrade -1: {', '.join(f'{seconds:.2f}' for seconds in downgrades)} s"
    )
