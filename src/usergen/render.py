"""Rendering the bundled Copier template into memory.

Copier is imported here only, and only when a command renders, so ``usergen --help`` and bad
input answer at once.
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from usergen.errors import UsergenError

ANSWERS_FILE = ".copier-answers.yml"
# Files the project owns after generation: rendered once, never merged or overwritten later.
CREATE_ONLY = {".env"}


def template_root() -> Path:
    """The folder holding copier.yml: inside the installed wheel, or the source checkout."""
    here = Path(__file__).resolve().parent
    bundled = here / "_template"
    if (bundled / "copier.yml").is_file():
        return bundled
    checkout = here.parent.parent
    if (checkout / "copier.yml").is_file():
        return checkout
    raise UsergenError(f"the usergen template is missing from {bundled}; reinstall usergen")


def _plain_copy(root: Path, into: Path) -> Path:
    """Copy the template out of a git checkout, so Copier renders the files as they are
    rather than a git revision of them (and records no commit)."""
    into.mkdir()
    for name in ("copier.yml", "template", "includes"):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


def render(
    answers: dict[str, Any], folder_name: str, *, interactive: bool = False
) -> tuple[dict[str, bytes], dict[str, int]]:
    """Render the template with ``answers`` as for a folder called ``folder_name``.

    Returns the files (relative path → content) and their permission bits. Questions missing
    from ``answers`` are asked when ``interactive``, else take their defaults.
    """
    import copier  # slow to import: only when rendering

    with tempfile.TemporaryDirectory(prefix="usergen-") as tmp:
        root = template_root()
        if (root / ".git").exists():
            root = _plain_copy(root, Path(tmp, "template-src"))
        out = Path(tmp, "out", folder_name)
        try:
            copier.run_copy(
                str(root),
                str(out),
                data=answers,
                defaults=not interactive,
                quiet=True,
                unsafe=False,
                skip_tasks=True,
            )
        except KeyboardInterrupt:
            raise
        except Exception as error:  # Copier reports bad answers with its own exception types
            raise UsergenError(f"the template could not be rendered: {error}") from error
        files: dict[str, bytes] = {}
        modes: dict[str, int] = {}
        for path in sorted(out.rglob("*")):
            if path.is_file():
                rel = path.relative_to(out).as_posix()
                files[rel] = path.read_bytes()
                modes[rel] = path.stat().st_mode & 0o777
        return files, modes


def answers_of(files: dict[str, bytes]) -> dict[str, Any]:
    """The answers recorded in a rendered project."""
    loaded = yaml.safe_load(files[ANSWERS_FILE])
    return dict(loaded) if isinstance(loaded, dict) else {}
