"""The lint and type-check settings an existing project needs for the user module.

`usergen init` writes code that passes ruff and mypy with the settings a new app has. An
existing app has settings of its own, which the generated code must not make fail: a shorter
line length (comments and strings that ruff format does not wrap), rules a new app does not
select, mypy without the pydantic plugin (pydantic-settings classes are built from the
environment, not from arguments) or without leave to skip the drivers that ship no types. So
init asks ruff which of the project's rules the module's files break, and adds exactly those to
the project's per-file ignores for the module's folders; and it gives mypy the plugin and the
untyped modules. Each edit is minimal (tomlkit keeps the rest of the file as it is) and
idempotent.
"""

import json
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from usergen.errors import UsergenError
from usergen.formatting import mirror_project, ruff_binary

MYPY_PLUGIN = "pydantic.mypy"
# The modules the user module imports that ship no type information (a new app's pyproject.toml
# lists the same).
UNTYPED_MODULES = ("passlib.*", "asyncpg.*", "pymysql.*", "aiomysql.*")


def ruff_findings(
    root: Path, files: Mapping[str, str], layout: Collection[str], configs: Collection[str]
) -> set[str]:
    """The codes of the rules, as the project at ``root`` selects them, that ``files`` break."""
    with mirror_project(root, files, layout, configs) as mirror:
        arguments = ["check", "--no-cache", "--exit-zero", "--output-format", "json", *files]
        try:
            result = subprocess.run(
                [ruff_binary(), *arguments], cwd=mirror, capture_output=True, text=True
            )
        except OSError as error:
            raise UsergenError(f"ruff could not run: {error}") from None
    if result.returncode != 0:
        raise UsergenError(f"ruff could not check the user module: {result.stderr.strip()}")
    return {str(item["code"]) for item in json.loads(result.stdout or "[]") if item.get("code")}


def add_ruff_ignores(
    text: str, *, path: Path, patterns: Sequence[str], codes: Sequence[str]
) -> str:
    """``text`` of the ruff configuration ``path`` (pyproject.toml, ruff.toml or .ruff.toml)
    with ``codes`` ignored in the files ``patterns`` match."""
    import tomlkit

    if not codes:
        return text
    document = tomlkit.parse(text)
    section: Any = document
    keys = ["tool", "ruff", "lint"] if path.name == "pyproject.toml" else ["lint"]
    for key in keys:
        if key not in section:
            section[key] = tomlkit.table()
        section = section[key]
    if "per-file-ignores" not in section:
        section["per-file-ignores"] = tomlkit.table()
    ignores = section["per-file-ignores"]
    for pattern in patterns:
        listed = [str(code) for code in ignores.get(pattern, [])]
        missing = [code for code in sorted(codes) if code not in listed]
        if missing:
            ignores[pattern] = [*listed, *missing]
    return _spaced(text, tomlkit.dumps(document))


def add_mypy_settings(text: str, *, path: Path) -> str:
    """``text`` of the mypy configuration ``path`` (pyproject.toml or mypy.ini) with the
    pydantic plugin and the untyped modules the user module needs."""
    if path.name == "pyproject.toml":
        return _add_to_pyproject(text)
    return _add_to_ini(text)


def _add_to_pyproject(text: str) -> str:
    import tomlkit

    document = tomlkit.parse(text)
    mypy: Any = document["tool"]["mypy"]
    plugins = [str(plugin) for plugin in mypy.get("plugins", [])]
    if MYPY_PLUGIN not in plugins:
        mypy["plugins"] = [*plugins, MYPY_PLUGIN]
    overrides = mypy.get("overrides", [])
    covered = {
        str(module)
        for override in overrides
        if override.get("ignore_missing_imports")
        for module in _as_list(override.get("module"))
    }
    missing = [module for module in UNTYPED_MODULES if module not in covered]
    if missing:
        override = tomlkit.table()
        override["module"] = missing
        override["ignore_missing_imports"] = True
        if "overrides" not in mypy:
            mypy["overrides"] = tomlkit.aot()
        mypy["overrides"].append(override)
    return _spaced(text, tomlkit.dumps(document))


def _spaced(before: str, after: str) -> str:
    """``after`` with a blank line around each table tomlkit added to ``before`` (it writes
    them without), as a person would."""
    old_headers = {line.strip() for line in before.splitlines() if line.lstrip().startswith("[")}
    out: list[str] = []
    in_new_table = False
    for line in after.splitlines(keepends=True):
        is_header = line.lstrip().startswith("[")
        if is_header:
            is_new = line.strip() not in old_headers
            if out and out[-1].strip() and (is_new or in_new_table):
                out.append("\n")
            in_new_table = is_new
        out.append(line)
    return "".join(out)


def _add_to_ini(text: str) -> str:
    import configparser

    parser = configparser.ConfigParser()
    parser.read_string(text)
    lines = text if text.endswith("\n") or not text else text + "\n"
    additions: list[str] = []
    plugins = [item.strip() for item in parser.get("mypy", "plugins", fallback="").split(",")]
    if MYPY_PLUGIN not in plugins:
        if not parser.has_section("mypy"):
            additions.append(f"[mypy]\nplugins = {MYPY_PLUGIN}\n")
        elif parser.has_option("mypy", "plugins"):
            raise UsergenError(
                f"add {MYPY_PLUGIN} to the plugins of your mypy configuration by hand"
            )
        else:
            lines = _insert_after_section(lines, "mypy", f"plugins = {MYPY_PLUGIN}")
    covered = {
        module.strip()
        for section in parser.sections()
        if section.startswith("mypy-")
        and parser.getboolean(section, "ignore_missing_imports", fallback=False)
        for module in section.removeprefix("mypy-").split(",")
    }
    missing = [module for module in UNTYPED_MODULES if module not in covered]
    if missing:
        additions.append(f"[mypy-{','.join(missing)}]\nignore_missing_imports = True\n")
    if not additions:
        return lines
    return lines + "".join(f"\n{block}" for block in additions)


def _insert_after_section(text: str, section: str, line: str) -> str:
    out: list[str] = []
    for current in text.splitlines(keepends=True):
        out.append(current)
        if current.strip() == f"[{section}]":
            out.append(line + "\n")
    return "".join(out)


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return list(value)
    return [] if value is None else [value]
