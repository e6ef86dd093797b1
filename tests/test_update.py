"""`usergen update` on projects of an earlier template version: edits kept, the new template's
changes present, conflicts refused with nothing changed, the schema migrated.

The fast tests render the earlier version from the archive in the wheel (as update itself
does); test_update_apps.py does it with the real earlier usergen, installed from git.
"""

import asyncio
import contextlib
import datetime as dt
import re
import shutil
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import run, tree_hashes, usergen
from usergen import versions
from usergen.render import CREATE_ONLY, Renderer

from .test_add_field_apps import _async, alembic, database, server_or_skip
from .user_edits import edit_like_a_user, missing_edits

OLDEST = versions.shipped()[0]
CURRENT = versions.current()
# Every shipped version a project can be updated from.
EARLIER = [v for v in versions.shipped() if versions.parse(v) < versions.parse(CURRENT)]
THREE_FIELDS = [
    ["age", "int", "--required", "--default", "18", "--index"],
    ["nickname", "str", "--max-length", "50", "--unique"],
    ["last_seen", "datetime", "--index"],
]


def render_at(version: str, dest: Path, **answers: object) -> Path:
    """A new project as usergen of template ``version`` writes it."""
    with versions.template_of(version) as root:
        files, modes = Renderer(root).render(
            {"project_name": dest.name, "package_name": dest.name, **answers}, dest.name
        )
    for rel, content in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(modes[rel])
    return dest


def answers(project: Path) -> dict[str, object]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text()))


@pytest.fixture(scope="session")  # see conftest.py: the longest tests first
def old_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of the oldest shipped version, edited as a user would, with three fields."""
    project = render_at(OLDEST, tmp_path_factory.mktemp("old") / "shop")
    edit_like_a_user(project)
    for args in THREE_FIELDS:
        usergen("add-field", *args, cwd=project)
    assert answers(project)["template_version"] == OLDEST
    return project


@pytest.fixture
def old_app(old_base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(old_base, tmp_path / "shop", symlinks=True))


def render_now(project: Path, **changed: object) -> dict[str, bytes]:
    recorded = {**answers(project), "template_version": CURRENT, **changed}
    files, _ = Renderer().render(recorded, project.name, skip=CREATE_ONLY)
    return files


def test_update_keeps_every_edit_and_brings_the_new_template(old_app: Path) -> None:
    before = {rel: (old_app / rel).read_bytes() for rel, _ in tree_hashes(old_app).items()}
    with versions.template_of(OLDEST) as root:
        base, _ = Renderer(root).render(answers(old_app), "shop", skip=CREATE_ONLY)

    result = usergen("update", cwd=old_app)

    assert f"template_version {OLDEST} → {CURRENT}" in result.stdout
    assert answers(old_app)["template_version"] == CURRENT
    assert [spec["name"] for spec in answers(old_app)["fields"]] == [  # type: ignore[attr-defined]
        "age", "nickname", "last_seen",
    ]  # fmt: skip
    assert missing_edits(old_app) == []
    new = render_now(old_app)
    for rel, content in new.items():
        if rel.startswith("migrations/versions/"):
            assert (old_app / rel).read_bytes() == before.get(rel, content)  # history kept
        elif before.get(rel) == base.get(rel):  # a file the user never touched
            assert (old_app / rel).read_bytes() == content, rel


# In the fast tier old_app's tests update from OLDEST and check the same and more.
@pytest.mark.slow
@pytest.mark.parametrize("start", EARLIER)
def test_update_from_every_earlier_version_keeps_edits_and_fields(
    start: str, tmp_path: Path
) -> None:
    project = render_at(start, tmp_path / "shop")
    edit_like_a_user(project)
    for args in THREE_FIELDS:
        usergen("add-field", *args, cwd=project)

    result = usergen("update", cwd=project)

    assert f"template_version {start} → {CURRENT}" in result.stdout
    assert answers(project)["template_version"] == CURRENT
    assert [spec["name"] for spec in answers(project)["fields"]] == [  # type: ignore[attr-defined]
        "age", "nickname", "last_seen",
    ]  # fmt: skip
    assert missing_edits(project) == []


def test_update_again_changes_nothing(old_app: Path) -> None:
    usergen("update", cwd=old_app)
    before = tree_hashes(old_app)

    result = usergen("update", cwd=old_app)

    assert "Nothing to change" in result.stdout
    assert tree_hashes(old_app) == before


def changed_line(project: Path) -> tuple[str, str]:
    """A file the user has as generated, and a line of it that the new template changes."""
    with versions.template_of(OLDEST) as root:
        base, _ = Renderer(root).render(answers(project), "shop", skip=CREATE_ONLY)
    new = render_now(project)
    for rel in sorted(base.keys() & new.keys()):
        if rel.startswith("migrations/") or rel == ".copier-answers.yml":
            continue
        if base[rel] != new[rel] and (project / rel).read_bytes() == base[rel]:
            old_lines = base[rel].decode().splitlines()
            new_lines = set(new[rel].decode().splitlines())
            for line in old_lines:
                if line.strip() and line not in new_lines and old_lines.count(line) == 1:
                    return rel, line
    raise AssertionError(f"the template did not change a single line since {OLDEST}")


def test_a_conflicting_edit_is_reported_and_nothing_changes(old_app: Path) -> None:
    rel, line = changed_line(old_app)
    path = old_app / rel
    path.write_text(path.read_text().replace(line, line + "  # mine"))
    before = tree_hashes(old_app)

    result = usergen("update", cwd=old_app, check=False)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"  {rel}: your edits and the change touch the same lines" in result.stderr
    assert "yours | " + line + "  # mine" in result.stderr
    assert tree_hashes(old_app) == before


def test_inline_conflicts_block_every_later_command(old_app: Path) -> None:
    rel, line = changed_line(old_app)
    path = old_app / rel
    path.write_text(path.read_text().replace(line, line + "  # mine"))

    result = usergen("update", "--conflict", "inline", cwd=old_app, check=False)

    assert result.returncode == 1
    assert "<<<<<<< yours" in path.read_text()
    assert f"template {CURRENT}" in path.read_text()
    before = tree_hashes(old_app)
    for command in (["update"], ["add-field", "score", "int"]):
        refused = usergen(*command, cwd=old_app, check=False)
        assert refused.returncode == 1, refused.stdout
        assert "still have conflict markers" in refused.stderr
        assert re.search(rf"  {re.escape(rel)}: line \d+", refused.stderr)
        assert tree_hashes(old_app) == before


def test_dry_run_prints_the_diff_and_changes_nothing(old_app: Path) -> None:
    before = tree_hashes(old_app)

    result = usergen("update", "--dry-run", cwd=old_app)

    assert f"-template_version: {OLDEST}\n+template_version: {CURRENT}" in result.stdout
    assert "+++ b/.copier-answers.yml" in result.stdout
    assert "(dry run: nothing was changed" in result.stderr
    assert tree_hashes(old_app) == before


def test_update_changes_the_database_answer_with_edits_kept(old_app: Path) -> None:
    usergen("update", "--db", "postgresql", cwd=old_app)

    assert answers(old_app)["database"] == "postgresql"
    assert "asyncpg" in (old_app / "pyproject.toml").read_text()
    assert missing_edits(old_app) == []


def test_update_switches_the_data_layer_and_back_with_edits_kept(old_app: Path) -> None:
    usergen("update", cwd=old_app)
    on_databases = tree_hashes(old_app)
    migrations = sorted((old_app / "migrations" / "versions").glob("*.py"))

    result = usergen("update", "--data-layer", "sqlalchemy", cwd=old_app)

    assert "data_layer databases → sqlalchemy" in result.stdout
    assert answers(old_app)["data_layer"] == "sqlalchemy"
    assert missing_edits(old_app) == []
    assert "from databases import" not in (old_app / "shop" / "db.py").read_text()
    assert (old_app / "tests" / "test_orm_session.py").is_file()
    # The schema is the same on both layers: no revision.
    assert sorted((old_app / "migrations" / "versions").glob("*.py")) == migrations

    usergen("update", "--data-layer", "databases", cwd=old_app)

    assert tree_hashes(old_app) == on_databases


def test_an_earlier_project_gets_no_pages_until_it_asks(old_app: Path) -> None:
    usergen("update", cwd=old_app)
    assert answers(old_app)["pages"] is False
    assert not (old_app / "shop" / "users" / "pages").exists()
    without_pages = tree_hashes(old_app)

    result = usergen("update", "--pages", cwd=old_app)

    assert "pages False → True" in result.stdout
    assert (old_app / "shop" / "users" / "pages" / "templates" / "signup.html").is_file()
    assert "build_pages_router" in (old_app / "shop" / "main.py").read_text()
    # The links in emails now lead to the pages, unless the project chose its own front end.
    assert "/account" in (old_app / "shop" / "settings.py").read_text()
    assert missing_edits(old_app) == []

    usergen("update", "--no-pages", cwd=old_app)

    assert tree_hashes(old_app) == without_pages


BAD = {
    "pages before 0.6.0": (["--pages", "--to", "0.5.0"], "template 0.5.0 has no account pages"),
    "unknown version": (["--to", "9.9.9"], "template version 9.9.9 is not one this usergen knows"),
    "not a version": (["--to", "latest"], "is not one this usergen knows"),
    "unknown database": (["--db", "oracle"], "'oracle' is not one of"),
    "unknown data layer": (["--data-layer", "orm"], "'orm' is not one of"),
    "data layer before 0.3.0": (
        ["--data-layer", "sqlalchemy", "--to", "0.2.0"],
        "choosing one needs template 0.3.0 or later",
    ),
}


@pytest.mark.parametrize(("args", "message"), BAD.values(), ids=BAD.keys())
def test_bad_input_changes_nothing(old_app: Path, args: list[str], message: str) -> None:
    before = tree_hashes(old_app)

    result = usergen("update", *args, cwd=old_app, check=False)

    assert result.returncode == 2 if {"oracle", "orm"} & set(args) else result.returncode in (1, 2)
    assert message in result.stderr
    assert tree_hashes(old_app) == before


def test_a_field_by_a_name_the_template_builds_in_is_renamed_first(old_app: Path) -> None:
    """Template 0.3.0 gives every user created_at: a project that added a field by that name
    would get the column twice, so update refuses until the field has another name."""
    answers_file = old_app / ".copier-answers.yml"
    recorded = answers(old_app)
    recorded["fields"][2]["name"] = "created_at"  # type: ignore[index]
    answers_file.write_text(yaml.safe_dump(recorded, sort_keys=True, allow_unicode=True))
    before = tree_hashes(old_app)

    result = usergen("update", cwd=old_app, check=False)

    assert result.returncode == 2
    assert "rename yours first (usergen rename-field created_at NEW_NAME)" in result.stderr
    assert tree_hashes(old_app) == before


def test_going_back_is_refused(old_app: Path) -> None:
    usergen("update", cwd=old_app)
    before = tree_hashes(old_app)

    result = usergen("update", "--to", OLDEST, cwd=old_app, check=False)

    if OLDEST == CURRENT:
        pytest.skip("only one template version ships")
    assert result.returncode == 2
    assert "update does not go back" in result.stderr
    assert tree_hashes(old_app) == before


@pytest.mark.slow  # a SQLite migration; the fast tier migrates in the schema test [sqlite-OLDEST]
def test_schema_changes_arrive_as_a_revision_after_the_current_head(old_app: Path) -> None:
    """The upgrade revision follows whatever the head is at update time (here the last
    add-field migration, after the user's own), and migrates a SQLite database with users."""
    result = usergen("update", cwd=old_app)
    written = re.search(r"(migrations/versions/\S+\.py) migrates it", result.stdout)
    crossed = [
        version
        for version in versions.shipped()
        if versions.parse(OLDEST) < versions.parse(version)
        and (versions.template_root() / f"includes/schema_upgrades/{version}.py.jinja").is_file()
    ]
    if not crossed:
        assert written is None
        pytest.skip("no schema change since the oldest version")
    assert written is not None, result.stdout
    migration = (old_app / written.group(1)).read_text()
    assert 'down_revision: str | None = "0004"' in migration
    for lint in (["check"], ["format", "--check", "--diff"]):
        run(sys.executable, "-m", "ruff", *lint, written.group(1), cwd=old_app)
    database = old_app / "app.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)
    run("python", "-m", "alembic", "downgrade", "0004", cwd=old_app, env=env)
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)


USERS = sa.table(
    "user",
    *(sa.column(name) for name in ("id", "email", "hashed_password")),
    *(sa.column(name, sa.Boolean()) for name in ("is_active", "is_superuser", "is_verified")),
)
# The user table from template 0.2.0 on, which keeps each email's canonical form too.
WITH_CANONICAL = sa.table(
    "user",
    *(sa.column(column.name, column.type) for column in USERS.c),
    sa.column("normalized_email"),
)
ROWS = [
    {
        "id": uuid.UUID(int=n + 1).hex,
        "email": f"User{n}@Example.com",
        "hashed_password": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        "is_active": n != 1,
        "is_superuser": n == 0,
        "is_verified": n == 2,
    }
    for n in range(3)
]


async def execute(url: str, statement: sa.Executable) -> list[tuple[Any, ...]]:
    engine = create_async_engine(_async(url))
    async with engine.begin() as connection:
        result = await connection.execute(statement)
        rows = [tuple(row) for row in result] if result.returns_rows else []
    await engine.dispose()
    return rows


async def schema(url: str) -> dict[str, Any]:
    """What migrations decide about the user tables: each column's type, nullability, server
    default and collation, the keys, indexes and unique constraints."""

    def inspect(connection: sa.Connection) -> dict[str, Any]:
        inspector = sa.inspect(connection)
        found: dict[str, Any] = {}
        for table in ("user", "user_session"):
            found[table] = {
                # By name: a column added later comes last, wherever a new table has it.
                "columns": sorted(
                    (c["name"], repr(c["type"]), c["nullable"], c.get("default"))
                    for c in inspector.get_columns(table)
                ),
                "pk": inspector.get_pk_constraint(table),
                "fks": inspector.get_foreign_keys(table),
                "indexes": sorted(inspector.get_indexes(table), key=lambda index: index["name"]),
                "unique": inspector.get_unique_constraints(table),
            }
        if connection.dialect.name == "sqlite":
            # SQLite reports collations only for index columns.
            index = connection.exec_driver_sql("PRAGMA index_xinfo('ix_user_normalized_email')")
            found["email collation"] = [row[4] for row in index if row[5]]
        return found

    engine = create_async_engine(_async(url))
    async with engine.connect() as connection:
        found = await connection.run_sync(inspect)
    await engine.dispose()
    return found


_NEW_SCHEMAS: dict[str, dict[str, Any]] = {}


def new_schema(backend: str, tmp_path: Path) -> dict[str, Any]:
    """The schema a new project of CURRENT migrates ``backend`` to (once per backend)."""
    if backend not in _NEW_SCHEMAS:
        new = render_at(CURRENT, tmp_path / "new" / "shop")
        with database(backend, tmp_path) as new_url:
            alembic(new, new_url, "upgrade", "head")
            _NEW_SCHEMAS[backend] = asyncio.run(schema(new_url))
    return _NEW_SCHEMAS[backend]


# Each run takes several migrations on a database: the fast tier takes the longest way (from
# OLDEST) on SQLite; the full suite every earlier version on every database.
@pytest.mark.parametrize(
    ("backend", "start"),
    [
        pytest.param(
            backend,
            start,
            id=f"{backend}-{start}",
            marks=[] if (backend, start) == ("sqlite", OLDEST) else [pytest.mark.slow],
        )
        for start in EARLIER
        for backend in ("sqlite", "postgresql", "mysql")
    ],
)
def test_an_updated_project_has_the_schema_of_a_new_one_and_keeps_its_rows(
    backend: str, start: str, tmp_path: Path
) -> None:
    server_or_skip(backend)
    old = render_at(start, tmp_path / "old" / "shop")
    with database(backend, tmp_path) as old_url:
        alembic(old, old_url, "upgrade", "head")
        inserted_from = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if versions.parse(start) < versions.parse("0.2.0"):
            asyncio.run(execute(old_url, USERS.insert().values(ROWS)))
        else:  # 0.2.0 on, the app stores each email's canonical form too
            canonical_rows = [{**row, "normalized_email": row["email"].casefold()} for row in ROWS]
            asyncio.run(execute(old_url, sa.insert(WITH_CANONICAL).values(canonical_rows)))

        usergen("update", cwd=old)
        migrated_from = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        alembic(old, old_url, "upgrade", "head")
        migrated_by = dt.datetime.now(dt.UTC).replace(tzinfo=None)

        assert asyncio.run(schema(old_url)) == new_schema(backend, tmp_path)
        kept = asyncio.run(execute(old_url, sa.select(USERS).order_by(USERS.c.email)))
        assert [(row[1], *row[3:]) for row in kept] == [
            (row["email"], row["is_active"], row["is_superuser"], row["is_verified"])
            for row in ROWS
        ]
        # What the new schema is for: the database fills in the flags an insert leaves out.
        added = {"id": uuid.uuid4().hex, "email": "new@example.com", "hashed_password": "h"}
        canonical = {**added, "normalized_email": "new@example.com"}
        asyncio.run(execute(old_url, sa.insert(WITH_CANONICAL).values(canonical)))
        flags = sa.select(USERS.c.is_active, USERS.c.is_superuser, USERS.c.is_verified)
        where = USERS.c.email == "new@example.com"
        assert asyncio.run(execute(old_url, flags.where(where))) == [(True, False, False)]
        # Users of before the update were created no later than it: that is the time they get
        # from the migration that adds the column (or got at their insert, from 0.3.0 on).
        # New rows get the database's clock, in UTC.
        timed = sa.table("user", sa.column("email"), sa.column("created_at", sa.DateTime()))
        created = sa.select(timed.c.created_at)
        kept_times = asyncio.run(
            execute(old_url, created.where(timed.c.email != "new@example.com"))
        )
        assert len(kept_times) == len(ROWS) and len(set(kept_times)) == 1
        if versions.parse(start) < versions.parse("0.3.0"):
            assert migrated_from <= kept_times[0][0] <= migrated_by
        else:
            assert inserted_from - dt.timedelta(seconds=1) <= kept_times[0][0] <= migrated_from
        [(added_time,)] = asyncio.run(
            execute(old_url, created.where(timed.c.email == "new@example.com"))
        )
        assert migrated_by - dt.timedelta(seconds=1) <= added_time
        assert added_time <= dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)


def sqlite_rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(query).fetchall()


@pytest.mark.slow  # a SQLite migration; the fast tier migrates in the schema test [sqlite-OLDEST]
def test_emails_one_account_apart_stop_the_upgrade_with_nothing_changed(old_app: Path) -> None:
    """SQLite's NOCASE folds ASCII letters only, so 0.1.0 could hold Ä@… and ä@… as two
    accounts: one address to the canonical form. The upgrade names them and changes nothing;
    once one is renamed, it fills normalized_email for every row."""
    database = old_app / "app.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.executemany(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified,"
            " age) VALUES (?, ?, 'x', 1, 0, 0, 18)",
            [
                (uuid.uuid4().hex, email)
                for email in ("\u00c4nne@example.com", "\u00e4nne@example.com", "Bob@Example.com")
            ],
        )
    usergen("update", cwd=old_app)
    schema = sqlite_rows(database, "SELECT sql FROM sqlite_master ORDER BY name")
    rows = sqlite_rows(database, "SELECT * FROM user ORDER BY email")

    refused = run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env, check=False)

    assert refused.returncode != 0
    assert (
        "1 email address(es) belong to more than one account once case is ignored: "
        "\u00e4nne@example.com." in refused.stderr
    )
    assert "Nothing was changed." in refused.stderr
    assert sqlite_rows(database, "SELECT sql FROM sqlite_master ORDER BY name") == schema
    assert sqlite_rows(database, "SELECT * FROM user ORDER BY email") == rows
    assert sqlite_rows(database, "SELECT version_num FROM alembic_version") == [("0004",)]

    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE user SET email = 'anne@example.com' WHERE email LIKE '\u00c4%'")
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)
    query = "SELECT email, normalized_email FROM user ORDER BY normalized_email"
    assert sqlite_rows(database, query) == [
        ("anne@example.com", "anne@example.com"),
        ("Bob@Example.com", "bob@example.com"),
        ("\u00e4nne@example.com", "\u00e4nne@example.com"),
    ]


def git(*args: str, cwd: Path) -> None:
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args, cwd=cwd)


@pytest.mark.slow  # some 500 git processes, Copier's own
def test_copier_update_works_on_a_project_copied_from_a_git_clone(tmp_path: Path) -> None:
    """Copier's own path: `copier copy` of a tagged git template records `_src_path` and
    `_commit`, and `copier update` then brings the next tagged version, keeping the user's
    edits; a project with fields needs usergen (Copier alone cannot compute their code) and
    Copier says so, changing nothing."""
    import copier

    template = tmp_path / "usergen"
    template.mkdir()
    for part in versions.TEMPLATE_PARTS:
        source = versions.template_root() / part
        if source.is_dir():
            shutil.copytree(source, template / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, template / part)
    git("init", "-q", cwd=template)
    git("add", "-A", cwd=template)
    git("commit", "-qm", "this version", cwd=template)
    git("tag", CURRENT, cwd=template)
    readme = template / "template" / "{% if not existing_app %}README.md{% endif %}.jinja"
    readme.write_text(readme.read_text() + "\nA line of the next version.\n")
    config = template / "copier.yml"
    config.write_text(config.read_text().replace(f'"{CURRENT}"', '"99.0.0"'))
    git("commit", "-qam", "next version", cwd=template)
    git("tag", "99.0.0", cwd=template)

    projects = {}
    for name in ("shop", "fielded"):
        project = tmp_path / name
        copier.run_copy(str(template), str(project), vcs_ref=CURRENT, defaults=True, quiet=True)
        recorded = answers(project)
        assert (recorded["_src_path"], recorded["_commit"]) == (str(template), CURRENT)
        git("init", "-q", cwd=project)
        if name == "fielded":
            usergen("add-field", "nickname", "str", "--unique", cwd=project)
        main = project / name / "main.py"
        main.write_text(main.read_text() + "# mine\n")
        git("add", "-A", cwd=project)
        git("commit", "-qm", "generated", cwd=project)
        projects[name] = project

    copier.run_update(str(projects["shop"]), defaults=True, quiet=True, overwrite=True)

    recorded = answers(projects["shop"])
    assert (recorded["_commit"], recorded["template_version"]) == ("99.0.0", "99.0.0")
    assert "A line of the next version." in (projects["shop"] / "README.md").read_text()
    assert (projects["shop"] / "shop" / "main.py").read_text().endswith("# mine\n")

    with pytest.raises(Exception, match="only usergen computes: render it with usergen"):
        copier.run_update(str(projects["fielded"]), defaults=True, quiet=True, overwrite=True)
    assert answers(projects["fielded"])["_commit"] == CURRENT
    assert "nickname" in (projects["fielded"] / "fielded" / "users" / "table.py").read_text()


@pytest.mark.slow  # a SQLite migration; the fast tier migrates in the schema test [sqlite-OLDEST]
def test_sessions_survive_the_upgrade_without_a_refresh_token(old_app: Path) -> None:
    """A session opened under the old template keeps working until its token expires; it has
    no refresh token to renew it with (template 0.3.0 added them)."""
    database = old_app / "app.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)
    user_id, session_id = uuid.uuid4().hex, uuid.uuid4().hex
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "INSERT INTO user (id, email, hashed_password, is_active, is_superuser, is_verified,"
            " age) VALUES (?, 'ann@example.com', 'x', 1, 0, 0, 18)",
            (user_id,),
        )
        connection.execute(
            "INSERT INTO user_session (id, user_id, created_at, expires_at)"
            " VALUES (?, ?, '2026-12-01 09:00:00', '2026-12-01 10:00:00')",
            (session_id, user_id),
        )

    usergen("update", cwd=old_app)
    run("python", "-m", "alembic", "upgrade", "head", cwd=old_app, env=env)

    assert sqlite_rows(
        database,
        "SELECT id, expires_at, last_used_at, refresh_token_hash, previous_refresh_token_hash,"
        " refreshed_at FROM user_session",
    ) == [(session_id, "2026-12-01 10:00:00", "2026-12-01 09:00:00", None, None, None)]
