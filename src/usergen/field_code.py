"""The code of the user fields, computed from their specs and the type table for the templates.

The templates only interpolate what is computed here: each line of code a field adds (its
column, its model attributes, its migration column, its test values), and the imports each
generated module needs for them. Lines are plain, on one line each, and imports come in any
order: ruff formats the rendered files and sorts their imports (formatting.py).

The renderer passes the result as the context variable FIELD_CODE; the recorded `fields`
answer stays the plain specs.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from usergen.field_types import (
    FIELD_TYPES,
    TYPES,
    Code,
    FieldType,
    Spec,
    py_literal,
    py_str,
)

# The name of the context variable the templates read.
FIELD_CODE = "field_code"
# The constant of users/schemas.py that a text constraint refers to.
NO_NUL_CHARACTER = "NO_NUL_CHARACTER"
# Where migrations add a column: `batch.add_column(COLUMN)`, two levels in. Template 0.3.0 wrote a
# column too long for a line of its own (100 characters) with a trailing comma after it, which
# ruff keeps ("magic trailing comma"); the same comma keeps new migrations as they were.
ADD_COLUMN_INDENT = 12
LINE_LENGTH = 100


def _type(spec: Spec) -> FieldType:
    return TYPES[spec["type"]]


def _model(spec: Spec, role: str = "create") -> Code:
    """The type of the field in the API models of ``role`` (read, create or update)."""
    entry = _type(spec)
    if role == "read" and entry.response is not None:
        return entry.response(spec)
    return (entry.model or entry.python)(spec)


def _migration_type(spec: Spec) -> Code:
    """The column type in migrations, with its variants on some dialects."""
    entry = _type(spec)
    base = (entry.migration or entry.column)(spec)
    text, imports = base.text, set(base.imports)
    for variant, dialects in entry.dialects:
        names = ", ".join(py_str(dialect) for dialect in dialects)
        text += f".with_variant({variant.text}, {names})"
        imports |= variant.imports
    return Code(text, frozenset(imports))


def sample_values(spec: Spec) -> tuple[Any, Any]:
    """The two sample values of a field, as the API returns them; the second differs from
    the field's default, so a test can tell a value that was set from the default."""
    entry = _type(spec)
    first, second = entry.samples(spec)
    if "default" in spec and second == entry.returned(spec, spec["default"]):
        return second, first
    return first, second


def table_column(spec: Spec) -> Code:
    """The attribute of the user table (users/table.py)."""
    entry = _type(spec)
    python, column = entry.python(spec), entry.column(spec)
    options = [column.text]
    if "default" in spec:
        options.append(f"server_default={entry.server_default(spec, spec['default'])}")
    if spec["unique"]:
        options.append("unique=True")
    if spec["unique"] or spec["index"]:
        options.append("index=True")
    annotation = python.text + ("" if spec["required"] else " | None")
    text = f"{spec['name']}: Mapped[{annotation}] = mapped_column({', '.join(options)})"
    return Code(text, python.imports | column.imports)


def model_field(spec: Spec, role: str) -> Code:
    """The attribute of an API model (users/schemas.py). ``role``: read (User), create
    (UserCreate) or update (the update models, where a required field may be left out but is
    never null)."""
    entry = _type(spec)
    model = _model(spec, role)
    imports = set(model.imports)
    if role == "update" and spec["required"]:
        annotation = f"Omittable[{model.text}]"
    elif role == "update" or not spec["required"]:
        annotation = f"{model.text} | None"
    else:
        annotation = model.text
    default = ""
    if role == "create" and "default" in spec:
        value = entry.default(spec, spec["default"])
        default, imports = value.text, imports | value.imports
    elif role == "update" or not spec["required"]:
        default = "None"
    checks = entry.constraints(spec) if role != "read" else []
    line = f"{spec['name']}: {annotation}"
    if checks:
        arguments = ([f"default={default}"] if default else []) + checks
        line += f" = Field({', '.join(arguments)})"
    elif default:
        line += f" = {default}"
    return Code(line, frozenset(imports))


def migration_column(spec: Spec, nullable: bool | None = None) -> Code:
    """The column as a migration adds it; ``nullable`` if not as the field is required."""
    entry = _type(spec)
    column_type = _migration_type(spec)
    if nullable is None:
        nullable = not spec["required"]
    arguments = [py_str(spec["name"]), column_type.text, f"nullable={nullable}"]
    if "default" in spec:
        arguments.append(f"server_default={entry.server_default(spec, spec['default'])}")
    return Code(f"sa.Column({', '.join(arguments)})", column_type.imports)


def _add_column_argument(column: Code) -> str:
    too_long = ADD_COLUMN_INDENT + len(column.text) > LINE_LENGTH
    return column.text + ("," if too_long else "")


def _imports(codes: Iterable[Code]) -> list[str]:
    """The import lines ``codes`` need (ruff sorts and merges them in the module)."""
    return sorted({line for piece in codes for line in piece.imports})


def enrich(spec: Spec) -> dict[str, Any]:
    """The spec with the code and facts the templates interpolate for it."""
    entry = _type(spec)
    first, second = sample_values(spec)
    roles = {role: model_field(spec, role) for role in ("read", "create", "update")}
    column = table_column(spec)
    distinct = entry.distinct(spec) if entry.distinct else None
    migration_type = _migration_type(spec)
    enriched = {
        **spec,
        "column": column.text,
        # (Not named after dict methods: Jinja would find those first.)
        **{f"{role}_attribute": code.text for role, code in roles.items()},
        "test_values": f"({py_literal(first)}, {py_literal(second)})",
        "invalid": entry.invalid(spec),
        "returned_default": py_literal(
            entry.returned(spec, spec["default"]) if "default" in spec else None
        ),
        "distinct": distinct.text if distinct else None,
        # The argument of batch.add_column(): the column as the field has it, or nullable.
        "added_column": _add_column_argument(migration_column(spec)),
        "added_column_nullable": _add_column_argument(migration_column(spec, nullable=True)),
        "migration_type": migration_type.text,
        "migration_imports": _imports([migration_type]),
        "server_default": (
            entry.server_default(spec, spec["default"]) if "default" in spec else None
        ),
        "max_length": entry.max_length(spec),
        "form_field": form_field(spec),
    }
    return enriched


def form_field(spec: Spec) -> str:
    """The field's entry in the account pages' form fields (pages/forms.py of the app)."""
    entry = _type(spec)
    label = spec["name"].replace("_", " ").capitalize()
    arguments = [py_str(spec["name"]), py_str(label), py_str(entry.form_input)]
    if spec["required"]:
        arguments.append("required=True")
    if (max_length := entry.max_length(spec)) is not None:
        arguments.append(f"max_length={max_length}")
    if spec.get("choices"):
        arguments.append(f"choices=({', '.join(py_str(choice) for choice in spec['choices'])},)")
    if "default" in spec:
        value = spec["default"]
        if entry.form_input == "checkbox":
            arguments.append(f"initial={py_literal(bool(value))}")
        else:
            arguments.append(f"initial={py_str(entry.default_text(value))}")
    return f"FormField({', '.join(arguments)})"


def field_code(specs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The context variable FIELD_CODE for the field list ``specs``."""
    # Read-only fields are not in UserCreate (their defaults are the database's).
    model_codes = [model_field(spec, role) for spec in specs for role in ("read", "update")]
    model_codes += [model_field(spec, "create") for spec in specs if not spec["read_only"]]
    schemas_imports = _imports(model_codes)
    local = f"from {FIELD_TYPES} import "
    defined = sorted(line[len(local) :] for line in schemas_imports if line.startswith(local))
    definitions = [
        definition(spec) for spec in specs if (definition := _type(spec).definition) is not None
    ]
    distinct = [
        make(spec)
        for spec in specs
        if (make := _type(spec).distinct) is not None
        and spec["required"]
        and spec["unique"]
        and not spec["read_only"]
    ]
    return {
        "fields": [enrich(spec) for spec in specs],
        "table_imports": _imports(table_column(spec) for spec in specs),
        "schemas_imports": schemas_imports,
        "no_nul_character": any(
            NO_NUL_CHARACTER in check for spec in specs for check in _type(spec).constraints(spec)
        ),
        # What users/field_types.py defines (its file exists only if something is).
        "field_types": defined,
        "field_types_imports": _imports(definitions),
        "definitions": [definition.text for definition in definitions],
        "helpers_imports": _imports(distinct),
    }
