"""Rendering the template for every option combination (pytest-copie), and the code quality of
each rendered project: ruff, ruff format and mypy --strict, run with the project's own config."""

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run

COMBINATIONS = [{"database": database} for database in ("sqlite", "postgresql", "mysql")]


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda answers: answers["database"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered by Copier itself (no usergen), as `copier copy <repo> dest` would."""
    import copier

    dest = tmp_path_factory.mktemp("copie") / "inventory"
    answers: dict[str, Any] = request.param
    copier.run_copy(
        str(Path(__file__).resolve().parent.parent),
        str(dest),
        data=answers,
        defaults=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dest


@pytest.mark.parametrize("answers", COMBINATIONS, ids=lambda answers: answers["database"])
def test_copie_renders_every_combination(copie: Any, answers: dict[str, str]) -> None:
    result = copie.copy(extra_answers=answers)

    assert result.exit_code == 0, result.exception
    project = result.project_dir
    package = result.answers["package_name"]
    assert result.answers["database"] == answers["database"]
    assert (project / package / "users" / "table.py").is_file()
    assert not list(project.rglob("*.jinja"))
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["database"] == answers["database"]
    assert "secret_key" not in recorded


def test_ruff_check(rendered: Path) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=rendered)


def test_ruff_format(rendered: Path) -> None:
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=rendered)


def test_mypy_strict(rendered: Path) -> None:
    run([sys.executable, "-m", "mypy", "--cache-dir", str(rendered / ".mypy_cache")], cwd=rendered)


def test_database_option_sets_url_and_driver(rendered: Path) -> None:
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
    scheme = {"sqlite": "sqlite:///", "postgresql": "postgresql://", "mysql": "mysql://"}
    driver = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
    database = answers["database"]

    assert f"DATABASE_URL={scheme[database]}" in (rendered / ".env").read_text()
    dependencies = (
        (rendered / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    )
    assert f"databases[{driver[database]}]" in dependencies
