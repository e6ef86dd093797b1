"""usergen's own renderer gives exactly what Copier gives, which is what makes it safe to use."""

from typing import Any

import pytest

from usergen.fields import FieldOptions, parse_field
from usergen.render import CREATE_ONLY, Renderer, changed_answers, render


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


ANSWER_SETS = {
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
}


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_renderer_matches_copier_byte_for_byte(answers: dict[str, Any]) -> None:
    answers = {**answers, "secret_key": "a fixed secret, so .env compares too"}

    by_copier, copier_modes = render(answers, "project-folder")
    ours, our_modes = Renderer().render(answers, "project-folder")

    assert sorted(ours) == sorted(by_copier)
    assert [rel for rel in ours if ours[rel] != by_copier[rel]] == []
    assert our_modes == copier_modes


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
    assert "template_version: 0.1.0" in recorded
