"""Finding where a project's migration chain ends, to extend it."""

from pathlib import Path

import pytest

from usergen.errors import UsergenError
from usergen.migrations import head, next_revision_id, read_revisions


def versions(tmp_path: Path, files: dict[str, str]) -> list:  # type: ignore[type-arg]
    folder = tmp_path / "migrations" / "versions"
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_text(body)
    return read_revisions(tmp_path)


def test_head_follows_user_revisions_with_any_id(tmp_path: Path) -> None:
    revisions = versions(
        tmp_path,
        {
            "0001_create.py": 'revision: str = "0001"\ndown_revision: str | None = None\n',
            "3f2a9c_phone.py": 'revision = "3f2a9c"\ndown_revision = "0001"\n',
            "0002_x.py": 'revision = "0002"\ndown_revision = "3f2a9c"\n',
        },
    )

    assert head(revisions) == "0002"
    assert next_revision_id(revisions) == "0003"


def test_merge_revisions_are_followed(tmp_path: Path) -> None:
    revisions = versions(
        tmp_path,
        {
            "a.py": 'revision = "a"\ndown_revision = None\n',
            "b.py": 'revision = "b"\ndown_revision = "a"\n',
            "c.py": 'revision = "c"\ndown_revision = "a"\n',
            "m.py": 'revision = "m"\ndown_revision = ("b", "c")\n',
        },
    )

    assert head(revisions) == "m"
    assert next_revision_id(revisions) == "0001"


def test_several_heads_are_refused(tmp_path: Path) -> None:
    revisions = versions(
        tmp_path,
        {
            "a.py": 'revision = "a"\ndown_revision = None\n',
            "b.py": 'revision = "b"\ndown_revision = "a"\n',
            "c.py": 'revision = "c"\ndown_revision = "a"\n',
        },
    )

    with pytest.raises(UsergenError, match=r"several heads: b \(b.py\), c \(c.py\).*merge heads"):
        head(revisions)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("revision = \n", "cannot read the migration"),
        ("down_revision = None\n", "has no revision id"),
        ("revision = make_id()\ndown_revision = None\n", "not a literal"),
    ],
)
def test_unreadable_revisions_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(UsergenError, match=message):
        versions(tmp_path, {"bad.py": body})
