"""`usergen.detect`: what it finds in the four existing projects of tests/fixtures/existing
and in small projects made for one case each; and those four projects' own test suites,
which must pass before `init` touches them."""

import shutil
import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.helpers import REPO, SERVERS, mypy_cache_dir, run, server_reachable
from usergen.detect import (
    AlembicEnv,
    AppLocation,
    DependencyList,
    DetectionError,
    ExistingProject,
    MetadataLocation,
    SettingsLocation,
    detect,
)

FIXTURES = REPO / "tests" / "fixtures" / "existing"


def write(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text, dedented) under ``root``; returns ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def revision(rev: str, down: str) -> str:
    """A revision file with ``down`` as the source text of its down_revision."""
    return f'"""{rev}"""\nrevision = "{rev}"\ndown_revision = {down}\n'


APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


# --- The four existing projects -----------------------------------------------------------


def test_onefile() -> None:
    root = FIXTURES / "onefile"
    assert detect(root) == ExistingProject(
        root=root,
        package=None,
        package_dir=Path("."),
        src_layout=False,
        app=AppLocation("main", Path("main.py"), "app", factory=False),
        metadata=MetadataLocation("main", "Base", "declarative", Path("main.py")),
        alembic=AlembicEnv(
            ini=Path("alembic.ini"),
            script_location=Path("alembic"),
            env_py=Path("alembic/env.py"),
            versions_dir=Path("alembic/versions"),
            is_async=False,
            heads=("3f1c2a9b7d10",),
            url="sqlite:///./onefile.db",
        ),
        settings=None,
        database_url="sqlite:///./onefile.db",
        dependencies=DependencyList(
            "requirements",
            Path("requirements.txt"),
            frozenset(
                {"fastapi", "uvicorn", "sqlalchemy", "alembic", "pydantic", "pytest", "httpx"}
            ),
        ),
        tests_dir=Path("tests"),
        table_names=frozenset({"item"}),
    )


def test_fullstack() -> None:
    root = FIXTURES / "fullstack"
    project = detect(root)
    assert project == ExistingProject(
        root=root,
        package="app",
        package_dir=Path("app"),
        src_layout=False,
        app=AppLocation("app.main", Path("app/main.py"), "app", factory=False),
        metadata=MetadataLocation("sqlmodel", "SQLModel", "sqlmodel", Path("app/models.py")),
        alembic=AlembicEnv(
            ini=Path("alembic.ini"),
            script_location=Path("app/alembic"),
            env_py=Path("app/alembic/env.py"),
            versions_dir=Path("app/alembic/versions"),
            is_async=False,
            heads=("9c0a3f5d2e71",),
            url=None,
        ),
        settings=SettingsLocation(
            module="app.core.config",
            path=Path("app/core/config.py"),
            class_name="Settings",
            instance="settings",
            # Not DATABASE_URL, also a URL-named field: the engine is made from this one.
            database_url_field="SQLALCHEMY_DATABASE_URI",
        ),
        database_url=None,  # computed from POSTGRES_*: no literal to show
        dependencies=DependencyList(
            "pep621",
            Path("pyproject.toml"),
            frozenset(
                {
                    "fastapi",
                    "python-multipart",
                    "email-validator",
                    "pydantic",
                    "alembic",
                    "httpx",
                    "sqlmodel",
                    "psycopg",
                    "pydantic-settings",
                }
            ),
        ),
        tests_dir=Path("app/tests"),
        table_names=frozenset({"user", "item"}),  # "user": a clash init must avoid
    )
    assert project.metadata is not None
    assert project.metadata.expression == "SQLModel.metadata"


def test_factory() -> None:
    root = FIXTURES / "factory"
    project = detect(root)
    assert project == ExistingProject(
        root=root,
        package="shop",
        package_dir=Path("src/shop"),
        src_layout=True,
        app=AppLocation("shop.app", Path("src/shop/app.py"), "create_app", factory=True),
        metadata=MetadataLocation("shop.models", "Base", "declarative", Path("src/shop/models.py")),
        alembic=AlembicEnv(
            ini=Path("alembic.ini"),
            script_location=Path("alembic"),  # %(here)s/alembic
            env_py=Path("alembic/env.py"),
            versions_dir=Path("alembic/versions"),
            is_async=True,
            heads=("b81f04c6a2d3",),
            url=None,  # `sqlalchemy.url =`, empty
        ),
        settings=SettingsLocation(
            module="shop.config",
            path=Path("src/shop/config.py"),
            class_name="Settings",
            instance=None,  # an lru_cache'd get_settings(), no module-level instance
            database_url_field="database_url",
        ),
        database_url="sqlite+aiosqlite:///./shop.db",
        dependencies=DependencyList(
            "pep621",
            Path("pyproject.toml"),
            frozenset(
                {
                    "fastapi",
                    "uvicorn",
                    "sqlalchemy",
                    "aiosqlite",
                    "alembic",
                    "pydantic-settings",
                    "email-validator",
                }
            ),
        ),
        tests_dir=Path("tests"),
        table_names=frozenset({"orders"}),
    )
    assert project.describe() == [
        "package: shop (src layout, src/shop)",
        "app: shop.app:create_app (factory) (src/shop/app.py)",
        "metadata: Base.metadata from shop.models (declarative, src/shop/models.py)",
        "alembic: alembic, async, head b81f04c6a2d3",
        "settings: shop.config.Settings (no instance, database URL in database_url)",
        "database URL: sqlite+aiosqlite:///./shop.db",
        "dependencies: pyproject.toml (PEP 621)",
        "tests: tests/",
        "tables: orders",
    ]


def test_poetry_nodb() -> None:
    root = FIXTURES / "poetry_nodb"
    project = detect(root)
    assert project == ExistingProject(
        root=root,
        package="notes",
        package_dir=Path("notes"),
        src_layout=False,
        app=AppLocation("notes.main", Path("notes/main.py"), "app", factory=False),
        metadata=None,
        alembic=None,
        settings=None,
        database_url=None,
        # Runtime dependencies only (not the dev group); "Pydantic" normalized, no python.
        dependencies=DependencyList(
            "poetry", Path("pyproject.toml"), frozenset({"fastapi", "uvicorn", "pydantic"})
        ),
        tests_dir=Path("tests"),
        table_names=frozenset(),
    )
    assert project.describe() == [
        "package: notes (notes)",
        "app: notes.main:app (notes/main.py)",
        "metadata: not found (no declarative base, SQLModel table or MetaData())",
        "alembic: not found (no alembic.ini with a script_location)",
        "settings: not found (no pydantic-settings BaseSettings class)",
        "database URL: not found",
        "dependencies: pyproject.toml (Poetry)",
        "tests: tests/",
        "tables: none found",
    ]


# --- Apps and packages ------------------------------------------------------------------


def ambiguous(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/api.py": APP,
            "pkg/factory.py": """
                import fastapi

                def create_app() -> fastapi.FastAPI:
                    application = fastapi.FastAPI(title="x")
                    return application
            """,
        },
    )


def test_several_apps_are_a_question_for_the_user(tmp_path: Path) -> None:
    with pytest.raises(DetectionError) as raised:
        detect(ambiguous(tmp_path))
    message = str(raised.value)
    assert "--app" in message
    assert "pkg.api:app" in message
    assert "pkg.factory:create_app (factory)" in message


def test_the_app_option_settles_it(tmp_path: Path) -> None:
    project = detect(ambiguous(tmp_path), app="pkg.factory:create_app")
    assert project.app == AppLocation(
        "pkg.factory", Path("pkg/factory.py"), "create_app", factory=True
    )
    assert project.package == "pkg"
    assert detect(tmp_path, app="pkg.api:app").app == AppLocation(
        "pkg.api", Path("pkg/api.py"), "app", factory=False
    )


@pytest.mark.parametrize(
    ("option", "complaint"),
    [
        ("pkg.api", "expected module:attribute"),
        ("pkg.nothere:app", "found no module pkg.nothere"),
        ("pkg.api:application", "defines no application"),
    ],
)
def test_a_wrong_app_option_is_explained(tmp_path: Path, option: str, complaint: str) -> None:
    with pytest.raises(DetectionError, match=complaint):
        detect(ambiguous(tmp_path), app=option)


def test_no_package_and_no_app(tmp_path: Path) -> None:
    write(tmp_path, {"README.md": "# nothing here\n", "tools.py": "print('hi')\n"})
    with pytest.raises(DetectionError, match="--package"):
        detect(tmp_path)


def test_several_packages_without_an_app(tmp_path: Path) -> None:
    write(tmp_path, {"one/__init__.py": "", "two/__init__.py": "", "tests/__init__.py": ""})
    with pytest.raises(DetectionError, match="--package") as raised:
        detect(tmp_path)
    assert "  one\n  two" in str(raised.value)  # tests/ is not a candidate
    project = detect(tmp_path, package="two")
    assert (project.package, project.package_dir, project.app) == ("two", Path("two"), None)
    with pytest.raises(DetectionError, match="--package three"):
        detect(tmp_path, package="three")


def test_root_module_app_beside_one_package(tmp_path: Path) -> None:
    """main.py at the root that uses a package: the user module goes into the package."""
    write(tmp_path, {"main.py": APP, "core/__init__.py": "", "alembic/env.py": ""})
    project = detect(tmp_path)
    assert (project.package, project.package_dir) == ("core", Path("core"))
    assert project.app == AppLocation("main", Path("main.py"), "app", factory=False)


def test_test_apps_and_mounted_sub_apps_are_not_candidates(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "web/__init__.py": "",
            "web/main.py": """
                from fastapi import FastAPI as Api

                admin = Api()
                app: Api = Api()
                app.mount("/admin", admin)
            """,
            "tests/test_app.py": APP,
            "web/tests/conftest.py": APP,
        },
    )
    project = detect(tmp_path)
    assert project.app == AppLocation("web.main", Path("web/main.py"), "app", factory=False)
    assert project.tests_dir == Path("tests")


def test_a_factory_called_at_module_level_is_the_factory(tmp_path: Path) -> None:
    """`app = create_app()` beside the factory: the factory is where routers are included,
    so that is the app init edits."""
    write(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/main.py": """
                from fastapi import FastAPI

                def create_app() -> FastAPI:
                    return FastAPI()

                app = create_app()
            """,
        },
    )
    assert detect(tmp_path).app == AppLocation(
        "site.main", Path("site/main.py"), "create_app", factory=True
    )


def test_package_option_limits_the_search(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"a/__init__.py": "", "a/main.py": APP, "b/__init__.py": "", "b/main.py": APP},
    )
    assert detect(tmp_path, package="b").app == AppLocation(
        "b.main", Path("b/main.py"), "app", factory=False
    )


def test_virtual_environments_and_hidden_folders_are_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            ".venv/lib/site/x.py": APP,
            "venv/y.py": APP,
            "node_modules/z/__init__.py": APP,
            ".hidden/w.py": APP,
            "build/lib/v.py": APP,
        },
    )
    project = detect(tmp_path)
    assert project.package is None
    assert project.app == AppLocation("main", Path("main.py"), "app", factory=False)


# --- Metadata and tables -----------------------------------------------------------------


def test_declarative_base_call_and_core_metadata(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/main.py": APP,
            "svc/tables.py": """
                import sqlalchemy as sa

                metadata = sa.MetaData()
                events = sa.Table("events", metadata, sa.Column("id", sa.Integer))
            """,
        },
    )
    project = detect(tmp_path)
    assert project.metadata == MetadataLocation(
        "svc.tables", "metadata", "metadata", Path("svc/tables.py")
    )
    assert project.metadata.expression == "metadata"
    assert project.table_names == {"events"}
    # A declarative base is preferred to a bare MetaData.
    write(
        tmp_path,
        {
            "svc/orm.py": """
                from sqlalchemy.orm import declarative_base

                Model = declarative_base()

                class Account(Model):
                    __tablename__ = "accounts"
            """
        },
    )
    project = detect(tmp_path)
    assert project.metadata == MetadataLocation(
        "svc.orm", "Model", "declarative", Path("svc/orm.py")
    )
    assert project.table_names == {"events", "accounts"}


def test_alembic_target_metadata_is_followed_through_re_exports(tmp_path: Path) -> None:
    """env.py decides which of two bases is theirs, even when it imports it from a module
    that only re-exports it (the full-stack template's older db/base.py)."""
    write(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/env.py": """
                from proj.db.base import Base
                target_metadata = Base.metadata
            """,
            "proj/__init__.py": "",
            "proj/main.py": APP,
            "proj/aaa.py": """
                from sqlalchemy.orm import DeclarativeBase
                class Other(DeclarativeBase): ...
            """,
            "proj/db/__init__.py": "",
            "proj/db/base.py": "from proj.db.base_class import Base  # noqa\n",
            "proj/db/base_class.py": """
                from sqlalchemy.orm import DeclarativeBase
                class Base(DeclarativeBase): ...
            """,
        },
    )
    assert detect(tmp_path).metadata == MetadataLocation(
        "proj.db.base_class", "Base", "declarative", Path("proj/db/base_class.py")
    )


def test_sqlmodel_implicit_table_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "models.py": """
                from sqlmodel import Field, SQLModel

                class HeroBase(SQLModel):
                    name: str

                class Hero(HeroBase, table=True):
                    id: int | None = Field(default=None, primary_key=True)

                class Team(SQLModel, table=True):
                    __tablename__ = "teams"
                    id: int | None = Field(default=None, primary_key=True)
            """,
        },
    )
    project = detect(tmp_path)
    assert project.metadata == MetadataLocation(
        "sqlmodel", "SQLModel", "sqlmodel", Path("models.py")
    )
    assert project.table_names == {"hero", "teams"}


# --- Alembic -----------------------------------------------------------------------------


def heads(root: Path) -> tuple[str, ...]:
    alembic = detect(root).alembic
    assert alembic is not None
    return alembic.heads


def test_merge_revisions_and_multiple_heads(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "alembic.ini": "[alembic]\nscript_location = alembic\n",
            "alembic/env.py": "",
            "alembic/versions/a.py": revision("a", "None"),
            "alembic/versions/b.py": revision("b", '"a"'),
            "alembic/versions/c.py": revision("c", "('a',)"),
            # Revision files in a subfolder, typed as the newer Alembic template writes them.
            "alembic/versions/2026/d.py": 'revision: str = "d"\n'
            "down_revision: str | tuple[str, ...] | None = 'b'\n",
        },
    )
    assert heads(tmp_path) == ("c", "d")
    write(tmp_path, {"alembic/versions/merge.py": revision("m", '("c", "d")')})
    assert heads(tmp_path) == ("m",)
    write(tmp_path, {"alembic/versions/branch.py": revision("x", '["a"]')})
    assert heads(tmp_path) == ("m", "x")


def test_here_in_script_and_version_locations(tmp_path: Path) -> None:
    """An ini in a subfolder whose locations are relative to it through %(here)s, with
    version_locations split by the declared separator and a placeholder URL."""
    write(
        tmp_path,
        {
            "main.py": APP,
            "deploy/db.ini": """
                [alembic]
                script_location = %(here)s/../db/migrations
                version_locations = %(here)s/../db/revisions;%(here)s/../db/more
                path_separator = semicolon
                sqlalchemy.url = driver://user:pass@localhost/dbname
            """,
            "db/migrations/env.py": """
                from sqlalchemy.ext.asyncio import create_async_engine
            """,
            "db/revisions/one.py": revision("one", "None"),
            "db/more/two.py": revision("two", '"one"'),
        },
    )
    assert detect(tmp_path).alembic == AlembicEnv(
        ini=Path("deploy/db.ini"),
        script_location=Path("db/migrations"),
        env_py=Path("db/migrations/env.py"),
        versions_dir=Path("db/revisions"),
        is_async=True,
        heads=("two",),
        url=None,
    )


def test_alembic_env_without_revisions(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "alembic.ini": "[alembic]\nscript_location = alembic\nsqlalchemy.url = sqlite:///a.db\n",
            "alembic/env.py": "import asyncio\nasyncio.run(main())\n",
        },
    )
    project = detect(tmp_path)
    assert project.alembic is not None
    assert (project.alembic.heads, project.alembic.is_async) == ((), True)
    assert "alembic: alembic, async, no revisions" in project.describe()


# --- Settings, the database URL and dependencies -----------------------------------------


def test_database_url_sources_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "api/__init__.py": "",
            "api/main.py": APP,
            "api/config.py": """
                from pydantic import Field
                from pydantic_settings import BaseSettings

                class AppSettings(BaseSettings):
                    debug: bool = False
                    db_url: str = Field(default="sqlite:///settings.db")

                config = AppSettings()
            """,
        },
    )
    project = detect(tmp_path)
    assert project.settings == SettingsLocation(
        "api.config", Path("api/config.py"), "AppSettings", "config", "db_url"
    )
    assert project.database_url == "sqlite:///settings.db"
    write(
        tmp_path,
        {"api/db.py": 'import os\nengine = create_engine(os.getenv("X", "sqlite:///e.db"))\n'},
    )
    assert detect(tmp_path).database_url == "sqlite:///e.db"
    write(
        tmp_path,
        {"alembic.ini": "[alembic]\nscript_location = a\nsqlalchemy.url = sqlite:///i.db\n"},
    )
    assert detect(tmp_path).database_url == "sqlite:///i.db"
    write(tmp_path, {".env": "# local\nexport DATABASE_URL='postgresql://me:secret@db/app'\n"})
    project = detect(tmp_path)
    assert project.database_url == "postgresql://me:secret@db/app"
    assert "database URL: postgresql://me:***@db/app" in project.describe()


def test_requirements_txt(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "requirements.txt": """
                # runtime
                -r base.txt
                --index-url https://example.invalid/simple
                -e .
                FastAPI[all]==0.115.0  # pinned
                Pydantic_Settings>=2 ; python_version >= "3.11"
                zope.interface
                not a requirement!!
            """,
        },
    )
    assert detect(tmp_path).dependencies == DependencyList(
        "requirements",
        Path("requirements.txt"),
        frozenset({"fastapi", "pydantic-settings", "zope-interface"}),
    )


def test_pep621_wins_over_poetry_and_requirements(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "requirements.txt": "flask\n",
            "pyproject.toml": """
                [project]
                name = "x"
                dependencies = ["SQLAlchemy[asyncio]>=2"]
                [tool.poetry.dependencies]
                python = "^3.11"
                django = "*"
            """,
        },
    )
    assert detect(tmp_path).dependencies == DependencyList(
        "pep621", Path("pyproject.toml"), frozenset({"sqlalchemy"})
    )


def test_poetry_dependencies(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": APP,
            "pyproject.toml": """
                [tool.poetry]
                name = "x"
                [tool.poetry.dependencies]
                python = "^3.11"
                FastAPI = "^0.115"
                "ruamel.yaml" = { version = "*", optional = true }
                [tool.poetry.group.dev.dependencies]
                pytest = "*"
            """,
        },
    )
    assert detect(tmp_path).dependencies == DependencyList(
        "poetry", Path("pyproject.toml"), frozenset({"fastapi", "ruamel-yaml"})
    )


def test_files_that_do_not_parse_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": APP, "broken.py": "def (:\n", "my-script.py": APP})
    assert detect(tmp_path).app == AppLocation("main", Path("main.py"), "app", factory=False)


# --- The existing projects' own test suites -----------------------------------------------


@contextmanager
def copied(name: str, tmp_path: Path) -> Iterator[Path]:
    """A copy of a fixture project: their tests and tools leave files behind."""
    destination = tmp_path / name
    shutil.copytree(
        FIXTURES / name,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", "*.db"),
    )
    yield destination


def run_suite(project: Path, env: dict[str, str] | None = None) -> str:
    """The project's own pytest run, outside the generator's configuration; the summary."""
    clean = {"DATABASE_URL": "", "POSTGRES_DB": "", "POSTGRES_SERVER": "", **(env or {})}
    result = run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=clean
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary
    return summary


# About 3 s each (a pytest process that imports FastAPI and runs their migrations).
@pytest.mark.slow
@pytest.mark.parametrize("name", ["onefile", "fullstack", "factory", "poetry_nodb"])
def test_fixture_suite_passes_on_sqlite(name: str, tmp_path: Path) -> None:
    with copied(name, tmp_path) as project:
        run_suite(project)
        detect(project)  # their tests ran in it: still the same shape


@pytest.mark.slow
@pytest.mark.parametrize("name", ["onefile", "fullstack", "factory", "poetry_nodb"])
def test_fixture_code_checks(name: str, tmp_path: Path) -> None:
    """ruff and mypy pass with each project's own configuration."""
    with copied(name, tmp_path) as project:
        run(sys.executable, "-m", "ruff", "check", "--no-cache", ".", cwd=project)
        run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".", cwd=project)
        run(sys.executable, "-m", "mypy", "--cache-dir", mypy_cache_dir(), cwd=project)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_factory_suite_on_servers(server: str, tmp_path: Path) -> None:
    """The async project's suite makes its own database on the server and drops it."""
    if not server_reachable(SERVERS[server]):
        pytest.skip(f"no {server} server")
    driver = {"postgresql": "postgresql+asyncpg", "mysql": "mysql+aiomysql"}[server]
    url = make_url(SERVERS[server]).set(drivername=driver)
    with copied("factory", tmp_path) as project:
        run_suite(project, {"DATABASE_URL": url.render_as_string(hide_password=False)})


@pytest.mark.slow
def test_fullstack_suite_on_postgresql(tmp_path: Path) -> None:
    """The full-stack project on PostgreSQL through its POSTGRES_* settings and psycopg,
    in a database made for this run."""
    server = make_url(SERVERS["postgresql"]).set(drivername="postgresql+psycopg")
    if not server_reachable(SERVERS["postgresql"]):
        pytest.skip("no postgresql server")
    name = f"fullstack_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        env = {
            "POSTGRES_SERVER": server.host or "127.0.0.1",
            "POSTGRES_PORT": str(server.port or 5432),
            "POSTGRES_USER": server.username or "postgres",
            "POSTGRES_PASSWORD": str(server.password or ""),
            "POSTGRES_DB": name,
        }
        with copied("fullstack", tmp_path) as project:
            run_suite(project, env)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        engine.dispose()
