"""The `usergen` executable: `usergen fields` answers before the command-line framework loads.

Importing Typer (and the pydantic it brings) takes longer than the whole listing, so the plain
forms of `usergen fields` are served here; everything else, `usergen fields --help` included,
goes to cli.py.
"""

import sys
from pathlib import Path


def fields_path(args: list[str]) -> Path | None:
    """The folder of `usergen fields [--path DIR]`, or None for any other command line."""
    if args[:1] != ["fields"]:
        return None
    rest = args[1:]
    if not rest:
        return Path(".")
    if len(rest) == 2 and rest[0] == "--path":
        return Path(rest[1])
    if len(rest) == 1 and rest[0].startswith("--path="):
        return Path(rest[0].removeprefix("--path="))
    return None


def main() -> None:
    path = fields_path(sys.argv[1:])
    if path is not None:
        from usergen.listing import main as list_fields

        sys.exit(list_fields(path))
    from usergen.cli import main as cli

    cli()
