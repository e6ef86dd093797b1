"""Template versions: every released one is frozen in the wheel, byte for byte as released, and
a change to the template after a release is a new version."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, run
from usergen import versions
from usergen.render import Renderer


def git_archive(commit: str) -> bytes | None:
    """The template's files at ``commit`` as `git archive` zips them (None without history)."""
    has = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
    )
    if has.returncode != 0:
        return None
    return subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=zip", commit, *versions.TEMPLATE_PARTS],
        capture_output=True,
        check=True,
    ).stdout


def test_every_release_has_its_archive_and_nothing_else_is_archived() -> None:
    archived = {path.stem for path in versions.RELEASES_FOLDER.glob("*.zip")}
    assert archived == set(versions.RELEASES)


@pytest.mark.parametrize("version", sorted(versions.RELEASES))
def test_release_archive_is_the_template_at_its_commit(version: str) -> None:
    expected = git_archive(versions.RELEASES[version])
    if expected is None:
        pytest.skip("this checkout has no git history to compare with")
    assert versions.archive(version).read_bytes() == expected


def test_template_changed_since_a_release_is_a_new_version(tmp_path: Path) -> None:
    current = versions.current()
    released = sorted(versions.RELEASES, key=versions.parse)
    if current in versions.RELEASES:
        versions.unpack(versions.archive(current), tmp_path)
        assert versions.template_files(versions.template_root()) == versions.template_files(
            tmp_path
        ), (
            f"the template changed since release {current}: set a new template_version in "
            "copier.yml (and the package version)"
        )
    else:
        assert versions.parse(current) > versions.parse(released[-1]), (
            f"template version {current} must be newer than the last release {released[-1]}"
        )


def test_package_version_follows_the_template_version() -> None:
    import usergen

    assert usergen.__version__ == versions.current()


@pytest.mark.parametrize("version", versions.shipped())
def test_every_shipped_version_renders(version: str, tmp_path: Path) -> None:
    with versions.template_of(version) as root:
        files, _ = Renderer(root).render(
            {"project_name": "shop", "package_name": "shop", "database": "sqlite", "fields": []},
            "shop",
        )
    assert f"template_version: {version}" in files[".copier-answers.yml"].decode()
    assert "shop/users/table.py" in files


@pytest.mark.slow
# The oldest, the last release and the one in development: the versions between were checked
# the same way while they were the last two, and an archive never changes.
@pytest.mark.parametrize("version", [*versions.shipped()[:1], *versions.shipped()[-2:]])
def test_shipped_versions_pass_ruff_and_mypy(version: str, tmp_path: Path) -> None:
    """A version, with one field of every kind of option, as projects at it look."""
    from tests.helpers import mypy_cache_dir, usergen

    project = tmp_path / "shop"
    with versions.template_of(version) as root:
        files, _ = Renderer(root).render(
            {
                "project_name": "shop",
                "package_name": "shop",
                "database": "postgresql",
                "fields": [],
            },
            "shop",
        )
    for rel, content in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_bytes(content)
    for args in (["nickname", "str", "--unique"], ["age", "int", "--default", "18"]):
        usergen("add-field", *args, cwd=project)
    run(sys.executable, "-m", "ruff", "check", "--no-cache", ".", cwd=project)
    run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".", cwd=project)
    run(sys.executable, "-m", "mypy", "--cache-dir", mypy_cache_dir(), cwd=project)
