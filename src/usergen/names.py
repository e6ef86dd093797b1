"""Validation of the names a user gives: package, project and destination."""

import keyword
import re
import sys
from pathlib import Path

from usergen.errors import UsageError

_PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
_PROJECT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")

# Names the generated project already uses at its top level, or imports: a package with one of
# these names would shadow it.
_TAKEN = {
    "alembic", "databases", "fastapi", "httpx", "jwt", "migrations", "passlib", "pydantic",
    "pydantic_settings", "pytest", "sqlalchemy", "starlette", "tests", "uvicorn",
}  # fmt: skip


# Shell builtins and keywords (bash's, which include POSIX sh's): the generated app installs a
# command named after its package, and the shell would run its own instead (`test serve` tests
# nothing and prints nothing). No library lists them, so here they are.
_SHELL_BUILTINS = {
    "alias", "bg", "bind", "break", "builtin", "caller", "case", "cd", "command", "compgen",
    "complete", "compopt", "continue", "declare", "dirs", "disown", "do", "done", "echo", "elif",
    "else", "enable", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg", "fi", "for",
    "function", "getopts", "hash", "help", "history", "if", "in", "jobs", "kill", "let", "local",
    "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly",
    "return", "select", "set", "shift", "shopt", "source", "suspend", "test", "then", "time",
    "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "until",
    "wait", "while",
}  # fmt: skip


def check_package_name(name: str) -> str:
    """Return ``name`` if it can be the generated package's import name, else raise UsageError."""
    if not _PACKAGE.match(name):
        raise UsageError(
            f"invalid package name {name!r}: use lowercase letters, digits and '_', "
            "not starting with a digit (e.g. --package my_app)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"invalid package name {name!r}: it is a Python keyword")
    if name in _SHELL_BUILTINS:
        raise UsageError(
            f"invalid package name {name!r}: the app's command would be {name!r}, which the "
            "shell runs as its own builtin; choose another with --package"
        )
    if name in sys.stdlib_module_names or name in _TAKEN:
        raise UsageError(
            f"invalid package name {name!r}: it would shadow the module of that name; "
            "choose another with --package"
        )
    return name


def check_project_name(name: str) -> str:
    """Return ``name`` if it is a valid distribution name, else raise UsageError."""
    if not _PROJECT.match(name):
        raise UsageError(
            f"invalid project name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def package_from_folder(folder: Path) -> str:
    """Derive the package name from a destination folder: ``My-App`` → ``my_app``."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.name.lower())
    name = re.sub(r"^[0-9_]+|_+$", "", name)
    if not name:
        raise UsageError(
            f"cannot derive a package name from the folder {folder.name!r}; pass --package NAME"
        )
    return check_package_name(name)
