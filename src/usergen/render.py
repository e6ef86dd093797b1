"""Rendering the bundled Copier template into memory.

Two ways, for one result. `render` runs Copier itself: ``usergen new`` on a terminal, where
Copier asks the questions. `Renderer` renders the same template with Jinja set up exactly as
Copier sets it up, in a fraction of the time (``import copier`` alone takes longer than
``usergen add-field`` may): every command that renders without asking uses it. tests/
test_render.py proves both give the same bytes.

Copier and Jinja are imported only when a command renders, so ``usergen --help`` and bad input
answer at once.
"""

import copy
import functools
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import yaml

from usergen.errors import UsergenError
from usergen.field_code import FIELD_CODE, field_code
from usergen.formatting import TEMPLATE_CONFIG, TEMPLATE_SETTINGS, RuffSettings, format_python

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

ANSWERS_FILE = ".copier-answers.yml"
# Where a module `usergen init` put into an existing app records them (copier.yml's
# _answers_file): the app may have an answers file of another template.
MODULE_ANSWERS_FILE = ".usergen-answers.yml"
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

    Returns the files (relative path → content) and their permission bits, the Python files
    formatted with the new project's ruff settings. Questions missing from ``answers`` are
    asked when ``interactive``, else take their defaults.
    """
    import copier  # slow to import: only when rendering

    # The code of the fields, computed for the templates (never recorded as an answer).
    computed = {FIELD_CODE: field_code(answers.get("fields") or [])}

    with tempfile.TemporaryDirectory(prefix="usergen-") as tmp:
        root = template_root()
        if (root / ".git").exists():
            root = _plain_copy(root, Path(tmp, "template-src"))
        out = Path(tmp, "out", folder_name)
        try:
            copier.run_copy(
                str(root),
                str(out),
                data={**answers, **computed},
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
        return format_python([files], TEMPLATE_SETTINGS)[0], modes


def answers_of(files: dict[str, bytes]) -> dict[str, Any]:
    """The answers recorded in a rendered project."""
    loaded = yaml.safe_load(files[ANSWERS_FILE])
    return dict(loaded) if isinstance(loaded, dict) else {}


def _bytecode_cache() -> Any:
    """Jinja's cache of compiled templates in the user's cache folder (None if unwritable).

    Compiling the templates costs more than rendering them. Entries are keyed by each
    template's name and source: a changed template is simply compiled again, and a released
    template, unpacked into a new temporary folder by every command that renders it, finds its
    entries again (Jinja's own key, the file path, added a set of entries per command).
    """
    from jinja2 import FileSystemBytecodeCache
    from jinja2.bccache import Bucket

    class SourceKeyedCache(FileSystemBytecodeCache):
        def get_bucket(
            self, environment: Any, name: str, filename: str | None, source: str
        ) -> Bucket:
            # The source's checksum stands where Jinja keys by the template's file path.
            checksum = self.get_source_checksum(source)
            return super().get_bucket(environment, name, checksum, source)

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base, "usergen", "jinja")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return SourceKeyedCache(str(folder)) if os.access(folder, os.W_OK) else None


def load_config(root: Path | None = None) -> dict[str, Any]:
    """The template's copier.yml."""
    path = (root or template_root()) / "copier.yml"
    # A command reads it up to five times (versions, questions, each render): parsed once.
    config = _parse_config(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise UsergenError(f"{path} is not a Copier configuration")
    return copy.deepcopy(config)


@functools.lru_cache(maxsize=8)
def _parse_config(text: str) -> Any:
    # libyaml's loader where PyYAML has it: the pure-Python one takes about 25 ms for copier.yml.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def template_version(config: Mapping[str, Any]) -> str:
    """The version of the template, as it records it in the answers of a project."""
    return str(config["template_version"]["default"])


def changed_answers(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """The names of the answers that differ between ``old`` and ``new``."""
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


# Jinja tags that pull in another template, whose source may mention any answer.
_INCLUDES = re.compile(r"{%-?\s*(from|import|include|extends)\b")
_CASTS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": lambda value: _to_bool(value),
    "json": lambda value: json.loads(value) if isinstance(value, str) else value,
    "yaml": lambda value: yaml.safe_load(value) if isinstance(value, str) else value,
}


def _to_bool(value: Any) -> bool:
    """A bool answer as Copier reads it: a rendered default such as "False" is false."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("y", "yes", "t", "true", "on", "1"):
            return True
        if lowered in ("n", "no", "f", "false", "off", "0", ""):
            return False
        raise UsergenError(f"{value!r} is not a yes/no answer")
    return bool(value)


def _jsonable(value: Any) -> Any:
    """What Copier's `to_json` filter does with values JSON has no type for."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Settings(dict[str, Any]):
    """`_copier_conf`: the keys this renderer implements; any other one is an error, where a
    plain mapping would let Jinja render it as an empty string."""

    def __missing__(self, key: str) -> Any:
        raise UsergenError(f"the template uses _copier_conf.{key}, which usergen cannot render")


class RenderOptions(TypedDict, total=False):
    """The keyword arguments of ``Renderer.render``: it passes them on to ``Renderer.draft``,
    whose defaults they have."""

    changed: Collection[str] | None
    skip: Collection[str]
    ruff: RuffSettings


@dataclass
class Draft:
    """A render whose Python files ruff has not formatted yet."""

    files: dict[str, bytes]
    modes: dict[str, int]
    # Every path of the project, where ``files`` is part of it (see format_python).
    layout: list[str]
    ruff: RuffSettings


def format_drafts(drafts: list[Draft]) -> list[tuple[dict[str, bytes], dict[str, int]]]:
    """Each draft's files, formatted, and modes (as Renderer.render returns them). Drafts of one
    project share its ruff settings, and one ruff run formats them all."""
    settings = {draft.ruff for draft in drafts}
    if len(settings) != 1:
        raise ValueError("drafts formatted together need the same ruff settings")
    formatted = format_python(
        [draft.files for draft in drafts], settings.pop(), [draft.layout for draft in drafts]
    )
    results = []
    for draft, files in zip(drafts, formatted, strict=True):
        for target in files.keys() - draft.modes.keys():
            del files[target]  # rendered for its settings only
        results.append((files, draft.modes))
    return results


class Renderer:
    """Renders the template as Copier does, without Copier.

    Copier's settings that this template uses are honoured: `_subdirectory`, `_envops`,
    `_templates_suffix`, `_exclude`, `_answers_file`, `_jinja_extensions`, question types and
    templated defaults, templated paths (a part that renders empty drops the file). Features it
    does not use are refused rather than half-supported: `_tasks`, `_migrations`, `{% yield %}`
    paths, `_external_data`, `_skip_if_exists`, `_preserve_symlinks`.

    One renderer compiles each template once, however many times it renders.
    """

    _UNSUPPORTED = (
        "_tasks", "_migrations", "_external_data", "_skip_if_exists", "_preserve_symlinks",
    )  # fmt: skip

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or template_root()).resolve()
        self.config = load_config(self.root)
        for key in self._UNSUPPORTED:
            if self.config.get(key):
                raise UsergenError(f"copier.yml uses {key}, which usergen cannot render itself")
        self.suffix = str(self.config.get("_templates_suffix", ".jinja"))
        self.source = self.root / str(self.config.get("_subdirectory", ""))
        self.env = self._environment()
        self._paths: dict[str, list[str]] = {}

    def _environment(self) -> "SandboxedEnvironment":
        from jinja2 import FileSystemLoader, StrictUndefined, Undefined
        from jinja2.sandbox import SandboxedEnvironment

        envops = dict(self.config.get("_envops", {}))
        if "undefined" in envops:
            envops["undefined"] = {
                "jinja2.Undefined": Undefined,
                "jinja2.StrictUndefined": StrictUndefined,
            }[envops["undefined"]]
        extensions = [
            "jinja2_ansible_filters.AnsibleCoreFiltersExtension",
            *self.config.get("_jinja_extensions", []),
        ]
        env = SandboxedEnvironment(
            loader=FileSystemLoader([str(self.root)]),
            extensions=extensions,
            bytecode_cache=_bytecode_cache(),
            **envops,
        )
        env.filters["to_json"] = functools.partial(env.filters["to_json"], default=_jsonable)
        env.globals["pathjoin"] = lambda *parts, mode="posix": str(PurePosixPath(*parts))
        return env

    @functools.cache  # noqa: B019 - a renderer lives as long as one command
    def _string_template(self, source: str) -> Any:
        return self.env.from_string(source)

    def render_string(self, source: str, context: Mapping[str, Any]) -> str:
        """Render a template given as a string (a path part, a default, an exclusion)."""
        return str(self._string_template(source).render(**context))

    def questions(self) -> dict[str, dict[str, Any]]:
        return {
            key: value if isinstance(value, dict) else {"default": value}
            for key, value in self.config.items()
            if not key.startswith("_")
        }

    def context(self, answers: Mapping[str, Any], folder_name: str) -> dict[str, Any]:
        """The render context Copier builds from ``answers`` (defaults fill the rest)."""
        context: dict[str, Any] = {"_folder_name": folder_name}
        remembered: dict[str, Any] = {"_src_path": str(self.root)}
        for name, question in self.questions().items():
            cast = _CASTS.get(str(question.get("type", "yaml")))
            if cast is None:
                raise UsergenError(f"copier.yml: question {name} has a type usergen cannot render")
            if name in answers:
                value = cast(answers[name])
            elif "default" in question:
                default = question["default"]
                if isinstance(default, str):
                    default = self.render_string(default, context)
                value = cast(default)
            else:
                raise UsergenError(f"the answer to {name!r} is missing")
            context[name] = value
            when = question.get("when", True)
            if not isinstance(when, bool):
                raise UsergenError(
                    f"copier.yml: question {name} has a `when` usergen cannot render"
                )
            hidden = when is False or question.get("secret")
            if not hidden:
                remembered[name] = value
        answers_file = self.render_string(
            str(self.config.get("_answers_file", ".copier-answers.yml")),
            {**context, "_copier_conf": {"answers_file": ""}},
        )
        context.update(
            _external_data={},
            _copier_answers=remembered,
            _copier_conf=_Settings(
                answers_file=PurePath(answers_file),
                src_path=PurePath(self.root),
                sep="/",
                os="linux" if sys.platform.startswith("linux") else sys.platform,
            ),
            _copier_python=sys.executable,
            _copier_phase="render",
        )
        # The code of the fields, computed for the templates; not an answer, so not recorded.
        context[FIELD_CODE] = field_code(context.get("fields") or [])
        return context

    def render(
        self, answers: Mapping[str, Any], folder_name: str, **options: Unpack[RenderOptions]
    ) -> tuple[dict[str, bytes], dict[str, int]]:
        """Render the project for ``answers``: files (relative path → content) and modes, the
        Python files formatted by ruff with the settings ``ruff`` (those of an existing
        project; by default the rendered project's own).

        With ``changed`` (names of answers), render only the files that can differ when those
        answers change: templates whose path or source mentions one of them, or the recorded
        answers, or that import another template. Paths in ``skip`` are left out.
        """
        return format_drafts([self.draft(answers, folder_name, **options)])[0]

    def draft(
        self,
        answers: Mapping[str, Any],
        folder_name: str,
        *,
        changed: Collection[str] | None = None,
        skip: Collection[str] = (),
        ruff: RuffSettings = TEMPLATE_SETTINGS,
    ) -> "Draft":
        """What ``render`` returns, before ruff formats it: ``format_drafts`` formats several drafts
        (the two sides of a merge) in one ruff run."""
        context = self.context(answers, folder_name)
        answers_file = str(context["_copier_conf"]["answers_file"])
        mentions = self._mentions(changed) if changed is not None else None
        excluded = self._exclusions(context)
        files: dict[str, bytes] = {}
        modes: dict[str, int] = {}
        for source in self._sources():
            relpath = source.relative_to(self.source)
            is_template = source.name.endswith(self.suffix) and bool(self.suffix)
            if not is_template and source.with_name(source.name + self.suffix).exists():
                continue  # a templated sibling renders this path
            if mentions is None:
                relevant = True
            elif is_template:
                text = source.read_text(encoding="utf-8")
                relevant = bool(
                    mentions.search(relpath.as_posix())
                    or mentions.search(text)
                    or _INCLUDES.search(text)
                )
            else:
                # Copied as it is, so the same for any answers, but it comes and goes with the
                # answers its path mentions (the files of users/oauth/ with oauth_providers).
                relevant = bool(mentions.search(relpath.as_posix()))
            if not relevant and not ruff.rendered:
                continue
            target = self._render_path(relpath, is_template, context, answers_file)
            if target is None or excluded(target):
                continue
            wanted = relevant and target not in skip
            # A new project's ruff settings are its pyproject.toml: rendered to format with.
            if not wanted and not (ruff.rendered and target == TEMPLATE_CONFIG):
                continue
            if is_template:
                name = source.relative_to(self.root).as_posix()
                files[target] = self.env.get_template(name).render(**context).encode()
            else:
                files[target] = source.read_bytes()
            if wanted:
                modes[target] = stat.S_IMODE(source.stat().st_mode)
        layout = self.paths(answers, folder_name) if changed is not None else []
        return Draft(files, modes, layout, ruff)

    def paths(self, answers: Mapping[str, Any], folder_name: str) -> list[str]:
        """The relative paths of every file ``render`` writes for ``answers``, without rendering
        a single file's content (quick: for checks over the whole project)."""
        # A command asks for the same answers' paths more than once (a check, then a render).
        key = json.dumps([answers, folder_name], sort_keys=True, default=str)
        if key not in self._paths:
            self._paths[key] = self._find_paths(answers, folder_name)
        return list(self._paths[key])

    def _find_paths(self, answers: Mapping[str, Any], folder_name: str) -> list[str]:
        context = self.context(answers, folder_name)
        answers_file = str(context["_copier_conf"]["answers_file"])
        excluded = self._exclusions(context)
        found = set()
        for source in self._sources():
            relpath = source.relative_to(self.source)
            is_template = source.name.endswith(self.suffix) and bool(self.suffix)
            target = self._render_path(relpath, is_template, context, answers_file)
            if target is not None and not excluded(target):
                found.add(target)
        return sorted(found)

    def precompile(self) -> None:
        """Compile the templates into the bytecode cache now, so the next command (add-field,
        which must answer quickly) finds them compiled."""
        includes = (self.root / "includes").glob("*.jinja")
        for source in [*self.source.rglob(f"*{self.suffix}"), *includes]:
            self.env.get_template(source.relative_to(self.root).as_posix())

    def render_template(self, name: str, context: Mapping[str, Any], ruff: RuffSettings) -> str:
        """Render one Python module of the template folder (by its path there) with
        ``context``, formatted by ruff with the settings ``ruff`` (a project's)."""
        module = "module.py"
        files, _ = format_drafts([self.draft_module(name, context, module, ruff)])[0]
        return files[module].decode()

    def draft_module(
        self, name: str, context: Mapping[str, Any], relpath: str, ruff: RuffSettings
    ) -> Draft:
        """``render_template``'s module as the project's file ``relpath``, not yet formatted."""
        text = self.env.get_template(name).render(**context)
        return Draft({relpath: text.encode()}, {relpath: 0o644}, [], ruff)

    def _sources(self) -> Iterator[Path]:
        for path in sorted(self.source.rglob("*")):
            if path.is_file():
                yield path

    def _mentions(self, changed: Collection[str]) -> "re.Pattern[str]":
        names = {*changed, "_copier_answers"}
        if "fields" in names:
            names.add(FIELD_CODE)
        # A computed answer changes with the answers its default mentions.
        grown = True
        while grown:
            pattern = self._pattern(names)
            computed = {
                name
                for name, question in self.questions().items()
                if isinstance(question.get("default"), str) and pattern.search(question["default"])
            }
            grown = not computed <= names
            names |= computed
        return self._pattern(names)

    @staticmethod
    def _pattern(names: Collection[str]) -> "re.Pattern[str]":
        return re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")

    def _render_path(
        self, relpath: Path, is_template: bool, context: Mapping[str, Any], answers_file: str
    ) -> str | None:
        parts = list(relpath.parts)
        if is_template:
            parts[-1] = parts[-1][: -len(self.suffix)]
        rendered = []
        for part in parts:
            text = self.render_string(part, context) if "{" in part else part
            if text == answers_file:
                return answers_file
            if not text:
                return None
            rendered.append(text)
        return PurePosixPath(*rendered).as_posix()

    def _exclusions(self, context: Mapping[str, Any]) -> Any:
        import pathspec

        patterns = [
            line
            for pattern in self.config.get("_exclude", [])
            for line in self.render_string(str(pattern), context).splitlines()
        ]
        try:
            return pathspec.PathSpec.from_lines("gitignore", patterns).match_file
        except LookupError:  # pathspec before 1.0 calls it so
            return pathspec.PathSpec.from_lines("gitwildmatch", patterns).match_file
