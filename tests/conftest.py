"""Fixtures of the generator's tests: generated projects, shared across the session."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import usergen

# The longest tests, by the start of their node id, with their seconds in a CI run on two
# cores (--durations; only their order matters). pytest-xdist gives a free worker the next
# test in collection order: one of these begun last would run alone at the end while the other
# worker idles, so they go first, longest first; the others keep their order. (The module
# fixtures of their modules are session-scoped, so that moving them builds nothing twice.)
_INIT = "tests/test_init.py::test_the_app_works_with_users_after_init"
_SUITE = "tests/test_generated_app.py::test_generated_tests_pass"
LONGEST_FIRST = {
    "tests/test_packaging.py::test_generated_app_runs_its_tests_without_usergen": 150,
    f"{_INIT}[factory-sqlite]": 120,
    f"{_SUITE}[postgresql-databases]": 105,
    f"{_SUITE}[mysql-sqlalchemy]": 105,
    "tests/test_add_field_apps.py::test_every_type_works_on_each_database[sqlite]": 100,
    f"{_INIT}[factory-postgresql]": 100,
    f"{_SUITE}": 90,
    "tests/test_fuzz.py::": 85,
    "tests/oauth_reference/": 60,
    f"{_INIT}[factory-mysql]": 65,
    "tests/test_lifecycle_apps.py::test_the_changed_app_works_on_each_database[sqlite]": 60,
    "tests/test_generated_app.py::test_generated_tests_survive_normal_customizing": 55,
    "tests/test_oauth_commands.py::test_fields_added_renamed_and_removed_beside_social": 40,
    "tests/test_lifecycle_apps.py::test_rename_and_remove_keep_100k_users": 50,
    "tests/test_update_apps.py::test_update_": 45,
    "tests/test_generated_app.py::test_generated_tests_on_the_chosen_database": 45,
    f"{_INIT}": 35,
    "tests/test_lifecycle_apps.py::test_the_changed_app_works_on_each_database": 30,
    "tests/test_add_field_apps.py::test_the_apps_tests_pass": 30,
    "tests/test_lifecycle.py::test_rename_and_remove_work_on_a_project_of_the_oldest_version": 30,
    "tests/test_lifecycle_apps.py::test_the_changed_app_is_clean": 25,
    "tests/test_add_field_apps.py::test_every_type_works_on_each_database": 20,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def seconds(item: pytest.Item) -> int:
        starts = [time for start, time in LONGEST_FIRST.items() if item.nodeid.startswith(start)]
        return max(starts, default=0)

    items.sort(key=lambda item: -seconds(item))


# Social login with every provider it knows, as --oauth takes them.
EVERY_PROVIDER = "google,github,microsoft,openid"


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Generate a project with `usergen new` into a fresh folder; returns its path."""

    def _generate(name: str, *options: str) -> Path:
        dest = tmp_path_factory.mktemp("projects") / name
        result = usergen("new", dest, "--defaults", *options)
        assert result.returncode == 0, result.stderr
        return dest

    return _generate


@pytest.fixture(scope="session")
def mypy_cache(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A mypy cache folder by name (one per checked project, so that workers never share one),
    kept from run to run in pytest's cache (`pytest --cache-clear` empties it): mypy then checks
    again only what changed, while most of a cold run goes to the libraries the code imports.
    Without pytest's cache (`-p no:cacheprovider`) the folders last one run."""

    def _folder(name: str) -> Path:
        cache = getattr(pytestconfig, "cache", None)
        if cache is None:
            return tmp_path_factory.mktemp(f"mypy-{name}")
        folder: Path = cache.mkdir(f"mypy-{name}")
        return folder

    return _folder


@pytest.fixture(scope="session")
def default_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults`: the project most tests look at."""
    return generate("shop")


@pytest.fixture(scope="session")
def sqlalchemy_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults --data-layer sqlalchemy --oauth …` with every provider: the
    whole suite of the sqlalchemy layer runs with social login."""
    return generate("shop", "--data-layer", "sqlalchemy", "--oauth", EVERY_PROVIDER)


@pytest.fixture(scope="session")
def oauth_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults --oauth …` with every provider (the databases layer)."""
    return generate("shop", "--oauth", EVERY_PROVIDER)
