"""The 3-way merge of a template change into the user's files."""

from pathlib import Path

from usergen.merge import conflict_hunks, merge_change

BASE = b"class User:\n    email: str\n    password: str\n\n\ndef helper() -> None:\n    pass\n"
NEW = BASE.replace(b"    password", b"    nickname: str\n    password")


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)


def test_untouched_files_take_the_new_render(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": BASE})

    merge = merge_change(tmp_path, {"a.py": BASE, "same.py": b"x"}, {"a.py": NEW, "same.py": b"x"})

    assert merge.writes == {"a.py": NEW}
    assert merge.conflicts == []


def test_edits_elsewhere_in_the_file_are_kept(tmp_path: Path) -> None:
    edited = BASE.replace(b"    pass\n", b"    print('mine')\n")
    write(tmp_path, {"a.py": edited})

    merge = merge_change(tmp_path, {"a.py": BASE}, {"a.py": NEW})

    assert merge.writes == {"a.py": NEW.replace(b"    pass\n", b"    print('mine')\n")}


def test_edits_of_the_same_lines_conflict_and_name_the_hunk(tmp_path: Path) -> None:
    edited = BASE.replace(b"    password: str\n", b"    password: bytes\n")
    write(tmp_path, {"a.py": edited})

    merge = merge_change(tmp_path, {"a.py": BASE}, {"a.py": NEW})

    assert merge.writes == {}
    (conflict,) = merge.conflicts
    assert conflict.path == "a.py"
    (hunk,) = conflict.hunks
    assert hunk.lines == "line 3"
    assert hunk.yours == ["    password: bytes"]
    assert hunk.theirs == ["    nickname: str", "    password: str"]
    assert conflict.marked is not None
    assert b"<<<<<<< yours\n    password: bytes\n=======\n" in conflict.marked


def test_new_files_are_created_unless_the_user_has_another(tmp_path: Path) -> None:
    write(tmp_path, {"mine.py": b"my own\n", "same.py": b"new\n"})
    new = {"fresh.py": b"new\n", "mine.py": b"new\n", "same.py": b"new\n"}

    merge = merge_change(tmp_path, {}, new)

    assert merge.writes == {"fresh.py": b"new\n"}
    assert [(c.path, c.reason) for c in merge.conflicts] == [
        ("mine.py", "you have a different file there")
    ]


def test_deleted_or_removed_files(tmp_path: Path) -> None:
    write(tmp_path, {"gone.py": BASE, "edited_gone.py": b"mine\n"})
    old = {"gone.py": BASE, "edited_gone.py": BASE, "deleted_by_user.py": BASE}
    new = {"deleted_by_user.py": NEW}

    merge = merge_change(tmp_path, old, new)

    assert merge.deletes == {"gone.py"}
    assert {c.path: c.marked for c in merge.conflicts} == {
        "deleted_by_user.py": None,
        "edited_gone.py": None,
    }


def test_hunks_are_located_in_the_users_file() -> None:
    """Lines the change added cleanly (x, y) do not shift the reported lines."""
    marked = (
        b"x\na\n<<<<<<< y\nb\nc\n=======\nB\n>>>>>>> t\ny\nd\n<<<<<<< y\n=======\nE\n>>>>>>> t\n"
    )

    hunks = conflict_hunks(marked, yours=b"a\nb\nc\nd\n")

    assert [(h.lines, h.yours, h.theirs) for h in hunks] == [
        ("lines 2-3", ["b", "c"], ["B"]),
        ("line 5", [], ["E"]),
    ]


def test_a_whole_template_update_keeps_what_the_user_deleted_or_kept(tmp_path: Path) -> None:
    """`usergen update` leaves a deleted file deleted, and an edited file the new template
    dropped in place; a dropped file the user never touched goes."""
    write(tmp_path, {"edited.py": BASE + b"# mine\n", "untouched.py": BASE})
    old = {"deleted.py": BASE, "edited.py": BASE, "untouched.py": BASE}
    new = {"deleted.py": NEW}

    strict = merge_change(tmp_path, old, new)
    merge = merge_change(tmp_path, old, new, keep_users_choice=True)

    assert sorted(conflict.path for conflict in strict.conflicts) == ["deleted.py", "edited.py"]
    assert merge.conflicts == []
    assert merge.writes == {}
    assert merge.deletes == {"untouched.py"}
    assert set(merge.kept) == {"deleted.py", "edited.py"}
