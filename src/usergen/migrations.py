"""New Alembic revisions for a project: where the chain ends, and the file that extends it.

The revision files are read with `ast`, not imported: importing them would run the project's
code (and need its dependencies) just to learn two strings.
"""

import ast
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from usergen.errors import UsergenError
from usergen.field_code import enrich
from usergen.formatting import project_settings

if TYPE_CHECKING:
    from usergen.project import Project
    from usergen.render import Draft, Renderer

VERSIONS = "migrations/versions"
ADD_FIELD_MIGRATION = "includes/add_field_migration.py.jinja"
REMOVE_FIELD_MIGRATION = "includes/remove_field_migration.py.jinja"
RENAME_FIELD_MIGRATION = "includes/rename_field_migration.py.jinja"


@dataclass(frozen=True)
class Revision:
    """One revision file: its id and the ids it follows."""

    path: Path
    revision: str
    down_revisions: tuple[str, ...]


def _string_or_tuple(node: ast.expr | None, path: Path, name: str) -> tuple[str, ...]:
    try:
        value = ast.literal_eval(node) if node is not None else None
    except ValueError:
        raise UsergenError(f"{path}: {name} is not a literal; usergen cannot follow it") from None
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise UsergenError(f"{path}: {name} is neither a revision id nor a list of them")


def read_revision(path: Path) -> Revision:
    """The ``revision`` and ``down_revision`` a revision file assigns at its top level."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        raise UsergenError(f"cannot read the migration {path}: {error}") from None
    found: dict[str, ast.expr | None] = {}
    for statement in tree.body:
        value: ast.expr | None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = value
    if "revision" not in found:
        raise UsergenError(f"{path} has no revision id; is it an Alembic migration?")
    ids = _string_or_tuple(found["revision"], path, "revision")
    if len(ids) != 1 or not ids[0]:
        raise UsergenError(f"{path}: revision must be one non-empty id")
    revision = ids[0]
    down = _string_or_tuple(found.get("down_revision"), path, "down_revision")
    return Revision(path, revision, down)


def read_revisions(root: Path, versions: str = VERSIONS) -> list[Revision]:
    """The revision files in the folder ``versions`` of the project at ``root``."""
    folder = root / versions
    if not folder.is_dir():
        raise UsergenError(f"{folder} is missing: this project has no migrations to extend")
    return [read_revision(path) for path in sorted(folder.glob("*.py"))]


def head(revisions: list[Revision]) -> str:
    """The one revision nothing follows; UsergenError if there are none or several."""
    ids = [revision.revision for revision in revisions]
    duplicates = sorted({rev for rev in ids if ids.count(rev) > 1})
    if duplicates:
        raise UsergenError(f"several migrations have the revision id {', '.join(duplicates)}")
    followed = {down for revision in revisions for down in revision.down_revisions}
    heads = [revision for revision in revisions if revision.revision not in followed]
    if not heads:
        raise UsergenError("the migrations form a loop; no revision is the last one")
    if len(heads) > 1:
        listing = ", ".join(f"{rev.revision} ({rev.path.name})" for rev in heads)
        raise UsergenError(
            f"the migrations have several heads: {listing}. Merge them first "
            '(alembic merge heads -m "merge"), then add the field.'
        )
    return heads[0].revision


def next_revision_id(revisions: list[Revision]) -> str:
    """The next four-digit id: one more than the highest numeric id (0001 → 0002)."""
    numbers = [int(rev.revision) for rev in revisions if re.fullmatch(r"\d+", rev.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


def field_migration(
    project: "Project",
    slug: str,
    template: str,
    context: dict[str, Any],
    renderer: "Renderer",
    *,
    today: dt.date | None = None,
) -> "Draft":
    """The revision file ``NNNN_<slug>.py`` rendered from ``template`` of ``renderer``'s
    template folder, after the current head, to be formatted with the project's ruff settings
    (in one ruff run with the files the change merges: render.format_drafts).

    ``context["field"]`` is a field's spec; the template gets it with its code (field_code.py).
    """
    revisions = read_revisions(project.root, project.versions_dir)
    down_revision = head(revisions)
    revision = next_revision_id(revisions)
    relpath = f"{project.versions_dir}/{revision}_{slug}.py"
    if (project.root / relpath).exists():
        raise UsergenError(f"{relpath} exists already")
    return renderer.draft_module(
        template,
        {
            **context,
            "field": enrich(context["field"]),
            "revision": revision,
            "down_revision": down_revision,
            "create_date": (today or dt.date.today()).isoformat(),
            "user_table": project.user_table,
        },
        relpath,
        project_settings(project.root, existing_app=bool(project.existing_app)),
    )
