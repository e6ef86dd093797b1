"""`usergen fields`: the fields added to a project's user, with their options.

It only reads the answers file, so it imports neither the command-line framework nor the
renderer: a listing should answer at once (see entry.py).
"""

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from usergen.errors import UsergenError
from usergen.project import Project, load


def describe(spec: dict[str, Any]) -> tuple[str, str]:
    """A field's type and its options, as `usergen fields` lists them."""
    type_ = spec["type"]
    if type_ == "str":
        type_ = f"str({spec['max_length']})"
    elif type_ == "decimal":
        type_ = f"decimal({spec['precision']},{spec['scale']})"
    elif type_ == "choices":
        type_ = f"choices({','.join(spec['choices'])})"
    options = ["required" if spec["required"] else "optional"]
    if "default" in spec:
        options.append(f"default {spec['default']!r}")
    flags = ("unique", "index", "read_only")
    options.extend(flag.replace("_", "-") for flag in flags if spec[flag])
    return type_, ", ".join(options)


def list_fields(path: Path) -> tuple[Project, list[tuple[str, str, str]]]:
    """The added fields of the project at or above ``path``: (name, type, options) each."""
    project = load(path)
    return project, [(spec["name"], *describe(spec)) for spec in project.fields]


def render_listing(project: Project, rows: Sequence[tuple[str, str, str]]) -> str:
    """The fields as aligned columns, or how to add one when there are none."""
    if not rows:
        return (
            f"{project.package} has no added fields yet; add one with: "
            "usergen add-field NAME TYPE\n"
        )
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    return "".join(
        f"{name:<{widths[0]}}  {type_:<{widths[1]}}  {options}".rstrip() + "\n"
        for name, type_, options in rows
    )


def main(path: Path) -> int:
    """Print the listing of the project at or above ``path``; the exit code."""
    try:
        project, rows = list_fields(path)
    except UsergenError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    sys.stdout.write(render_listing(project, rows))
    return 0
