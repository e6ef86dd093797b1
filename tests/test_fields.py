"""Field specs: what `usergen add-field NAME TYPE [options]` accepts, and what it refuses."""

import pytest

from usergen.errors import UsageError, UsergenError
from usergen.fields import FieldOptions, check_backfill, check_spec, parse_field


@pytest.mark.parametrize(
    ("type_", "options", "expected"),
    [
        ("str", FieldOptions(), {"max_length": 255}),
        ("str", FieldOptions(max_length=50, default="Bob"), {"max_length": 50, "default": "Bob"}),
        ("text", FieldOptions(default='say "hi"'), {"default": 'say "hi"'}),
        ("int", FieldOptions(default=" -42 "), {"default": -42}),
        ("float", FieldOptions(default="1e20"), {"default": 1e20}),
        (
            "decimal",
            FieldOptions(default="12.5"),
            {"precision": 12, "scale": 2, "default": "12.50"},
        ),
        (
            "decimal",
            FieldOptions(precision=5, scale=0, default="-7"),
            {"precision": 5, "scale": 0, "default": "-7"},
        ),
        ("bool", FieldOptions(default="Yes"), {"default": True}),
        ("bool", FieldOptions(default="0"), {"default": False}),
        ("date", FieldOptions(default="2024-05-17"), {"default": "2024-05-17"}),
        (
            "datetime",
            FieldOptions(default="2024-05-17T12:30:00.5+02:00"),
            {"default": "2024-05-17T10:30:00.500000+00:00"},
        ),
        (
            "datetime",
            FieldOptions(default="2024-05-17T10:30Z"),
            {"default": "2024-05-17T10:30:00+00:00"},
        ),
        (
            "uuid",
            FieldOptions(default="9B2C1F8E3D5A4C7B8E1F2A3B4C5D6E7F"),
            {"default": "9b2c1f8e-3d5a-4c7b-8e1f-2a3b4c5d6e7f"},
        ),
        (
            "json",
            FieldOptions(default='{"b": [1, {"z": 1, "a": 2}], "a": null}'),
            {"default": {"a": None, "b": [1, {"a": 2, "z": 1}]}},
        ),
        (
            "choices",
            FieldOptions(choices=" free, pro ", default="pro"),
            {"choices": ["free", "pro"], "default": "pro"},
        ),
    ],
)
def test_defaults_are_written_in_canonical_form(
    type_: str, options: FieldOptions, expected: dict[str, object]
) -> None:
    spec = parse_field("thing", type_, options)

    assert spec == {
        "name": "thing",
        "type": type_,
        "required": False,
        "unique": False,
        "index": False,
        "read_only": False,
        **expected,
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Nickname", "invalid field name"),
        ("2fa", "invalid field name"),
        ("nick-name", "invalid field name"),
        ("nick__name", "invalid field name"),
        ("_private", "invalid field name"),
        ("x" * 41, "at most 40"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("email", "built in"),
        ("hashed_password", "built in"),
        ("password", "built in"),
        ("created_at", "built in"),
        ("json", "for something else"),
        ("model_config", "for something else"),
        ("metadata", "for something else"),
        ("refuse_null", "for something else"),
        ("nickname", "already has a field 'nickname'"),
    ],
)
def test_bad_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_field(name, "str", FieldOptions(), taken={"nickname"})


@pytest.mark.parametrize(
    ("type_", "options", "message"),
    [
        ("string", FieldOptions(), "unknown field type 'string'"),
        ("int", FieldOptions(default="12.5"), "not a valid int"),
        ("int", FieldOptions(default=str(2**31)), "32-bit"),
        ("float", FieldOptions(default="nan"), "finite"),
        ("decimal", FieldOptions(default="1.234"), "more than 2 digits after the point"),
        ("decimal", FieldOptions(precision=4, scale=2, default="123.4"), "more than 4 digits"),
        ("decimal", FieldOptions(precision=4, scale=5), "--scale"),
        ("bool", FieldOptions(default="maybe"), "use true or false"),
        ("date", FieldOptions(default="2024-02-30"), "not a valid date"),
        ("datetime", FieldOptions(default="2024-05-17T10:30:00"), "give a time zone"),
        ("uuid", FieldOptions(default="not-a-uuid"), "not a valid uuid"),
        ("json", FieldOptions(default="[1, 2]"), "holds an object"),
        ("json", FieldOptions(default="{bad json}"), "not a valid json"),
        ("str", FieldOptions(max_length=3, default="long"), "longer than --max-length"),
        ("str", FieldOptions(default="tab\there"), "control characters"),
        ("str", FieldOptions(max_length=0), "--max-length must be"),
        ("str", FieldOptions(max_length=2001), "--max-length must be"),
        ("choices", FieldOptions(), "needs its values"),
        ("choices", FieldOptions(choices="free"), "at least two"),
        ("choices", FieldOptions(choices="a,,b"), "comma-separated"),
        ("choices", FieldOptions(choices="a,b,a"), "twice"),
        ("choices", FieldOptions(choices="a,b", default="c"), "not one of a, b"),
        ("int", FieldOptions(max_length=5), "--max-length applies to str"),
        ("str", FieldOptions(choices="a,b"), "--choices applies to choices"),
        ("str", FieldOptions(precision=3), "--precision applies to decimal"),
        ("int", FieldOptions(required=True, read_only=True), "required read-only field needs"),
        ("str", FieldOptions(unique=True, required=True, default="x"), "cannot have a --default"),
        ("bool", FieldOptions(unique=True), "a bool field cannot be --unique"),
        ("choices", FieldOptions(choices="a,b", unique=True), "choices field cannot be --unique"),
        ("date", FieldOptions(unique=True, required=True), "both --unique and --required"),
        ("str", FieldOptions(unique=True, index=True), "--unique already indexes"),
        ("str", FieldOptions(unique=True, default="x"), "cannot have a --default"),
        ("text", FieldOptions(index=True), "cannot be --unique or --index"),
        ("json", FieldOptions(unique=True), "cannot be --unique or --index"),
        ("str", FieldOptions(max_length=1000, index=True), "at most 768"),
    ],
)
def test_bad_types_options_and_defaults_are_refused(
    type_: str, options: FieldOptions, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        parse_field("thing", type_, options)


def test_json_defaults_keep_keys_sorted_as_the_answers_file_writes_them() -> None:
    spec = parse_field("prefs", "json", FieldOptions(default='{"b": {"y": 1, "x": 2}, "a": 1}'))

    assert list(spec["default"]) == ["a", "b"]
    assert list(spec["default"]["b"]) == ["x", "y"]


def test_recorded_specs_are_checked_again() -> None:
    spec = parse_field("tier", "choices", FieldOptions(choices="a,b", default="b", required=True))

    assert check_spec(dict(spec)) == spec
    with pytest.raises(UsergenError, match="'tier' is damaged"):
        check_spec({**spec, "default": "c"})
    with pytest.raises(UsergenError, match="'tier' is damaged"):
        check_spec({**spec, "required": "yes"})
    with pytest.raises(UsergenError, match="not a field spec"):
        check_spec(["tier"])


@pytest.mark.parametrize(
    "name", ["role", "plan", "key", "position", "rank", "query", "order", "group", "user"]
)
def test_sql_reserved_words_are_field_names(name: str) -> None:
    """SQLAlchemy and Alembic quote them; tests/test_lifecycle_apps.py runs such fields on the
    three databases."""
    assert parse_field(name, "int", FieldOptions())["name"] == name


def test_a_required_field_without_default_must_be_sent() -> None:
    spec = parse_field("username", "str", FieldOptions(required=True, unique=True))

    assert spec["required"] and spec["unique"] and "default" not in spec
    assert check_spec(dict(spec)) == spec


def test_combinations_an_older_usergen_recorded_still_load() -> None:
    """A bool --unique recorded before it was refused renders all the same."""
    spec = {
        "name": "flag",
        "type": "bool",
        "required": False,
        "unique": True,
        "index": False,
        "read_only": False,
    }

    assert check_spec(dict(spec)) == spec
    with pytest.raises(UsageError, match="cannot be --unique"):
        parse_field("flag", "bool", FieldOptions(unique=True))


@pytest.mark.parametrize(
    ("options", "source", "message"),
    [
        (FieldOptions(), "email", "has nothing to do"),
        (FieldOptions(required=True, default="x"), "email", "has nothing to do"),
        (FieldOptions(required=True), "phone", "can be filled from email"),
    ],
)
def test_bad_backfills_are_refused(options: FieldOptions, source: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_backfill(parse_field("handle", "str", options), source)
    assert check_backfill(parse_field("handle", "str", FieldOptions(required=True)), "email")
    with pytest.raises(UsageError, match="fills email, str and text fields only"):
        check_backfill(parse_field("n", "int", FieldOptions(required=True)), "email")
