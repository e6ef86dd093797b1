"""`usergen update`: bring a project to another template version (or other answers), edits kept.

The algorithm, all in memory before anything is written:

1. Render the base: the project's recorded template version (from the archive in the wheel)
   with its recorded answers, fields included. That is what the user's files held before they
   edited them.
2. Render the target: the target version with the same answers (and any answer changed on the
   command line).
3. Merge base → target into the user's files, per file with `git merge-file` (merge.py). A file
   the user never touched takes the new content; an edited one gets the change merged in; a new
   template file is added; a file the template dropped goes only if the user left it unchanged;
   a file the user deleted stays deleted.
4. Migration history is never rewritten: the files under migrations/versions are the project's
   applied history. When the schema differs between the versions, each version crossed brings
   an upgrade step (`includes/schema_upgrades/VERSION.py.jinja` of the target template), and
   update writes them as one new Alembic revision chained after the project's current head.
   Social login brings its tables the same way when the project's first provider comes
   (`includes/oauth_tables.py.jinja`), and drops them when the last one goes.
5. Any conflict: nothing is written, unless the user asked for inline markers. Writes are all
   or nothing (files.py).
"""

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from usergen import files, versions
from usergen.add_field import ConflictError
from usergen.errors import UsageError, UsergenError
from usergen.fields import BUILT_IN_SINCE
from usergen.formatting import project_settings
from usergen.merge import Conflict, Labels, check_resolved, merge_change
from usergen.migrations import head, next_revision_id, read_revisions
from usergen.project import (
    DATA_LAYER_SINCE,
    DATA_LAYERS,
    DATABASES,
    OAUTH_SINCE,
    PAGES_SINCE,
    Project,
    check_oauth_providers,
    load,
)
from usergen.render import CREATE_ONLY, Renderer

UPGRADE_STEPS = "includes/schema_upgrades"
UPGRADE_MIGRATION = "includes/upgrade_migration.py.jinja"
# The tables of social login: in the first migration of a project that starts with it, in an
# update's revision for one that takes it up (or drops it) later.
OAUTH_TABLES = "includes/oauth_tables.py.jinja"


@dataclass
class Outcome:
    """What a change to a project wrote (or, for a dry run, would write)."""

    project: Project
    changes: files.Changes
    conflicts: list[Conflict] = field(default_factory=list)  # written with markers
    kept: dict[str, str] = field(default_factory=dict)
    migration: str | None = None
    # The files that exist before the change is written (so a new migration reads as created).
    existing: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.existing = {rel for rel in self.changes.writes if (self.project.root / rel).exists()}

    @property
    def updated(self) -> list[str]:
        return sorted(rel for rel in self.changes.writes if rel in self.existing)

    @property
    def created(self) -> list[str]:
        return sorted(rel for rel in self.changes.writes if rel not in self.existing)

    @property
    def deleted(self) -> list[str]:
        return sorted(self.changes.deletes)


@dataclass
class UpdateResult(Outcome):
    old_version: str = ""
    new_version: str = ""
    changed_answers: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def target_answers(
    project: Project,
    to: str,
    database: str | None,
    data_layer: str | None = None,
    pages: bool | None = None,
    oauth_providers: list[str] | None = None,
) -> dict[str, Any]:
    """The project's answers as the target renders them, read back as the answers file will be."""
    answers = {**project.answers, "template_version": to}
    since_oauth = versions.parse(to) >= versions.parse(OAUTH_SINCE)
    if oauth_providers is not None and not since_oauth:
        raise UsageError(f"template {to} has no social login; it came with {OAUTH_SINCE}")
    if since_oauth:
        # A project from before social login has none until it asks (usergen add-oauth).
        chosen = project.oauth_providers if oauth_providers is None else oauth_providers
        answers["oauth_providers"] = check_oauth_providers(chosen)
    since_pages = versions.parse(to) >= versions.parse(PAGES_SINCE)
    if pages is not None and not since_pages:
        raise UsageError(f"template {to} has no account pages; they came with {PAGES_SINCE}")
    if since_pages:
        # A project from before the pages has none until it asks for them (--pages).
        answers["pages"] = project.pages if pages is None else pages
    if database is not None:
        if database not in DATABASES:
            raise UsageError(f"unknown database {database!r}: use one of {', '.join(DATABASES)}")
        answers["database"] = database
    if data_layer is not None:
        if data_layer not in DATA_LAYERS:
            raise UsageError(
                f"unknown data layer {data_layer!r}: use one of {', '.join(DATA_LAYERS)}"
            )
        if versions.parse(to) < versions.parse(DATA_LAYER_SINCE):
            raise UsageError(
                f"template {to} has only the databases layer; choosing one needs template "
                f"{DATA_LAYER_SINCE} or later"
            )
        answers["data_layer"] = data_layer
    loaded = yaml.safe_load(yaml.safe_dump(answers, sort_keys=True, allow_unicode=True))
    return dict(loaded)


def keep_history(old: dict[str, bytes], new: dict[str, bytes], versions: str) -> None:
    """Make ``new`` leave the migration history (in the folder ``versions``) as the project has
    it (see the module doc)."""
    for rel in [*new]:
        if rel.startswith(f"{versions}/") and rel not in old:
            del new[rel]
    for rel, content in old.items():
        if rel.startswith(f"{versions}/"):
            new[rel] = content


# What every upgrade revision imports; the steps add their own.
MIGRATION_IMPORTS = {
    "from collections.abc import Sequence",
    "import sqlalchemy as sa",
    "from alembic import op",
}


def import_block(lines: set[str]) -> list[str]:
    """Import lines in the order ruff's isort wants: the standard library, a blank line, the
    rest; in each, ``import x`` lines before ``from x import y`` lines, by module."""

    def module(line: str) -> str:
        return line.split()[1]

    def ordered(group: list[str]) -> list[str]:
        return sorted(group, key=lambda line: (line.startswith("from "), module(line)))

    stdlib = [line for line in lines if module(line).split(".")[0] in sys.stdlib_module_names]
    others = [line for line in lines if line not in stdlib]
    return ordered(stdlib) + ([""] if stdlib and others else []) + ordered(others)


@dataclass(frozen=True)
class SchemaStep:
    """A change of the schema an update brings: the `imports`, `upgrade` and `downgrade` macros
    of ``template`` (swapped when ``reverse``: the step undone), under ``title``."""

    title: str
    template: str
    reverse: bool = False
    version: str = ""  # what the releases before 0.8.0 name a step by


def version_steps(renderer: Renderer, crossed: list[str]) -> list[SchemaStep]:
    """The upgrade steps of the template versions ``crossed`` that change the schema."""
    return [
        SchemaStep(f"Template {version}", f"{UPGRADE_STEPS}/{version}.py.jinja", version=version)
        for version in crossed
        if (renderer.root / UPGRADE_STEPS / f"{version}.py.jinja").is_file()
    ]


def oauth_step(before: list[str], after: list[str]) -> SchemaStep | None:
    """Social login's tables come with the first provider and go with the last."""
    if not before and after:
        return SchemaStep("Social login", OAUTH_TABLES)
    if before and not after:
        return SchemaStep("No more social login", OAUTH_TABLES, reverse=True)
    return None


def upgrade_migration(
    project: Project,
    renderer: Renderer,
    answers: dict[str, Any],
    schema_steps: list[SchemaStep],
    summary: str,
    name: str,
    target: str,
    *,
    today: dt.date | None = None,
) -> tuple[str, bytes] | None:
    """The revision that makes ``schema_steps``, chained after the project's current head and
    named ``name``; None without steps."""
    if not schema_steps:
        return None
    context = renderer.context(answers, project.root.name)
    steps = []
    for step in schema_steps:
        module = renderer.env.get_template(step.template).make_module(context)
        body = {part: str(getattr(module, part)()) for part in ("imports", "upgrade", "downgrade")}
        if step.reverse:
            body["upgrade"], body["downgrade"] = body["downgrade"], body["upgrade"]
        steps.append(
            {
                "title": step.title,
                "version": step.version,
                "imports": [line for line in body["imports"].splitlines() if line.strip()],
                "upgrade": body["upgrade"].strip("\n"),
                "downgrade": body["downgrade"].strip("\n"),
            }
        )
    revisions = read_revisions(project.root, project.versions_dir)
    revision = next_revision_id(revisions)
    relpath = f"{project.versions_dir}/{revision}_usergen_{name}.py"
    if (project.root / relpath).exists():
        raise UsergenError(f"{relpath} exists already")
    imports = {line for step in steps for line in step["imports"]}
    content = renderer.render_template(
        UPGRADE_MIGRATION,
        {
            "steps": steps,
            "imports": import_block(imports | MIGRATION_IMPORTS),
            "summary": summary,
            "target": target,  # the releases before 0.8.0 say only this
            "revision": revision,
            "down_revision": head(revisions),
            "create_date": (today or dt.date.today()).isoformat(),
        },
        project_settings(project.root, existing_app=bool(project.existing_app)),
    )
    return relpath, content.encode()


def update(
    path: Path,
    *,
    to: str | None = None,
    database: str | None = None,
    data_layer: str | None = None,
    pages: bool | None = None,
    oauth_providers: list[str] | None = None,
    drop_oauth_accounts: bool = False,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> UpdateResult:
    """Update the project at or above ``path`` to template version ``to`` (default: this
    usergen's), changing the database, data layer, pages or OAuth providers answer too if given.
    Leaving no OAuth provider drops the linked accounts' table: only with
    ``drop_oauth_accounts``.

    Raises UsergenError (nothing written) for bad input, and ConflictError (nothing written)
    when the change conflicts with the user's edits, unless ``inline_conflicts``.
    """
    project = load(path)
    old_version = project.template_version
    versions.check_shipped(old_version)
    target = to or versions.current()
    versions.check_shipped(target)
    if versions.parse(target) < versions.parse(old_version):
        raise UsageError(
            f"the project is at template version {old_version}, newer than {target}; update "
            "does not go back (your version control does)"
        )
    check_no_field_becomes_built_in(project, old_version, target)
    new_answers = target_answers(project, target, database, data_layer, pages, oauth_providers)
    # Projects from before the data_layer answer are on `databases`, and have no pages and no
    # social login.
    implied = {
        "data_layer": project.data_layer,
        "pages": project.pages,
        "oauth_providers": project.oauth_providers,
    }
    before = {**project.answers, **implied}
    after = {**implied, **new_answers}
    changed = {
        key: (before[key], after[key])
        for key in ("template_version", "database", "data_layer", "pages", "oauth_providers")
        if before[key] != after[key]
    }
    oauth = oauth_step(before["oauth_providers"], after["oauth_providers"])
    if oauth is not None and oauth.reverse and not drop_oauth_accounts:
        raise UsageError(
            "with no OAuth provider left, the migration drops the table of linked accounts "
            "(every user's link to a provider goes; their accounts stay): run again with --yes "
            "to go on; nothing was changed"
        )
    folder = project.root.name
    # Both sides formatted with the project's ruff settings, so the merge compares like with like.
    ruff = project_settings(project.root, existing_app=bool(project.existing_app))
    with versions.template_of(old_version) as root:
        old, _ = Renderer(root).render(project.answers, folder, skip=CREATE_ONLY, ruff=ruff)
    check_resolved(project.root, [*old, *history(project)])
    with versions.template_of(target) as root:
        renderer = Renderer(root)
        new, modes = renderer.render(new_answers, folder, skip=CREATE_ONLY, ruff=ruff)
        keep_history(old, new, project.versions_dir)
        crossed = [
            version
            for version in versions.shipped()
            if versions.parse(old_version) < versions.parse(version) <= versions.parse(target)
        ]
        steps = version_steps(renderer, crossed) + ([oauth] if oauth is not None else [])
        name, summary = migration_name(old_version, target, oauth)
        migration = upgrade_migration(project, renderer, new_answers, steps, summary, name, target)
    labels = Labels(yours="yours", base=f"template {old_version}", theirs=f"template {target}")
    merged = merge_change(project.root, old, new, labels, keep_users_choice=True)
    changes = files.Changes(project.root, dict(merged.writes), set(merged.deletes))
    if migration is not None:
        changes.writes[migration[0]] = migration[1]
        modes[migration[0]] = 0o644
    result = UpdateResult(
        project,
        changes,
        kept=merged.kept,
        migration=migration[0] if migration else None,
        old_version=old_version,
        new_version=target,
        changed_answers=changed,
    )
    finish(result, merged.conflicts, modes, dry_run=dry_run, inline_conflicts=inline_conflicts)
    return result


def migration_name(old: str, target: str, oauth: SchemaStep | None) -> tuple[str, str]:
    """The update revision's file name part and summary line."""
    if old != target or oauth is None:
        return target.replace(".", "_"), f"Bring the user tables to usergen template {target}."
    if oauth.reverse:
        return "no_oauth", "Drop the tables of social login."
    return "oauth", "Create the tables of social login."


def check_no_field_becomes_built_in(project: Project, old_version: str, target: str) -> None:
    """Refuse an update that would give the user a built-in field by the name of one the
    project added: the table would get the column twice."""
    for spec in project.fields:
        since = BUILT_IN_SINCE.get(spec["name"])
        if since is not None and (
            versions.parse(old_version) < versions.parse(since) <= versions.parse(target)
        ):
            raise UsageError(
                f"template {since} has a built-in field {spec['name']!r}, the name of one of "
                f"yours: rename yours first (usergen rename-field {spec['name']} NEW_NAME), "
                "then update; nothing was changed"
            )


def history(project: Project) -> list[str]:
    """The project's migration files (relative paths)."""
    folder = project.root / project.versions_dir
    return [path.relative_to(project.root).as_posix() for path in sorted(folder.glob("*.py"))]


def finish(
    outcome: Outcome,
    conflicts: list[Conflict],
    modes: dict[str, int],
    *,
    dry_run: bool,
    inline_conflicts: bool,
) -> None:
    """Refuse on conflicts (or write them with markers), then write everything, or nothing."""
    if conflicts and not inline_conflicts:
        raise ConflictError(
            f"the change conflicts with your edits in {len(conflicts)} file(s); nothing was "
            "changed",
            conflicts,
        )
    for conflict in conflicts:
        if conflict.marked is None:
            raise ConflictError(
                f"{conflict.path}: {conflict.reason}; nothing was changed", conflicts
            )
        outcome.changes.writes[conflict.path] = conflict.marked
    outcome.conflicts = conflicts
    if not dry_run:
        files.apply(outcome.changes, modes)
