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

from tests.test_render import SHAPES, every_type
from usergen import versions
from usergen.render import ANSWERS_FILE, Renderer

# The last release, the version this template's changes are measured against.
BASELINE = max(versions.RELEASES, key=versions.parse)

# Path in the project ("{package}" for the package folder) → why it differs from BASELINE.
INTENDED: dict[str, str] = {
    "{package}/db.py": "as_utc, public here for the modules that read stored times (was "
    "sessions._aware, imported by refresh.py); the sqlalchemy layer's docstring says plainly "
    "what autocommit saves; is_unique_violation and is_foreign_key_violation share "
    "_is_integrity_error",
    # Issue 10, item 5: the generated app reads as careful hand-written code.
    "README.md": "a protected route with the CurrentUser alias; where dependencies.py, "
    "exceptions.py, error_codes.py and the session table are",
    "migrations/env.py": "the session table is registered with the user table (users/table.py)",
    "{package}/main.py": "no gc.freeze(): its gain was within the benchmark's noise",
    "{package}/users/adapter.py": "imports user_sessions from table.py",
    "{package}/users/auth.py": "imports USER_AGENT_MAX_LENGTH from table.py",
    "{package}/users/dependencies.py": "dependency aliases (CurrentUser, UserServicesDep…); "
    "current_session takes the services as a dependency (no ~25 µs shortcut); UserServices "
    "moved to services.py",
    "{package}/users/error_codes.py": "users/errors.py renamed for what it holds",
    "{package}/users/errors.py": "renamed error_codes.py",
    "{package}/users/exceptions.py": "the docstring says how it relates to error_codes.py",
    "{package}/users/refresh.py": "imports user_sessions from table.py, as_utc from db.py; "
    "RefreshTokenStore works on a SessionStore (its database, timeout and get_user) instead "
    "of copies of its arguments and a second user lookup",
    "{package}/users/listing.py": "reads created_at through db.as_utc instead of a copy",
    "{package}/users/services.py": "UserServices, moved here from dependencies.py; "
    "RefreshTokenStore is built on the SessionStore",
    "{package}/mail.py": "SmtpSender is a dataclass (its password left out of the repr)",
    "{package}/users/manager.py": "UserManager is a dataclass instead of an __init__ that "
    "only stores its arguments",
    "{package}/users/schemas.py": "the two refuse_null validators are one function, _never_null, "
    "applied by field_validator (still imported, for the user's own validators)",
    # Issue 10: the routers share what they do alike instead of copying it.
    "{package}/users/routers/auth.py": "dependency aliases; imports error_codes; the 400 "
    "examples and CROSS_SITE_LOGIN through responses.py's helpers",
    "{package}/users/routers/links.py": "new: send_link_later, what forgot-password and "
    "request-verify-token share (rate limit, lookup after the response)",
    "{package}/users/routers/refresh.py": "dependency aliases; UserServices from services.py; "
    "REFUSED through responses.described",
    "{package}/users/routers/refusals.py": "new: refused_as_400, the manager's exceptions as "
    "FastAPI Users' 400 answers, for every route",
    "{package}/users/routers/register.py": "dependency aliases; imports error_codes; the 400 "
    "examples through responses.py's helpers; refused_as_400",
    "{package}/users/routers/reset.py": "dependency aliases; imports error_codes; "
    "LINK_REQUESTED and the 400 examples through responses.py's helpers; refused_as_400; "
    "send_link_later",
    "{package}/users/routers/responses.py": "429's description fits per-address limits too; "
    "imports error_codes; described() for one-status tables, RETRY_AFTER, SUPERUSER_ONLY and "
    "LINK_REQUESTED shared; an example's detail defaults to its code; invalid_password returns "
    "an example entry like value_taken",
    "{package}/users/routers/sessions.py": "dependency aliases; the Session model moved to "
    "sessions.py, which returns it (no copy of its fields in a dataclass); SUPERUSER_ONLY from "
    "responses.py",
    "{package}/users/routers/users.py": "dependency aliases; GET /users/me takes CurrentUser "
    "(no ~25 µs shortcut); imports error_codes; SUPERUSER_ONLY and the 400 examples "
    "through responses.py; refused_as_400",
    "{package}/users/routers/verify.py": "dependency aliases; imports error_codes; "
    "LINK_REQUESTED and the 400 examples through responses.py's helpers; refused_as_400; "
    "send_link_later",
    "{package}/users/sessions.py": "the session table moved to table.py; Session, the model "
    "the routes return, instead of a dataclass with the same fields; as_utc from db.py",
    "{package}/users/table.py": "the session table, moved here from sessions.py beside the "
    "user table (the same schema)",
    # Issue 10: the generated app's tests share their arrange steps instead of copying them.
    "tests/conftest.py": "https_client and serve, which start the apps of the tests; the storage "
    "fixture of the rate limit tests",
    "tests/helpers.py": "register_and_log_in and cookie_login",
    "tests/mail.py": "request_reset and request_verify_token: the token of the mail a request "
    "sends",
    "tests/test_app.py": "starts the app with conftest.serve",
    "tests/test_current_password.py": "a client fixture requiring the current password and a "
    "headers fixture for its logged-in user",
    "tests/test_deleted_users.py": "delete_first is a fixture; tokens from mail.request_*",
    "tests/test_emails.py": "register_and_log_in; tokens from mail.request_*",
    "tests/test_login.py": "starts its apps with conftest.serve",
    "tests/test_logout.py": "helpers.cookie_login",
    "tests/test_password_races.py": "register_and_log_in; mail.request_reset",
    "tests/test_ratelimits.py": "the storage fixture moved to conftest.py; conftest.serve",
    "tests/test_refresh.py": "imports user_sessions from users/table.py, where it moved; the "
    "storage fixture from conftest.py; helpers.cookie_login; assert_session_ended",
    "tests/test_reset.py": "mail.request_reset (was a copy here); helpers.cookie_login",
    "tests/test_resilience.py": "registers with user_data(), so an app with a required field "
    "answers 503 (not 422) while the database is down; register_and_log_in",
    "tests/test_sessions.py": "imports user_sessions from users/table.py, where it moved; "
    "register_and_log_in",
    "tests/test_sqlite.py": "an impatient_client fixture for the two write-lock tests",
    "tests/test_user_list.py": "make_users",
    "tests/test_verify.py": "mail.request_verify_token (was a copy here); helpers.cookie_login, "
    "register_and_log_in",
}


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
    # The answers file differs by the recorded version only.
    assert (
        before[ANSWERS_FILE].replace(
            f"template_version: {BASELINE}".encode(),
            f"template_version: {versions.current()}".encode(),
        )
        == after[ANSWERS_FILE]
    )


@pytest.mark.slow
def test_every_intended_difference_is_real() -> None:
    """An entry whose file no longer differs (or no longer exists) is removed, so the list
    stays the exact change log of this version."""
    if versions.current() == BASELINE:
        assert INTENDED == {}, "a release starts the list of intended differences again"
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
