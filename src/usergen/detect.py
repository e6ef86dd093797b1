"""What an existing FastAPI project is made of, found by reading it: for `usergen init`.

`init` writes the user module into someone else's project, so it must first know where
their package, app, SQLAlchemy metadata, Alembic environment, settings and dependency list
are. All of it is found statically — Python files through `ast`, `alembic.ini` through
`configparser`, `pyproject.toml` through `tomllib` — because usergen must never import or
run the user's code (it may need services, secrets or packages usergen does not have, and
importing it could have effects). What cannot be settled by reading is reported as a
`DetectionError` that lists the candidates and names the option that decides.
"""

import ast
import configparser
import os
import re
import tomllib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from usergen.errors import UsergenError

# Folders that hold no project code of theirs (plus every hidden folder).
SKIPPED_DIRS = frozenset({".venv", "venv", "node_modules", ".git", "build", "dist", "__pycache__"})
# Importable folders at the root that are not the app's package.
NOT_PACKAGES = frozenset({"tests", "test", "alembic", "migrations", "docs", "scripts"})
# A name that says "the database URL": DATABASE_URL, SQLALCHEMY_DATABASE_URI, db_url, …
DATABASE_URL_NAME = re.compile(r"(database|db)_?(url|uri|dsn)$", re.IGNORECASE)
# What `alembic init` leaves in alembic.ini: a placeholder, not their database.
ALEMBIC_PLACEHOLDER_URL = "driver://user:pass@localhost/dbname"
ENGINE_FACTORIES = frozenset({"create_engine", "create_async_engine"})
ASYNC_ALEMBIC_NAMES = frozenset(
    {"async_engine_from_config", "create_async_engine", "AsyncEngine", "AsyncConnection"}
)


class DetectionError(UsergenError):
    """The project's shape is ambiguous or something needed is missing; the message lists
    what was found and names the option that settles it."""


class NeedsAnswer(DetectionError):
    """Something only the user can say: the option of init's ``Options`` that says it, and
    the question to ask for it at a terminal (with the candidates found, if any)."""

    def __init__(
        self,
        message: str,
        *,
        option: str,
        question: str,
        choices: Sequence[str] = (),
        default: str | None = None,
    ) -> None:
        super().__init__(message)
        self.option = option
        self.question = question
        self.choices = tuple(choices)
        self.default = default


@dataclass(frozen=True)
class AppLocation:
    """The FastAPI app: a module attribute (`app = FastAPI()`) or a factory function."""

    module: str
    path: Path
    attribute: str
    factory: bool

    @property
    def reference(self) -> str:
        """`module:attribute`, the form uvicorn and `--app` take."""
        return f"{self.module}:{self.attribute}"


@dataclass(frozen=True)
class MetadataLocation:
    """Where their SQLAlchemy `MetaData` comes from, so our tables can join it."""

    module: str
    name: str
    kind: Literal["declarative", "sqlmodel", "metadata"]
    path: Path

    @property
    def expression(self) -> str:
        """The expression that is the MetaData once `name` is imported from `module`."""
        return self.name if self.kind == "metadata" else f"{self.name}.metadata"


@dataclass(frozen=True)
class AlembicEnv:
    """Their Alembic environment: our migration is chained after its head(s)."""

    ini: Path
    script_location: Path
    env_py: Path
    versions_dir: Path
    is_async: bool
    heads: tuple[str, ...]
    url: str | None


@dataclass(frozen=True)
class SettingsLocation:
    """Their pydantic-settings class, where our settings can live beside theirs."""

    module: str
    path: Path
    class_name: str
    instance: str | None
    database_url_field: str | None


@dataclass(frozen=True)
class DependencyList:
    """Where their dependencies are listed, and which (normalized names) already are."""

    kind: Literal["pep621", "poetry", "requirements"]
    path: Path
    names: frozenset[str]


@dataclass(frozen=True)
class ExistingProject:
    """Everything `init` needs to know about the project, as found by `detect`."""

    root: Path
    package: str | None
    package_dir: Path
    src_layout: bool
    app: AppLocation | None
    metadata: MetadataLocation | None
    alembic: AlembicEnv | None
    settings: SettingsLocation | None
    database_url: str | None
    dependencies: DependencyList | None
    tests_dir: Path | None
    table_names: frozenset[str]

    def describe(self) -> list[str]:
        """One line per finding, for the user to check before anything is written."""
        return [
            _describe_package(self),
            _describe_app(self.app),
            _describe_metadata(self.metadata),
            _describe_alembic(self.alembic),
            _describe_settings(self.settings),
            "database URL: "
            + (_hide_password(self.database_url) if self.database_url else "not found"),
            _describe_dependencies(self.dependencies),
            f"tests: {self.tests_dir.as_posix()}/" if self.tests_dir else "tests: not found",
            "tables: " + (", ".join(sorted(self.table_names)) or "none found"),
        ]


def detect(
    root: Path,
    *,
    package: str | None = None,
    app: str | None = None,
    ignore: Collection[str] = (),
) -> ExistingProject:
    """Read the project at ``root``. ``package`` (an import name) and ``app``
    (``module:attribute``) settle what cannot be told from the code alone. Files in the
    folders ``ignore`` (relative paths: the user module and its tests, once init has written
    them) are not the app's."""
    root = root.resolve()
    if not root.is_dir():
        raise DetectionError(f"{root} is not a folder.")
    skipped = [Path(folder) for folder in ignore]
    files = [
        path
        for path in project_files(root)
        if not any(path.is_relative_to(folder) for folder in skipped)
    ]
    modules = _parse_modules(root, files)
    alembic = _find_alembic(root, files)
    code = [m for m in modules if _is_their_code(m.path, alembic)]

    package_dir = _package_from_option(root, package) if package else None
    app_location = _app_from_option(modules, app) if app else _find_app(code, package)
    if package_dir is None:
        package_dir = _package_of(root, app_location)
    package_name = _import_name(package_dir) if package_dir else None

    settings = _find_settings(code)
    metadata = _find_metadata(root, modules, code, alembic)
    tables = _table_names(code) | _migration_tables(modules, alembic)
    return ExistingProject(
        root=root,
        package=package_name,
        package_dir=package_dir or Path("."),
        src_layout=package_dir is not None and package_dir.parts[0] == "src",
        app=app_location,
        metadata=metadata,
        alembic=alembic,
        settings=settings,
        database_url=_find_database_url(root, code, alembic, settings),
        dependencies=_find_dependencies(root),
        tests_dir=_find_tests_dir(root, package_dir),
        table_names=frozenset(tables),
    )


# --- Reading the files -------------------------------------------------------------------


@dataclass(frozen=True)
class _Module:
    """One parsed Python file of the project."""

    name: str  # its import path: the root and `src/` are on sys.path
    path: Path  # relative to the root
    tree: ast.Module


def project_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (relative, in a stable order), leaving out virtual
    environments, build output, VCS data and hidden folders: none of that is theirs."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        base = Path(folder).relative_to(root)
        for name in sorted(names):
            yield base / name


def _parse_modules(root: Path, files: Iterable[Path]) -> list[_Module]:
    """The project's Python files that parse; a file that does not is not worth failing on
    (it cannot be their running app either)."""
    modules = []
    for path in files:
        name = _module_name(path)
        if name is None:
            continue
        try:
            tree = ast.parse((root / path).read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):
            continue
        modules.append(_Module(name, path, tree))
    return modules


def _module_name(path: Path) -> str | None:
    """The import path of a `.py` file, with the root and `src/` on sys.path; None for files
    that cannot be imported by a dotted name (scripts with dashes, non-Python files)."""
    if path.suffix != ".py":
        return None
    parts = list(path.with_suffix("").parts)
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def _is_test(path: Path) -> bool:
    """Test code may build apps and tables of its own; they are not the project's."""
    return (
        bool({"tests", "test"} & set(path.parts[:-1]))
        or path.name == "conftest.py"
        or path.name.startswith("test_")
        or path.stem.endswith("_test")
    )


def _is_their_code(path: Path, alembic: AlembicEnv | None) -> bool:
    """The app's own code: not tests, not the Alembic environment or its revisions."""
    if _is_test(path):
        return False
    return alembic is None or not path.is_relative_to(alembic.script_location)


def _import_name(package_dir: Path) -> str:
    parts = package_dir.parts[1:] if package_dir.parts[0] == "src" else package_dir.parts
    return ".".join(parts)


def _name_of(node: ast.expr) -> str | None:
    """The last name of `X` or `a.b.X`: how a call or base class is recognised whether it
    was imported by name or through its module."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _assignments(body: Iterable[ast.stmt]) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value) of each simple `name = value` / `name: T = value` in ``body``."""
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    yield target.id, statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement.target.id, statement.value


def _imported_from(tree: ast.Module, name: str) -> str | None:
    """The module that ``name`` is imported from at the top of ``tree`` (absolute imports)."""
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                if (alias.asname or alias.name) == name:
                    return statement.module
    return None


# --- The package and the app -------------------------------------------------------------


def _package_candidates(root: Path) -> list[Path]:
    """Folders that look like their package: importable (`__init__.py`) at the root or in
    `src/`, and not one of the usual non-app folders (tests, migrations, docs)."""
    found = []
    for parent in (root, root / "src"):
        if not parent.is_dir():
            continue
        for child in sorted(parent.iterdir()):
            if (
                child.is_dir()
                and child.name.isidentifier()
                and child.name not in NOT_PACKAGES
                and (child / "__init__.py").is_file()
            ):
                found.append(child.relative_to(root))
    return found


def _package_from_option(root: Path, package: str) -> Path:
    """The folder of the package named by `--package`, at the root or in `src/`."""
    relative = Path(*package.split("."))
    for candidate in (relative, Path("src") / relative):
        if (root / candidate).is_dir():
            return candidate
    raise DetectionError(
        f"--package {package}: no folder {relative.as_posix()} or "
        f"src/{relative.as_posix()} in {root}."
        + _listing("Packages found", [_import_name(p) for p in _package_candidates(root)])
    )


def _package_of(root: Path, app: AppLocation | None) -> Path | None:
    """Their package when no option names it: the one holding the app; for an app module at
    the root (main.py), the only package beside it, or none at all (a one-file app)."""
    if app is not None:
        parts = app.path.parts
        if parts[0] == "src" and len(parts) > 2:
            return Path("src", parts[1])
        if parts[0] != "src" and len(parts) > 1:
            return Path(parts[0])
    candidates = _package_candidates(root)
    names = [_import_name(c) for c in candidates]
    if len(candidates) == 1:
        return candidates[0]
    if app is not None and not candidates:
        return None
    if app is not None:
        raise NeedsAnswer(
            f"The app {app.reference} is a module at the project's root, and there are "
            "several packages beside it: name the one to put the user module in with "
            "--package." + _listing("Packages found", names),
            option="package",
            question="Which package gets the user module?",
            choices=names,
        )
    raise NeedsAnswer(
        "Found no FastAPI app and "
        + ("several packages" if names else "no package (a folder with __init__.py)")
        + " in this project: name the package with --package (and the app with "
        "--app module:attribute)." + _listing("Packages found", names),
        option="package",
        question="Which package gets the user module?",
        choices=names,
    )


def _fastapi_names(tree: ast.Module) -> set[str]:
    """The local names that mean `fastapi.FastAPI` in a module, aliases included."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "fastapi":
            names |= {a.asname or a.name for a in node.names if a.name == "FastAPI"}
    return names


def _is_fastapi_call(node: ast.expr | None, names: set[str]) -> bool:
    """`FastAPI(...)` (imported by name or alias) or `fastapi.FastAPI(...)`."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in names
    return isinstance(func, ast.Attribute) and func.attr == "FastAPI"


def _apps_in(module: _Module) -> list[AppLocation]:
    """The apps a module defines: `app = FastAPI(...)` at module level (sub-apps that it
    mounts into another left out), and factories — functions that build a FastAPI app and
    return it."""
    names = _fastapi_names(module.tree)
    mounted = {
        node.args[1].id
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and _name_of(node.func) == "mount"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Name)
    }
    found = [
        AppLocation(module.name, module.path, name, factory=False)
        for name, value in _assignments(module.tree.body)
        if _is_fastapi_call(value, names) and name not in mounted
    ]
    for statement in module.tree.body:
        if isinstance(statement, ast.FunctionDef) and _returns_fastapi(statement, names):
            found.append(AppLocation(module.name, module.path, statement.name, factory=True))
    return found


def _returns_fastapi(function: ast.FunctionDef, names: set[str]) -> bool:
    """Whether ``function`` returns a FastAPI app it builds: `return FastAPI(...)`, or
    `app = FastAPI(...)` … `return app`."""
    built = {
        name
        for node in ast.walk(function)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for name, value in _assignments([node])
        if _is_fastapi_call(value, names)
    }
    return any(
        isinstance(node, ast.Return)
        and (
            _is_fastapi_call(node.value, names)
            or (isinstance(node.value, ast.Name) and node.value.id in built)
        )
        for node in ast.walk(function)
    )


def _find_app(code: list[_Module], package: str | None) -> AppLocation | None:
    """The one app of the project (in ``package`` and root modules, when it is named);
    several are a question only the user can answer."""
    if package:
        code = [
            m
            for m in code
            if m.name == package or m.name.startswith(package + ".") or len(m.path.parts) == 1
        ]
    apps = [app for module in code for app in _apps_in(module)]
    if len(apps) > 1:
        raise NeedsAnswer(
            "Found several FastAPI apps; name the one to add users to with "
            "--app module:attribute."
            + _listing(
                "Apps found",
                [f"{a.reference}{' (factory)' if a.factory else ''}" for a in apps],
            ),
            option="app",
            question="Which app gets the users?",
            choices=[a.reference for a in apps],
        )
    return apps[0] if apps else None


def _app_from_option(modules: list[_Module], option: str) -> AppLocation:
    """The app named by `--app module:attribute`: a module-level name (the app) or a
    function (a factory)."""
    module_name, _, attribute = option.partition(":")
    if not module_name or not attribute:
        raise DetectionError(
            f"--app {option}: expected module:attribute, e.g. app.main:app or shop.app:create_app."
        )
    module = next((m for m in modules if m.name == module_name), None)
    if module is None:
        raise DetectionError(
            f"--app {option}: found no module {module_name} in this project (looked at the "
            "root and src/)."
        )
    for statement in module.tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == attribute:
            return AppLocation(module.name, module.path, attribute, factory=True)
    if any(name == attribute for name, _ in _assignments(module.tree.body)):
        return AppLocation(module.name, module.path, attribute, factory=False)
    raise DetectionError(
        f"--app {option}: {module.path.as_posix()} defines no {attribute} at module level."
    )


# --- SQLAlchemy metadata and tables ------------------------------------------------------


def _declarative_bases(module: _Module) -> list[str]:
    """Names of declarative bases defined in a module: `class Base(DeclarativeBase)` or
    `Base = declarative_base()`."""
    found = []
    for statement in module.tree.body:
        if isinstance(statement, ast.ClassDef) and any(
            _name_of(base) in {"DeclarativeBase", "DeclarativeBaseNoMeta"}
            for base in statement.bases
        ):
            found.append(statement.name)
    for name, value in _assignments(module.tree.body):
        if isinstance(value, ast.Call) and _name_of(value.func) == "declarative_base":
            found.append(name)
    return found


def _metadata_objects(module: _Module) -> list[str]:
    """Module-level `metadata = MetaData(...)` names (SQLAlchemy Core)."""
    return [
        name
        for name, value in _assignments(module.tree.body)
        if isinstance(value, ast.Call) and _name_of(value.func) == "MetaData"
    ]


def _table_classes(module: _Module) -> Iterator[ast.ClassDef]:
    """SQLModel table classes: `class X(..., table=True)`."""
    for statement in module.tree.body:
        if isinstance(statement, ast.ClassDef) and any(
            k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in statement.keywords
        ):
            yield statement


def _sqlmodel_models(module: _Module) -> bool:
    return _imported_from(module.tree, "SQLModel") == "sqlmodel" and any(_table_classes(module))


def _find_metadata(
    root: Path, modules: list[_Module], code: list[_Module], alembic: AlembicEnv | None
) -> MetadataLocation | None:
    """Their MetaData: the one Alembic's env.py uses as `target_metadata` when there is
    one (that is what their migrations compare against), else the first declarative base,
    SQLModel models or bare `MetaData()` in their code, in that order of preference."""
    if alembic is not None:
        from_env = _metadata_from_env(modules, code, alembic)
        if from_env is not None:
            return from_env
    for module in code:
        for name in _declarative_bases(module):
            return MetadataLocation(module.name, name, "declarative", module.path)
    for module in code:
        if _sqlmodel_models(module):
            return MetadataLocation("sqlmodel", "SQLModel", "sqlmodel", module.path)
    for module in code:
        for name in _metadata_objects(module):
            return MetadataLocation(module.name, name, "metadata", module.path)
    return None


def _metadata_from_env(
    modules: list[_Module], code: list[_Module], alembic: AlembicEnv
) -> MetadataLocation | None:
    """Follow env.py's `target_metadata = X.metadata` (or `= X`) to where X is defined,
    through re-exports (`from app.db.base import Base`)."""
    env = next((m for m in modules if m.path == alembic.env_py), None)
    if env is None:
        return None
    value = dict(_assignments(env.tree.body)).get("target_metadata")
    if isinstance(value, ast.Attribute) and value.attr == "metadata":
        value = value.value
    if not isinstance(value, ast.Name):
        return None
    by_name = {m.name: m for m in modules}
    name, source = value.id, _imported_from(env.tree, value.id)
    for _ in range(10):  # re-export chains are short; this bounds a cycle
        if source == "sqlmodel" or (source is None and name == "SQLModel"):
            models = next((m for m in code if _sqlmodel_models(m)), None)
            path = models.path if models else env.path
            return MetadataLocation("sqlmodel", "SQLModel", "sqlmodel", path)
        module = by_name.get(source) if source else None
        if module is None:
            return None
        if name in _declarative_bases(module):
            return MetadataLocation(module.name, name, "declarative", module.path)
        if name in _metadata_objects(module):
            return MetadataLocation(module.name, name, "metadata", module.path)
        source = _imported_from(module.tree, name)
    return None


def _table_names(code: list[_Module]) -> set[str]:
    """Table names their models declare: `__tablename__`, `Table("name", …)`, and the
    implicit lower-cased class name of a SQLModel table without `__tablename__`."""
    names = set()
    for module in code:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                declared = _string(dict(_assignments(node.body)).get("__tablename__"))
            else:
                declared = _first_string_argument(node, "Table")
            if declared:
                names.add(declared)
        for table in _table_classes(module):
            if "__tablename__" not in dict(_assignments(table.body)):
                names.add(table.name.lower())
    return names


def _migration_tables(modules: list[_Module], alembic: AlembicEnv | None) -> set[str]:
    """Tables their migrations create (`op.create_table("name", …)`): in the database even
    if no model declares them any more."""
    if alembic is None:
        return set()
    return {
        name
        for module in modules
        if module.path.is_relative_to(alembic.script_location)
        for node in ast.walk(module.tree)
        if (name := _first_string_argument(node, "create_table"))
    }


def _first_string_argument(node: ast.AST, function: str) -> str | None:
    """ "name" in `function("name", …)` (or `x.function("name", …)`)."""
    if isinstance(node, ast.Call) and _name_of(node.func) == function and node.args:
        return _string(node.args[0])
    return None


# --- Alembic -----------------------------------------------------------------------------


def _find_alembic(root: Path, files: list[Path]) -> AlembicEnv | None:
    """Their Alembic environment, from `alembic.ini` at the root or else the shallowest
    `.ini` file with an `[alembic]` section that has a `script_location`."""
    inis = sorted(
        (f for f in files if f.suffix == ".ini" and not _is_test(f)),
        key=lambda f: (f != Path("alembic.ini"), len(f.parts), f),
    )
    for ini in inis:
        parser = configparser.ConfigParser(defaults={"here": str((root / ini).parent)})
        try:
            parser.read(root / ini, encoding="utf-8")
            if parser.has_option("alembic", "script_location"):
                return _alembic_env(root, ini, parser)
        except (configparser.Error, UnicodeDecodeError):
            continue  # not an Alembic ini: pytest.ini, tox.ini, setup.cfg-like files
    return None


def _option(parser: configparser.ConfigParser, name: str) -> str | None:
    """An `[alembic]` option with `%(here)s` resolved; raw when interpolation fails (a
    stray `%` in a URL password)."""
    if not parser.has_option("alembic", name):
        return None
    try:
        value = parser.get("alembic", name)
    except configparser.InterpolationError:
        value = parser.get("alembic", name, raw=True)
    return value.strip() or None


def _alembic_env(root: Path, ini: Path, parser: configparser.ConfigParser) -> AlembicEnv:
    here = (root / ini).parent
    script_location = _resolve_location(root, here, _option(parser, "script_location") or "")
    locations = [
        _resolve_location(root, here, entry)
        for entry in _split_locations(parser, _option(parser, "version_locations"))
    ] or [script_location / "versions"]
    env_py = script_location / "env.py"
    url = _option(parser, "sqlalchemy.url")
    return AlembicEnv(
        ini=ini,
        script_location=script_location,
        env_py=env_py,
        versions_dir=locations[0],
        is_async=_env_is_async(root / env_py),
        heads=_heads(root, locations),
        url=None if url == ALEMBIC_PLACEHOLDER_URL else url,
    )


def _resolve_location(root: Path, here: Path, value: str) -> Path:
    """A script or version location as a path relative to the root. Relative locations are
    taken from the ini file's folder (where alembic is run); `package:folder` is resolved
    inside the package, at the root or in `src/`."""
    if ":" in value and not Path(value).is_absolute():
        package, _, resource = value.partition(":")
        relative = Path(*package.split("."), resource)
        base = root / "src" if (root / "src" / relative).is_dir() else root
        location = base / relative
    else:
        location = here / value
    return Path(os.path.relpath(location.resolve(), root))


def _split_locations(parser: configparser.ConfigParser, value: str | None) -> list[str]:
    """`version_locations` split as Alembic does: by `path_separator` (or the older
    `version_path_separator`), by spaces and commas when neither is set."""
    if not value:
        return []
    separators = {"os": os.pathsep, "space": " ", "newline": "\n", "colon": ":"}
    separators |= {"semicolon": ";", "comma": ","}
    chosen = _option(parser, "path_separator") or _option(parser, "version_path_separator")
    if chosen in separators:
        return [part.strip() for part in value.split(separators[chosen]) if part.strip()]
    return [part for part in re.split(r"[,\s]+", value) if part]


def _env_is_async(env_py: Path) -> bool:
    """Whether env.py runs the migrations on an async engine, which decides how a migration
    that needs its own connection must be written."""
    try:
        tree = ast.parse(env_py.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and _name_of(node) in ASYNC_ALEMBIC_NAMES:
            return True
        if isinstance(node, ast.ImportFrom) and any(
            alias.name in ASYNC_ALEMBIC_NAMES for alias in node.names
        ):
            return True
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "run"
            and isinstance(node.value, ast.Name)
            and node.value.id == "asyncio"
        ):
            return True
    return False


def _revision_ids(tree: ast.Module) -> tuple[str | None, set[str]]:
    """A revision file's `revision` and the set of its `down_revision`s (a merge revision
    has a tuple of them; the first revision has None)."""
    values = dict(_assignments(tree.body))
    revision = _string(values.get("revision"))
    down = values.get("down_revision")
    if isinstance(down, ast.Tuple | ast.List):
        downs = {str(_string(e)) for e in down.elts if _string(e)}
    else:
        downs = {str(_string(down))} if _string(down) else set()
    return revision, downs


def _heads(root: Path, locations: list[Path]) -> tuple[str, ...]:
    """The head revisions: those that no revision names as its down_revision. Our
    migration is chained after them (after all of them, as a merge, if there are several)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for location in locations:
        if not (root / location).is_dir():
            continue
        for file in sorted((root / location).rglob("*.py")):
            if "__pycache__" in file.parts:
                continue
            try:
                revision, down = _revision_ids(ast.parse(file.read_bytes()))
            except (SyntaxError, ValueError):
                continue
            if revision:
                revisions.add(revision)
                downs |= down
    return tuple(sorted(revisions - downs))


# --- Settings and the database URL -------------------------------------------------------


def _engine_attributes(code: list[_Module]) -> set[str]:
    """Attribute names read in the arguments of their create_engine/create_async_engine
    calls (`settings.SQLALCHEMY_DATABASE_URI`): which settings field is the URL in use."""
    return {
        inner.attr
        for module in code
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and _name_of(node.func) in ENGINE_FACTORIES
        for argument in node.args[:1]
        for inner in ast.walk(argument)
        if isinstance(inner, ast.Attribute)
    }


def _settings_members(cls: ast.ClassDef) -> list[tuple[str, ast.expr | None]]:
    """Fields (with their default) and properties/computed fields of a settings class."""
    members: list[tuple[str, ast.expr | None]] = list(_assignments(cls.body))
    members += [(s.name, None) for s in cls.body if isinstance(s, ast.FunctionDef)]
    return members


def _find_settings(code: list[_Module]) -> SettingsLocation | None:
    """Their pydantic-settings class (`class Settings(BaseSettings)`); with several, the one
    with a database URL field, preferring the field their engine is created from."""
    used = _engine_attributes(code)
    found = []
    for module in code:
        for cls in module.tree.body:
            if not isinstance(cls, ast.ClassDef) or not any(
                _name_of(base) == "BaseSettings" for base in cls.bases
            ):
                continue
            fields = [n for n, _ in _settings_members(cls) if DATABASE_URL_NAME.search(n)]
            field = next((f for f in fields if f in used), fields[0] if fields else None)
            instance = next(
                (
                    name
                    for name, value in _assignments(module.tree.body)
                    if isinstance(value, ast.Call) and _name_of(value.func) == cls.name
                ),
                None,
            )
            found.append(SettingsLocation(module.name, module.path, cls.name, instance, field))
    return next((s for s in found if s.database_url_field), found[0] if found else None)


def _find_database_url(
    root: Path,
    code: list[_Module],
    alembic: AlembicEnv | None,
    settings: SettingsLocation | None,
) -> str | None:
    """A literal database URL, from the most to the least explicit place: `.env`, the
    Alembic ini, a literal engine URL (or its environment default), a settings default."""
    for url in (
        _dotenv_url(root / ".env"),
        alembic.url if alembic else None,
        _engine_url(code),
        _settings_default(code, settings),
    ):
        if url:
            return url
    return None


def _dotenv_url(dotenv: Path) -> str | None:
    """DATABASE_URL (or another database-URL-named variable) from a `.env` file."""
    try:
        lines = dotenv.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    values = {}
    for line in lines:
        line = line.strip().removeprefix("export ").strip()
        key, equals, value = line.partition("=")
        if equals and not line.startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    if values.get("DATABASE_URL"):
        return values["DATABASE_URL"]
    return next((v for k, v in values.items() if DATABASE_URL_NAME.search(k) and v), None)


def _literal_or_env_default(node: ast.expr | None, module: _Module) -> str | None:
    """A string literal, the default of `os.environ.get(…, "…")` / `os.getenv(…, "…")`, or
    the same through a module-level name (`engine = create_engine(DATABASE_URL)`)."""
    if isinstance(node, ast.Name):
        node = dict(_assignments(module.tree.body)).get(node.id)
    if _string(node):
        return _string(node)
    if (
        isinstance(node, ast.Call)
        and _name_of(node.func) in {"get", "getenv"}
        and len(node.args) >= 2
    ):
        return _string(node.args[1])
    return None


def _engine_url(code: list[_Module]) -> str | None:
    for module in code:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and _name_of(node.func) in ENGINE_FACTORIES:
                url = _literal_or_env_default(node.args[0] if node.args else None, module)
                if url:
                    return url
    return None


def _settings_default(code: list[_Module], settings: SettingsLocation | None) -> str | None:
    """The literal default of the settings' database URL field (`= "…"` or
    `Field("…")` / `Field(default="…")`)."""
    if settings is None or settings.database_url_field is None:
        return None
    module = next(m for m in code if m.path == settings.path)
    cls = next(
        s for s in module.tree.body if isinstance(s, ast.ClassDef) and s.name == settings.class_name
    )
    value = dict(_assignments(cls.body)).get(settings.database_url_field)
    if isinstance(value, ast.Call) and _name_of(value.func) == "Field":
        defaults = [k.value for k in value.keywords if k.arg == "default"]
        value = next(iter(value.args or defaults), None)
    return _string(value)


# --- Dependencies and tests --------------------------------------------------------------


def _find_dependencies(root: Path) -> DependencyList | None:
    """Where their runtime dependencies are listed: PEP 621 `[project] dependencies`,
    Poetry's `[tool.poetry.dependencies]`, or `requirements.txt`. Dev groups are left out:
    what `init` adds is needed at run time."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise DetectionError(f"pyproject.toml cannot be read: {error}") from error
        project = data.get("project", {})
        if "dependencies" in project:
            names = _requirement_names(project["dependencies"])
            return DependencyList("pep621", Path("pyproject.toml"), names)
        poetry = data.get("tool", {}).get("poetry", {}).get("dependencies")
        if isinstance(poetry, dict):
            names = frozenset(canonicalize_name(n) for n in poetry if n.lower() != "python")
            return DependencyList("poetry", Path("pyproject.toml"), names)
    requirements = root / "requirements.txt"
    if requirements.is_file():
        lines = requirements.read_text(encoding="utf-8").splitlines()
        return DependencyList("requirements", Path("requirements.txt"), _requirement_names(lines))
    return None


def _requirement_names(lines: Iterable[str]) -> frozenset[str]:
    """Normalized names of requirement lines, skipping comments, options (`-r`, `-e`,
    `--index-url`) and lines that are not requirements."""
    # Imported here: its parser takes 30 ms to import, which every command would pay, since the
    # command line imports init (and so this module) to declare init's options.
    from packaging.requirements import InvalidRequirement, Requirement

    names = set()
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return frozenset(names)


def _find_tests_dir(root: Path, package_dir: Path | None) -> Path | None:
    """Their tests folder: `tests/` or `test/` at the root, else inside the package (the
    full-stack template keeps them in `app/tests`)."""
    candidates = [Path("tests"), Path("test")]
    if package_dir is not None:
        candidates += [package_dir / "tests", package_dir / "test"]
    return next((c for c in candidates if (root / c).is_dir()), None)


# --- Describing what was found -----------------------------------------------------------


def _listing(title: str, items: list[str]) -> str:
    return f"\n{title}:\n" + "\n".join(f"  {item}" for item in items) if items else ""


def _hide_password(url: str) -> str:
    """A URL fit to print: its password replaced by ***."""
    return re.sub(r"(//[^:/@]+:)[^@/]+@", r"\1***@", url)


def _describe_package(project: ExistingProject) -> str:
    if project.package is None:
        return "package: none (a one-file app at the project's root)"
    where = project.package_dir.as_posix()
    return f"package: {project.package} ({'src layout, ' if project.src_layout else ''}{where})"


def _describe_app(app: AppLocation | None) -> str:
    if app is None:
        return "app: not found (name it with --app module:attribute)"
    return f"app: {app.reference}{' (factory)' if app.factory else ''} ({app.path.as_posix()})"


def _describe_metadata(metadata: MetadataLocation | None) -> str:
    if metadata is None:
        return "metadata: not found (no declarative base, SQLModel table or MetaData())"
    return (
        f"metadata: {metadata.expression} from {metadata.module} "
        f"({metadata.kind}, {metadata.path.as_posix()})"
    )


def _describe_alembic(alembic: AlembicEnv | None) -> str:
    if alembic is None:
        return "alembic: not found (no alembic.ini with a script_location)"
    heads = {0: "no revisions", 1: "head"}.get(len(alembic.heads), "heads")
    heads += (" " + ", ".join(alembic.heads)) if alembic.heads else ""
    mode = "async" if alembic.is_async else "sync"
    return f"alembic: {alembic.script_location.as_posix()}, {mode}, {heads}"


def _describe_settings(settings: SettingsLocation | None) -> str:
    if settings is None:
        return "settings: not found (no pydantic-settings BaseSettings class)"
    details = [f"instance {settings.instance}" if settings.instance else "no instance"]
    if settings.database_url_field:
        details.append(f"database URL in {settings.database_url_field}")
    return f"settings: {settings.module}.{settings.class_name} ({', '.join(details)})"


def _describe_dependencies(dependencies: DependencyList | None) -> str:
    if dependencies is None:
        return "dependencies: not found (no pyproject.toml dependencies or requirements.txt)"
    kind = {"pep621": "PEP 621", "poetry": "Poetry", "requirements": "pip requirements"}
    return f"dependencies: {dependencies.path.as_posix()} ({kind[dependencies.kind]})"
