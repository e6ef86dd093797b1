"""usergen.wiring: the edits `usergen init` makes to an existing project's files.

Each edit is checked on realistic files against its exact output, for idempotence (a second run
changes nothing) and for leaving every other byte as it was.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from usergen.wiring import (
    DependencyFile,
    ManualStep,
    NeedsManualEdit,
    add_dependencies,
    add_env_entries,
    add_import,
    dependency_conflicts,
    unified_diff,
    wire_app,
)

MAIN = Path("app/main.py")
IMPORT = "from app.users.install import install_users"
CALL = "install_users(app)"


def wire(source: str, attribute: str = "app", factory: bool = False) -> str:
    """wire_app on `source`, checked to be idempotent and to give code that compiles."""
    result = wire_app(
        source, path=MAIN, attribute=attribute, factory=factory, import_line=IMPORT, call=CALL
    )
    again = wire_app(
        result, path=MAIN, attribute=attribute, factory=factory, import_line=IMPORT, call=CALL
    )
    assert again == result
    compile(result, str(MAIN), "exec")
    return result


def manual(source: str, attribute: str = "app", factory: bool = False) -> NeedsManualEdit:
    with pytest.raises(NeedsManualEdit) as caught:
        wire_app(
            source, path=MAIN, attribute=attribute, factory=factory, import_line=IMPORT, call=CALL
        )
    return caught.value


def without(text: str, *lines: str) -> str:
    """`text` with one occurrence of each of `lines` (a whole line, its line ending) removed."""
    for line in lines:
        kept = text.replace(line, "", 1)
        assert kept != text, line
        text = kept
    return text


# full-stack-fastapi-template's backend/app/main.py
TEMPLATE_MAIN = """\
import sentry_sdk
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from app.api.main import api_router
from app.core.config import settings


def custom_generate_unique_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}"


if settings.SENTRY_DSN and settings.ENVIRONMENT != "local":
    sentry_sdk.init(dsn=str(settings.SENTRY_DSN), enable_tracing=True)

app = FastAPI(
    title=settings.PROJECT_NAME,
    openapi_url=f"{settings.API_V1_STR}/openapi.json",
    generate_unique_id_function=custom_generate_unique_id,
)

# Set all CORS enabled origins
if settings.all_cors_origins:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.all_cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )

app.include_router(api_router, prefix=settings.API_V1_STR)
"""


def test_wire_app_full_stack_template() -> None:
    result = wire(TEMPLATE_MAIN)

    assert result == TEMPLATE_MAIN.replace(
        "from app.core.config import settings\n",
        "from app.core.config import settings\nfrom app.users.install import install_users\n",
    ).replace(
        "    generate_unique_id_function=custom_generate_unique_id,\n)\n",
        "    generate_unique_id_function=custom_generate_unique_id,\n)\ninstall_users(app)\n",
    )


ONE_FILE = """\
#!/usr/bin/env python
# -*- coding: utf-8 -*-
'''A one-file app,   oddly formatted.'''
import os,sys   # two at once
from fastapi import (FastAPI,
        Depends ,)  # a trailing comma
if os.environ.get( "X" ) :
    from fastapi import HTTPException  # conditional import, not the last top-level one
# a comment before the app
app : FastAPI = FastAPI( title = 'x' ,
                        debug=True,   )   # annotated, spaced
@app.get( "/" )
def root( ): return {'a':1}  # inline body



# the end, after three blank lines
"""


def test_wire_app_keeps_an_oddly_formatted_file_byte_for_byte() -> None:
    result = wire(ONE_FILE)

    assert result == ONE_FILE.replace(
        "        Depends ,)  # a trailing comma\n",
        "        Depends ,)  # a trailing comma\n" + IMPORT + "\n",
    ).replace(
        "debug=True,   )   # annotated, spaced\n",
        "debug=True,   )   # annotated, spaced\ninstall_users(app)\n",
    )
    assert without(result, IMPORT + "\n", CALL + "\n") == ONE_FILE


FACTORY = """\
\"\"\"The application factory.\"\"\"

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from fastapi import FastAPI  # the framework

from .routes import router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # start-up
    yield
    # shut-down


def create_app(*, debug: bool = False) -> FastAPI:
    \"\"\"Build the app.\"\"\"

    def helper() -> FastAPI:  # a nested function's app is not the factory's
        return FastAPI()

    application = FastAPI(
        debug=debug,
        lifespan=lifespan,  # trailing comma kept
    )
    # routes
    application.include_router(router)
    return application
"""


def test_wire_app_factory_uses_the_local_name() -> None:
    result = wire(FACTORY, "create_app", factory=True)

    assert result == FACTORY.replace(
        "from .routes import router\n", f"from .routes import router\n{IMPORT}\n"
    ).replace(
        "        lifespan=lifespan,  # trailing comma kept\n    )\n",
        "        lifespan=lifespan,  # trailing comma kept\n    )\n"
        "    install_users(application)\n",
    )


def test_wire_app_factory_keeps_tabs_and_crlf() -> None:
    source = (
        "from fastapi import FastAPI\r\n\r\ndef create_app():\r\n\tapi = FastAPI()\r\n"
        "\treturn api\r\n"
    )

    assert wire(source, "create_app", factory=True) == (
        "from fastapi import FastAPI\r\n"
        f"{IMPORT}\r\n"
        "\r\n"
        "def create_app():\r\n"
        "\tapi = FastAPI()\r\n"
        "\tinstall_users(api)\r\n"
        "\treturn api\r\n"
    )


def test_wire_app_an_import_of_the_app_package_is_no_second_assignment() -> None:
    source = (
        "import app.models  # noqa: F401\nfrom fastapi import FastAPI\n\napp = FastAPI(); x = 1\n"
    )

    assert wire(source) == source.replace("FastAPI\n\n", f"FastAPI\n{IMPORT}\n\n") + CALL + "\n"


def test_wire_app_names_the_module_attribute_and_keeps_a_missing_final_newline() -> None:
    source = "import fastapi\napplication = fastapi.FastAPI()"

    assert wire(source, "application") == (
        f"import fastapi\n{IMPORT}\napplication = fastapi.FastAPI()\ninstall_users(application)"
    )


def test_wire_app_sees_fastapi_imported_under_another_name() -> None:
    source = "from fastapi import FastAPI as Api\n\napp = Api()\n"

    assert wire(source) == f"from fastapi import FastAPI as Api\n{IMPORT}\n\napp = Api()\n{CALL}\n"


def test_wire_app_without_imports_puts_the_import_after_the_docstring() -> None:
    source = '"""Docs."""\napp = __import__("fastapi").FastAPI()\n'

    with pytest.raises(NeedsManualEdit):
        wire(source)  # not a FastAPI(...) call
    source = '"""Docs."""\napp = FastAPI()\n'  # FastAPI from a star import elsewhere, say
    assert wire(source) == f'"""Docs."""\n\n{IMPORT}\napp = FastAPI()\n{CALL}\n'


def test_wire_app_leaves_an_already_wired_app_alone() -> None:
    # Wired by hand, with a relative import usergen would not have written: nothing to do.
    by_hand = TEMPLATE_MAIN.replace(
        "# Set all CORS",
        "from .users.install import install_users  # noqa: E402\n"
        "install_users(app)\n\n# Set all CORS",
    )
    assert wire(by_hand) == by_hand

    # Imported already, not called yet: only the call is added.
    imported = TEMPLATE_MAIN.replace("import sentry_sdk\n", f"import sentry_sdk\n{IMPORT}\n")
    assert without(wire(imported), CALL + "\n") == imported


def test_wire_app_ambiguous_module_attribute() -> None:
    snippet = f"{IMPORT}\n{CALL}"
    where = (
        "in app/main.py, right after the line that creates the FastAPI app `app`, at the top"
        " level of the module; the first line goes with the imports at the top of app/main.py"
    )
    cases = {
        "from fastapi import FastAPI\n\napp = FastAPI()\napp = SentryAsgiMiddleware(app)\n": (
            "`app` is assigned more than once in app/main.py (lines 3, 4)"
        ),
        "from fastapi import FastAPI\nif DEBUG:\n    app = FastAPI(debug=True)\n": (
            "`app` is assigned inside `if` in app/main.py (line 3)"
        ),
        "from fastapi import FastAPI\ntry:\n    app = FastAPI()\nexcept E:\n    raise\n": (
            "`app` is assigned inside `try` in app/main.py (line 3)"
        ),
        "from .factory import create_app\n\napp = create_app()\n": (
            "`app` is not created by a FastAPI(...) call in app/main.py"
            " (line 3: `app = create_app()`)"
        ),
        "from .somewhere import app\n": "app/main.py has no top-level `app = FastAPI(...)`",
    }
    for source, reason in cases.items():
        error = manual(source)
        assert str(error) == reason
        assert error.step == ManualStep(MAIN, where, snippet)

    # With the import there already, the snippet is the call alone.
    error = manual(f"{IMPORT}\nif DEBUG:\n    app = FastAPI()\nelse:\n    app = FastAPI()\n")
    assert str(error) == "`app` is assigned more than once in app/main.py (lines 3, 5)"
    assert error.step == ManualStep(
        MAIN,
        "in app/main.py, right after the line that creates the FastAPI app `app`, at the top"
        " level of the module",
        CALL,
    )

    error = manual("app = FastAPI(\n")
    assert str(error).startswith("app/main.py does not parse: ")
    assert error.step == ManualStep(MAIN, where, snippet)


def test_wire_app_ambiguous_factory() -> None:
    snippet = f"{IMPORT}\n{CALL}"

    def where(name: str = "app") -> str:
        return (
            "in app/main.py, inside `create_app()`, right after the line that creates the FastAPI"
            f" app (`{name} = FastAPI(...)`); the first line goes with the imports at the top of"
            " app/main.py"
        )

    head = "from fastapi import FastAPI\n\n\n"
    cases = {
        "def create_app():\n    return FastAPI(title='x')\n": (
            "`create_app()` in app/main.py returns `FastAPI(...)` directly (line 5)",
            "in app/main.py, inside `create_app()`: create the app as `app = FastAPI(...)`,"
            " add this right after that line, then `return app`; the first line goes with the"
            " imports at the top of app/main.py",
            snippet,
        ),
        "def create_app(test=False):\n    app = FastAPI()\n    if test:\n        return app\n"
        "    return app\n": (
            "`create_app()` in app/main.py returns in several places (lines 7, 8)",
            where(),
            snippet,
        ),
        "def create_app(test=False):\n    if test:\n        a = FastAPI(debug=True)\n"
        "    else:\n        a = FastAPI()\n    return a\n": (
            "`create_app()` in app/main.py creates FastAPI apps in several places (lines 6, 8)",
            where(),
            snippet,
        ),
        "def create_app():\n    with setup():\n        api = FastAPI()\n    return api\n": (
            "`create_app()` in app/main.py creates its app inside `with` (line 6)",
            where("api"),
            f"{IMPORT}\ninstall_users(api)",
        ),
        "def create_app():\n    api = FastAPI()\n    api = Wrap(api)\n    return api\n": (
            "`api` is assigned more than once in `create_app()` in app/main.py (lines 5, 6)",
            where("api"),
            f"{IMPORT}\ninstall_users(api)",
        ),
        "def create_app():\n    return build()\n": (
            "`create_app()` in app/main.py has no `app = FastAPI(...)`",
            where(),
            snippet,
        ),
        "def make_app():\n    app = FastAPI()\n    return app\n": (
            "app/main.py has no function named `create_app`",
            where(),
            snippet,
        ),
    }
    for source, (reason, where_, snippet_) in cases.items():
        error = manual(head + source, "create_app", factory=True)
        assert str(error) == reason
        assert error.step == ManualStep(MAIN, where_, snippet_)


def test_wire_app_rejects_a_call_that_is_not_one() -> None:
    with pytest.raises(ValueError):
        wire_app(
            TEMPLATE_MAIN,
            path=MAIN,
            attribute="app",
            factory=False,
            import_line=IMPORT,
            call="install_users",
        )
    with pytest.raises(ValueError):
        wire_app(
            TEMPLATE_MAIN,
            path=MAIN,
            attribute="app",
            factory=False,
            import_line="x = 1",
            call=CALL,
        )


# Alembic's env.py, as `alembic init` writes it, with the imports a real project adds.
ENV_PY = """\
from __future__ import annotations

from logging.config import fileConfig
from typing import TYPE_CHECKING

from sqlalchemy import engine_from_config
from sqlalchemy import pool

from alembic import context

from app.models import Base  # our metadata

try:
    import app.optional_models  # noqa: F401
except ImportError:  # not installed
    pass

if TYPE_CHECKING:
    from app.users.table import users

# this is the Alembic Config object
config = context.config
target_metadata = Base.metadata
"""
TABLE_IMPORT = "import app.users.table"
TABLE_COMMENT = "noqa: F401  (registers the user tables on your metadata)"
TABLE_LINE = f"{TABLE_IMPORT}  # {TABLE_COMMENT}\n"


def env_import(source: str) -> str:
    result = add_import(
        source, path=Path("migrations/env.py"), import_line=TABLE_IMPORT, comment=TABLE_COMMENT
    )
    again = add_import(
        result, path=Path("migrations/env.py"), import_line=TABLE_IMPORT, comment=TABLE_COMMENT
    )
    assert again == result
    compile(result, "env.py", "exec")
    return result


def test_add_import_to_alembic_env() -> None:
    # After the last top-level import; the try block and the TYPE_CHECKING import do not
    # count for the position, and the TYPE_CHECKING one does not import the module at run time.
    assert env_import(ENV_PY) == ENV_PY.replace(
        "from app.models import Base  # our metadata\n",
        f"from app.models import Base  # our metadata\n{TABLE_LINE}",
    )


@pytest.mark.parametrize(
    "already",
    [
        "import app.users.table",
        "import app.users.table as user_tables",
        "import app.users.table.extra",
        "from app.users import table",
        "from app.users.table import users, sessions",
        "from app.users.table import *",
        "try:\n    import app.users.table\nexcept ImportError:\n    pass",
        "if TYPE_CHECKING:\n    pass\nelse:\n    from app.users import table",
    ],
)
def test_add_import_is_satisfied_by_any_runtime_import_of_the_module(already: str) -> None:
    source = ENV_PY.replace("\n# this is", f"\n{already}\n\n# this is")
    assert env_import(source) == source


def test_add_import_after_future_and_without_comment() -> None:
    source = "from __future__ import annotations\n\nconfig = 1\n"

    assert env_import(source) == source.replace("annotations\n", f"annotations\n{TABLE_LINE}")
    assert add_import(source, path=Path("env.py"), import_line="import app.users.table") == (
        "from __future__ import annotations\nimport app.users.table\n\nconfig = 1\n"
    )
    assert env_import("") == TABLE_LINE


def test_add_import_from_a_package() -> None:
    def add(source: str) -> str:
        return add_import(source, path=Path("env.py"), import_line="from app.users import table")

    assert add("import app.users\n") == "import app.users\nfrom app.users import table\n"
    assert add("import app.users.table as t\n") == "import app.users.table as t\n"
    with pytest.raises(ValueError):
        add_import("", path=Path("env.py"), import_line="from app.users import a, b")


def test_add_import_does_not_count_a_lookalike_module() -> None:
    source = "import app.users.tables\nfrom app.users import table_helpers\n"

    assert env_import(source) == source + TABLE_LINE


# --- dependencies ------------------------------------------------------------------------------

NEEDED = [
    "fastapi>=0.115",
    "sqlalchemy[asyncio]>=2.0.30,<2.1",
    "pyjwt>=2.8",
    "argon2-cffi>=23.1",
    "python-multipart",
    "tzdata; sys_platform == 'win32'",
]
PYPROJECT = Path("pyproject.toml")

PEP621 = """\
[project]
name = "myapp"  # the distribution
version = "0.1.0"
dependencies = [
    # web
    "FastAPI[standard] >= 0.114",
    "SQLAlchemy==1.4.*",  # pinned until we migrate
    "PyJWT==2.9.0",
    "pydantic-settings>=2",
]

[project.optional-dependencies]
dev = ["pytest"]  # not where they go
"""


def deps(text: str, kind: DependencyFile, needed: list[str] = NEEDED) -> str:
    path = Path("requirements.txt") if kind == "requirements" else PYPROJECT
    result = add_dependencies(text, path=path, kind=kind, requirements=needed)
    again = add_dependencies(result, path=path, kind=kind, requirements=needed)
    assert again == result
    return result


def test_pep621_adds_the_missing_ones_one_a_line() -> None:
    assert deps(PEP621, "pep621") == PEP621.replace(
        '    "pydantic-settings>=2",\n',
        '    "pydantic-settings>=2",\n'
        '    "argon2-cffi>=23.1",\n'
        '    "python-multipart",\n'
        "    \"tzdata; sys_platform == 'win32'\",\n",
    )
    assert dependency_conflicts(PEP621, "pep621", NEEDED) == [
        "fastapi: you have >=0.114, the user module needs >=0.115",
        "sqlalchemy: you have ==1.4.* without [asyncio], the user module needs"
        " [asyncio]>=2.0.30,<2.1",
    ]


def test_pep621_matches_the_arrays_indentation_quotes_and_layout() -> None:
    two_spaces = "[project]\ndependencies = [\n  'fastapi',\n  'pyjwt'  # no trailing comma\n]\n"
    assert deps(two_spaces, "pep621", ["fastapi", "alembic>=1.13"]) == (
        "[project]\ndependencies = [\n  'fastapi',\n  'pyjwt',  # no trailing comma\n"
        "  'alembic>=1.13',\n]\n"
    )
    one_line = '[project]\ndependencies = ["fastapi"]  # short\n\n[tool.x]\n'
    assert deps(one_line, "pep621", ["alembic>=1.13", "pyjwt"]) == (
        '[project]\ndependencies = ["fastapi", "alembic>=1.13", "pyjwt"]  # short\n\n[tool.x]\n'
    )
    none_yet = '[project]\nname = "x"\n\n[tool.x]\na = 1\n'
    assert deps(none_yet, "pep621", ["alembic>=1.13"]) == (
        '[project]\nname = "x"\ndependencies = [\n    "alembic>=1.13",\n]\n\n[tool.x]\na = 1\n'
    )
    crlf = '[project]\r\ndependencies = [\r\n    "fastapi",\r\n]\r\n'
    assert deps(crlf, "pep621", ["alembic"]) == (
        '[project]\r\ndependencies = [\r\n    "fastapi",\r\n    "alembic",\r\n]\r\n'
    )


def test_pep621_without_a_list_to_edit_asks_for_a_manual_edit() -> None:
    for text, reason in [
        (
            '[project]\nname = "x"\ndynamic = ["dependencies"]\n',
            "declares its dependencies dynamic",
        ),
        ("[tool.x]\na = 1\n", "has no [project] table"),
    ]:
        with pytest.raises(NeedsManualEdit) as caught:
            deps(text, "pep621", ["alembic>=1.13", "pyjwt"])
        assert str(caught.value) == f"pyproject.toml {reason}"
        assert caught.value.step == ManualStep(
            PYPROJECT,
            "in the list of the project's dependencies",
            '"alembic>=1.13",\n"pyjwt",',
        )


POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.10"
fastapi = "^0.109.1"  # web
python_multipart = "^0.0.7"
SQLAlchemy = {version = "^2.0", extras = ["mypy"]}
pyjwt = {git = "https://example.invalid/pyjwt.git"}

[tool.poetry.group.dev.dependencies]
pytest = "^7.4.3"

[build-system]
requires = ["poetry-core"]
"""


def test_poetry_translates_each_requirement_to_poetrys_form() -> None:
    needed = [*NEEDED, "alembic", "uvicorn[standard]"]
    assert deps(POETRY, "poetry", needed) == POETRY.replace(
        'pyjwt = {git = "https://example.invalid/pyjwt.git"}\n',
        'pyjwt = {git = "https://example.invalid/pyjwt.git"}\n'
        'argon2-cffi = ">=23.1"\n'
        'tzdata = {version = "*", markers = "sys_platform == \\"win32\\""}\n'
        'alembic = "*"\n'
        'uvicorn = {version = "*", extras = ["standard"]}\n',
    )
    assert dependency_conflicts(POETRY, "poetry", needed) == [
        "fastapi: you have ^0.109.1, the user module needs >=0.115",
        "sqlalchemy: you have ^2.0 without [asyncio], the user module needs [asyncio]>=2.0.30,<2.1",
    ]
    assert deps("[tool.poetry.dependencies]\n", "poetry", ["sqlalchemy[asyncio]>=2.0.30,<2.1"]) == (
        "[tool.poetry.dependencies]\n"
        'sqlalchemy = {version = ">=2.0.30,<2.1", extras = ["asyncio"]}\n'
    )


@pytest.mark.parametrize(
    ("kind", "listed", "fits"),
    [
        ("poetry", 'fastapi = "^0.170"', True),  # >=0.170,<0.171
        ("poetry", 'fastapi = "~0.170.1"', True),
        ("poetry", 'fastapi = "0.170.2"', True),  # a bare version is a pin
        ("poetry", 'fastapi = "^0.160"', False),  # older ones too
        ("poetry", 'fastapi = "*"', False),
        ("poetry", 'sqlalchemy = {version = "~2.0.31", extras = ["asyncio"]}', True),
        ("poetry", 'sqlalchemy = {version = "^2.0.31", extras = ["asyncio"]}', False),  # 2.5
        ("pep621", '"fastapi>=0.170,<1"', True),
        ("pep621", '"fastapi==0.170.*"', True),
        ("pep621", '"fastapi>=0.163"', False),
        ("pep621", '"sqlalchemy[asyncio]~=2.0.31"', True),  # >=2.0.31,<2.1
        ("pep621", '"sqlalchemy[asyncio]==2.0.*"', False),  # 2.0.0 too
        ("pep621", '"sqlalchemy[asyncio]>=2.0.30"', False),  # 2.1 too
    ],
)
def test_a_range_within_the_needed_one_fits(kind: str, listed: str, fits: bool) -> None:
    needed = ["fastapi>=0.164", "sqlalchemy[asyncio]>=2.0.30,<2.1"]
    if kind == "poetry":
        text = f"[tool.poetry.dependencies]\n{listed}\n"
    else:
        text = f"[project]\ndependencies = [{listed}]\n"
    assert (dependency_conflicts(text, kind, needed) == []) is fits


def test_poetry_without_its_table_asks_for_a_manual_edit() -> None:
    with pytest.raises(NeedsManualEdit) as caught:
        deps('[tool.poetry]\nname = "x"\n', "poetry", ["sqlalchemy[asyncio]>=2.0.30,<2.1", "pyjwt"])
    assert caught.value.step == ManualStep(
        PYPROJECT,
        "at the end of the file",
        "[tool.poetry.dependencies]\n"
        'sqlalchemy = {version = ">=2.0.30,<2.1", extras = ["asyncio"]}\n'
        'pyjwt = "*"',
    )


REQUIREMENTS = """\
-r base.txt
# web
fastapi==0.115.0  # pinned, and in range
PyJWT>=2.8 \\
    --hash=sha256:0123
-e ./libs/internal
argon2_cffi"""


def test_requirements_appends_lines_and_ends_with_a_newline() -> None:
    assert deps(REQUIREMENTS, "requirements") == REQUIREMENTS + (
        "\nsqlalchemy[asyncio]>=2.0.30,<2.1\npython-multipart\ntzdata; sys_platform == 'win32'\n"
    )
    assert dependency_conflicts(REQUIREMENTS, "requirements", NEEDED) == [
        "argon2-cffi: you have any version, the user module needs >=23.1",
    ]
    assert deps("", "requirements", ["pyjwt"]) == "pyjwt\n"
    assert deps("# nothing yet\r\n", "requirements", ["pyjwt"]) == "# nothing yet\r\npyjwt\r\n"
    # A commented-out requirement is not a listed one.
    assert deps("# sqlalchemy\n", "requirements", ["SQLAlchemy"]) == "# sqlalchemy\nSQLAlchemy\n"


def test_a_requirement_listed_twice_in_the_input_is_added_once() -> None:
    assert deps("", "requirements", ["PyJWT>=2", "pyjwt"]) == "PyJWT>=2\n"


# --- .env --------------------------------------------------------------------------------------

ENTRIES = {"SECRET_KEY": "x", "DATABASE_URL": "sqlite:///users.db", "USERS_JWT_SECRET": "change-me"}


def env(text: str, entries: dict[str, str] = ENTRIES, header: str | None = "usergen") -> str:
    result = add_env_entries(text, entries, header=header)
    assert add_env_entries(result, entries, header=header) == result
    return result


def test_env_appends_the_missing_keys_under_a_header() -> None:
    text = "# settings\nexport SECRET_KEY=abc\n#DATABASE_URL=postgresql://\nDEBUG=1"

    assert env(text) == (
        "# settings\nexport SECRET_KEY=abc\n#DATABASE_URL=postgresql://\nDEBUG=1\n"
        "\n"
        "# usergen\nDATABASE_URL=sqlite:///users.db\nUSERS_JWT_SECRET=change-me\n"
    )


def test_env_edge_cases() -> None:
    assert (
        env("")
        == "# usergen\nSECRET_KEY=x\nDATABASE_URL=sqlite:///users.db\nUSERS_JWT_SECRET=change-me\n"
    )
    assert env("A=1\n\n", {"B": "2"}, header=None) == "A=1\n\nB=2\n"
    assert env("A=1\r\n", {"B": "2"}, header="# mine") == "A=1\r\n\r\n# mine\r\nB=2\r\n"
    assert env("  SECRET_KEY = spaced\n", {"SECRET_KEY": "x"}) == "  SECRET_KEY = spaced\n"
    # A later run adding keys adds them to its block, without a second header.
    first = env("A=1\n", {"B": "2"})
    assert env(first, {"B": "2", "C": "3"}) == "A=1\n\n# usergen\nB=2\nC=3\n"
    with pytest.raises(ValueError):
        add_env_entries("", {"NOT A KEY": "1"})
    with pytest.raises(ValueError):
        add_env_entries("", {"KEY": "two\nlines"})


# --- diff --------------------------------------------------------------------------------------


def test_unified_diff_as_git_shows_it() -> None:
    assert unified_diff(Path("app/main.py"), "a\nb\nc", "a\nB\nc\n") == (
        "--- a/app/main.py\n"
        "+++ b/app/main.py\n"
        "@@ -1,3 +1,3 @@\n"
        " a\n"
        "-b\n"
        "-c\n"
        "\\ No newline at end of file\n"
        "+B\n"
        "+c\n"
    )
    assert unified_diff(Path("app/users/__init__.py"), None, "x = 1\n") == (
        "--- /dev/null\n+++ b/app/users/__init__.py\n@@ -0,0 +1 @@\n+x = 1\n"
    )
    assert unified_diff(Path("same.py"), "x\n", "x\n") == ""


def test_the_cli_does_not_load_the_editing_libraries() -> None:
    """Only `usergen init` needs LibCST (about 0.15 s to import) and tomlkit."""
    probe = (
        "import sys\n"
        "import usergen.cli\n"
        "print(sorted({'usergen.wiring', 'libcst', 'tomlkit'} & set(sys.modules)))\n"
        "import usergen.wiring\n"
        "print(sorted({'libcst', 'tomlkit', 'packaging.requirements'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "[]"]
