"""Keeping the user's edits: a 3-way merge of two renders of the template into their files.

``old`` is the project as the template rendered it before (the base), ``new`` as it renders
it now; the user's files hold the base plus their edits. Per file, `git merge-file` applies
the template's change (base → new) to the user's version, as `copier update` does. Nothing
here knows why the render changed (a new field, a newer template), so ``usergen update`` can
use it as it is.
"""

import difflib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from usergen.errors import UsergenError

# git merge-file's default marker lines.
_OURS, _SEP, _THEIRS = "<<<<<<< ", "=======", ">>>>>>> "


@dataclass(frozen=True)
class Hunk:
    """One conflicting region: where it is in the user's file, and both sides."""

    first_line: int  # 1-based, in the user's file
    yours: list[str]
    theirs: list[str]

    @property
    def lines(self) -> str:
        last = self.first_line + max(len(self.yours), 1) - 1
        if last == self.first_line:
            return f"line {self.first_line}"
        return f"lines {self.first_line}-{last}"


@dataclass(frozen=True)
class Conflict:
    """A file whose change could not be merged with the user's edits."""

    path: str
    reason: str
    hunks: list[Hunk] = field(default_factory=list)
    # The file with conflict markers, when markers can say it (None: they cannot).
    marked: bytes | None = None

    def marker_lines(self) -> list[int]:
        """Where the conflicts start in the marked file (1-based)."""
        lines = (self.marked or b"").decode(errors="replace").split("\n")
        return [number for number, line in enumerate(lines, 1) if line.startswith(_OURS)]


@dataclass
class Merge:
    """What merging a change into the user's files gives."""

    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    conflicts: list[Conflict] = field(default_factory=list)
    # With ``keep_users_choice``: files left as the user has them (path → why).
    kept: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Labels:
    """How conflict markers name the three versions."""

    yours: str = "yours"
    base: str = "generated before"
    theirs: str = "generated now"


def merge_file(
    yours: bytes, base: bytes, theirs: bytes, labels: Labels = Labels(), *, workdir: Path
) -> tuple[bytes, int]:
    """`git merge-file -p`: the merged content, and the number of conflicts in it."""
    git = shutil.which("git")
    if git is None:
        raise UsergenError("git is needed to merge the change into your edited files; install it")
    paths = []
    for name, content in (("yours", yours), ("base", base), ("theirs", theirs)):
        path = workdir / name
        path.write_bytes(content)
        paths.append(str(path))
    command = [git, "merge-file", "-p", "-L", labels.yours, "-L", labels.base, "-L", labels.theirs]
    result = subprocess.run([*command, *paths], capture_output=True, check=False)
    if not 0 <= result.returncode < 128:
        stderr = result.stderr.decode(errors="replace").strip()
        raise UsergenError(f"git merge-file failed: {stderr}")
    return result.stdout, result.returncode


def conflict_hunks(marked: bytes, yours: bytes) -> list[Hunk]:
    """The conflicts in a file holding git's markers, located in the user's file ``yours``.

    The marked file also holds the change's lines that merged cleanly, so its line numbers
    are not the user's: its "yours" view (markers and the other side left out) is aligned
    with the user's file to find them.
    """
    view: list[str] = []  # the marked file as the user's side sees it
    spans: list[tuple[int, list[str], list[str]]] = []  # (index in view, yours, theirs)
    side: list[str] | None = None
    ours: list[str] = []
    theirs: list[str] = []
    for line in marked.decode(errors="replace").split("\n"):
        if side is None and line.startswith(_OURS):
            ours, theirs = [], []
            side = ours
        elif side is ours and line == _SEP:
            side = theirs
        elif side is theirs and line.startswith(_THEIRS):
            spans.append((len(view), ours, theirs))
            view.extend(ours)
            side = None
        elif side is not None:
            side.append(line)
        else:
            view.append(line)
    users = yours.decode(errors="replace").split("\n")
    to_users: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, view, users, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            to_users[block.a + offset] = block.b + offset
    hunks = []
    for index, ours, theirs in spans:
        if ours and index in to_users:
            first = to_users[index] + 1
        else:  # nothing of theirs on the user's side: just after the line before it
            before = max((i for i in to_users if i < index), default=-1)
            first = to_users.get(before, -1) + 2
        hunks.append(Hunk(first, ours, theirs))
    return hunks


def merge_change(
    root: Path,
    old: Mapping[str, bytes],
    new: Mapping[str, bytes],
    labels: Labels = Labels(),
    *,
    keep_users_choice: bool = False,
) -> Merge:
    """Merge the change from render ``old`` to render ``new`` into the files under ``root``.

    Files the two renders agree on are not looked at. A file the user never touched takes the
    new content; an edited one gets the change merged in; a conflict is reported (with the
    marked content, where markers can express it) and nothing is written for it.

    A file the user deleted, or edited when the change removes it, is a conflict, unless
    ``keep_users_choice``: then it stays as the user has it (deleted, or edited) and
    ``kept`` says so. That suits an update of the whole template, where such a file is the
    user's decision; a change that needs the file (a new field) must say it cannot apply.
    """
    merge = Merge()
    with tempfile.TemporaryDirectory(prefix="usergen-merge-") as tmp:
        workdir = Path(tmp)
        for rel in sorted(old.keys() | new.keys()):
            before, after = old.get(rel), new.get(rel)
            if before == after:
                continue
            path = root / rel
            current = path.read_bytes() if path.is_file() else None
            if path.exists() and current is None:
                merge.conflicts.append(Conflict(rel, "is not a file, but the change writes it"))
            elif current == after:
                continue
            elif after is None:
                if current is None:
                    continue
                if current == before:
                    merge.deletes.add(rel)
                elif keep_users_choice:
                    merge.kept[rel] = "you edited it; the new template no longer has it"
                else:
                    merge.conflicts.append(
                        Conflict(rel, "you edited it, and the change removes it")
                    )
            elif current is None:
                if before is None:
                    merge.writes[rel] = after
                elif keep_users_choice:
                    merge.kept[rel] = "you deleted it; it stays deleted"
                else:
                    merge.conflicts.append(
                        Conflict(
                            rel, "you deleted it, and the change updates it (restore it first)"
                        )
                    )
            elif current == before:
                merge.writes[rel] = after
            else:
                merged, conflicts = merge_file(
                    current, before or b"", after, labels, workdir=workdir
                )
                if conflicts:
                    reason = (
                        "your edits and the change touch the same lines"
                        if before is not None
                        else "you have a different file there"
                    )
                    merge.conflicts.append(
                        Conflict(rel, reason, conflict_hunks(merged, current), merged)
                    )
                else:
                    merge.writes[rel] = merged
    return merge


def unresolved_conflicts(root: Path, paths: Iterable[str]) -> dict[str, int]:
    """The files among ``paths`` (relative to ``root``) that still hold conflict markers, with
    the line of the first one: a command that merged them must not run on them again."""
    found: dict[str, int] = {}
    for rel in sorted(set(paths)):
        try:
            lines = (root / rel).read_bytes().split(b"\n")
        except OSError:
            continue
        starts = [number for number, line in enumerate(lines, 1) if line.startswith(b"<<<<<<< ")]
        if starts and b"=======" in lines and any(line.startswith(b">>>>>>> ") for line in lines):
            found[rel] = starts[0]
    return found


def check_resolved(root: Path, paths: Iterable[str]) -> None:
    """UsergenError naming every file among ``paths`` that still has conflict markers."""
    found = unresolved_conflicts(root, paths)
    if found:
        listing = "\n".join(f"  {rel}: line {line}" for rel, line in found.items())
        raise UsergenError(
            f"{len(found)} file(s) still have conflict markers from an earlier merge; resolve "
            f"them first (keep what you want, delete the marker lines), then run again:\n{listing}"
        )
