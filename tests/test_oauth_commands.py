"""`usergen add-oauth`, `remove-oauth` and `new --oauth`: the oauth_providers answer, and the
migration the first provider brings (and the last one takes back), as an update does it."""

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import run, tree_hashes, usergen
from tests.test_update import render_at
from usergen import versions


def answers(project: Path) -> dict[str, object]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text()))


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("oauth") / "shop"
    usergen("new", dest, "--defaults")
    return dest


@pytest.fixture
def app(fresh_app: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "shop"
    shutil.copytree(fresh_app, dest)
    return dest


def migrate(project: Path, *args: str) -> None:
    run(sys.executable, "-m", "alembic", *(args or ("upgrade", "head")), cwd=project)


def test_the_first_provider_brings_the_tables_and_the_last_takes_them(app: Path) -> None:
    migrate(app)
    assert answers(app)["oauth_providers"] == []

    added = usergen("add-oauth", "google", "github", cwd=app)
    migrate(app)

    assert answers(app)["oauth_providers"] == ["google", "github"]
    assert "created  migrations/versions/0002_usergen_oauth.py" in added.stdout
    assert {"oauth_account", "oauth_state"} <= tables(app / "shop.db")

    more = usergen("add-oauth", "openid", cwd=app)  # no schema change: no migration
    assert "migrations/versions" not in more.stdout
    usergen("remove-oauth", "google", "openid", cwd=app)
    refused = usergen("remove-oauth", "github", cwd=app, check=False)
    assert refused.returncode == 2
    assert "run again with --yes" in refused.stderr
    assert answers(app)["oauth_providers"] == ["github"]

    usergen("remove-oauth", "github", "--yes", cwd=app)
    migrate(app)
    assert answers(app)["oauth_providers"] == []
    assert not {"oauth_account", "oauth_state"} & tables(app / "shop.db")

    migrate(app, "downgrade", "0002")  # each revision goes back too
    assert {"oauth_account", "oauth_state"} <= tables(app / "shop.db")
    migrate(app, "downgrade", "0001")
    assert not {"oauth_account", "oauth_state"} & tables(app / "shop.db")


def test_add_then_remove_returns_the_project_as_it_was_but_for_the_migrations(
    app: Path,
) -> None:
    before = tree_hashes(app)

    usergen("add-oauth", "microsoft", cwd=app)
    assert tree_hashes(app) != before
    usergen("remove-oauth", "microsoft", "--yes", cwd=app)

    after = tree_hashes(app)
    migrations = {rel for rel in after if rel.startswith("migrations/versions/")}
    assert migrations - set(before) == {
        "migrations/versions/0002_usergen_oauth.py",
        "migrations/versions/0003_usergen_no_oauth.py",
    }
    assert {rel: digest for rel, digest in after.items() if rel not in migrations} == {
        rel: digest for rel, digest in before.items() if rel not in migrations
    }


def test_an_edited_module_of_the_last_provider_stays_with_a_warning(app: Path) -> None:
    usergen("add-oauth", "github", cwd=app)
    router = app / "shop/users/oauth/router.py"
    edited = router.read_text() + "\n# our own tweak\n"
    router.write_text(edited)

    removed = usergen("remove-oauth", "github", "--yes", cwd=app)

    assert router.read_text() == edited
    assert not (app / "shop/users/oauth/clients.py").exists()
    assert (
        "kept     shop/users/oauth/router.py (you edited it; social login is gone and so are "
        "the modules it imports: move what you need from it, then delete it)"
    ) in removed.stdout


def test_new_takes_the_providers(tmp_path: Path) -> None:
    usergen("new", tmp_path / "shop", "--defaults", "--oauth", "github, openid")

    assert answers(tmp_path / "shop")["oauth_providers"] == ["github", "openid"]


BAD = {
    "unknown provider": (["add-oauth", "facebook"], "unknown OAuth provider 'facebook'"),
    "named twice": (["add-oauth", "google", "google"], "OAuth provider 'google' is named twice"),
    "not a provider of the project": (
        ["remove-oauth", "github"],
        "github is not a provider of the project (it has: none)",
    ),
}


@pytest.mark.parametrize(("args", "message"), BAD.values(), ids=BAD.keys())
def test_bad_input_changes_nothing(app: Path, args: list[str], message: str) -> None:
    before = tree_hashes(app)

    result = usergen(*args, cwd=app, check=False)

    assert result.returncode == 2
    assert message in result.stderr
    assert tree_hashes(app) == before


def test_a_provider_twice_is_refused_and_changes_nothing(app: Path) -> None:
    usergen("add-oauth", "google", cwd=app)
    before = tree_hashes(app)

    result = usergen("add-oauth", "github", "google", cwd=app, check=False)

    assert result.returncode == 2
    assert "google is a provider of the project already" in result.stderr
    assert tree_hashes(app) == before


def test_bad_providers_at_new_write_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    result = usergen("new", dest, "--defaults", "--oauth", "google,myspace", check=False)

    assert result.returncode == 2
    assert "unknown OAuth provider 'myspace'" in result.stderr
    assert not dest.exists()


def test_a_project_from_before_social_login_updates_first(tmp_path: Path) -> None:
    oldest = min(versions.RELEASES, key=versions.parse)
    dest = render_at(oldest, tmp_path / "shop")
    before = tree_hashes(dest)

    result = usergen("add-oauth", "google", cwd=dest, check=False)

    assert result.returncode == 2
    assert "run usergen update first, then add-oauth" in result.stderr
    assert tree_hashes(dest) == before


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_the_tables_come_and_go_on_a_database_server(app: Path, backend: str) -> None:
    """add-oauth's and remove-oauth's revisions on a server with users: the linked accounts
    table refers to them, and the project's schema matches its models after each step."""
    from tests.test_add_field_apps import alembic, database, server_or_skip

    server_or_skip(backend)
    usergen("add-oauth", "google", cwd=app)
    usergen("remove-oauth", "google", "--yes", cwd=app)
    usergen("add-oauth", "github", cwd=app)
    with database(backend, app.parent) as url:
        for step in ("0001", "0002", "0003", "head"):
            alembic(app, url, "upgrade", step)
        checked = alembic(app, url, "check")
        assert "No new upgrade operations detected" in checked, checked
        for step in ("0003", "0002", "0001"):
            alembic(app, url, "downgrade", step)
        alembic(app, url, "upgrade", "head")
        assert "No new upgrade operations detected" in alembic(app, url, "check")


@pytest.mark.slow
def test_fields_added_renamed_and_removed_beside_social_login(tmp_path: Path) -> None:
    """add-field, rename-field and remove-field on a project with providers: the code stays
    clean, the migrations apply, and the OAuth tests pass beside the fields' own."""
    from tests.helpers import check_code, run_app_tests

    project = tmp_path / "shop"
    usergen("new", project, "--defaults", "--oauth", "github,openid")
    usergen("add-field", "nickname", "str", "--max-length", "40", "--unique", cwd=project)
    usergen("add-field", "age", "int", cwd=project)
    usergen("rename-field", "age", "years", cwd=project)
    usergen("remove-field", "years", "--yes", cwd=project)
    usergen("add-oauth", "google", cwd=project)

    check_code(project)
    migrate(project)
    summary = run_app_tests(
        project, None, "tests/test_oauth.py", "tests/test_user_fields.py", "tests/test_adapter.py"
    )
    assert "failed" not in summary and "passed" in summary, summary
