"""`usergen` command line: help, version, `new` and its refusals."""

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

import usergen as usergen_package
from tests.helpers import tree_hashes, usergen


def test_help_lists_commands_and_does_not_import_copier() -> None:
    script = (
        "import sys\n"
        "from usergen.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('copier' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert "new" in result.stdout
    assert result.stdout.strip().endswith("False")


def test_new_help_shows_examples() -> None:
    result = usergen("new", "--help")

    assert result.returncode == 0
    assert "usergen new myapp --defaults" in result.stdout
    assert "--package" in result.stdout and "--db" in result.stdout


def test_version() -> None:
    result = usergen("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"usergen {usergen_package.__version__}"


def test_new_writes_the_project(generate: Callable[..., Path]) -> None:
    default_project = generate("shop")
    package = default_project / "shop"
    for rel in [
        "pyproject.toml",
        "README.md",
        "alembic.ini",
        ".env",
        ".env.example",
        ".gitignore",
        "migrations/env.py",
        "migrations/versions/0001_create_user_tables.py",
        "shop/main.py",
        "shop/db.py",
        "shop/users/table.py",
        "shop/users/adapter.py",
        "shop/users/schemas.py",
        "tests/conftest.py",
    ]:
        assert (default_project / rel).is_file(), rel
    assert not list(default_project.rglob("__pycache__"))
    assert not list(default_project.rglob("*.jinja"))
    assert (
        "class UserTable(Base, SQLAlchemyBaseUserTable)" in (package / "users/table.py").read_text()
    )


def test_new_records_the_answers(default_project: Path) -> None:
    answers = yaml.safe_load((default_project / ".copier-answers.yml").read_text())

    assert answers == {
        "data_layer": "databases",
        "database": "sqlite",
        "existing_app": {},
        "fields": [],
        "oauth_providers": [],
        "package_name": "shop",
        "pages": True,
        "project_name": "shop",
        "template_version": usergen_package.__version__,
    }


def test_new_writes_a_random_secret_to_a_git_ignored_env(tmp_path: Path) -> None:
    secrets = []
    for name in ("one", "two"):
        assert usergen("new", tmp_path / name, "--defaults").returncode == 0
        env = (tmp_path / name / ".env").read_text()
        secrets.append(re.search(r"^SECRET=(\S+)$", env, re.MULTILINE).group(1))  # type: ignore[union-attr]
        assert ".env" in (tmp_path / name / ".gitignore").read_text().splitlines()
        assert "SECRET" not in (tmp_path / name / ".copier-answers.yml").read_text()

    assert all(re.fullmatch(r"[0-9a-f]{64}", secret) for secret in secrets)
    assert secrets[0] != secrets[1]


def test_new_prints_what_it_created_and_what_to_run(tmp_path: Path) -> None:
    result = usergen("new", "My-Shop", "--defaults", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "created  my_shop/users/table.py" in result.stdout
    assert "cd My-Shop" in result.stdout
    assert "my_shop serve" in result.stdout
    assert (tmp_path / "My-Shop" / "my_shop" / "main.py").is_file()


def test_new_with_options(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "svc", "--package", "accounts", "--db", "postgresql")

    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    assert (answers["package_name"], answers["database"]) == ("accounts", "postgresql")
    assert "postgresql://" in (tmp_path / "svc" / ".env").read_text()
    assert '"databases[asyncpg]' in (tmp_path / "svc" / "pyproject.toml").read_text()


def test_new_without_a_terminal_uses_the_defaults(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "quiet", stdin="")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "quiet" / "quiet" / "main.py").is_file()


def test_new_into_an_existing_repository_adds_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("print('mine')\n")

    result = usergen("new", repo, "--package", "accounts", "--defaults")

    assert result.returncode == 0, result.stderr
    assert (repo / "src" / "app.py").read_text() == "print('mine')\n"
    assert (repo / "accounts" / "main.py").is_file()


def test_new_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# my project\n")
    (repo / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    before = tree_hashes(repo)

    result = usergen("new", repo, "--defaults", check=False)

    assert result.returncode == 1
    assert "README.md" in result.stderr and "pyproject.toml" in result.stderr
    assert "--overwrite" in result.stderr
    assert tree_hashes(repo) == before


def test_new_overwrite_replaces_conflicting_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# my project\n")

    result = usergen("new", repo, "--defaults", "--overwrite")

    assert result.returncode == 0, result.stderr
    assert "wire-compatible" in (repo / "README.md").read_text()


def test_new_twice_keeps_the_secret_and_changes_nothing(tmp_path: Path) -> None:
    assert usergen("new", tmp_path / "app", "--defaults").returncode == 0
    before = tree_hashes(tmp_path / "app")

    result = usergen("new", tmp_path / "app", "--defaults")

    assert result.returncode == 0, result.stderr
    assert "kept     .env" in result.stdout
    assert tree_hashes(tmp_path / "app") == before


def test_invalid_package_names_are_refused_before_writing(tmp_path: Path) -> None:
    for name, message in [
        ("My-App", "invalid package name"),
        ("1app", "invalid package name"),
        ("class", "keyword"),
        ("json", "shadow"),
        ("fastapi", "shadow"),
        ("test", "shell runs as its own builtin"),
        ("echo", "shell runs as its own builtin"),
    ]:
        result = usergen("new", tmp_path / "x", "--package", name, "--defaults", check=False)
        assert result.returncode == 2, name
        assert message in result.stderr, result.stderr
    assert not (tmp_path / "x").exists()


def test_folder_without_a_usable_name_asks_for_package(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "123", "--defaults", check=False)

    assert result.returncode == 2
    assert "pass --package" in result.stderr
    assert not (tmp_path / "123").exists()


def test_new_with_the_sqlalchemy_data_layer(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "svc", "--defaults", "--data-layer", "sqlalchemy")

    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    assert answers["data_layer"] == "sqlalchemy"
    assert "create_async_engine(" in (tmp_path / "svc" / "svc" / "db.py").read_text()
    dependencies = (tmp_path / "svc" / "pyproject.toml").read_text()
    assert '"aiosqlite>=' in dependencies and "databases[" not in dependencies


def test_unknown_data_layer_is_refused(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "x", "--data-layer", "orm", "--defaults", check=False)

    assert result.returncode == 2
    assert "'orm' is not one of" in result.stderr
    assert not (tmp_path / "x").exists()


def test_unknown_database_is_refused(tmp_path: Path) -> None:
    result = usergen("new", tmp_path / "x", "--db", "oracle", "--defaults", check=False)

    assert result.returncode == 2
    assert "oracle" in result.stderr
    assert not (tmp_path / "x").exists()


def test_unwritable_destinations_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    for dest, message in [
        (tmp_path / "a-file", "is not a folder"),
        (tmp_path / "a-file" / "app", "is not a folder"),
        (Path("/proc/usergen-test/app"), "cannot"),
    ]:
        result = usergen("new", dest, "--defaults", check=False)
        assert result.returncode == 1, dest
        assert message in result.stderr, result.stderr
    assert (tmp_path / "a-file").read_text() == ""


def test_a_failure_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    """Writes beyond a file-size limit fail (EFBIG) after smaller files were written."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "keep.txt").write_text("mine\n")
    before = tree_hashes(repo)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))\n"
        "from usergen.cli import main\n"
        f"sys.argv = ['usergen', 'new', {str(repo)!r}, '--defaults']\n"
        "main()\n"
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert result.returncode != 0
    assert tree_hashes(repo) == before
    assert sorted(p.name for p in repo.iterdir()) == ["keep.txt"]


def test_new_on_a_terminal_asks_the_questions(tmp_path: Path) -> None:
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "usergen", "new", str(tmp_path / "My-Thing")],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )

    def expect(pattern: object) -> None:
        """Wait for ``pattern``, answering the cursor position requests on the way as a
        terminal does (unanswered, each prompt waits a second for the answer)."""
        while child.expect([re.escape("\x1b[6n"), pattern]) == 0:
            child.send("\x1b[1;1R")

    expect("Name of the project")
    child.sendline("")  # keep the default: the folder name
    expect("Python package")
    child.sendline("\x15thing")  # Ctrl-U clears the suggested default
    expect("Database")
    child.send("\x1b[B")  # arrow down: PostgreSQL
    child.sendline("")
    expect("How the app reaches the database")
    child.send("\x1b[B")  # arrow down: SQLAlchemy asyncio
    child.sendline("")
    expect("Serve account pages")
    child.send("n")
    expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0, child.before
    answers = yaml.safe_load((tmp_path / "My-Thing" / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "My-Thing"
    assert answers["package_name"] == "thing"
    assert answers["database"] == "postgresql"
    assert answers["data_layer"] == "sqlalchemy"
    assert answers["pages"] is False


def test_shell_completion_is_offered() -> None:
    installed = shutil.which("usergen")
    assert installed is not None
    result = subprocess.run(
        [installed, "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert "_USERGEN_COMPLETE=complete_bash" in result.stdout


def test_next_steps_create_the_database_of_a_server(tmp_path: Path) -> None:
    postgresql = usergen("new", tmp_path / "pg_app", "--db", "postgresql", "--defaults")
    mysql = usergen("new", tmp_path / "my_app", "--db", "mysql", "--defaults")
    sqlite = usergen("new", tmp_path / "lite_app", "--defaults")

    assert "  createdb -h 127.0.0.1 -U postgres pg_app\n" in postgresql.stdout
    assert 'mysql -h 127.0.0.1 -u root -e "CREATE DATABASE my_app ' in mysql.stdout
    assert "createdb" not in sqlite.stdout and "CREATE DATABASE" not in sqlite.stdout
