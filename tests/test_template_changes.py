"""What the template in development changes in generated projects, against the last release.

Every file a project gets from this template is rendered by the last released version and by
the current one, for answer sets that cover every option and every field type and shape, and
compared byte for byte. A difference is allowed only where INTENDED names the file and says
why: a refactoring of the generator must change nothing, and a change on purpose is listed
here, which is also what `usergen update` will merge into projects. When the current version is
released, INTENDED starts empty again for the next one.
"""

from typing import Any

import pytest
import yaml

from tests.test_render import SHAPES, every_type
from usergen import versions
from usergen.render import ANSWERS_FILE, Renderer

# The last release, the version this template's changes are measured against.
BASELINE = max(versions.RELEASES, key=versions.parse)

# Path in the project ("{package}" for the package folder) → why it differs from BASELINE.
INTENDED: dict[str, str] = {}
# Answer → why this version records it (with its value for a new app).
NEW_ANSWERS: dict[str, tuple[str, object]] = {}


def answer_sets() -> dict[str, dict[str, Any]]:
    sets: dict[str, dict[str, Any]] = {}
    for database in ("sqlite", "postgresql", "mysql"):
        for layer in ("databases", "sqlalchemy"):
            base = {"project_name": "Shop.API", "package_name": "shop_api"}
            if database == "sqlite":
                sets[f"{database}, {layer}, no fields"] = {**base, "data_layer": layer}
            sets[f"{database}, {layer}, every type"] = {
                **base,
                "database": database,
                "data_layer": layer,
                "fields": every_type(),
            }
    for name, fields in SHAPES.items():
        sets[f"sqlite, {name}"] = {"project_name": "shop", "package_name": "shop", "fields": fields}
    for database, layer in (("sqlite", "databases"), ("mysql", "sqlalchemy")):
        sets[f"{database}, {layer}, every type, every OAuth provider"] = {
            "project_name": "shop",
            "package_name": "shop",
            "database": database,
            "data_layer": layer,
            "fields": every_type(),
            "oauth_providers": ["google", "github", "microsoft", "openid"],
        }
    return sets


ANSWER_SETS = answer_sets()


_RENDERS: dict[tuple[str, str], tuple[dict[str, bytes], dict[str, int]]] = {}


def render(version: str, name: str) -> tuple[dict[str, bytes], dict[str, int]]:
    """The files and modes ``version`` generates for the answer set ``name`` (rendered once)."""
    if (version, name) not in _RENDERS:
        answers = {**ANSWER_SETS[name], "secret_key": "a fixed secret, so .env compares too"}
        with versions.template_of(version) as root:
            _RENDERS[version, name] = Renderer(root).render(answers, "project-folder")
    return _RENDERS[version, name]


def intended(rel: str, package: str) -> bool:
    return any(rel == path.replace("{package}", package) for path in INTENDED)


@pytest.mark.skipif(
    versions.current() == BASELINE, reason="the template is the last release itself"
)
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_only_intended_differences_from_the_last_release(name: str) -> None:
    before, before_modes = render(BASELINE, name)
    after, after_modes = render(versions.current(), name)
    package = ANSWER_SETS[name]["package_name"]

    unexpected = sorted(
        rel
        for rel in before.keys() | after.keys()
        if rel != ANSWERS_FILE
        and (before.get(rel) != after.get(rel) or before_modes.get(rel) != after_modes.get(rel))
        and not intended(rel, package)
    )
    assert unexpected == [], (
        f"these files differ from what template {BASELINE} generates; list each intended "
        "change in INTENDED with its reason"
    )
    # The answers file differs by the recorded version and the new answers only.
    old, new = yaml.safe_load(before[ANSWERS_FILE]), yaml.safe_load(after[ANSWERS_FILE])
    assert new == {
        **old,
        "template_version": versions.current(),
        **{
            answer: ANSWER_SETS[name].get(answer, value)
            for answer, (_, value) in NEW_ANSWERS.items()
        },
    }


@pytest.mark.slow
def test_every_intended_difference_is_real() -> None:
    """An entry whose file no longer differs (or no longer exists) is removed, so the list
    stays the exact change log of this version."""
    if versions.current() == BASELINE:
        assert INTENDED == {} and NEW_ANSWERS == {}, (
            "a release starts the lists of intended differences and new answers again"
        )
        return
    differing: set[str] = set()
    for name, answers in ANSWER_SETS.items():
        before, _ = render(BASELINE, name)
        after, _ = render(versions.current(), name)
        package = answers["package_name"]
        for path in INTENDED:
            rel = path.replace("{package}", package)
            if before.get(rel) != after.get(rel):
                differing.add(path)
    assert sorted(set(INTENDED) - differing) == []
