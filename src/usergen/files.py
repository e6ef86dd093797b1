"""All-or-nothing changes to a folder of files.

`apply` writes a planned set of changes so that, whatever happens half-way (an error, a full
disk, Ctrl-C), the folder ends either fully changed or exactly as it was.
"""

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType


@dataclass
class Changes:
    """Planned changes under ``root``: relative path → new content, and paths to delete."""

    root: Path
    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.writes or self.deletes)


@dataclass
class _Undo:
    """What `apply` did so far, to take it back."""

    restore: dict[Path, bytes | None] = field(default_factory=dict)  # path → old content/None
    modes: dict[Path, int] = field(default_factory=dict)
    created_dirs: list[Path] = field(default_factory=list)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C (and SIGTERM) until the block ends, then raise it; the block sees the
    signals held so far."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set from the main thread
        return

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if signal.SIGINT in received:
        raise KeyboardInterrupt
    if received:
        raise SystemExit(128 + received[0])


def _write_atomic(path: Path, content: bytes, mode: int | None) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _make_dirs(folder: Path, undo: _Undo) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir()
        undo.created_dirs.append(new)


def _rollback(undo: _Undo) -> None:
    for path, old in undo.restore.items():
        if old is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            _write_atomic(path, old, undo.modes.get(path))
    for folder in reversed(undo.created_dirs):
        with contextlib.suppress(OSError):
            folder.rmdir()


def apply(
    changes: Changes, modes: Mapping[str, int] | None = None, *, undo_if_interrupted: bool = False
) -> None:
    """Apply ``changes`` completely, or not at all.

    ``modes`` optionally gives the permission bits of new files (by relative path). Ctrl-C
    (or SIGTERM) during the writes lets them finish, then interrupts; with
    ``undo_if_interrupted`` it undoes them first, so the files are as they were.
    """
    undo = _Undo()
    with _interrupts_deferred() as interrupted:
        try:
            for rel in sorted(changes.writes):
                path = changes.root / rel
                _make_dirs(path.parent, undo)
                old = path.read_bytes() if path.exists() else None
                undo.restore.setdefault(path, old)
                if old is not None:
                    undo.modes[path] = path.stat().st_mode & 0o7777
                mode = undo.modes.get(path, (modes or {}).get(rel))
                _write_atomic(path, changes.writes[rel], mode)
            for rel in sorted(changes.deletes):
                path = changes.root / rel
                if path.exists():
                    undo.restore.setdefault(path, path.read_bytes())
                    undo.modes[path] = path.stat().st_mode & 0o7777
                    path.unlink()
        except BaseException:
            _rollback(undo)
            raise
        if interrupted and undo_if_interrupted:
            _rollback(undo)
