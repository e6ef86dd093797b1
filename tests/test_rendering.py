"""Rendering the template for every option combination (pytest-copie), and the code quality of
each rendered project: ruff, ruff format and mypy --strict, run with the project's own config."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run

# Social login with every provider on SQLite, where mypy runs (the code is the same on every
# database); the projects without the pages have no social login either.
EVERY_PROVIDER = ["google", "github", "microsoft", "openid"]
COMBINATIONS: list[dict[str, Any]] = [
    {
        "database": database,
        "data_layer": layer,
        **({"oauth_providers": EVERY_PROVIDER} if database == "sqlite" else {}),
    }
    for database in ("sqlite", "postgresql", "mysql")
    for layer in ("databases", "sqlalchemy")
]
# The account pages are on by default; their code is the same on every database and layer.
COMBINATIONS += [
    {"database": "sqlite", "data_layer": layer, "pages": False}
    for layer in ("databases", "sqlalchemy")
]


def combination_id(answers: dict[str, Any]) -> str:
    pages = "" if answers.get("pages", True) else "-no-pages"
    oauth = "-oauth" if answers.get("oauth_providers") else ""
    return f"{answers['database']}-{answers['data_layer']}{pages}{oauth}"


def on_one_worker(answers: dict[str, Any]) -> pytest.MarkDecorator:
    """The tests of one combination share a pytest-xdist worker, which renders it once."""
    return pytest.mark.xdist_group(f"rendered-{combination_id(answers)}")


@pytest.fixture(scope="session")
def copier_renders() -> dict[str, Path]:
    """Combination → its project rendered by Copier, so that each is rendered once (pytest
    sets a parametrized fixture up again whenever the order of the tests switches params)."""
    return {}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(answers, id=combination_id(answers), marks=on_one_worker(answers))
        for answers in COMBINATIONS
    ],
)
def rendered(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    copier_renders: dict[str, Path],
) -> Path:
    """A project rendered by Copier itself (no usergen), as `copier copy <repo> dest` would.
    The tests only read it."""
    import copier

    answers: dict[str, Any] = request.param
    key = combination_id(answers)
    if key not in copier_renders:
        dest = tmp_path_factory.mktemp("copie") / "inventory"
        copier.run_copy(
            str(Path(__file__).resolve().parent.parent),
            str(dest),
            data=answers,
            defaults=True,
            quiet=True,
            vcs_ref="HEAD",
        )
        copier_renders[key] = dest
    return copier_renders[key]


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_copie_renders_every_combination(copie: Any, answers: dict[str, Any]) -> None:
    result = copie.copy(extra_answers=answers)

    assert result.exit_code == 0, result.exception
    project = result.project_dir
    package = result.answers["package_name"]
    assert result.answers["database"] == answers["database"]
    assert result.answers["data_layer"] == answers["data_layer"]
    assert (project / package / "users" / "table.py").is_file()
    pages = project / package / "users" / "pages"
    assert (pages / "router.py").is_file() == answers.get("pages", True)
    assert (
        "pages.build_pages_router" in (project / package / "main.py").read_text()
    ) == pages.is_dir()
    assert not list(project.rglob("*.jinja"))
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["database"] == answers["database"]
    assert recorded["data_layer"] == answers["data_layer"]
    assert "secret_key" not in recorded


def test_ruff_check(rendered: Path) -> None:
    run(sys.executable, "-m", "ruff", "check", "--no-cache", ".", cwd=rendered)


def test_ruff_format(rendered: Path) -> None:
    run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".", cwd=rendered)


# mypy takes 10 to 20 s of CPU a project from a cold cache. The database changes no code that
# mypy sees but a default URL (test_the_database_changes_only_the_url_and_the_driver), so it
# checks each data layer once, on SQLite, with social login and without the pages and it: the
# fast tier the databases layer with every provider, the full suite the others too.
DEFAULT_COMBINATION = {
    "database": "sqlite",
    "data_layer": "databases",
    "oauth_providers": EVERY_PROVIDER,
}


@pytest.mark.parametrize(
    "rendered",
    [
        pytest.param(
            answers,
            id=combination_id(answers),
            marks=[on_one_worker(answers)]
            + ([] if answers == DEFAULT_COMBINATION else [pytest.mark.slow]),
        )
        for answers in COMBINATIONS
        if answers["database"] == "sqlite"
    ],
    indirect=True,
)
def test_mypy_strict(rendered: Path, mypy_cache: Callable[[str], Path]) -> None:
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
    cache = mypy_cache(f"rendered-{combination_id(answers)}")
    run(sys.executable, "-m", "mypy", "--cache-dir", str(cache), cwd=rendered)


@pytest.mark.parametrize("layer", ["databases", "sqlalchemy"])
def test_the_database_changes_only_the_url_and_the_driver(layer: str) -> None:
    """On one data layer, the projects of the three databases have the same Python code but
    the default URL in settings.py, and the same pyproject.toml but the driver: what mypy and
    ruff say about one is what they say about the others."""
    from usergen.render import Renderer

    renderer = Renderer()
    projects = [
        renderer.render(
            {"project_name": "shop", "package_name": "shop", "database": database,
             "data_layer": layer},
            "shop",
        )[0]
        for database in ("sqlite", "postgresql", "mysql")
    ]  # fmt: skip
    sqlite, *servers = projects
    code = {rel for rel in sqlite if rel.endswith((".py", ".toml", ".ini", ".cfg"))}
    for project in servers:
        assert {rel for rel in project if rel.endswith((".py", ".toml", ".ini", ".cfg"))} == code
        differing = {rel: changed_lines(sqlite[rel], project[rel]) for rel in code}
        differing = {rel: lines for rel, lines in differing.items() if lines}
        assert sorted(differing) == ["pyproject.toml", "shop/settings.py"], differing
        [(old, new)] = differing["shop/settings.py"]
        assert old.split('"')[0] == new.split('"')[0] == "    database_url: str = "
        [(old, new)] = differing["pyproject.toml"]
        assert {old.split("[")[0].split(">=")[0], new.split("[")[0].split(">=")[0]} <= {
            f'    "{name}' for name in ("databases", "aiosqlite", "asyncpg", "aiomysql")
        }, (old, new)


def changed_lines(old: bytes, new: bytes) -> list[tuple[str, str]]:
    """The lines that differ, pairwise (the files must have as many lines)."""
    old_lines, new_lines = old.decode().splitlines(), new.decode().splitlines()
    assert len(old_lines) == len(new_lines)
    return [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]


def test_database_option_sets_url_and_driver(rendered: Path) -> None:
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
    scheme = {"sqlite": "sqlite:///", "postgresql": "postgresql://", "mysql": "mysql://"}
    driver = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
    database = answers["database"]

    assert f"DATABASE_URL={scheme[database]}" in (rendered / ".env").read_text()
    dependencies = (
        (rendered / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    )
    if answers["data_layer"] == "databases":
        assert f'"databases[{driver[database]}]' in dependencies
    else:
        assert f'"{driver[database]}>=' in dependencies
        assert "databases[" not in dependencies


def test_each_data_layer_imports_only_its_own_library(rendered: Path) -> None:
    """`databases` is imported only in the project of that layer, and the ORM session exists
    only in the SQLAlchemy one."""
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
    code = "\n".join(path.read_text() for path in (rendered / "inventory").rglob("*.py"))
    if answers["data_layer"] == "databases":
        assert "from databases import" in code
        assert "AsyncSession" not in code
    else:
        assert "databases" not in (rendered / "inventory" / "db.py").read_text()
        assert "from databases import" not in code
        assert "DatabaseSession = Annotated[AsyncSession, Depends(get_session)]" in code


def test_pages_answer_sets_the_links_and_dependencies(rendered: Path) -> None:
    """With the account pages, the links in emails lead to them and the app depends on Jinja2
    (its tests on Playwright); without, the links lead to a front end of the user's."""
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
    env_example = (rendered / ".env.example").read_text()
    pyproject = (rendered / "pyproject.toml").read_text()
    if answers["pages"]:
        assert "FRONTEND_URL=http://127.0.0.1:8000/account\n" in env_example
        assert '"jinja2>=' in pyproject and '"playwright>=' in pyproject
    else:
        assert "FRONTEND_URL=http://localhost:3000\n" in env_example
        assert "jinja2" not in pyproject and "playwright" not in pyproject
        assert not (rendered / "tests" / "test_pages.py").exists()
