"""`usergen remove-field` and `rename-field`: the rest of a field's life (listing.py lists them).

They change the recorded field list the way add-field does (two renders, a 3-way merge into the
user's files, all or nothing) and write the revision that changes the column.
"""

from pathlib import Path
from typing import Any

from usergen.add_field import ChangeResult, FieldsChange, apply_change, check_free, taken_names
from usergen.errors import UsageError
from usergen.fields import check_name
from usergen.migrations import REMOVE_FIELD_MIGRATION, RENAME_FIELD_MIGRATION
from usergen.project import Project, field_names_in_code, load


def find(project: Project, name: str, command: str) -> dict[str, Any]:
    """The recorded spec of ``name``; UsageError naming the fields there are if it is none."""
    for spec in project.fields:
        if spec["name"] == name:
            return spec
    added = ", ".join(spec["name"] for spec in project.fields) or "none yet"
    hint = ""
    if name in field_names_in_code(project):
        hint = f"; {name!r} is in your own code, not added by usergen: {command} it by hand"
    raise UsageError(f"the user has no added field {name!r} (added fields: {added}){hint}")


def remove_field(
    path: Path,
    name: str,
    *,
    yes: bool = False,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> ChangeResult:
    """Remove the added field ``name``: column (by a new revision), models and tests.

    The migration drops the column and its values, so it needs ``yes`` (a dry run does not).
    """
    project = load(path)
    spec = find(project, name, "remove")
    if not yes and not dry_run:
        raise UsageError(
            f"removing {name} drops its column and every value in it once the migration runs; "
            "run again with --yes to go on (or --dry-run to see the change)"
        )
    change = FieldsChange(
        project,
        spec,
        [other for other in project.fields if other["name"] != name],
        f"usergen remove-field {name}",
        f"remove_{name}_from_user",
        REMOVE_FIELD_MIGRATION,
        {"field": spec},
    )
    return apply_change(change, dry_run=dry_run, inline_conflicts=inline_conflicts)


def rename_field(
    path: Path,
    old: str,
    new: str,
    *,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> ChangeResult:
    """Rename the added field ``old`` to ``new`` everywhere; the migration keeps its values."""
    project = load(path)
    spec = find(project, old, "rename")
    check_name(new, taken_names(project))
    check_free(project, new)
    fields = [{**other, "name": new} if other["name"] == old else other for other in project.fields]
    change = FieldsChange(
        project,
        spec,
        fields,
        f"usergen rename-field {old} {new}",
        f"rename_{old}_to_{new}",
        RENAME_FIELD_MIGRATION,
        {"field": spec, "new_name": new},
    )
    return apply_change(change, dry_run=dry_run, inline_conflicts=inline_conflicts)
