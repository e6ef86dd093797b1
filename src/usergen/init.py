"""`usergen init`: put the user module into an existing FastAPI app, wired in.

The module is the same code `usergen new` generates, rendered in the template's module layout:
every file sits in one package inside the app's (``shop/users/``), its tests in a folder of the
app's tests, and the migration that creates the user tables is one revision after the app's
Alembic head. The app's own files get small edits through a concrete syntax tree (wiring.py):
one call in the app, one import in Alembic's env.py, the dependencies, the .env entries. Where
an edit point is ambiguous, the snippet and where it goes are printed instead.

Everything is planned first and written in one go (files.apply): all or nothing.
"""

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from usergen import files, questions, versions
from usergen.detect import ExistingProject, NeedsAnswer, detect, project_files
from usergen.errors import UsergenError
from usergen.formatting import CONFIG_FILES, project_settings, sort_imports
from usergen.migrations import next_revision_id, read_revisions
from usergen.project import Project, answers_file
from usergen.render import ANSWERS_FILE, Renderer

# The app-layout templates init reads settings and dependencies from (a new app's .env and
# pyproject.toml), so that an existing app gets exactly what a new one has.
ENV_TEMPLATE = "template/{% if not existing_app %}.env{% endif %}.jinja"
ENV_EXAMPLE_TEMPLATE = "template/{% if not existing_app %}.env.example{% endif %}.jinja"
PYPROJECT_TEMPLATE = "template/{% if not existing_app %}pyproject.toml{% endif %}.jinja"
# The names of the revisions usergen writes (create, add-field, remove-field, rename-field, update).
REVISION_PATTERNS = (
    "*_create_user_tables.py",
    "*_to_user.py",
    "*_from_user.py",
    "*_rename_*.py",
    "*_usergen_*.py",
)
ENV_HEADER = "User accounts (the settings of the user module)"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_BACKENDS = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
             "mysql": "mysql", "mariadb": "mysql"}  # fmt: skip


@dataclass(frozen=True)
class Options:
    """What the command line says; None where init detects it."""

    package: str | None = None
    app: str | None = None
    module: str = "users"
    database: str | None = None
    database_url: str | None = None
    data_layer: str | None = None
    pages: bool = False
    user_table: str | None = None
    oauth_providers: tuple[str, ...] = ()


@dataclass
class Plan:
    """What init will do: the files it creates and edits, and what it leaves to the user."""

    project: ExistingProject
    answers: dict[str, Any]
    writes: dict[str, bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    before: dict[str, str | None] = field(default_factory=dict)  # edited files: old text
    kept: list[str] = field(default_factory=list)  # files of the module the user has edited
    manual: list[Any] = field(default_factory=list)  # wiring.ManualStep
    notes: list[str] = field(default_factory=list)

    @property
    def created(self) -> list[str]:
        return sorted(rel for rel in self.writes if self.before.get(rel) is None)

    @property
    def edited(self) -> list[str]:
        return sorted(rel for rel in self.writes if self.before.get(rel) is not None)

    def diff(self) -> str:
        """The whole change as a unified diff (new files and edits)."""
        from usergen.wiring import unified_diff

        return "".join(
            unified_diff(Path(rel), self.before.get(rel), self.writes[rel].decode())
            for rel in sorted(self.writes)
        )


def plan_asking(root: Path, options: Options, ask: Callable[[NeedsAnswer], str]) -> Plan:
    """``plan``, asking (with ``ask``) for each thing only the user can say, until it can
    plan; the answers then stand as if given as options."""
    while True:
        try:
            return plan(root, options)
        except NeedsAnswer as question:
            answer: dict[str, Any] = {question.option: ask(question)}
            options = replace(options, **answer)


def plan(root: Path, options: Options) -> Plan:
    """Detect the app at ``root`` and plan everything init does to it; writes nothing."""
    root = root.resolve()
    if not root.is_dir():
        raise UsergenError(f"{root} is not a folder")
    recorded = _recorded_answers(root)
    ignore: list[str] = []
    if recorded is not None:  # the module is there already: it is not the app's own code
        written = Project(root, recorded)
        ignore = [written.package_dir, str(written.existing_app.get("tests_dir", "tests"))]
    project = detect(root, package=options.package, app=options.app, ignore=ignore)
    answers = recorded if recorded is not None else _answers(project, options)
    result = Plan(project, answers)
    if recorded is None and not (options.database or options.database_url or project.database_url):
        result.notes.append(
            "your app has no database yet: the user module sets up SQLite (choose another "
            "with --db postgresql or --db mysql)"
        )
    renderer = Renderer()
    rendered, modes = renderer.render(
        answers, root.name, ruff=project_settings(root, existing_app=True)
    )
    for rel, content in rendered.items():
        target = root / rel
        if not target.exists():
            result.writes[rel], result.modes[rel] = content, modes[rel]
            result.before[rel] = None
        elif target.is_file() and target.read_bytes() == content:
            continue
        elif recorded is not None and target.is_file():
            result.kept.append(rel)  # the user's own version of a file init wrote before
        else:
            raise UsergenError(
                f"{rel} exists already and is not what init would write; nothing was changed. "
                "Move it aside, or choose another module name with --module."
            )
    context = renderer.context(answers, root.name)
    _wire(result, renderer, context)
    _sort_imports(result)
    _lint_settings(result, context)
    return result


def _layout(root: Path, planned: Iterable[str]) -> tuple[list[str], list[str]]:
    """The project's Python files once ``planned`` are written, and its configuration files."""
    existing = [path.as_posix() for path in project_files(root)]
    layout = [rel for rel in [*existing, *planned] if rel.endswith(".py")]
    return layout, [rel for rel in existing if Path(rel).name in CONFIG_FILES]


def _sort_imports(result: Plan) -> None:
    """Sort the imports init puts into the app's files as ruff sorts them there, if their
    imports were sorted before (else leave them in the order they have)."""
    edited = {
        rel: content.decode()
        for rel, content in result.writes.items()
        if rel.endswith(".py") and result.before.get(rel) is not None
    }
    if not edited:
        return
    root = result.project.root
    layout, configs = _layout(root, result.writes)
    originals = {rel: str(result.before[rel]) for rel in edited}
    already = sort_imports(root, originals, layout, configs)
    for rel, text in sort_imports(root, edited, layout, configs).items():
        if already[rel] == originals[rel]:
            result.writes[rel] = text.encode()


def _lint_settings(result: Plan, context: dict[str, Any]) -> None:
    """Keep the project's ruff and mypy quiet about the user module: ignore, in its folders,
    the project's rules its files break, and give mypy what the module needs."""
    from usergen import lint_settings

    root = result.project.root
    ours = {
        rel: content.decode()
        for rel, content in result.writes.items()
        if rel.endswith(".py") and result.before.get(rel) is None
    }
    ruff = project_settings(root).config
    if ruff is not None and ours:
        layout, configs = _layout(root, result.writes)
        codes = sorted(lint_settings.ruff_findings(root, ours, layout, configs))
        versions = context["versions_dir"]
        # The user tables' revisions, this one and those add-field and update write later.
        patterns = [
            f"{context['users_dir']}/**",
            f"{context['tests_dir']}/**",
            *(f"{versions}/{name}" for name in REVISION_PATTERNS),
        ]
        rel = ruff.relative_to(root).as_posix()
        _edit_text(
            result,
            rel,
            lambda text: lint_settings.add_ruff_ignores(
                text, path=ruff, patterns=patterns, codes=codes
            ),
        )
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "mypy" in _toml(pyproject).get("tool", {}):
        mypy: str | None = "pyproject.toml"
    else:
        mypy = "mypy.ini" if (root / "mypy.ini").is_file() else None
    if mypy is not None:
        config = Path(mypy)
        _edit_text(result, mypy, lambda text: lint_settings.add_mypy_settings(text, path=config))


def _edit_text(result: Plan, rel: str, change: Any) -> None:
    """Plan an edit of the project's file ``rel`` (on top of the edits planned already)."""
    path = result.project.root / rel
    before = path.read_text(encoding="utf-8") if path.is_file() else None
    current = result.writes[rel].decode() if rel in result.writes else (before or "")
    after = change(current)
    if after != current:
        result.writes[rel] = after.encode()
        result.before.setdefault(rel, before)


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def apply(result: Plan) -> None:
    """Write the plan: every file, or (on any error, or Ctrl-C) none."""
    changes = files.Changes(result.project.root, dict(result.writes))
    try:
        files.apply(changes, result.modes, undo_if_interrupted=True)
    except OSError as error:
        raise UsergenError(f"could not write the project ({error}); nothing was changed") from None


def _recorded_answers(root: Path) -> dict[str, Any] | None:
    """The answers of an earlier init here (so a second init changes nothing), or None.

    A `.copier-answers.yml` of the template the app came from is the app's own business; one
    that `usergen new` wrote means there is nothing to init (and init at template 0.5.0
    recorded its answers there too)."""
    path = answers_file(root)
    if path is None:
        return None
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        answers = None
    if not isinstance(answers, dict):
        return None
    usergens = answers.get("existing_app") or {"package_name", "template_version"} <= answers.keys()
    if path.name == ANSWERS_FILE and not usergens:
        return None  # the answers of the template the app came from
    if not answers.get("existing_app"):
        raise UsergenError(
            f"{root} is an app `usergen new` generated: the user module is there already "
            "(add fields with usergen add-field, bring it up to date with usergen update)"
        )
    if answers.get("template_version") != versions.current():
        raise UsergenError(
            f"the user module here is at template {answers.get('template_version')}; "
            f"`usergen update` brings it to {versions.current()} with your edits kept"
        )
    return answers


def _answers(project: ExistingProject, options: Options) -> dict[str, Any]:
    module = options.module
    if not _NAME.match(module):
        raise UsergenError(f"--module {module!r}: use lowercase letters, digits and '_'")
    package = f"{project.package}.{module}" if project.package else module
    url = options.database_url or project.database_url
    database = options.database or _backend(url)
    if url is None and database is None:
        if project.metadata is not None or project.alembic is not None:
            raise NeedsAnswer(
                "could not tell your database URL from the code (it is computed, e.g. from "
                "several settings); pass it with --database-url",
                option="database_url",
                question="Your database's URL (as your app's settings hold it)",
            )
        database = "sqlite"
    database = database or "sqlite"
    if database not in questions.choices("database"):
        raise UsergenError(f"--db must be one of {', '.join(questions.choices('database'))}")
    data_layer = options.data_layer or "sqlalchemy"
    if data_layer not in questions.choices("data_layer"):
        raise UsergenError(
            f"--data-layer must be one of {', '.join(questions.choices('data_layer'))}"
        )
    table = options.user_table or "user"
    if not _NAME.match(table):
        raise NeedsAnswer(
            f"--user-table {table!r}: use lowercase letters, digits and '_'",
            option="user_table",
            question="Name the user table (lowercase letters, digits and '_')",
        )
    clashes = {table, f"{table}_session"} & project.table_names
    if clashes:
        names = " and ".join(repr(name) for name in sorted(clashes))
        hint = "" if options.user_table else " (e.g. --user-table account)"
        raise NeedsAnswer(
            f"your app has a table named {names} already; name the user table with "
            f"--user-table NAME{hint}; nothing was changed",
            option="user_table",
            question=f"Your app has a table named {names}; name the user table",
            default=None if options.user_table else "account",
        )
    existing: dict[str, Any] = {
        "source_dir": "src" if project.src_layout else ".",
        "tests_dir": f"{(project.tests_dir or Path('tests')).as_posix()}/test_{module}",
        "created": dt.date.today().isoformat(),
    }
    if url:
        existing["database_url"] = url
    # The user tables join the app's metadata, unless the app's own module declares it: that
    # module imports the user module (to add it to the app), which then could not import it.
    metadata = project.metadata
    if metadata is not None and (project.app is None or metadata.module != project.app.module):
        existing["metadata"] = f"{metadata.module}:{metadata.expression}"
    if table != "user":
        existing["user_table"] = table
    existing.update(_alembic_answers(project))
    return {
        "project_name": _project_name(project),
        "package_name": package,
        "database": database,
        "data_layer": data_layer,
        "pages": options.pages,
        **({"oauth_providers": list(options.oauth_providers)} if options.oauth_providers else {}),
        "existing_app": existing,
    }


def _alembic_answers(project: ExistingProject) -> dict[str, Any]:
    """Where the revision that creates the user tables goes: after the app's one head, or
    (with no Alembic yet) the first revision of an Alembic setup init adds."""
    alembic = project.alembic
    if alembic is None:
        for path in ("alembic.ini", "migrations"):
            if (project.root / path).exists():
                raise UsergenError(
                    f"{path} exists, but no Alembic environment was found in it; init would set "
                    "Alembic up there. Move it aside, or finish its setup first."
                )
        return {"own_alembic": True}
    if len(alembic.heads) != 1:
        heads = ", ".join(alembic.heads) or "none"
        raise UsergenError(
            f"your migrations must have exactly one head to add the user tables after it (found "
            f'{heads}); merge them first (alembic merge heads -m "merge")'
        )
    versions = alembic.versions_dir.as_posix()
    return {
        "own_alembic": False,
        "alembic_ini": alembic.ini.as_posix(),
        "versions_dir": versions,
        "first_revision": next_revision_id(read_revisions(project.root, versions)),
        "first_down_revision": alembic.heads[0],
    }


def _backend(url: str | None) -> str | None:
    if not url:
        return None
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    backend = _BACKENDS.get(scheme)
    if backend is None:
        raise UsergenError(f"the database URL uses {scheme!r}; the user module supports "
                           "SQLite, PostgreSQL and MySQL/MariaDB")  # fmt: skip
    return backend


def _project_name(project: ExistingProject) -> str:
    try:
        data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    name = data.get("project", {}).get("name") or data.get("tool", {}).get("poetry", {}).get("name")
    return str(name or project.root.name)


def _wire(result: Plan, renderer: Renderer, context: dict[str, Any]) -> None:
    """Plan the edits of the app's own files."""
    from usergen import wiring

    project, answers = result.project, result.answers
    package = answers["package_name"]

    def edit(rel: Path, change: Any) -> None:
        try:
            _edit_text(result, rel.as_posix(), change)
        except wiring.NeedsManualEdit as needed:
            result.manual.append(needed.step)

    if project.app is None:
        result.notes.append("no FastAPI app was found: call install_users(app) on yours")
    else:
        app = project.app
        edit(
            app.path,
            lambda text: wiring.wire_app(
                text,
                path=app.path,
                attribute=app.attribute,
                factory=app.factory,
                import_line=f"from {package}.main import install_users",
                call="install_users(app)",
            ),
        )
    alembic = project.alembic
    if alembic is not None and project.metadata is not None:
        shared = bool(answers["existing_app"].get("metadata"))
        edit(
            alembic.env_py,
            lambda text: wiring.add_import(
                text,
                path=alembic.env_py,
                import_line=f"import {package}.table",
                comment="noqa: F401  (puts the user tables on the metadata)" if shared else None,
            ),
        )
        if not shared:
            edit(
                alembic.env_py,
                lambda text: wiring.extend_target_metadata(
                    text, path=alembic.env_py, expression=f"{package}.table.UserTable.metadata"
                ),
            )
            result.notes.append(
                f"your metadata is declared in {project.metadata.module}, which creates the app "
                "and so imports the user module: the user tables have a metadata of their own "
                f"(added to {alembic.env_py}'s target_metadata). A model of yours refers to the "
                f"user by the column, ForeignKey(users.c.id) (from {package}.table import "
                'users, UserTable), not by the string "user.id"'
            )
    elif alembic is not None:
        result.notes.append(
            f"{alembic.env_py} has no target metadata, so autogenerate does not see the user "
            f"tables; import {package}.table there if you give it one"
        )
    dependencies, test_dependencies = _dependencies(renderer, context)
    listed = project.dependencies
    if listed is None:
        result.manual.append(
            wiring.ManualStep(
                Path("requirements.txt"),
                "your dependency list (none was found)",
                "\n".join(dependencies),
            )
        )
    else:
        edit(
            listed.path,
            lambda text: wiring.add_dependencies(
                text, path=listed.path, kind=listed.kind, requirements=dependencies
            ),
        )
        text = (project.root / listed.path).read_text(encoding="utf-8")
        result.notes.extend(wiring.dependency_conflicts(text, listed.kind, dependencies))
    missing = [req for req in test_dependencies if _name(req) not in _names(listed)]
    if missing:
        result.notes.append(
            "the user module's tests also need: " + ", ".join(missing) + " (add them to your "
            "development dependencies)"
        )
    entries = _env_entries(renderer.env.get_template(ENV_TEMPLATE).render(**context))
    edit(Path(".env"), lambda text: wiring.add_env_entries(text, entries, header=ENV_HEADER))
    if (project.root / ".env.example").is_file():
        example = _env_entries(renderer.env.get_template(ENV_EXAMPLE_TEMPLATE).render(**context))
        edit(
            Path(".env.example"),
            lambda text: wiring.add_env_entries(text, example, header=ENV_HEADER),
        )


def _dependencies(renderer: Renderer, context: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What a new app of the same answers depends on: at run time, and for its tests."""
    text = renderer.env.get_template(PYPROJECT_TEMPLATE).render(**context)
    project = tomllib.loads(text)["project"]
    runtime = [str(req) for req in project["dependencies"]]
    tests = [str(req) for req in project.get("optional-dependencies", {}).get("test", [])]
    return runtime, tests


def _name(requirement: str) -> str:
    name = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(listed: Any) -> Iterable[str]:
    return listed.names if listed is not None else ()


def _env_entries(text: str) -> dict[str, str]:
    """The ``KEY=value`` lines of a rendered .env file, in order."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        key, equals, value = line.partition("=")
        if equals and not line.lstrip().startswith("#"):
            entries[key.strip()] = value.strip()
    return entries
