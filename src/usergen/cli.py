"""The `usergen` command line. Thin: parses, calls the module that does the work, reports."""

import dataclasses
import enum
import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from usergen import __version__, field_types, questions
from usergen import init as initializer
from usergen.errors import UsergenError
from usergen.fields import FieldOptions
from usergen.project import OAUTH_PROVIDERS, check_oauth_providers

if TYPE_CHECKING:
    from usergen.add_field import ChangeResult, ConflictError
    from usergen.detect import NeedsAnswer
    from usergen.merge import Conflict
    from usergen.project import Project
    from usergen.update import UpdateResult

app = typer.Typer(
    name="usergen",
    help="Generate user accounts and authentication for a FastAPI app, as code you own.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def answer_option(question: str, *names: str, help: str) -> Any:
    """An option answering one of copier.yml's choice questions, offering its choices. Its
    flag is ``names``, or else the parameter's name (``--data-layer`` for ``data_layer``)."""
    allowed = questions.choices(question)

    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, allowed))}.")
        return value

    return typer.Option(
        *names,
        help=help,
        metavar="[" + "|".join(allowed) + "]",
        callback=check,
        autocompletion=lambda: list(allowed),
    )


T = TypeVar("T")
Command = Callable[..., None]


def attempt(work: Callable[[], T]) -> T:
    """Run a command's work; its conflicts and errors are reported, with a non-zero exit."""
    from usergen.add_field import ConflictError

    try:
        return work()
    except ConflictError as error:
        raise report_conflicts(error) from None
    except UsergenError as error:
        raise fail(error) from None


def fail(error: UsergenError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(error.exit_code)


KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD


def show_typer(run: Command, command: Command, parameters: list[inspect.Parameter]) -> None:
    """Typer reads a command's options from its signature: give ``run``, which stands in for
    ``command``, a signature of these parameters."""
    functools.update_wrapper(run, command)
    signature = inspect.Signature(parameters, return_annotation=None)
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}


def gathering(name: str, options: type[Any], **declared: Any) -> Callable[[Command], Command]:
    """Let a command take its options as one dataclass: its parameter ``name`` (of type
    ``options``) is shown to Typer as one option per field, typed and defaulted as the field and
    declared (flags, help) by ``declared[field]``. A declaration written as
    ``Annotated[type, typer.Option(...)]`` takes another type on the command line, default
    None, and its callback turns that into the field's value."""
    hints = typing.get_type_hints(options)
    if sorted(hints) != sorted(declared):
        raise TypeError(f"declare exactly the fields of {options.__name__}: {', '.join(hints)}")
    fields = []
    for field in dataclasses.fields(options):
        declaration = declared[field.name]
        if typing.get_origin(declaration) is Annotated:
            annotation, default = declaration, None
        else:
            annotation, default = Annotated[hints[field.name], declaration], field.default
        fields.append(
            inspect.Parameter(field.name, KEYWORD, annotation=annotation, default=default)
        )

    def register(command: Command) -> Command:
        own = list(inspect.signature(command, eval_str=True).parameters.values())
        at = [parameter.name for parameter in own].index(name)

        def run(*args: Any, **values: Any) -> None:
            gathered = options(**{field.name: values.pop(field.name) for field in fields})
            command(*args, **values, **{name: gathered})

        show_typer(run, command, [*own[:at], *fields, *own[at + 1 :]])
        return run

    return register


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"usergen {__version__}")
        raise typer.Exit


@app.callback()
def usergen(
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Generate user accounts and authentication for a FastAPI app, as code you own."""


def oauth_list(value: str | None) -> list[str] | None:
    """--oauth google,github: the providers, each known and named once."""
    if value is None:
        return None
    providers = [name.strip() for name in value.split(",") if name.strip()]
    try:
        return check_oauth_providers(providers)
    except UsergenError as error:
        raise typer.BadParameter(str(error)) from None


OAUTH_HELP = (
    f"Social login with these providers, comma-separated: {', '.join(OAUTH_PROVIDERS)} "
    "(openid: any OpenID Connect provider). Add more later with usergen add-oauth."
)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  usergen new myapp --defaults            SQLite, package 'myapp'\n\n"
        "  usergen new . --package shop --db postgresql\n\n"
        "  usergen new services/accounts           asks the questions"
    )
)
def new(
    dest: Annotated[
        Path, typer.Argument(help="Folder to create or fill (may be an existing repository).")
    ],
    package: Annotated[
        str | None,
        typer.Option("--package", "-p", help="Python package name. Default: from the folder name."),
    ] = None,
    db: Annotated[
        str | None,
        answer_option(
            "database",
            "--db",
            help=f"Database the app is set up for. Default: {questions.default('database')}.",
        ),
    ] = None,
    data_layer: Annotated[
        str | None,
        answer_option(
            "data_layer",
            help="How the app reaches the database: 'databases' (encode/databases) or "
            "'sqlalchemy' (SQLAlchemy asyncio, with an AsyncSession for your own models). "
            f"Default: {questions.default('data_layer')}.",
        ),
    ] = None,
    pages: Annotated[
        bool | None,
        typer.Option(
            "--pages/--no-pages",
            help="Serve account pages (sign up, log in, password reset, settings, sessions) "
            "under /account. Default: on.",
            show_default=False,
        ),
    ] = None,
    oauth: Annotated[
        str | None, typer.Option("--oauth", metavar="PROVIDERS", help=OAUTH_HELP)
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option("--defaults", help="Ask nothing; use the defaults for what is not given."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing files that differ.")
    ] = False,
) -> None:
    """Generate the user module into DEST: tables, API, migrations and tests."""
    from usergen.new import generate

    interactive = not defaults and sys.stdin.isatty() and sys.stdout.isatty()
    project = attempt(
        lambda: generate(
            dest,
            package=package,
            database=db,
            data_layer=data_layer,
            pages=pages,
            oauth_providers=oauth_list(oauth),
            interactive=interactive,
            overwrite=overwrite,
        )
    )
    for rel in project.written:
        typer.echo(f"  created  {rel}")
    for rel in project.unchanged:
        typer.echo(f"  kept     {rel}")
    where = Path.cwd()
    shown = project.dest.relative_to(where) if project.dest.is_relative_to(where) else project.dest
    # The default DATABASE_URL names a database of the package's name, which must exist.
    create_database = {
        "postgresql": f"  createdb -h 127.0.0.1 -U postgres {project.package}\n",
        "mysql": (
            f'  mysql -h 127.0.0.1 -u root -e "CREATE DATABASE {project.package} '
            'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"\n'
        ),
    }.get(project.database, "")
    typer.echo(
        f"\nCreated the user module of {project.package} in {shown}. Next:\n\n"
        f"  cd {shown}\n"
        f"  pip install -e .\n"
        f"{create_database}"
        f"  {project.package} serve\n\n"
        'Run its tests with: pip install -e ".[test]" && pytest'
    )


def oauth_tuple(value: str | None) -> tuple[str, ...]:
    return tuple(oauth_list(value) or ())


@app.command()
@gathering(
    "options",
    initializer.Options,
    package=typer.Option(help="Your package, if init cannot tell which it is."),
    app=typer.Option(
        metavar="MODULE:ATTR",
        help="Your FastAPI app (e.g. shop.main:app) or its factory (shop.app:create_app), "
        "if init cannot tell which it is.",
    ),
    module=typer.Option(help="Name of the user module inside your package."),
    database=answer_option(
        "database", "--db", help="Your database, if your database URL does not say it."
    ),
    database_url=typer.Option(help="Your database's URL, if init cannot read it from your code."),
    data_layer=answer_option(
        "data_layer", help="How the user module reaches the database. Default: sqlalchemy."
    ),
    pages=typer.Option(
        "--pages/--no-pages",
        help="Serve account pages (sign up, log in, password reset, settings, sessions) "
        "under /account. Default: off (your app may have its own front end).",
    ),
    user_table=typer.Option(help="Name of the user table, if your app has a table named user."),
    oauth_providers=Annotated[
        str | None,
        typer.Option("--oauth", metavar="PROVIDERS", help=OAUTH_HELP, callback=oauth_tuple),
    ],
)
def init(
    options: initializer.Options,
    path: Annotated[
        Path, typer.Argument(help="The existing project (its root folder).", show_default=False)
    ] = Path("."),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the whole change as a diff; write nothing.")
    ] = False,
) -> None:
    """Add the user module to the existing FastAPI app at PATH, wired into it."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        plan = attempt(lambda: initializer.plan_asking(path, options, ask_init_question))
    else:
        plan = attempt(lambda: initializer.plan(path, options))
    typer.echo("Found:")
    for line in plan.project.describe():
        typer.echo(f"  {line}")
    if dry_run:
        typer.echo("\n" + plan.diff(), nl=False)
    elif plan.writes:
        attempt(lambda: initializer.apply(plan))
    typer.echo("")
    verb = "would " if dry_run else ""
    for rel in plan.created:
        typer.echo(f"  {verb}create  {rel}")
    for rel in plan.edited:
        typer.echo(f"  {verb}edit    {rel}")
    for rel in sorted(plan.kept):
        typer.echo(f"  kept    {rel} (your version)")
    if not plan.writes:
        typer.echo("The user module is in place already; nothing changed.")
    for note in plan.notes:
        typer.echo(f"note: {note}")
    for step in plan.manual:
        typer.echo(f"\nDo this by hand ({step.where}) in {step.path}:\n")
        typer.echo("".join(f"    {line}\n" for line in step.snippet.splitlines()), nl=False)
    if plan.writes and not dry_run:
        package_name = plan.answers["package_name"]
        typer.echo(
            "\nNext: install the dependencies, then apply the migration (alembic upgrade "
            f"head, or python -m {package_name} migrate). Protect a route with:\n\n"
            f"    from {package_name}.dependencies import CurrentUser\n\n"
            '    @router.get("/mine")\n'
            "    async def mine(user: CurrentUser) -> ...: ..."
        )


def ask_init_question(question: "NeedsAnswer") -> str:
    """At a terminal, what init cannot tell is asked: why, then the question."""
    typer.echo(str(question).split("\n")[0])
    if question.choices:
        for number, choice in enumerate(question.choices, start=1):
            typer.echo(f"  {number}. {choice}")
        while True:
            picked = str(typer.prompt(question.question)).strip()
            if picked in question.choices:
                return picked
            if picked.isdigit() and 1 <= int(picked) <= len(question.choices):
                return question.choices[int(picked) - 1]
            typer.echo(f"Answer with a number from 1 to {len(question.choices)}.")
    answer: str = typer.prompt(question.question, default=question.default)
    return answer.strip()


def migrate_command(project: "Project") -> str:
    """The command that applies a project's migrations: its own in a new app, the module's
    in an existing one (whose own commands are its own)."""
    if project.existing_app:
        return f"python -m {project.package} migrate"
    return f"{project.package} migrate"


def report_conflicts(error: "ConflictError") -> typer.Exit:
    """Say where each conflict is, with both sides, and how to go on."""
    typer.echo(f"error: {error}", err=True)
    for item in error.conflicts:
        typer.echo(f"  {item.path}: {item.reason}", err=True)
        for hunk in item.hunks:
            typer.echo(f"    {hunk.lines} of your file:", err=True)
            typer.echo(
                "".join(f"      yours | {line}\n" for line in hunk.yours), err=True, nl=False
            )
            typer.echo(
                "".join(f"      new   | {line}\n" for line in hunk.theirs), err=True, nl=False
            )
    typer.echo(
        "Resolve these by hand, or run again with --conflict inline to get conflict markers.",
        err=True,
    )
    return typer.Exit(error.exit_code)


def report_inline_conflicts(conflicts: "list[Conflict]") -> None:
    """After writing conflict markers: where they are; exits non-zero."""
    typer.echo(
        "\nConflicts were written with markers; resolve them before running anything:", err=True
    )
    for item in conflicts:
        where = ", ".join(f"line {number}" for number in item.marker_lines())
        typer.echo(f"  {item.path}: {where}", err=True)
    raise typer.Exit(1)


class ConflictMode(enum.StrEnum):
    refuse = "refuse"
    inline = "inline"


# Options that every command changing a project takes alike.
ConflictOption = Annotated[
    ConflictMode,
    typer.Option(
        help="When your edits and the change touch the same lines: refuse and change "
        "nothing, or write git's conflict markers into the file."
    ),
]
PathOption = Annotated[Path, typer.Option(help="The project folder (default: the current folder).")]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the diff of every file it would change; change nothing."),
]


@dataclass(frozen=True)
class ProjectChange:
    """What --path, --dry-run and --conflict say to a command that changes a project."""

    path: Path
    dry_run: bool
    inline_conflicts: bool

    def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(path, *args, **kwargs)`` as these options say (the keyword arguments
        ``dry_run`` and ``inline_conflicts``, which every such work takes), its errors reported
        (`attempt`)."""
        mode = {"dry_run": self.dry_run, "inline_conflicts": self.inline_conflicts}
        return attempt(lambda: work(self.path, *args, **kwargs, **mode))


def project_command(name: str | None = None, **settings: Any) -> Callable[[Command], Command]:
    """Register a command that changes a project: ``app.command(name, **settings)``, with the
    options such commands take alike (--dry-run, --path, --conflict) given to it as its first
    argument, ``change``. Typer reads a command's options from its signature, so it is shown
    the command's own parameters followed by those three."""

    def register(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True).parameters.values()
        shared = [
            inspect.Parameter("dry_run", KEYWORD, annotation=DryRunOption, default=False),
            inspect.Parameter("path", KEYWORD, annotation=PathOption, default=Path(".")),
            inspect.Parameter(
                "conflict", KEYWORD, annotation=ConflictOption, default=ConflictMode.refuse
            ),
        ]

        def run(*, dry_run: bool, path: Path, conflict: ConflictMode, **options: Any) -> None:
            inline = conflict is ConflictMode.inline
            command(ProjectChange(path, dry_run, inline), **options)

        show_typer(run, command, [p for p in own if p.name != "change"] + shared)
        app.command(name, **settings)(run)
        return command

    return register


FIELD_TYPES = ", ".join(field_types.TYPES)


@project_command(
    "add-field",
    epilog=(
        "Examples:\n\n"
        "  usergen add-field nickname str --max-length 50 --unique\n\n"
        "  usergen add-field age int --required --default 18\n\n"
        "  usergen add-field username str --max-length 50 --unique --required "
        "--backfill-from email\n\n"
        "  usergen add-field tier choices --choices free,pro,team --default free --read-only\n\n"
        "  usergen add-field birthday date --dry-run"
    ),
)
@gathering(
    "options",
    FieldOptions,
    required=typer.Option(
        "--required/--optional",
        help="Whether every user must have a value. Without --default, clients must send it at "
        "registration.",
    ),
    default=typer.Option(
        help="Value for users who give none, existing users included. JSON for json; an ISO "
        "date/datetime (with a zone) for date/datetime."
    ),
    unique=typer.Option("--unique", help="No two users may have the same value."),
    index=typer.Option("--index", help="Index the column for lookups."),
    read_only=typer.Option(
        "--read-only", help="Shown to users, but only superusers may set it (by PATCH)."
    ),
    max_length=typer.Option(help="str: the longest value (default 255)."),
    precision=typer.Option(help="decimal: digits in all (default 12)."),
    scale=typer.Option(help="decimal: digits after the point (default 2)."),
    choices=typer.Option(help="choices: the allowed values, comma-separated."),
)
def add_field_command(
    change: ProjectChange,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Field name: lowercase letters, digits and _.")
    ],
    type_: Annotated[str, typer.Argument(metavar="TYPE", help=f"One of: {FIELD_TYPES}.")],
    options: FieldOptions,
    backfill_from: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="A required field without --default: copy each existing user's value from "
            "this column (email). Without it, the migration refuses a table with users.",
        ),
    ] = None,
) -> None:
    """Add a field to the user: column, API models, migration and tests, keeping your edits."""
    from usergen.add_field import add_field

    result = change.run(add_field, name, type_, options, backfill_from=backfill_from)
    spec = result.spec
    report_change(result, f"Added {spec['name']} ({spec['type']}) to the user.", change.dry_run)


@project_command(
    epilog=(
        "Examples:\n\n"
        "  usergen update                  to this usergen's template version\n\n"
        "  usergen update --dry-run        print the whole diff, change nothing\n\n"
        "  usergen update --db postgresql  set the project up for another database\n\n"
        "  usergen update --data-layer sqlalchemy  move the app to SQLAlchemy asyncio\n\n"
        "  usergen update --pages          add the account pages"
    )
)
def update(
    change: ProjectChange,
    to: Annotated[
        str | None, typer.Option(help="Template version to go to. Default: this usergen's newest.")
    ] = None,
    db: Annotated[
        str | None,
        answer_option("database", "--db", help="Set the project up for this database instead."),
    ] = None,
    data_layer: Annotated[
        str | None,
        answer_option("data_layer", help="Switch the project to this data layer."),
    ] = None,
    pages: Annotated[
        bool | None,
        typer.Option(
            "--pages/--no-pages",
            help="Add the account pages (/account), or remove them.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Bring the project to a newer template version (or other answers), keeping your edits."""
    from usergen.update import update as run_update

    result = change.run(run_update, to=to, database=db, data_layer=data_layer, pages=pages)
    report_update(result, change.dry_run)


def report_update(result: "UpdateResult", dry_run: bool) -> None:
    """What an update (or a change of OAuth providers) changed, and the migration to apply."""
    from usergen.add_field import unified_diff

    if dry_run:
        count = len(result.changes.writes) + len(result.changes.deletes)
        report_dry_run(unified_diff(result.project.root, result.changes), count)
        return
    for label, rels in (
        ("updated", result.updated), ("created", result.created), ("deleted", result.deleted)
    ):  # fmt: skip
        for rel in rels:
            typer.echo(f"  {label:8} {rel}")
    for rel, why in result.kept.items():
        typer.echo(f"  kept     {rel} ({why})")
    changes = ", ".join(
        f"{key} {old} → {new}" for key, (old, new) in result.changed_answers.items()
    )
    if not result.changes:
        typer.echo(f"\nNothing to change: the project is at template {result.new_version}.")
    else:
        typer.echo(f"\nUpdated the project: {changes or 'nothing new'}.")
    if result.migration:
        typer.echo(
            f"The schema changed: {result.migration} migrates it. Apply it with "
            f"`{migrate_command(result.project)}` (or `alembic upgrade head`), then run the tests."
        )
    if result.conflicts:
        report_inline_conflicts(result.conflicts)


@app.command("fields")
def fields_command(path: PathOption = Path(".")) -> None:
    """List the fields added to the user, with their options."""
    from usergen.listing import list_fields, render_listing

    project, rows = attempt(lambda: list_fields(path))
    typer.echo(render_listing(project, rows), nl=False)


def report_dry_run(diff: str, count: int) -> None:
    typer.echo(diff, nl=False)
    typer.echo(f"(dry run: nothing was changed; {count} file(s) would be)", err=True)


def report_change(result: "ChangeResult", done: str, dry_run: bool) -> None:
    """What a field command changed, and the migration to apply next."""
    if dry_run:
        report_dry_run(result.diff, len(result.updated) + len(result.created))
        return
    for rel in result.updated:
        typer.echo(f"  updated  {rel}")
    for rel in result.created:
        typer.echo(f"  created  {rel}")
    typer.echo(
        f"\n{done} {result.migration} changes the column. Apply it with "
        f"`{migrate_command(result.project)}` (or `alembic upgrade head`), then run the tests."
    )
    if result.conflicts:
        report_inline_conflicts(result.conflicts)


@project_command("remove-field", epilog="Example:\n\n  usergen remove-field nickname --yes")
def remove_field_command(
    change: ProjectChange,
    name: Annotated[str, typer.Argument(metavar="NAME", help="An added field.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Go on although the migration drops the column's values.")
    ] = False,
) -> None:
    """Remove an added field: column (its values go), API models and tests, keeping your edits."""
    from usergen.lifecycle import remove_field

    result = change.run(remove_field, name, yes=yes)
    report_change(result, f"Removed {name} from the user.", change.dry_run)


@project_command("rename-field", epilog="Example:\n\n  usergen rename-field nickname display_name")
def rename_field_command(
    change: ProjectChange,
    old: Annotated[str, typer.Argument(metavar="OLD", help="An added field.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new name.")],
) -> None:
    """Rename an added field everywhere; the migration keeps every value."""
    from usergen.lifecycle import rename_field

    result = change.run(rename_field, old, new)
    report_change(result, f"Renamed {old} to {new}.", change.dry_run)


@project_command(
    "add-oauth",
    epilog="Examples:\n\n  usergen add-oauth google github\n\n  usergen add-oauth openid --dry-run",
)
def add_oauth_command(
    change: ProjectChange,
    providers: Annotated[
        list[str],
        typer.Argument(
            metavar="PROVIDER...", help=f"One or more of: {', '.join(OAUTH_PROVIDERS)}."
        ),
    ],
) -> None:
    """Let users log in with OAuth providers: routes, settings, tables and tests, keeping your
    edits (the first provider brings a migration)."""
    from usergen.oauth import add_oauth

    result = change.run(add_oauth, providers)
    report_update(result, change.dry_run)


@project_command("remove-oauth", epilog="Example:\n\n  usergen remove-oauth github")
def remove_oauth_command(
    change: ProjectChange,
    providers: Annotated[
        list[str], typer.Argument(metavar="PROVIDER...", help="Providers of the project.")
    ],
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="Go on although removing the last provider drops the linked accounts."
        ),
    ] = False,
) -> None:
    """Stop logins with OAuth providers, keeping your edits (the last one takes the table of
    linked accounts with it)."""
    from usergen.oauth import remove_oauth

    result = change.run(remove_oauth, providers, yes=yes)
    report_update(result, change.dry_run)


def main() -> None:
    app()
