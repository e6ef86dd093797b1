"""Template versions: the one being developed, and every released one, kept in the wheel.

A project records the template version that rendered it. To merge a later change into the
user's files exactly (add-field, update), usergen renders that project's base again with the
same version. So the wheel carries every released version: `releases/VERSION.zip` holds the
template's files (copier.yml, template/, includes/) exactly as `git archive` wrote them from
the commit named in RELEASES, and a test checks each archive against that commit. The archives
are frozen: a template change after a release is a new version (another test checks that).
"""

import contextlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.version import InvalidVersion, Version

from usergen.errors import UsergenError
from usergen.render import load_config, template_root, template_version

# Released template versions and the commit of this repository each was archived from.
RELEASES = {
    "0.1.0": "94f8474abcb4a2ee53088df51528651e4cd1fcd1",
    "0.2.0": "910c9206ec9c0c1853215370e38be2390120d231",
    "0.3.0": "8f03c5cd128db78f1c1e1636ac0b00ae1ecf8d3e",
    "0.4.0": "1bf1e2f47bda68e7cbb922b8567794a3f7d6bb0b",
    "0.5.0": "3a7c759aa2e6a48a9e58a0eafe01f2b381dbc43e",
    "0.6.0": "602513750d15e824b3da8573cc9e8f363e1fc797",
    "0.7.0": "3385da040edca92c4c65835d70674ba1201a3704",
    "0.8.0": "0c911b6ed0a9b00736e5fc40839f1c0cab75f6f2",
    "0.9.0": "41f8160c93c85c8e031ab090877359596df91f93",
}
RELEASES_FOLDER = Path(__file__).resolve().parent / "releases"
TEMPLATE_PARTS = ("copier.yml", "template", "includes")


def current() -> str:
    """The version of the template this usergen renders new projects with."""
    return template_version(load_config())


def parse(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise UsergenError(f"{version!r} is not a template version (like 0.2.0)") from None


def shipped() -> list[str]:
    """Every version this usergen can render, oldest first."""
    return sorted({*RELEASES, current()}, key=parse)


def archive(version: str) -> Path:
    return RELEASES_FOLDER / f"{version}.zip"


def check_shipped(version: str) -> None:
    if version not in shipped():
        raise UsergenError(
            f"template version {version} is not one this usergen knows (it has "
            f"{', '.join(shipped())}); install a usergen that has it"
        )


@contextlib.contextmanager
def template_of(version: str) -> Iterator[Path]:
    """The folder holding copier.yml of ``version``, while the block runs.

    The current version is the template beside this code; a released one is unpacked from
    its archive into a temporary folder, with the permission bits it was archived with.
    """
    check_shipped(version)
    if version == current():
        yield template_root()
        return
    with tempfile.TemporaryDirectory(prefix=f"usergen-template-{version}-") as tmp:
        root = Path(tmp)
        try:
            unpack(archive(version), root)
        except (OSError, zipfile.BadZipFile) as error:
            raise UsergenError(
                f"the archive of template version {version} is unreadable ({error}); "
                "reinstall usergen"
            ) from None
        yield root


def unpack(path: Path, into: Path) -> None:
    """Extract the archive at ``path`` into ``into``, keeping executable bits."""
    with zipfile.ZipFile(path) as zipped:
        for info in zipped.infolist():
            target = into / info.filename
            if not target.resolve().is_relative_to(into.resolve()):
                raise UsergenError(f"{path}: {info.filename} points outside the template")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)


def template_files(root: Path) -> dict[str, bytes]:
    """The template's files under ``root`` (relative path → content), compiled files left out."""
    found: dict[str, bytes] = {}
    for part in TEMPLATE_PARTS:
        base = root / part
        paths = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found
