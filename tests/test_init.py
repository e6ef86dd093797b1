"""`usergen init` on existing projects (tests/fixtures/existing): what it writes and edits,
what it refuses, and — in the slow tier — that each app then works with user accounts, keeps
its data, its tests, its lint and its types, and takes add-field and update."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import SERVERS, changed_paths, mypy_cache_dir, usergen
from usergen import versions
from usergen.errors import UsergenError

from .test_add_field_apps import _async, database, server_or_skip
from .test_update import execute

FIXTURES = Path(__file__).parent / "fixtures" / "existing"

# What each project's init needs said: the full-stack one has a table named `user` and
# computes its database URL.
INIT_OPTIONS = {
    "onefile": [],
    "fullstack": ["--user-table", "account", "--database-url", "sqlite:///./app.db"],
    "factory": [],
    "poetry_nodb": [],
}
# Where init puts things in each.
LAYOUT = {
    "onefile": {"module": "users", "tests": "tests/test_users", "app": "main.py"},
    "fullstack": {"module": "app/users", "tests": "app/tests/test_users", "app": "app/main.py"},
    "factory": {"module": "src/shop/users", "tests": "tests/test_users", "app": "src/shop/app.py"},
    "poetry_nodb": {"module": "notes/users", "tests": "tests/test_users", "app": "notes/main.py"},
}


def copy_fixture(name: str, into: Path) -> Path:
    project = into / name
    shutil.copytree(FIXTURES / name, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def init(project: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return usergen("init", project, *INIT_OPTIONS[project.name], *extra, check=check)


@pytest.mark.parametrize("name", INIT_OPTIONS)
def test_dry_run_prints_the_change_and_writes_nothing(name: str, tmp_path: Path) -> None:
    project = copy_fixture(name, tmp_path)
    before = snapshot(project)

    result = init(project, "--dry-run")

    assert result.returncode == 0, result.stderr
    assert snapshot(project) == before
    layout = LAYOUT[name]
    assert f"+++ b/{layout['module']}/table.py" in result.stdout
    assert f"+++ b/{layout['tests']}/conftest.py" in result.stdout
    assert f"--- a/{layout['app']}" in result.stdout
    assert "+install_users(app)" in result.stdout.replace("    ", "")
    assert f"would create  {layout['module']}/main.py" in result.stdout


@pytest.mark.parametrize("name", INIT_OPTIONS)
def test_a_second_init_changes_nothing(name: str, tmp_path: Path) -> None:
    project = copy_fixture(name, tmp_path)
    assert init(project).returncode == 0
    after_first = snapshot(project)

    second = init(project)

    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert snapshot(project) == after_first


def test_init_says_what_it_found_and_edits_the_app_minimally(tmp_path: Path) -> None:
    project = copy_fixture("factory", tmp_path)
    app_before = (project / "src/shop/app.py").read_text()
    env_before = (project / "alembic/env.py").read_text()

    result = init(project)

    assert result.returncode == 0, result.stderr
    assert "app: shop.app:create_app (factory)" in result.stdout
    assert "alembic: alembic, async, head b81f04c6a2d3" in result.stdout
    app_after = (project / "src/shop/app.py").read_text()
    added = [line for line in app_after.splitlines() if line not in app_before.splitlines()]
    assert added == ["from shop.users.main import install_users", "    install_users(app)"]
    assert app_after.index("app = FastAPI(") < app_after.index("install_users(app)")
    env_after = (project / "alembic/env.py").read_text()
    assert [line for line in env_after.splitlines() if line not in env_before.splitlines()] == [
        "import shop.users.table  # noqa: F401  (puts the user tables on the metadata)"
    ]
    revision = (project / "alembic/versions/0001_create_user_tables.py").read_text()
    assert 'down_revision: str | None = "b81f04c6a2d3"' in revision
    answers = (project / ".usergen-answers.yml").read_text()
    assert "metadata: shop.models:Base.metadata" in answers
    assert "SECRET=" in (project / ".env").read_text()


def test_a_table_named_user_needs_another_name_for_ours(tmp_path: Path) -> None:
    project = copy_fixture("fullstack", tmp_path)
    before = snapshot(project)

    result = usergen("init", project, "--database-url", "sqlite:///./app.db", check=False)

    assert result.returncode != 0
    assert "your app has a table named 'user' already" in result.stderr
    assert "--user-table" in result.stderr
    assert snapshot(project) == before


def test_every_option_reaches_the_answers(tmp_path: Path) -> None:
    """init's options are declared once, from its Options dataclass: each one given on the
    command line is what the dry run would record."""
    project = copy_fixture("onefile", tmp_path)
    before = snapshot(project)

    result = usergen(
        "init", project, "--dry-run", "--app", "main:app", "--module", "accounts",
        "--db", "sqlite", "--database-url", "sqlite:///./other.db", "--data-layer", "databases",
        "--pages", "--user-table", "member", "--oauth", "github, google",
    )  # fmt: skip

    added = result.stdout.split("+++ b/.usergen-answers.yml\n", 1)[1].split("\n--- ", 1)[0]
    answers = yaml.safe_load("\n".join(line[1:] for line in added.splitlines()[1:]))
    assert "app: main:app (main.py)" in result.stdout
    assert answers["package_name"] == "accounts"
    assert answers["database"] == "sqlite"
    assert answers["data_layer"] == "databases"
    assert answers["pages"] is True
    assert answers["oauth_providers"] == ["github", "google"]
    assert answers["existing_app"]["user_table"] == "member"
    assert answers["existing_app"]["database_url"] == "sqlite:///./other.db"
    assert snapshot(project) == before


def test_a_bad_option_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    project = copy_fixture("onefile", tmp_path)
    before = snapshot(project)

    provider = usergen("init", project, "--oauth", "google,myspace", check=False)
    app = usergen("init", project, "--app", "main:nope", check=False)

    assert provider.returncode == 2
    assert "unknown OAuth provider 'myspace'" in provider.stderr
    assert app.returncode != 0
    assert "main.py defines no nope" in app.stderr
    assert snapshot(project) == before


def test_a_computed_database_url_must_be_given(tmp_path: Path) -> None:
    project = copy_fixture("fullstack", tmp_path)
    before = snapshot(project)

    result = usergen("init", project, "--user-table", "account", check=False)

    assert result.returncode != 0
    assert "--database-url" in result.stderr
    assert snapshot(project) == before


def test_at_a_terminal_init_asks_what_it_cannot_tell(tmp_path: Path) -> None:
    """The full-stack project with a second app: which app, the computed URL and the user
    table's name are asked for (each after why), and stand as if given as options."""
    import pexpect

    project = copy_fixture("fullstack", tmp_path)
    (project / "app/admin.py").write_text("from fastapi import FastAPI\n\nadmin = FastAPI()\n")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "usergen", "init", str(project)],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect("Found several FastAPI apps")
    child.expect(r"(\d)\. app\.main:app")
    main_app = child.match.group(1)
    child.expect("Which app gets the users")
    child.sendline("9")  # not one of the choices: asked again
    child.expect("Which app gets the users")
    child.sendline(main_app)
    child.expect("could not tell your database URL")
    child.expect("Your database's URL")
    child.sendline("sqlite:///./app.db")
    child.expect("your app has a table named 'user' already")
    child.expect(r"name the user table \[account\]")
    child.sendline("")  # the suggested name
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0, child.before
    answers = yaml.safe_load((project / ".usergen-answers.yml").read_text())
    assert answers["existing_app"]["user_table"] == "account"
    assert answers["existing_app"]["database_url"] == "sqlite:///./app.db"
    assert "install_users(app)" in (project / "app/main.py").read_text()
    assert "install_users" not in (project / "app/admin.py").read_text()


def test_a_file_in_the_way_leaves_the_project_as_it_was(tmp_path: Path) -> None:
    project = copy_fixture("factory", tmp_path)
    (project / "src/shop/users").mkdir()
    (project / "src/shop/users/table.py").write_text("# their own users module\n")
    before = snapshot(project)

    result = init(project, check=False)

    assert result.returncode != 0
    assert "src/shop/users/table.py exists already" in result.stderr
    assert snapshot(project) == before


def test_an_app_from_another_template_keeps_its_answers_file(tmp_path: Path) -> None:
    """init records its answers in a file of its own, beside the app's template's."""
    project = copy_fixture("factory", tmp_path)
    theirs = "_commit: v1.2.0\n_src_path: gh:example/fastapi-template\nproject_name: Shop\n"
    (project / ".copier-answers.yml").write_text(theirs)

    assert init(project).returncode == 0
    assert (project / ".copier-answers.yml").read_text() == theirs
    recorded = yaml.safe_load((project / ".usergen-answers.yml").read_text())
    assert recorded["package_name"] == "shop.users"
    after = snapshot(project)
    assert "nothing changed" in init(project).stdout
    assert snapshot(project) == after
    added = usergen("add-field", "nickname", "str", "--path", project)
    assert "src/shop/users/table.py" in added.stdout
    assert (project / ".copier-answers.yml").read_text() == theirs


def test_init_in_an_app_usergen_new_generated_points_to_add_field(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    usergen("new", project, "--defaults")
    before = snapshot(project)

    result = usergen("init", project, check=False)

    assert result.returncode != 0
    assert "usergen new" in result.stderr and "add-field" in result.stderr
    assert snapshot(project) == before


def test_a_module_init_ed_at_template_0_5_0_moves_its_answers_on_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Template 0.5.0 recorded an init's answers in .copier-answers.yml; update takes them to
    .usergen-answers.yml, and init then finds the module in place."""
    from usergen import init as initializer
    from usergen import render
    from usergen.update import update

    project = copy_fixture("factory", tmp_path)
    with versions.template_of("0.5.0") as old_template, monkeypatch.context() as patched:
        patched.setattr(render, "template_root", lambda: old_template)
        initializer.apply(initializer.plan(project, initializer.Options()))
    old = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (old["template_version"], old["existing_app"]["source_dir"]) == ("0.5.0", "src")
    second = usergen("init", project, check=False)
    assert "usergen update" in second.stderr

    result = update(project)

    assert (result.old_version, result.new_version) == ("0.5.0", versions.current())
    assert not (project / ".copier-answers.yml").exists()
    new = yaml.safe_load((project / ".usergen-answers.yml").read_text())
    # The module had no pages before 0.6.0 and no social login before 0.8.0, and has none
    # after: update records that.
    expected = {**old, "pages": False, "oauth_providers": []}
    assert {**new, "template_version": "0.5.0"} == expected
    assert "_OTHER_DRIVERS" in (project / "src/shop/users/db.py").read_text()
    assert "nothing changed" in init(project).stdout


def trouble_at(n: int, trouble: str) -> Callable[[Path, bytes, int | None], None]:
    """files._write_atomic, with a full disk or a Ctrl-C at its ``n``-th call."""
    from usergen import files

    write = files._write_atomic
    calls = 0

    def write_until_n(path: Path, content: bytes, mode: int | None) -> None:
        nonlocal calls
        calls += 1
        if calls == n and trouble == "full disk":
            raise OSError(28, "No space left on device")
        if calls == n:
            os.kill(os.getpid(), signal.SIGINT)
        write(path, content, mode)

    return write_until_n


def test_a_failure_or_ctrl_c_at_any_write_leaves_the_project_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk, or Ctrl-C, at the N-th write, for every N: the project is byte-identical
    afterwards (and the interrupt still arrives)."""
    from usergen import files
    from usergen import init as initializer

    project = copy_fixture("factory", tmp_path)
    before = snapshot(project)
    plan = initializer.plan(project, initializer.Options())
    assert len(plan.writes) > 30  # the module, its tests, the migration and the edits
    for n in range(1, len(plan.writes) + 1):
        for trouble, expected in (("full disk", UsergenError), ("ctrl-c", KeyboardInterrupt)):
            monkeypatch.setattr(files, "_write_atomic", trouble_at(n, trouble))
            with pytest.raises(expected):
                initializer.apply(plan)
            assert snapshot(project) == before, (n, trouble)


def next_release(current: Path, into: Path) -> Path:
    """A copy of the template at ``current`` as its next version would be: 0.99.0, with a
    change to a module file and a new one."""
    root = into / "next"
    for rel, content in versions.template_files(current).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    config = root / "copier.yml"
    text = config.read_text()
    config.write_text(text.replace(f'default: "{versions.current()}"', 'default: "0.99.0"', 1))
    passwords = root / "template/{{users_dir}}/passwords.py"
    text = passwords.read_text()
    passwords.write_text(text.replace("through passlib's CryptContext.", "(passlib).", 1))
    (root / "template/{{users_dir}}/audit.py").write_text(
        '"""Who did what to an account."""\n\nAUDITED = ("login", "logout")\n'
    )
    return root


def test_update_carries_an_init_ed_module_to_the_next_release_with_edits_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next release (built here from this one) reaches the module: its change merged with
    the user's edit, its new file there, the app's own files untouched."""
    from usergen import init as initializer
    from usergen import render
    from usergen.update import update

    project = copy_fixture("factory", tmp_path)
    initializer.apply(initializer.plan(project, initializer.Options()))
    passwords = project / "src/shop/users/passwords.py"
    passwords.write_text(passwords.read_text() + "\n# Reviewed by the security team.\n")
    before = snapshot(project)
    # This version becomes a release in an archive; the next one is the template.
    this = versions.current()
    with zipfile.ZipFile(tmp_path / f"{this}.zip", "w") as archive:
        for rel, content in versions.template_files(render.template_root()).items():
            archive.writestr(rel, content)
    root = next_release(render.template_root(), tmp_path)
    monkeypatch.setitem(versions.RELEASES, this, "0" * 40)
    monkeypatch.setattr(versions, "RELEASES_FOLDER", tmp_path)
    monkeypatch.setattr(versions, "template_root", lambda: root)
    monkeypatch.setattr(render, "template_root", lambda: root)

    result = update(project)

    assert (result.old_version, result.new_version) == (this, "0.99.0")
    assert changed_paths(before, snapshot(project)) == {
        ".usergen-answers.yml",
        "src/shop/users/passwords.py",
        "src/shop/users/audit.py",
    }
    text = passwords.read_text()
    assert "Password hashing with Argon2id, (passlib)." in text
    assert text.endswith("\n# Reviewed by the security team.\n")
    answers = yaml.safe_load((project / ".usergen-answers.yml").read_text())
    assert answers["template_version"] == "0.99.0"
    assert answers["existing_app"]["metadata"] == "shop.models:Base.metadata"
    assert update(project).changes.writes == {}  # and again: nothing to do


# --- The slow tier: each project, end to end --------------------------------------------

# A row of the app's own, written before init and read after its migration.
SEED = {
    "onefile": "INSERT INTO item (id, name, quantity) VALUES (41, 'kept', 3)",
    "fullstack": (
        "INSERT INTO user (id, email) VALUES ('0123456789abcdef0123456789abcdef', 'theirs@x.io')"
    ),
    "factory": (
        "INSERT INTO orders (id, customer_email, total_cents, status) "
        "VALUES (41, 'kept@example.com', 100, 'new')"
    ),
}
SEED_CHECK = {
    "onefile": "SELECT name FROM item WHERE id = 41",
    "fullstack": "SELECT email FROM user",
    "factory": "SELECT customer_email FROM orders WHERE id = 41",
}

# Run in the project: a route of the app's own behind the user module's dependency, and the
# account flow through the app as the project builds it.
APP_CHECK = """
import asyncio, importlib, sys

import httpx
from fastapi import FastAPI

module_name, _, attribute = sys.argv[1].partition(":")
users = sys.argv[2]
target = getattr(importlib.import_module(module_name), attribute)
app = target() if not isinstance(target, FastAPI) else target
CurrentUser = importlib.import_module(users + ".dependencies").CurrentUser


@app.get("/mine", tags=["mine"])
async def mine(user: CurrentUser) -> dict[str, str]:  # type: ignore[valid-type]
    return {"email": user.email}  # type: ignore[attr-defined]


async def main() -> None:
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url="https://testserver"
    ) as client:
        assert (await client.get("/mine")).status_code == 401
        body = {"email": "new@example.com", "password": "a long enough password"}
        registered = await client.post("/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        login = await client.post(
            "/auth/jwt/login",
            data={"username": body["email"], "password": body["password"]},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": "Bearer " + login.json()["access_token"]}
        assert (await client.get("/users/me", headers=headers)).json()["email"] == body["email"]
        mine = await client.get("/mine", headers=headers)
        assert mine.status_code == 200 and mine.json() == {"email": body["email"]}, mine.text
    print("app check passed")


asyncio.run(main())
"""

# Run in the project: a model of the app's own, on its Base, with a foreign key to the user
# and a relationship to it; the mappers configure and the key points at the user table.
MODEL_CHECK = """
import importlib, sys, uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, configure_mappers, mapped_column, relationship

base, users, form = sys.argv[1:4]
module_name, _, attribute = base.partition(":")
Base = getattr(importlib.import_module(module_name), attribute)
table = importlib.import_module(users + ".table")
key = table.users.c.id if form == "column" else f"{table.users.name}.id"


class Note(Base):
    __tablename__ = "model_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey(key))
    owner: Mapped[table.UserTable] = relationship(table.UserTable)


configure_mappers()
[foreign] = Note.__table__.foreign_keys
assert foreign.column is table.users.c.id, foreign
assert Note.owner.property.mapper.class_ is table.UserTable
print("model check passed")
"""
# The app's declarative Base, and how its models name the user's key: by the string where
# the user tables share its metadata, by the column where they cannot (see init's note).
MODELS = {"onefile": ("main:Base", "column"), "factory": ("shop.models:Base", "string")}

# A table of the app's that refers to a user, and its revision after the user tables'.
NOTE_REVISION = '''
"""A note per user."""

import sqlalchemy as sa
from alembic import op

revision = "0900notes"
down_revision = "{down}"


def upgrade() -> None:
    op.create_table(
        "user_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("{table}.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_note")
'''

APPS = {
    "onefile": ("main:app", "users", "alembic/versions", "user"),
    "fullstack": ("app.main:app", "app.users", "app/alembic/versions", "account"),
    "factory": ("shop.app:create_app", "shop.users", "alembic/versions", "user"),
    "poetry_nodb": ("notes.main:app", "notes.users", "migrations/versions", "user"),
}


def run(project: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
    )


# The URL each app's own engine takes (the user module takes any form).
APP_DRIVERS = {"factory": {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}}


def app_url(name: str, url: str) -> str:
    parsed = make_url(url)
    driver = APP_DRIVERS.get(name, {}).get(parsed.get_backend_name())
    if driver is None:
        return url
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(
        hide_password=False
    )


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    return asyncio.run(execute(url, sa.text(sql)))


def tables_and_foreign_keys(url: str, table: str) -> tuple[set[str], list[tuple[str, str]]]:
    """The database's tables, and where the foreign keys of ``table`` point (table, column)."""

    def inspect(connection: sa.Connection) -> tuple[set[str], list[tuple[str, str]]]:
        inspector = sa.inspect(connection)
        names = set(inspector.get_table_names())
        keys = inspector.get_foreign_keys(table) if table in names else []
        return names, [(key["referred_table"], key["referred_columns"][0]) for key in keys]

    async def main() -> tuple[set[str], list[tuple[str, str]]]:
        engine = create_async_engine(_async(url))
        async with engine.connect() as connection:
            found = await connection.run_sync(inspect)
        await engine.dispose()
        return found

    return asyncio.run(main())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "backend"),
    [(name, "sqlite") for name in INIT_OPTIONS] + [("factory", "postgresql"), ("factory", "mysql")],
)
def test_the_app_works_with_users_after_init(name: str, backend: str, tmp_path: Path) -> None:
    server_or_skip(backend)
    project = copy_fixture(name, tmp_path)
    with database(backend, tmp_path) as url:
        check_app_after_init(name, project, url, server=None if backend == "sqlite" else backend)


# The module's tests that depend on where init put it and on the project around it: its routes
# and OpenAPI (test_app), its table migrated with theirs (the adapter), the account flow. (The
# tests that start processes from the project's source folder need a database server: they
# run with the whole suite in the factory app, whose code is under src/.)
WIRING_TESTS = ("test_app.py", "test_adapter.py", "test_register.py", "test_login.py")


def suite_paths(name: str) -> list[str]:
    """What the project's pytest runs after init: everything (its configuration's testpaths)
    for the factory app; elsewhere their own tests and the module's WIRING_TESTS."""
    if name == "factory":
        return []
    theirs = sorted(
        path.relative_to(FIXTURES / name).as_posix()
        for path in (FIXTURES / name).rglob("test_*.py")
    )
    assert theirs, name
    return [*theirs, *(f"{LAYOUT[name]['tests']}/{test}" for test in WIRING_TESTS)]


def check_app_after_init(name: str, project: Path, url: str, server: str | None) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": app_url(name, url),
        "SECRET": "a-secret-that-is-long-enough-to-sign-tokens",
        "PYTHONPATH": str(project / "src") + os.pathsep + str(project),
    }
    if server:
        # As a project on a server has it, and where init reads it; each suite's tests make
        # their own database there.
        (project / ".env").write_text(f"DATABASE_URL={env['DATABASE_URL']}\n")
        env["TEST_DATABASE_URL"] = SERVERS[server]
    python = sys.executable
    # Their data, before init.
    if name in SEED:
        migrated = run(project, env, python, "-m", "alembic", "upgrade", "head")
        assert migrated.returncode == 0, migrated.stderr
        query(url, SEED[name])

    # The account pages too, once: in the async factory app on SQLite (their tests, browser
    # included, run with the module's below).
    pages = ["--pages"] if name == "factory" and server is None else []
    # Social login with every provider in the factory app, on every database.
    oauth = ["--oauth", "google,github,microsoft,openid"] if name == "factory" else []
    result = init(project, *pages, *oauth)
    assert result.returncode == 0, result.stderr

    app, users, versions, table = APPS[name]
    # Their database migrated: their rows kept, the user tables there.
    upgraded = run(project, env, python, "-m", "alembic", "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert {table, f"{table}_session"} <= tables_and_foreign_keys(url, table)[0]
    if oauth:
        assert {"oauth_account", "oauth_state"} <= tables_and_foreign_keys(url, table)[0]
    if name in SEED_CHECK:
        assert query(url, SEED_CHECK[name]) != []
    # A table of theirs with a foreign key to the user, in a revision after ours. (Their
    # tests migrate a database made with the server's default collation: on MariaDB the
    # key holds only because the user tables take the database's defaults.)
    heads = run(project, env, python, "-m", "alembic", "heads")
    down = heads.stdout.split()[0]
    note = project / versions / "0900_notes.py"
    note.write_text(textwrap.dedent(NOTE_REVISION).format(down=down, table=table).lstrip())
    # Its imports in the order the project's ruff wants (alembic/ is first-party in some).
    run(project, env, python, "-m", "ruff", "check", "--select", "I", "--fix", str(note))
    noted = run(project, env, python, "-m", "alembic", "upgrade", "head")
    assert noted.returncode == 0, noted.stderr
    assert tables_and_foreign_keys(url, "user_note")[1] == [(table, "id")]

    # Accounts through their app, and a route of theirs behind CurrentUser.
    checked = run(project, env, python, "-c", APP_CHECK, app, users)
    assert checked.returncode == 0, checked.stderr
    if name in MODELS:
        base, form = MODELS[name]
        modelled = run(project, env, python, "-c", MODEL_CHECK, base, users, form)
        assert modelled.returncode == 0, modelled.stderr
    # Their tests and the user module's, with their own configuration: the module's whole
    # suite in the factory app (on every database, and on both layers on SQLite), and in the
    # others those that depend on where init put the module.
    tests = run(project, env, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                *suite_paths(name))  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:]
    if server is None:  # the code is the same whatever the database: checked once
        # Their lint and type checks see nothing new.
        assert run(project, env, python, "-m", "ruff", "check", ".").returncode == 0
        typed = run(project, env, python, "-m", "mypy", "--cache-dir", str(mypy_cache_dir()))
        assert typed.returncode == 0, typed.stdout[-3000:]

    # The module takes add-field, and switching layers with update.
    added = usergen("add-field", "nickname", "str", "--path", project)
    assert added.returncode == 0, added.stderr
    assert list((project / versions).glob("*_add_nickname_to_user.py"))
    switched = usergen("update", "--data-layer", "databases", "--path", project)
    assert switched.returncode == 0, switched.stderr
    again = run(project, env, python, "-m", "alembic", "upgrade", "head")
    assert again.returncode == 0, again.stderr
    # Their tests and the module's tests of what changed (db.py, the only file the layer
    # changes, and the field) again, once: the async app on SQLite (the module's whole suite
    # ran on the other layer above, and the generated app's on both layers and every database
    # in test_generated_app.py).
    if server is None and name == "factory":
        changed = ("test_adapter.py", "test_user_fields.py", "test_app.py", "test_register.py",
                   "test_login.py", "test_users.py", "test_oauth.py")  # fmt: skip
        module_tests = [f"{LAYOUT[name]['tests']}/{test}" for test in changed]
        tests = run(project, env, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                    "tests/test_orders.py", *module_tests)  # fmt: skip
        assert tests.returncode == 0, tests.stdout[-3000:]
