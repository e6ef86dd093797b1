"""Rendered Python made to look as the project's own formatter makes it: ruff, with its settings.

The templates write plain code (one statement per line, imports in any order); `ruff check
--select I --fix` sorts the imports and `ruff format` wraps the lines, both with the ruff
settings of the project the code is for. Every render of a merge goes through here with the
same settings (the base of the project's own template version and the new one alike), so the
3-way merge compares code formatted one way, however the user has configured ruff.

Ruff runs once per batch of files, over a temporary folder: starting it costs more than
formatting a file.
"""

import contextlib
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from usergen.errors import UsergenError

# Ruff's own configuration files, in the order it prefers them within one folder.
CONFIG_FILES = (".ruff.toml", "ruff.toml", "pyproject.toml")
# The rendered file holding the template's own settings, for a project that does not exist yet.
TEMPLATE_CONFIG = "pyproject.toml"


@dataclass(frozen=True)
class RuffSettings:
    """Where the settings come from: a project's configuration file (``config``), ruff's
    defaults (``config`` None, a project without one), or the rendered pyproject.toml of the
    files being formatted (``rendered``: a new project)."""

    config: Path | None = None
    rendered: bool = False
    # The project's own Python files (in an existing app: its modules beside the user module),
    # which import sorting must know for first-party wherever the formatting runs.
    modules: tuple[str, ...] = ()


# The settings of a new project: the ones its rendered pyproject.toml gives it.
TEMPLATE_SETTINGS = RuffSettings(rendered=True)


def _has_ruff_table(path: Path) -> bool:
    if path.name != "pyproject.toml":
        return True
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsergenError(f"cannot read the ruff settings in {path}: {error}") from None
    return "ruff" in loaded.get("tool", {})


def project_settings(root: Path, *, existing_app: bool = False) -> RuffSettings:
    """The settings ruff applies to the project at ``root``: the nearest configuration file in
    it or a folder above it, as ruff itself finds it (its defaults if there is none). In an
    existing app (``existing_app``), with the app's own modules."""
    modules: tuple[str, ...] = ()
    if existing_app:
        from usergen.detect import project_files

        modules = tuple(rel.as_posix() for rel in project_files(root) if rel.suffix == ".py")
    for folder in (root.resolve(), *root.resolve().parents):
        for name in CONFIG_FILES:
            path = folder / name
            if path.is_file() and _has_ruff_table(path):
                return RuffSettings(config=path, modules=modules)
    return RuffSettings(modules=modules)


def ruff_binary() -> str:
    """The ruff executable that came with usergen (its dependency), else one on PATH."""
    try:
        from ruff import find_ruff_bin  # type: ignore[import-untyped]

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
        if found is None:
            raise UsergenError("ruff is missing; reinstall usergen (it depends on ruff)") from None
        return found


def is_python(relpath: str) -> bool:
    return relpath.endswith(".py")


def format_python(
    batches: list[Mapping[str, bytes]],
    settings: RuffSettings,
    layouts: list[Collection[str]] | None = None,
) -> list[dict[str, bytes]]:
    """``batches`` (each: relative path → content, a render) with every Python file formatted.

    Other files are returned as they are. One ruff run formats all the batches. ``layouts``
    (one per batch) lists every path of the project a batch is part of: sorting imports into
    sections needs to see which modules are the project's own, rendered or not.
    """
    results = [dict(batch) for batch in batches]
    if not any(is_python(rel) for batch in batches for rel in batch):
        return results
    with tempfile.TemporaryDirectory(prefix="usergen-format-") as tmp:
        folder = Path(tmp)
        targets: list[str] = []
        for number, batch in enumerate(batches):
            base = folder / str(number)
            for rel in [*(layouts[number] if layouts else ()), *settings.modules]:
                if is_python(rel) and rel not in batch and not (base / rel).exists():
                    (base / rel).parent.mkdir(parents=True, exist_ok=True)
                    (base / rel).touch()
            for rel, content in batch.items():
                if is_python(rel) or (settings.rendered and rel == TEMPLATE_CONFIG):
                    (base / rel).parent.mkdir(parents=True, exist_ok=True)
                    (base / rel).write_bytes(content)
                if is_python(rel):
                    targets.append(str(base / rel))
        options = ["--no-cache"]
        if settings.config is not None:
            options += ["--config", str(settings.config)]
        elif not settings.rendered:
            options.append("--isolated")  # no settings anywhere: ruff's defaults
        # Without a configuration file, ruff takes the current folder as the project's root.
        _run([*_check_imports(), *options, *targets], folder / "0")
        _run(["format", *options, *targets], folder / "0")
        for number, batch in enumerate(batches):
            for rel in batch:
                if is_python(rel):
                    results[number][rel] = (folder / str(number) / rel).read_bytes()
    return results


def _check_imports() -> list[str]:
    # Sorting imports is a lint fix in ruff: only that rule, whatever else the project selects.
    return ["check", "--select", "I", "--fixable", "I", "--fix", "--exit-zero"]


def _run(arguments: list[str], cwd: Path) -> None:
    try:
        result = subprocess.run(
            [ruff_binary(), *arguments], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise UsergenError(f"ruff could not run: {error}") from None
    if result.returncode != 0:
        raise UsergenError(
            f"ruff {arguments[0]} failed on the rendered code: "
            f"{(result.stderr or result.stdout).strip()}"
        )


@contextlib.contextmanager
def mirror_project(
    root: Path, files: Mapping[str, str], layout: Collection[str], configs: Collection[str]
) -> Iterator[Path]:
    """A temporary copy of the shape of the project at ``root``, for ruff to see it as it will
    be: its configuration files (``configs``), an empty file for each module of ``layout``
    (including those about to be written, which count as first-party only if they exist),
    and ``files`` (path → text) with their content."""
    with tempfile.TemporaryDirectory(prefix="usergen-mirror-") as tmp:
        mirror = Path(tmp)
        for rel in {*layout, *files}:
            (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
            (mirror / rel).touch()
        for rel in configs:
            (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, mirror / rel)
        for rel, text in files.items():
            (mirror / rel).write_text(text, encoding="utf-8")
        yield mirror


def sort_imports(
    root: Path, files: Mapping[str, str], layout: Collection[str], configs: Collection[str]
) -> dict[str, str]:
    """``files`` (the project's paths → text) with their imports sorted as ruff sorts them in
    the project at ``root`` (see `mirror_project` for the other arguments)."""
    with mirror_project(root, files, layout, configs) as mirror:
        _run([*_check_imports(), "--no-cache", *files], mirror)
        return {rel: (mirror / rel).read_text(encoding="utf-8") for rel in files}
