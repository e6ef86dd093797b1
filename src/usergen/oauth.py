"""`usergen add-oauth` and `remove-oauth`: social login providers, as an update of the answers.

Adding or removing a provider is an update to the project's own template version with another
`oauth_providers` answer: the same merge keeps the user's edits, and the first provider brings
the tables of linked accounts in a new migration (the last one takes them away).
"""

from pathlib import Path

from usergen import versions
from usergen.errors import UsageError
from usergen.project import OAUTH_SINCE, check_oauth_providers, load
from usergen.update import UpdateResult, update


def add_oauth(
    path: Path, providers: list[str], *, dry_run: bool = False, inline_conflicts: bool = False
) -> UpdateResult:
    """Let users of the project at or above ``path`` log in with ``providers`` too."""
    project = load(path)
    check_oauth_providers(providers)
    if versions.parse(project.template_version) < versions.parse(OAUTH_SINCE):
        raise UsageError(
            f"the project is at template {project.template_version}; social login came with "
            f"{OAUTH_SINCE}: run usergen update first, then add-oauth; nothing was changed"
        )
    present = [name for name in providers if name in project.oauth_providers]
    if present:
        raise UsageError(f"{present[0]} is a provider of the project already; nothing was changed")
    return update(
        path,
        to=project.template_version,
        oauth_providers=[*project.oauth_providers, *providers],
        dry_run=dry_run,
        inline_conflicts=inline_conflicts,
    )


def remove_oauth(
    path: Path,
    providers: list[str],
    *,
    yes: bool = False,
    dry_run: bool = False,
    inline_conflicts: bool = False,
) -> UpdateResult:
    """Stop logins with ``providers``; with the last one, the linked accounts' table goes
    (``yes`` says so)."""
    project = load(path)
    check_oauth_providers(providers)
    absent = [name for name in providers if name not in project.oauth_providers]
    if absent:
        have = ", ".join(project.oauth_providers) or "none"
        raise UsageError(f"{absent[0]} is not a provider of the project (it has: {have})")
    remaining = [name for name in project.oauth_providers if name not in providers]
    result = update(
        path,
        to=project.template_version,
        oauth_providers=remaining,
        drop_oauth_accounts=yes,
        dry_run=dry_run,
        inline_conflicts=inline_conflicts,
    )
    if not remaining:
        # The user's edited files of the social login package stay, but the modules they import
        # are gone: say so, rather than leave a file that no longer imports for mypy to find.
        package = f"{project.users_dir}/oauth/"
        for rel in result.kept:
            if rel.startswith(package):
                result.kept[rel] = (
                    "you edited it; social login is gone and so are the modules it imports: "
                    "move what you need from it, then delete it"
                )
    return result
