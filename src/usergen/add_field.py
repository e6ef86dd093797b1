"""`usergen add-field`: a new user field in every layer of a project, keeping the user's edits.

The project is rendered twice from the bundled template, with the recorded field list and with
the new field added; the difference is merged into the user's files (see merge.py), the answers
file records the new field, and a new Alembic revision adds the column. Everything is computed
in memory first, then written at once, or not at all. remove-field and rename-field
(lifecycle.py) change the field list through the same `apply_change`.
"""

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from usergen import files, versions
from usergen.errors import UsageError, UsergenError
from usergen.fields import FieldOptions, check_backfill, parse_field
from usergen.formatting import project_settings
from usergen.merge import Conflict, Labels, check_resolved, merge_change
from usergen.migrations import ADD_FIELD_MIGRATION, field_migration, read_revisions
from usergen.project import Project, field_names_in_code, load
from usergen.render import CREATE_ONLY, Draft, Renderer, format_drafts


class ConflictError(UsergenError):
    """The change conflicts with the user's edits; ``conflicts`` says where."""

    def __init__(self, message: str, conflicts: list[Conflict]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


@dataclass
class ChangeResult:
    """What add-field, remove-field or rename-field did (or, for a dry run, would do)."""

    project: Project
    spec: dict[str, Any]  # the field's spec, as recorded before the change (add-field: after)
    migration: str
    updated: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)  # written with markers
    diff: str = ""


@dataclass
class Plan:
    """The changes that change the field list, the conflicts they meet, and what the report
    needs."""

    changes: files.Changes
    modes: dict[str, int]
    conflicts: list[Conflict]
    migration: str


def plan(
    project: Project,
    fields: list[dict[str, Any]],
    migration: Draft,
    renderer: Renderer,
    label: str,
) -> Plan:
    """Work out, in memory, everything that giving ``project`` the field list ``fields`` writes:
    the merged files, the answers file and the new revision ``migration``."""
    old_answers = project.answers
    # Written and read back as the answers file will be, so the next run renders the same.
    new_answers = yaml.safe_load(
        yaml.safe_dump({**old_answers, "fields": fields}, sort_keys=True, allow_unicode=True)
    )
    folder = project.root.name
    changed = {"fields"}
    ruff = project_settings(project.root, existing_app=bool(project.existing_app))
    history = [
        rel.path.relative_to(project.root).as_posix()
        for rel in read_revisions(project.root, project.versions_dir)
    ]
    # Markers anywhere in the project, not only in the files this change touches.
    check_resolved(project.root, [*renderer.paths(old_answers, folder), *history])
    # One ruff run formats both sides of the merge and the new revision.
    (old, _), (new, modes), (revision, revision_modes) = format_drafts(
        [
            renderer.draft(old_answers, folder, changed=changed, skip=CREATE_ONLY, ruff=ruff),
            renderer.draft(new_answers, folder, changed=changed, skip=CREATE_ONLY, ruff=ruff),
            migration,
        ]
    )
    labels = Labels(yours="yours", base="generated before", theirs=label)
    merged = merge_change(project.root, old, new, labels)
    changes = files.Changes(project.root, dict(merged.writes), set(merged.deletes))
    changes.writes.update(revision)
    modes.update(revision_modes)
    (revision_path,) = revision
    return Plan(changes, modes, merged.conflicts, revision_path)


@dataclass
class FieldsChange:
    """A change of the field list: the project, the field it changes (``spec``), the new list,
    the command that changes it, and the revision that changes the column (its file name
    ``NNNN_<slug>.py``, its template in includes/ and what that template reads)."""

    project: Project
    spec: dict[str, Any]
    fields: list[dict[str, Any]]
    label: str
    slug: str
    migration_template: str
    migration_context: dict[str, Any]


def apply_change(change: FieldsChange, *, dry_run: bool, inline_conflicts: bool) -> ChangeResult:
    """Merge ``change`` into the project's files, all or nothing, with its new revision.
    Raises ConflictError (nothing written) on a conflict with the user's edits, unless
    ``inline_conflicts``: then those files get git's conflict markers."""
    project = change.project
    # The installed template writes the revision: its migration templates read the field
    # specs of any version.
    installed = Renderer()
    migration = field_migration(
        project, change.slug, change.migration_template, change.migration_context, installed
    )
    # The project's own template version renders both sides, so the merge is exact whatever
    # version the project is at; `usergen update` is what moves it to another version.
    with versions.template_of(project.template_version) as root:
        renderer = installed if root.resolve() == installed.root else Renderer(root)
        planned = plan(project, change.fields, migration, renderer, change.label)
    changes, conflicts = planned.changes, planned.conflicts
    if conflicts and not inline_conflicts:
        raise ConflictError(
            f"the change conflicts with your edits in {len(conflicts)} file(s); nothing "
            "was changed",
            conflicts,
        )
    for conflict in conflicts:
        if conflict.marked is None:
            raise ConflictError(
                f"{conflict.path}: {conflict.reason}; nothing was changed", conflicts
            )
        changes.writes[conflict.path] = conflict.marked
    updated: list[str] = []
    created: list[str] = []
    for rel in sorted(changes.writes):
        (updated if (project.root / rel).is_file() else created).append(rel)
    result = ChangeResult(project, change.spec, planned.migration, updated, created, conflicts)
    if dry_run:
        result.diff = unified_diff(project.root, changes)
    else:
        files.apply(changes, planned.modes)
    return result


def taken_names(project: Project) -> set[str]:
    """The names a new field cannot have: fields added before, and columns the user added to
    the user table by hand (a method or property of that name is refused by check_free)."""
    in_code = field_names_in_code(project)
    columns = {name for name, what in in_code.items() if what.startswith("an attribute")}
    return {spec["name"] for spec in project.fields} | columns


def check_free(project: Project, name: str) -> None:
    """UsageError if the user's own code on the user classes already defines ``name``."""
    what = field_names_in_code(project).get(name)
    if what is not None and name not in {spec["name"] for spec in project.fields}:
        raise UsageError(
            f"the user already has {name!r}: it is {what}; a field of that name would clash "
            "with it (registration would fail), so choose another name or rename yours"
        )


def add_field(
    path: Path,
    name: str,
    type_: str,
    options: FieldOptions,
    *,
    backfill_from: str | None = None,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> ChangeResult:
    """Add the field ``name`` of ``type_`` to the project at or above ``path``.

    Raises UsergenError (nothing written) for bad input, and ConflictError (nothing written)
    when the change conflicts with the user's edits, unless ``inline_conflicts``: then the
    conflicting files get git's conflict markers and the result lists them.
    """
    project = load(path)
    spec = parse_field(name, type_, options, taken_names(project))
    check_free(project, name)
    backfill = check_backfill(spec, backfill_from)
    if spec["required"] and "default" not in spec:
        check_version(project, "a required field without --default")
    change = FieldsChange(
        project,
        spec,
        [*project.fields, spec],
        f"usergen add-field {name}",
        f"add_{name}_to_user",
        ADD_FIELD_MIGRATION,
        {"field": spec, "backfill_from": backfill},
    )
    return apply_change(change, dry_run=dry_run, inline_conflicts=inline_conflicts)


# The first template version whose tests and models handle a required field without a default
# (one the client must send).
MUST_SEND_VERSION = "0.2.0"


def check_version(project: Project, what: str) -> None:
    """UsageError if the project's template version is older than MUST_SEND_VERSION."""
    if versions.parse(project.template_version) < versions.parse(MUST_SEND_VERSION):
        raise UsageError(
            f"{what} needs template {MUST_SEND_VERSION} or later; this project is at "
            f"{project.template_version}: run `usergen update` first"
        )


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
