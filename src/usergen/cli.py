"""The `usergen` command line. Thin: parses, calls the module that does the work, reports."""

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from usergen import __version__
from usergen.errors import UsergenError

app = typer.Typer(
    name="usergen",
    help="Generate user accounts and authentication for a FastAPI app, as code you own.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Database(enum.StrEnum):
    sqlite = "sqlite"
    postgresql = "postgresql"
    mysql = "mysql"


def fail(error: UsergenError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(error.exit_code)


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
        Database | None,
        typer.Option("--db", help="Database the app is set up for. Default: sqlite."),
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
    try:
        project = generate(
            dest,
            package=package,
            database=db.value if db else None,
            interactive=interactive,
            overwrite=overwrite,
        )
    except UsergenError as error:
        raise fail(error) from None
    for rel in project.written:
        typer.echo(f"  created  {rel}")
    for rel in project.unchanged:
        typer.echo(f"  kept     {rel}")
    where = Path.cwd()
    shown = project.dest.relative_to(where) if project.dest.is_relative_to(where) else project.dest
    typer.echo(
        f"\nCreated the user module of {project.package} in {shown}. Next:\n\n"
        f"  cd {shown}\n"
        f"  pip install -e .\n"
        f"  {project.package} serve\n\n"
        'Run its tests with: pip install -e ".[test]" && pytest'
    )


def main() -> None:
    app()
