"""Validation of the names a user gives: package, project and destination.

Their form is the rule of copier.yml's validators (so `copier copy` refuses the same); usergen
adds what a Jinja validator cannot know: Python keywords, shell builtins, module names that the
package would shadow.
"""

import keyword
import sys
from pathlib import Path

from usergen import questions
from usergen.errors import UsageError

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
    refused = questions.refusal("package_name", name)
    if refused:
        raise UsageError(
            f"invalid package name {name!r}: {_sentence(refused)} (e.g. --package my_app)"
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
    refused = questions.refusal("project_name", name)
    if refused:
        raise UsageError(f"invalid project name {name!r}: {_sentence(refused)}")
    return name


def _sentence(refusal: str) -> str:
    """copier.yml's message, as the rest of a sentence."""
    return refusal[:1].lower() + refusal[1:]


def package_from_folder(folder: Path) -> str:
    """Derive the package name from a destination folder: ``My-App`` → ``my_app`` (as
    copier.yml derives it from the project name, which defaults to the folder's)."""
    name = questions.render_default("package_name", {"project_name": folder.name})
    if not name:
        raise UsageError(
            f"cannot derive a package name from the folder {folder.name!r}; pass --package NAME"
        )
    return check_package_name(name)
