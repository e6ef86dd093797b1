"""usergen's own renderer gives exactly what Copier gives, which is what makes it safe to use."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from usergen import versions
from usergen.errors import UsergenError
from usergen.fields import FieldOptions, parse_field
from usergen.render import (
    ANSWERS_FILE,
    CREATE_ONLY,
    Renderer,
    _plain_copy,
    changed_answers,
    load_config,
    render,
    template_root,
)


def every_type() -> list[dict[str, Any]]:
    """Fields of every type, with every option, and values that are hard to write as code."""
    specs: list[dict[str, Any]] = []
    for name, type_, options in [
        ("nickname", "str", FieldOptions(max_length=50, unique=True)),
        ("bio", "text", FieldOptions(default='it\'s "quoted" \\ and ünïcode')),
        ("age", "int", FieldOptions(required=True, default="18", index=True)),
        ("score", "float", FieldOptions(default="1e-05", read_only=True)),
        ("balance", "decimal", FieldOptions(required=True, default="12.5")),
        ("newsletter", "bool", FieldOptions(required=True, default="true")),
        ("birthday", "date", FieldOptions(default="2024-05-17")),
        ("last_seen", "datetime", FieldOptions(index=True)),
        ("signup_at", "datetime", FieldOptions(default="2024-05-17T12:30:00+02:00")),
        ("external_id", "uuid", FieldOptions(unique=True, read_only=True)),
        ("prefs", "json", FieldOptions(required=True, default='{"theme": "dark", "n": [1]}')),
        ("tier", "choices", FieldOptions(choices="free,pro,team", default="free")),
        (
            "a_long_field_name_that_has_forty_chars_x",
            "decimal",
            FieldOptions(precision=30, scale=10, default="-12345.6789", required=True),
        ),
    ]:
        specs.append(parse_field(name, type_, options, [spec["name"] for spec in specs]))
    return specs


ANSWER_SETS: dict[str, dict[str, Any]] = {
    "defaults": {"project_name": "shop", "package_name": "shop"},
    "postgresql, every type": {
        "project_name": "Shop.API",
        "package_name": "shop_api",
        "database": "postgresql",
        "fields": every_type(),
    },
    "mysql, two fields": {
        "project_name": "accounts",
        "package_name": "accounts",
        "database": "mysql",
        "fields": every_type()[-2:],
    },
    "sqlalchemy, every OAuth provider": {
        "project_name": "shop",
        "package_name": "shop",
        "data_layer": "sqlalchemy",
        "oauth_providers": ["google", "github", "microsoft", "openid"],
    },
}


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_renderer_matches_copier_byte_for_byte(answers: dict[str, Any]) -> None:
    answers = {**answers, "secret_key": "a fixed secret, so .env compares too"}

    by_copier, copier_modes = render(answers, "project-folder")
    ours, our_modes = Renderer().render(answers, "project-folder")

    assert sorted(ours) == sorted(by_copier)
    assert [rel for rel in ours if ours[rel] != by_copier[rel]] == []
    assert our_modes == copier_modes


def copier_alone(answers: dict[str, Any], tmp_path: Path) -> dict[str, bytes]:
    """What `copier copy` of the template makes of ``answers``, without usergen's help (the
    code of the fields, ruff)."""
    import copier

    source = _plain_copy(template_root(), tmp_path / "template")
    out = tmp_path / "out"
    copier.run_copy(str(source), str(out), data=answers, defaults=True, quiet=True)
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def test_copier_alone_renders_a_project_without_fields(tmp_path: Path) -> None:
    answers = {**ANSWER_SETS["defaults"], "secret_key": "fixed"}

    ours, _ = Renderer().render(answers, "out")

    assert copier_alone(answers, tmp_path) == ours


def test_copier_alone_refuses_fields_with_a_clear_message(tmp_path: Path) -> None:
    answers = {**ANSWER_SETS["defaults"], "fields": every_type()[:1]}

    with pytest.raises(Exception, match="only usergen computes: render it with usergen"):
        copier_alone(answers, tmp_path)


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        (["google", "gitlab"], 'Unknown OAuth provider "gitlab"'),
        (["github", "github"], "Each OAuth provider may be listed once"),
        ("google", "must be a list of providers"),
    ],
)
def test_copier_alone_refuses_bad_oauth_providers(
    providers: Any, message: str, tmp_path: Path
) -> None:
    answers = {**ANSWER_SETS["defaults"], "oauth_providers": providers}

    with pytest.raises(Exception, match=message):
        copier_alone(answers, tmp_path)


def test_without_oauth_providers_nothing_of_oauth_is_rendered() -> None:
    files, _ = Renderer().render(ANSWER_SETS["defaults"], "shop")

    # OAuth2's password flow (the login form) is no social login.
    mentions = [
        rel
        for rel, content in files.items()
        if rel != ANSWERS_FILE
        and re.search(rb"oauth(?!2PasswordBearer|2's password)", content, re.I)
    ]
    assert [rel for rel in files if "oauth" in rel] == []
    assert mentions == []
    assert "oauth_providers: []" in files[ANSWERS_FILE].decode()


def test_the_generated_apps_provider_is_the_one_tested_here() -> None:
    """tests/oauth_provider.py goes into apps with OAuth as it is (it imports nothing of
    usergen); tests/test_oauth_provider.py tests it."""
    files, _ = Renderer().render(ANSWER_SETS["sqlalchemy, every OAuth provider"], "shop")

    here = Path(__file__).with_name("oauth_provider.py").read_bytes()
    assert files["tests/oauth_provider.py"] == here
    assert b"usergen" not in here


def test_adding_oauth_providers_renders_every_file_it_changes() -> None:
    """`usergen add-oauth` renders only what mentions oauth_providers: that is all it changes."""
    renderer = Renderer()
    old = ANSWER_SETS["defaults"]
    new = {**old, "oauth_providers": ["github", "openid"]}
    full_old, _ = renderer.render(old, "shop")
    full_new, _ = renderer.render(new, "shop")

    part_new, _ = renderer.render(new, "shop", changed={"oauth_providers"}, skip=CREATE_ONLY)

    differing = {
        rel for rel in full_old.keys() | full_new.keys() if full_old.get(rel) != full_new.get(rel)
    }
    assert "shop/users/oauth/router.py" in differing
    assert differing <= part_new.keys()
    assert all(part_new[rel] == full_new[rel] for rel in part_new)


def test_only_files_that_can_change_are_rendered_for_a_change() -> None:
    """Rendering only what mentions a changed answer misses nothing that differs."""
    renderer = Renderer()
    old = ANSWER_SETS["defaults"]
    new = {**old, "fields": every_type()}
    full_old, _ = renderer.render(old, "shop")
    full_new, _ = renderer.render(new, "shop")
    changed = changed_answers(old, new)

    part_old, _ = renderer.render(old, "shop", changed=changed, skip=CREATE_ONLY)
    part_new, _ = renderer.render(new, "shop", changed=changed, skip=CREATE_ONLY)

    assert changed == {"fields"}
    differing = {
        rel for rel in full_old.keys() | full_new.keys() if full_old.get(rel) != full_new.get(rel)
    }
    assert differing <= part_old.keys() | part_new.keys()
    assert all(part_new[rel] == full_new[rel] for rel in part_new)
    assert len(part_new) < len(full_new) / 2
    assert not CREATE_ONLY & part_new.keys()


def test_answers_file_records_what_a_rerender_needs() -> None:
    files, _ = Renderer().render(ANSWER_SETS["mysql, two fields"], "accounts")

    recorded = files[".copier-answers.yml"].decode()
    assert "secret" not in recorded
    assert "_src_path" not in recorded
    assert f"template_version: {versions.current()}" in recorded


def spec(name: str, type_: str, **options: Any) -> dict[str, Any]:
    return parse_field(name, type_, FieldOptions(**options))


SHAPES = {
    "one choices field": [spec("tier", "choices", choices="free,pro")],
    "one datetime field": [spec("seen", "datetime")],
    "datetime default, read-only": [
        spec("seen", "datetime", default="2024-01-01T00:00:00Z", read_only=True, required=True)
    ],
    "names with digits": [
        spec("tier10", "choices", choices="a,b"),
        spec("tier2", "choices", choices="a,b"),
        spec("t_ier", "choices", choices="a,b"),
        spec("tier_3", "datetime", default="2024-01-01T00:00:00Z"),
    ],
    "long everything": [
        spec(
            "a_long_field_name_that_has_forty_chars_x",
            "choices",
            choices=",".join(f"choice number {n} with a long label" for n in range(8)),
            required=True,
            default="choice number 7 with a long label",
            read_only=True,
        ),
        spec("a_long_field_name_that_has_forty_chars_y", "str", max_length=768, unique=True),
        spec("a_long_field_name_that_has_forty_chars_z", "text", default="x" * 90),
        spec(
            "a_long_field_name_that_has_forty_chars_w",
            "json",
            required=True,
            default='{"key": "' + "v" * 80 + '", "nested": {"list": [1, 2, 3]}}',
        ),
        spec(
            "a_long_field_name_that_has_forty_chars_v",
            "uuid",
            default="9b2c1f8e-3d5a-4c7b-8e1f-2a3b4c5d6e7f",
        ),
    ],
    "only read-only fields": [
        spec("score", "float", read_only=True),
        spec("badge", "bool", read_only=True, required=True, default="true"),
    ],
}


@pytest.mark.parametrize("fields", SHAPES.values(), ids=SHAPES.keys())
def test_generated_code_is_formatted_and_lint_free(
    fields: list[dict[str, Any]], tmp_path: Path
) -> None:
    """ruff passes for shapes the bigger tests do not build (mypy runs on those)."""
    files, _ = Renderer().render(
        {"project_name": "shop", "package_name": "shop", "fields": fields}, "shop"
    )
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(content)

    for command in (["check", "."], ["format", "--check", "--diff", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def lowest_copier() -> str:
    """The lowest Copier the dependency range allows (pyproject.toml), which copier.yml asks
    for too."""
    import tomllib

    project = tomllib.loads((versions.template_root() / "pyproject.toml").read_text())
    spec = next(dep for dep in project["project"]["dependencies"] if dep.startswith("copier"))
    lowest = spec.split(">=")[1].split(",")[0]
    minimum = str(load_config()["_min_copier_version"])
    assert versions.parse(minimum) == versions.parse(lowest)
    return lowest


COPY_WITH = """
import json, sys
from pathlib import Path
import copier
from usergen.render import render

answer_sets, out = json.loads(sys.argv[1]), Path(sys.argv[2])
print(copier.__version__)
for name, answers in answer_sets.items():
    files, modes = render(answers, "project-folder")
    for rel, content in files.items():
        path = out / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(modes[rel])
"""


@pytest.mark.slow
def test_renderer_matches_the_lowest_copier_allowed(tmp_path: Path) -> None:
    """The newest Copier is what the test above meets; this installs the lowest one."""
    import json

    lowest = lowest_copier()
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         f"copier=={lowest}"],
        check=True, capture_output=True,
    )  # fmt: skip
    answer_sets = {
        str(number): {**answers, "secret_key": "fixed"}
        for number, answers in enumerate(ANSWER_SETS.values())
    }
    copied = subprocess.run(
        [sys.executable, "-c", COPY_WITH, json.dumps(answer_sets), str(tmp_path / "out")],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert versions.parse(copied.stdout.strip()) == versions.parse(lowest)
    for name, answers in answer_sets.items():
        ours, modes = Renderer().render(answers, "project-folder")
        folder = tmp_path / "out" / name
        theirs = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file()
        }
        assert sorted(ours) == sorted(theirs)
        assert [rel for rel in ours if ours[rel] != theirs[rel]] == []
        assert modes == {rel: (folder / rel).stat().st_mode & 0o777 for rel in theirs}


def test_an_unimplemented_copier_setting_fails_loudly(tmp_path: Path) -> None:
    for part in versions.TEMPLATE_PARTS:
        source = versions.template_root() / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part)
        else:
            shutil.copy2(source, tmp_path / part)
    readme = tmp_path / "template" / "{% if not existing_app %}README.md{% endif %}.jinja"
    readme.write_text(readme.read_text() + "{{ _copier_conf.vcs_ref }}\n")

    with pytest.raises(UsergenError, match=r"_copier_conf\.vcs_ref, which usergen cannot render"):
        Renderer(tmp_path).render(ANSWER_SETS["defaults"], "shop")


def test_a_computed_answer_changes_with_the_answers_it_is_computed_from() -> None:
    """settings.py mentions only `database_url`, which copier.yml computes from `database`:
    a change of database must still render it."""
    renderer = Renderer()
    old = ANSWER_SETS["defaults"]
    new = {**old, "database": "postgresql"}
    full_old, _ = renderer.render(old, "shop")
    full_new, _ = renderer.render(new, "shop")

    part_new, _ = renderer.render(new, "shop", changed=changed_answers(old, new))

    differing = {rel for rel in full_new if full_old.get(rel) != full_new[rel]}
    assert "shop/settings.py" in differing
    assert differing <= part_new.keys()
    assert all(part_new[rel] == full_new[rel] for rel in part_new)
