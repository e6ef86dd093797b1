"""`usergen add-field`: a new user field in every layer of a project, keeping the user's edits.

The project is rendered twice from the bundled template, with the recorded field list and with
the new field added; the difference is merged into the user's files (see merge.py), the answers
file records the new field, and a new Alembic revision adds the column. Everything is computed
in memory first, then written at once, or not at all.
"""

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from usergen import files, versions
from usergen.errors import UsergenError
from usergen.fields import FieldOptions, parse_field
from usergen.merge import Conflict, Labels, check_resolved, merge_change
from usergen.migrations import add_field_migration, read_revisions
from usergen.project import Project, field_names_in_code, load
from usergen.render import CREATE_ONLY, Renderer


class ConflictError(UsergenError):
    """The change conflicts with the user's edits; ``conflicts`` says where."""

    def __init__(self, message: str, conflicts: list[Conflict]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


@dataclass
class AddFieldResult:
    """What add-field did (or, for a dry run, would do)."""

    project: Project
    spec: dict[str, Any]
    migration: str
    updated: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)  # written with markers
    diff: str = ""


@dataclass
class Plan:
    """The changes that add a field, the conflicts they meet, and what the report needs."""

    changes: files.Changes
    modes: dict[str, int]
    conflicts: list[Conflict]
    migration: str


def plan(project: Project, spec: dict[str, Any], renderer: Renderer) -> Plan:
    """Work out, in memory, everything that adding ``spec`` to ``project`` writes."""
    old_answers = project.answers
    # Written and read back as the answers file will be, so the next run renders the same.
    new_answers = yaml.safe_load(
        yaml.safe_dump(
            {**old_answers, "fields": [*project.fields, spec]}, sort_keys=True, allow_unicode=True
        )
    )
    folder = project.root.name
    changed = {"fields"}
    old, _ = renderer.render(old_answers, folder, changed=changed, skip=CREATE_ONLY)
    history = [
        rel.path.relative_to(project.root).as_posix() for rel in read_revisions(project.root)
    ]
    # Markers anywhere in the project, not only in the files this change touches.
    check_resolved(project.root, [*renderer.paths(old_answers, folder), *history])
    new, modes = renderer.render(new_answers, folder, changed=changed, skip=CREATE_ONLY)
    labels = Labels(
        yours="yours", base="generated before", theirs=f"usergen add-field {spec['name']}"
    )
    merged = merge_change(project.root, old, new, labels)
    migration = add_field_migration(project.root, spec, renderer.render_template)
    changes = files.Changes(project.root, dict(merged.writes), set(merged.deletes))
    changes.writes[migration.relpath] = migration.content
    modes[migration.relpath] = 0o644
    return Plan(changes, modes, merged.conflicts, migration.relpath)


def add_field(
    path: Path,
    name: str,
    type_: str,
    options: FieldOptions,
    *,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> AddFieldResult:
    """Add the field ``name`` of ``type_`` to the project at or above ``path``.

    Raises UsergenError (nothing written) for bad input, and ConflictError (nothing written)
    when the change conflicts with the user's edits, unless ``inline_conflicts``: then the
    conflicting files get git's conflict markers and the result lists them.
    """
    project = load(path)
    taken = {spec["name"] for spec in project.fields} | field_names_in_code(project)
    spec = parse_field(name, type_, options, taken)
    # The project's own template version renders both sides, so the merge is exact whatever
    # version the project is at; `usergen update` is what moves it to another version.
    with versions.template_of(project.template_version) as root:
        planned = plan(project, spec, Renderer(root))
    changes, conflicts = planned.changes, planned.conflicts

    if conflicts and not inline_conflicts:
        raise ConflictError(
            f"the new field conflicts with your edits in {len(conflicts)} file(s); nothing "
            "was changed",
            conflicts,
        )
    for conflict in conflicts:
        if conflict.marked is None:
            raise ConflictError(
                f"{conflict.path}: {conflict.reason}; nothing was changed", conflicts
            )
        changes.writes[conflict.path] = conflict.marked

    result = AddFieldResult(project, spec, planned.migration, conflicts=conflicts)
    for rel in sorted(changes.writes):
        existing = (project.root / rel).is_file()
        (result.updated if existing else result.created).append(rel)
    if dry_run:
        result.diff = unified_diff(project.root, changes)
        return result
    files.apply(changes, planned.modes)
    return result


def unified_diff(root: Path, changes: files.Changes) -> str:
    """The changes as a unified diff (a/ and b/ prefixes, as git prints it)."""
    chunks: list[str] = []
    for rel in sorted(changes.writes.keys() | changes.deletes):
        path = root / rel
        before = path.read_bytes().decode(errors="replace") if path.is_file() else None
        after = changes.writes[rel].decode() if rel in changes.writes else None
        chunks.extend(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"a/{rel}" if before is not None else "/dev/null",
                tofile=f"b/{rel}" if after is not None else "/dev/null",
            )
        )
    return "".join(chunks)
