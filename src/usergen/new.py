"""`usergen new`: generate the user module into a new or existing folder."""

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from usergen import files
from usergen.errors import UsergenError
from usergen.names import check_package_name, check_project_name, package_from_folder
from usergen.project import check_oauth_providers
from usergen.render import CREATE_ONLY, Renderer, answers_of, render


@dataclass
class NewProject:
    """What `new` wrote, for the report."""

    dest: Path
    package: str
    database: str
    written: list[str]
    unchanged: list[str]


def check_destination(dest: Path) -> None:
    """Refuse a destination that cannot become a project folder, before rendering anything."""
    if dest.exists() and not dest.is_dir():
        raise UsergenError(f"{dest} exists and is not a folder")
    existing = dest
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsergenError(f"cannot create {dest}: {existing} is not a folder")
    try:  # the one reliable test of writability is to write
        tempfile.TemporaryDirectory(dir=existing, prefix=".usergen-").cleanup()
    except OSError as error:
        raise UsergenError(f"cannot write to {existing}: {error.strerror}") from None


def default_project_name(dest: Path, package: str) -> str:
    try:
        return check_project_name(dest.name)
    except UsergenError:
        return package.replace("_", "-")


def generate(
    dest: Path,
    *,
    package: str | None,
    database: str | None,
    interactive: bool,
    data_layer: str | None = None,
    pages: bool | None = None,
    oauth_providers: list[str] | None = None,
    overwrite: bool,
) -> NewProject:
    """Render the project and write it into ``dest``: all files, or none.

    An existing file with other content is a conflict: nothing is written unless
    ``overwrite``. Files that already hold exactly the rendered content are left alone.
    """
    dest = dest.resolve()
    check_destination(dest)
    answers: dict[str, object] = {}
    if package is not None:
        answers["package_name"] = check_package_name(package)
    elif not interactive:
        answers["package_name"] = package_from_folder(dest)
    if not interactive:
        answers["project_name"] = default_project_name(dest, str(answers["package_name"]))
    if database is not None:
        answers["database"] = database
    if data_layer is not None:
        answers["data_layer"] = data_layer
    if pages is not None:
        answers["pages"] = pages
    if oauth_providers:
        answers["oauth_providers"] = check_oauth_providers(oauth_providers)

    renderer = Renderer()
    if interactive:
        rendered, modes = render(answers, dest.name, interactive=True)  # Copier asks
    else:
        # Same bytes as Copier (tests/test_render.py), without the cost of importing it.
        rendered, modes = renderer.render(answers, dest.name)

    changes = files.Changes(dest)
    unchanged, conflicts = [], []
    for rel, content in rendered.items():
        target = dest / rel
        if not target.exists():
            changes.writes[rel] = content
        elif target.is_file() and target.read_bytes() == content:
            unchanged.append(rel)
        elif target.is_file() and rel in CREATE_ONLY:
            unchanged.append(rel)  # e.g. keep the secret of an existing .env
        elif target.is_file() and overwrite:
            changes.writes[rel] = content
        else:
            conflicts.append(rel)
    if conflicts:
        listing = "\n".join(f"  {rel}" for rel in conflicts)
        raise UsergenError(
            f"{len(conflicts)} file(s) in {dest} would be overwritten; nothing was written:\n"
            f"{listing}\nMove them aside, or pass --overwrite to replace them."
        )
    try:
        files.apply(changes, modes)
    except OSError as error:
        raise UsergenError(f"could not write the project ({error}); nothing was changed") from None
    # Only a head start for the next command (add-field answers faster): never fail `new`.
    with contextlib.suppress(Exception):
        renderer.precompile()
    recorded = answers_of(rendered)
    package_name = str(recorded.get("package_name", answers.get("package_name")))
    database_name = str(recorded.get("database", answers.get("database", "sqlite")))
    return NewProject(dest, package_name, database_name, sorted(changes.writes), unchanged)
