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


def check_package_name(name: str) -> str:
    """Return ``name`` if it can be the generated package's import name, else raise UsageError."""
    if not _PACKAGE.match(name):
        raise UsageError(
            f"invalid package name {name!r}: use lowercase letters, digits and '_', "
            "not starting with a digit (e.g. --package my_app)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"invalid package name {name!r}: it is a Python keyword")
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
