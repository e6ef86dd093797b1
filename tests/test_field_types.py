"""The field type table: each entry's facts hold together, and the code computed from them is
Python that names only what its imports bring (plus what every generated module has)."""

import ast
import json
from typing import Any

import pytest

from usergen.errors import UsageError
from usergen.field_code import (
    enrich,
    field_code,
    migration_column,
    model_field,
    sample_values,
    table_column,
)
from usergen.field_types import TYPES, Code, py_literal, py_str
from usergen.fields import FieldOptions, parse_field

# Options a spec of each type needs to exist, and a default to try it with.
OPTIONS: dict[str, dict[str, Any]] = {"choices": {"choices": "free,pro,team"}}
DEFAULTS = {
    "str": "hello",
    "text": 'it\'s "quoted" \\ and ünïcode',
    "int": "-12",
    "float": "1e-05",
    "decimal": "12.5",
    "bool": "yes",
    "date": "2024-05-17",
    "datetime": "2024-05-17T12:30:00+02:00",
    "uuid": "9B2C1F8E-3D5A-4C7B-8E1F-2A3B4C5D6E7F",
    "json": '{"theme": "dark", "n": [1, 2.5, null]}',
    "choices": "pro",
    "email": " Ops@Example.com ",
}
# Names the generated modules define or import whatever the fields are.
ALWAYS = {
    "sa", "Mapped", "mapped_column", "Field", "Omittable", "NO_NUL_CHARACTER", "uuid",
    "distinct_text", "email", "str", "int", "float", "bool", "dict", "None", "True", "False",
}  # fmt: skip


def spec(type_: str, **options: Any) -> dict[str, Any]:
    return parse_field(f"my_{type_}", type_, FieldOptions(**{**OPTIONS.get(type_, {}), **options}))


def test_every_type_has_a_default_to_test_with() -> None:
    assert set(DEFAULTS) >= set(TYPES)


@pytest.mark.parametrize("type_", TYPES)
def test_a_default_is_canonical_and_reads_back_the_same(type_: str) -> None:
    entry = TYPES[type_]
    field = spec(type_, default=DEFAULTS[type_])
    again = entry.parse(field, entry.default_text(field["default"]))

    assert again == field["default"]
    assert json.loads(json.dumps(field["default"])) == field["default"]  # the answers file


@pytest.mark.parametrize("type_", TYPES)
def test_samples_are_two_different_valid_values(type_: str) -> None:
    entry = TYPES[type_]
    field = spec(type_)
    first, second = entry.samples(field)

    assert first != second
    for sample in (first, second):
        # As --default text (what the API accepts, the canonical form reads it too).
        text = (
            json.dumps(sample) if isinstance(sample, dict) else str(sample).replace("Z", "+00:00")
        )
        entry.parse(field, text)
    assert entry.invalid(field) not in (py_literal(first), py_literal(second))


@pytest.mark.parametrize("type_", TYPES)
def test_the_second_sample_differs_from_the_default(type_: str) -> None:
    entry = TYPES[type_]
    field = spec(type_)
    _, second = entry.samples(field)
    text = json.dumps(second) if isinstance(second, dict) else str(second).replace("Z", "+00:00")
    with_default = (
        spec(type_, default=text)
        if not isinstance(second, bool)
        else spec(type_, default="true" if second else "false")
    )

    assert sample_values(with_default)[1] != entry.returned(with_default, with_default["default"])


def names(text: str, mode: str) -> set[str]:
    """The top-level names ``text`` uses (attribute chains count by their first name)."""
    tree = ast.parse(text, mode=mode)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def bound(imports: frozenset[str]) -> set[str]:
    found: set[str] = set()
    for line in imports:
        for alias in ast.parse(line).body[0].names:  # type: ignore[attr-defined]
            found.add((alias.asname or alias.name).split(".")[0])
    return found


def every_spec() -> list[dict[str, Any]]:
    specs = []
    for type_ in TYPES:
        specs.append(spec(type_))
        specs.append(spec(type_, required=True, default=DEFAULTS[type_]))
        if TYPES[type_].indexable and not TYPES[type_].few_values:
            specs.append(spec(type_, unique=True))
    return specs


@pytest.mark.parametrize("field", every_spec(), ids=lambda field: field["type"])
def test_the_code_of_a_field_needs_only_its_imports(field: dict[str, Any]) -> None:
    pieces: list[Code] = [table_column(field)]
    pieces += [model_field(field, role) for role in ("read", "create", "update")]
    for piece in pieces:
        used = names(piece.text, "exec") - {field["name"]}
        assert used <= ALWAYS | bound(piece.imports), piece

    enriched = enrich(field)
    column = migration_column(field)
    assert names(column.text, "eval") <= ALWAYS | bound(column.imports)
    assert set(column.imports) <= set(enriched["migration_imports"])
    for expression in (enriched["test_values"], enriched["invalid"], enriched["returned_default"]):
        ast.literal_eval(expression) if "*" not in expression else ast.parse(expression)
    if enriched["distinct"]:
        assert TYPES[field["type"]].distinct is not None
        assert names(enriched["distinct"], "eval") <= ALWAYS


def test_the_modules_import_what_their_fields_need() -> None:
    specs = every_spec()
    code = field_code([{**field, "name": f"f{n}"} for n, field in enumerate(specs)])

    assert "from decimal import Decimal" in code["table_imports"]
    assert "from .field_types import Timestamp" in code["schemas_imports"]
    assert code["field_types"][-1] == "Timestamp"
    assert all(line.startswith(("import ", "from ")) for line in code["schemas_imports"])
    assert code["no_nul_character"]
    assert [field["name"] for field in code["fields"]] == [f"f{n}" for n in range(len(specs))]


def test_literals_are_quoted_as_ruff_quotes_them() -> None:
    assert py_str('say "hi"') == "'say \"hi\"'"
    assert py_str("it's") == '"it\'s"'
    assert py_str("a\\b") == '"a\\\\b"'
    assert py_literal({"b": [1, 2.5e20, None, True]}) == '{"b": [1, 2.5e20, None, True]}'


@pytest.mark.parametrize(
    "text", ["no-at-sign", "two words@example.com", "someone@localhost", "@example.com"]
)
def test_an_email_default_must_look_like_an_address(text: str) -> None:
    with pytest.raises(UsageError, match="not an email address"):
        spec("email", default=text)
