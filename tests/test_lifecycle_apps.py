"""The field lifecycle end to end, on SQLite, PostgreSQL and MariaDB: rename-field and
remove-field migrate 100,000 users (values and rows kept, downgrade works), reserved words and
a required unique field work in the app, and a required field's migration fills the users that
exist or stops before changing anything.

Slow (bulk migrations and generated apps' tests); see tests/helpers.py for the servers.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import (
    FIELD_DATABASE_TESTS,
    FIELD_TESTS,
    check_code,
    new_project,
    run_app_tests,
    usergen,
)

from .test_add_field_apps import _async, alembic, database, server_or_skip

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgresql", "mysql"]
USERS = 100_000
# Reserved in SQL (order, group, query by a rename; key, rank, role, position, plan from the
# start): quoted, not refused.
FIELDS = [
    ["nickname", "str", "--max-length", "50", "--unique"],
    ["age", "int", "--required", "--default", "18", "--index"],
    ["sort", "int", "--index"],
    ["team", "choices", "--choices", "red,blue", "--required", "--default", "red"],
    ["key", "uuid", "--unique"],
    ["rank", "float"],
    ["search", "text"],
    ["username", "str", "--max-length", "64", "--unique", "--required", "--backfill-from", "email"],
    ["seen", "datetime", "--index"],
    ["prefs", "json", "--required", "--default", '{"theme": "dark"}'],
    ["role", "str", "--max-length", "20"],
    ["position", "float"],
    ["plan", "str", "--max-length", "20", "--index"],
]
# After FIELDS: revision 0002 adds nickname ... 0014 adds plan.
BEFORE_CHANGES = "0014"
CHANGES = [
    ["rename-field", "nickname", "handle"],
    ["remove-field", "age", "--yes"],
    ["rename-field", "sort", "order"],
    ["rename-field", "team", "group"],
    ["rename-field", "search", "query"],
    ["rename-field", "seen", "last_seen"],
    ["rename-field", "prefs", "settings"],
]


@pytest.fixture(scope="session")  # see conftest.py: the longest tests first
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project given FIELDS, then CHANGES, one command at a time."""
    project = new_project(tmp_path_factory.mktemp("lifecycle"))
    for args in FIELDS:
        usergen("add-field", *args, cwd=project)
    for args in CHANGES:
        usergen(*args, cwd=project)
    return project


def test_the_changed_app_is_clean(app: Path) -> None:
    check_code(app)
    assert usergen("fields", cwd=app).stdout.split("\n")[0].startswith("handle ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_changed_app_works_on_each_database(app: Path, backend: str) -> None:
    """The tests that touch the user's columns pass: FIELD_TESTS on SQLite, on the servers
    those of what the database does with them, and create-superuser's row (test_app); the
    whole suite runs with every field type in test_add_field_apps.py. The models match the
    migrations."""
    server = server_or_skip(backend)
    on_servers = [*FIELD_DATABASE_TESTS, "tests/test_app.py"]
    summary = run_app_tests(app, server, *(on_servers if server else FIELD_TESTS))
    assert "passed" in summary and "failed" not in summary and "error" not in summary

    with database(backend, app.parent) as url:
        alembic(app, url, "upgrade", "head")
        assert "No new upgrade operations detected" in alembic(app, url, "check")


# --- 100,000 users ----------------------------------------------------------------------

BEFORE = sa.Table(
    "user",
    sa.MetaData(),
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(320)),
    sa.Column("normalized_email", sa.String(768)),
    sa.Column("hashed_password", sa.String(1024)),
    sa.Column("is_active", sa.Boolean()),
    sa.Column("is_superuser", sa.Boolean()),
    sa.Column("is_verified", sa.Boolean()),
    sa.Column("nickname", sa.String(50)),
    sa.Column("age", sa.Integer()),
    sa.Column("sort", sa.Integer()),
    sa.Column("team", sa.String(4)),
    sa.Column("key", sa.Uuid()),
    sa.Column("rank", sa.Double()),
    sa.Column("search", sa.Text()),
    sa.Column("username", sa.String(64)),
    sa.Column("role", sa.String(20)),
    sa.Column("position", sa.Double()),
    sa.Column("plan", sa.String(20)),
)
RENAMED = {"nickname": "handle", "sort": "order", "team": "group", "search": "query"}


def make_users() -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.UUID(int=n + 1),
            "email": f"user{n}@example.com",
            "normalized_email": f"user{n}@example.com",
            "hashed_password": "not a real hash",
            "is_active": True,
            "is_superuser": False,
            "is_verified": n % 2 == 0,
            "nickname": f"nick{n}" if n % 5 else None,
            "age": n % 90,
            "sort": n,
            "team": "blue" if n % 3 else "red",
            "key": uuid.UUID(int=n + 7) if n % 4 else None,
            "rank": n / 8,
            "search": f"text {n}",
            "username": f"name{n}",
            "role": f"role {n % 7}",
            "position": n / 2,
            "plan": "team" if n % 2 else None,
        }
        for n in range(USERS)
    ]


async def bulk_insert(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_async_engine(_async(url))
    async with engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            await connection.execute(BEFORE.insert(), rows[start : start + 10_000])
    await engine.dispose()


async def read_table(url: str) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """Every row (as a mapping, ordered by id) and the indexes (name → unique)."""
    engine = create_async_engine(_async(url))
    async with engine.connect() as connection:

        def inspect(sync: Any) -> tuple[list[str], dict[str, bool]]:
            inspector = sa.inspect(sync)
            names = [column["name"] for column in inspector.get_columns("user")]
            indexes = {
                index["name"]: bool(index["unique"]) for index in inspector.get_indexes("user")
            }
            return names, indexes

        names, indexes = await connection.run_sync(inspect)
        table = sa.Table("user", sa.MetaData(), *(sa.Column(name) for name in names))
        query = sa.select(table).order_by(table.c.id)
        rows = [dict(row._mapping) for row in await connection.execute(query)]
    await engine.dispose()
    return rows, indexes


def normal(value: Any) -> Any:
    """A value as every driver returns it (uuids: 32 hex digits, floats: floats)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) in (32, 36) and value.count("-") in (0, 4):
        try:
            return uuid.UUID(value).hex
        except ValueError:
            return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


# The unique values of a user that no one else has.
FRESH = {"id": uuid.uuid4(), "nickname": None, "key": None, "username": "fresh"}


def loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [normal(row[name]) for row in rows]


@pytest.mark.parametrize("backend", BACKENDS)
def test_rename_and_remove_keep_100k_users(app: Path, backend: str, tmp_path: Path) -> None:
    server_or_skip(backend)
    users = make_users()
    with database(backend, tmp_path) as url:
        alembic(app, url, "upgrade", BEFORE_CHANGES)
        asyncio.run(bulk_insert(url, users))

        started = time.perf_counter()
        alembic(app, url, "upgrade", "head")
        upgrade = time.perf_counter() - started

        rows, indexes = asyncio.run(read_table(url))
        assert len(rows) == USERS
        assert "age" not in rows[0] and "ix_user_age" not in indexes
        for old, new in RENAMED.items():
            assert old not in rows[0]
            assert column(rows, new) == [normal(user[old]) for user in users], new
        for kept in ("email", "key", "rank", "username", "role", "position", "plan"):
            assert column(rows, kept) == [normal(user[kept]) for user in users], kept
        assert {row["last_seen"] for row in rows} == {None}
        settings = [row["settings"] for row in rows]  # a str, or parsed by the driver
        assert all(loaded(value) == {"theme": "dark"} for value in settings)
        assert indexes["ix_user_handle"] is True and indexes["ix_user_order"] is False
        assert indexes["ix_user_last_seen"] is False and "ix_user_seen" not in indexes
        assert "ix_user_nickname" not in indexes and "ix_user_sort" not in indexes

        started = time.perf_counter()
        alembic(app, url, "downgrade", BEFORE_CHANGES)
        downgrade = time.perf_counter() - started

        rows, indexes = asyncio.run(read_table(url))
        assert len(rows) == USERS
        for name in ("nickname", "sort", "team", "search", "email", "key", "plan"):
            assert column(rows, name) == [normal(user[name]) for user in users], name
        # The removed column comes back with its default: its values went with it.
        assert set(column(rows, "age")) == {18.0}
        assert indexes["ix_user_nickname"] is True and indexes["ix_user_age"] is False
        assert indexes["ix_user_normalized_email"] is True

        if backend == "sqlite":  # the table was rebuilt: one address still makes one account
            with pytest.raises(sa.exc.IntegrityError):
                asyncio.run(bulk_insert(url, [{**users[1], **FRESH, "email": "USER1@example.com"}]))

    print(
        f"\n{backend}: {USERS:,} users; upgrade head (6 renames, 1 removal) {upgrade:.2f} s; "
        f"downgrade {downgrade:.2f} s"
    )


# --- a required field on a table with users ---------------------------------------------


@pytest.fixture(scope="session")  # see conftest.py: the longest tests first
def before_required(app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the changed app, to add required fields to."""
    return Path(shutil.copytree(app, tmp_path_factory.mktemp("required") / "shop"))


def head_of(project: Path) -> str:
    return sorted(path.name for path in (project / "migrations/versions").glob("0*.py"))[-1][:4]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_required_field_fills_existing_users_or_stops(
    before_required: Path, backend: str, tmp_path: Path
) -> None:
    server_or_skip(backend)
    project = Path(shutil.copytree(before_required, tmp_path / "shop"))
    users = [
        {
            "id": uuid.UUID(int=n + 1),
            "email": f"user{n}@example.com",
            "normalized_email": f"user{n}@example.com",
            "username": f"name{n}",
        }
        for n in range(1000)
    ]
    table = sa.Table(
        "user",
        sa.MetaData(),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320)),
        sa.Column("normalized_email", sa.String(768)),
        sa.Column("hashed_password", sa.String(1024)),
        sa.Column("username", sa.String(64)),
        *(sa.Column(flag, sa.Boolean()) for flag in ("is_active", "is_superuser", "is_verified")),
    )
    flags = {"is_active": True, "is_superuser": False, "is_verified": False}
    rows = [{**user, "hashed_password": "x", **flags} for user in users]
    with database(backend, tmp_path) as url:
        alembic(project, url, "upgrade", "head")

        async def insert() -> None:
            engine = create_async_engine(_async(url))
            async with engine.begin() as connection:
                await connection.execute(table.insert(), rows)
            await engine.dispose()

        asyncio.run(insert())
        start = head_of(project)
        before, before_indexes = asyncio.run(read_table(url))

        # Without a way to fill them, and with emails too long to copy: stopped, unchanged.
        for args in (
            ["login", "str", "--max-length", "50", "--unique", "--required"],
            ["short", "str", "--max-length", "10", "--required", "--backfill-from", "email"],
        ):
            usergen("add-field", *args, cwd=project)
            failed = subprocess.run(
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=project,
                env={**os.environ, "DATABASE_URL": url},
                capture_output=True,
                text=True,
            )
            assert failed.returncode != 0
            assert "Nothing was changed" in failed.stderr
            assert asyncio.run(read_table(url)) == (before, before_indexes)
            assert start in alembic(project, url, "current")
            usergen("remove-field", args[0], "--yes", cwd=project)
            for path in (project / "migrations/versions").glob(f"*_{args[0]}_*.py"):
                path.unlink()

        usergen(
            "add-field", "login", "str", "--max-length", "320", "--unique", "--required",
            "--backfill-from", "email", cwd=project,
        )  # fmt: skip
        alembic(project, url, "upgrade", "head")
        after, indexes = asyncio.run(read_table(url))
        assert [row["login"] for row in after] == [user["email"] for user in users]
        assert indexes["ix_user_login"] is True
