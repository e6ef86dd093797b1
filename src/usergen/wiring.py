"""The edits `usergen init` makes to an existing project's files: pure functions, text in, text out.

Python files are edited on LibCST's concrete syntax tree, so everything but the inserted lines
(comments, blank lines, quotes, trailing commas, line endings) comes back byte for byte; TOML
files through tomlkit, which keeps their layout and comments; `.env` and requirements files by
appending lines. Every edit is idempotent: run twice, the second run changes nothing. Where the
place of an edit is ambiguous, the function raises `NeedsManualEdit` with the exact snippet and
where it goes, and the caller prints it instead of guessing.

LibCST takes about 0.15 s to import, tomlkit and packaging a little less: they are imported
inside the functions that use them, so no other command pays for them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

if TYPE_CHECKING:
    import libcst as cst
    import tomlkit.items
    from packaging.requirements import Requirement


@dataclass(frozen=True)
class ManualStep:
    """An edit usergen leaves to the user: paste `snippet` into `path` at `where`."""

    path: Path
    where: str
    snippet: str


class NeedsManualEdit(Exception):
    """The edit point is ambiguous; `step` says what to paste where, `str(error)` why."""

    def __init__(self, step: ManualStep, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason


# --- Python sources (LibCST) ---------------------------------------------------------------


def wire_app(
    source: str,
    *,
    path: Path,
    attribute: str,
    factory: bool,
    import_line: str,
    call: str,
    import_with_call: bool = False,
) -> str:
    """Add `import_line` and `call` so the call runs on the project's FastAPI app.

    `call` names the app `app` (`install_users(app)`); the name is replaced by the actual one:
    `attribute` for a module attribute, the local variable for a factory. With `factory` false,
    the call goes right after the top-level `attribute = FastAPI(...)`; with it true, inside the
    function `attribute` right after its `name = FastAPI(...)`. If the call (the same function
    applied to the app) is already there, `source` comes back unchanged. With
    `import_with_call` (a module attribute only), the import goes right before the call instead
    of among the imports: for a module whose own names the imported module needs.
    """
    import libcst as cst
    from libcst.metadata import CodeRange, PositionProvider

    call_node = cst.parse_expression(call)
    if not isinstance(call_node, cst.Call) or _dotted(call_node.func) is None:
        raise ValueError(f"not a call of a function on the app: {call!r}")
    function_name = _dotted(call_node.func)
    import_statement = _parse_import(import_line)

    try:
        module = cst.MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError as error:
        raise _manual_wiring(
            path, attribute, factory, import_line, call_node, f"{path} does not parse: {error}"
        ) from None
    lines = module.resolve(PositionProvider)
    tree = module.module

    def line_of(node: cst.CSTNode) -> int:
        position: CodeRange = lines[node]
        return position.start.line

    scope: cst.CSTNode = tree
    if factory:
        functions = [
            statement
            for statement in tree.body
            if isinstance(statement, cst.FunctionDef) and statement.name.value == attribute
        ]
        if len(functions) == 1:
            scope = functions[0]
    if any(
        isinstance(node, cst.Call)
        and _dotted(node.func) == function_name
        and (factory or _first_argument_is(node, attribute))
        for node in _walk(scope)
    ):
        return source

    needs_import = not _already_bound(tree, import_statement)

    def manual(reason: str, app_name: str = "app", where: str | None = None) -> NeedsManualEdit:
        return _manual_wiring(
            path,
            attribute,
            factory,
            import_line if needs_import else None,
            call_node,
            reason,
            app_name,
            where,
        )

    fastapi_names = _fastapi_names(tree)
    body = list(tree.body)
    if not factory:
        bindings = [
            (line, small, block)
            for line, small, block in _scope_statements(tree)
            # An `import app.x` before the app is created rebinds nothing that matters.
            if attribute in _bound_names(small)
            and not isinstance(small, cst.Import | cst.ImportFrom)
        ]
        if not bindings:
            raise manual(f"{path} has no top-level `{attribute} = FastAPI(...)`", attribute)
        if len(bindings) > 1:
            numbers = ", ".join(str(line_of(small)) for _, small, _ in bindings)
            raise manual(
                f"`{attribute}` is assigned more than once in {path} (lines {numbers})", attribute
            )
        line, small, block = bindings[0]
        if block is not None:
            raise manual(
                f"`{attribute}` is assigned inside `{block}` in {path} (line {line_of(small)})",
                attribute,
            )
        if not _is_fastapi_call(_assigned_value(small, attribute), fastapi_names):
            raise manual(
                f"`{attribute}` is not created by a FastAPI(...) call in {path}"
                f" (line {line_of(small)}: `{tree.code_for_node(small).strip()}`)",
                attribute,
            )
        edits = [(_index_of(body, line) + 1, _call_statement(call_node, attribute))]
        if import_with_call and needs_import:
            edits.append((_index_of(body, line) + 1, import_statement))
            needs_import = False
    else:
        if len(functions) != 1:
            found = f"{len(functions)} top-level functions" if functions else "no function"
            raise manual(f"{path} has {found} named `{attribute}`")
        function = functions[0]
        creations: list[tuple[cst.CSTNode, cst.CSTNode, str | None]] = []
        returns: list[cst.Return] = []
        for line, small, block in _scope_statements(function.body):
            if isinstance(small, cst.Return):
                returns.append(small)
                if _is_fastapi_call(small.value, fastapi_names):
                    raise manual(
                        f"`{attribute}()` in {path} returns `FastAPI(...)` directly"
                        f" (line {line_of(small)})",
                        where=f"in {path}, inside `{attribute}()`: create the app as"
                        " `app = FastAPI(...)`, add this right after that line, then"
                        " `return app`",
                    )
            elif _is_fastapi_call(_assigned_value(small, None), fastapi_names):
                creations.append((line, small, block))
        if len(returns) > 1:
            numbers = ", ".join(str(line_of(node)) for node in returns)
            raise manual(f"`{attribute}()` in {path} returns in several places (lines {numbers})")
        if len(creations) != 1:
            if creations:
                numbers = ", ".join(str(line_of(small)) for _, small, _ in creations)
                raise manual(
                    f"`{attribute}()` in {path} creates FastAPI apps in several places"
                    f" (lines {numbers})"
                )
            raise manual(f"`{attribute}()` in {path} has no `app = FastAPI(...)`")
        line, small, block = creations[0]
        names = _bound_names(small)
        local = names[0] if len(names) == 1 else None
        if local is None or _assigned_value(small, local) is None:
            raise manual(
                f"`{attribute}()` in {path} does not assign its FastAPI app to one name"
                f" (line {line_of(small)})"
            )
        if block is not None:
            raise manual(
                f"`{attribute}()` in {path} creates its app inside `{block}`"
                f" (line {line_of(small)})",
                local,
            )
        again = [
            other
            for _, other, _ in _scope_statements(function.body)
            if other is not small and local in _bound_names(other)
        ]
        if again:
            numbers = ", ".join(str(line_of(other)) for other in [small, *again])
            raise manual(
                f"`{local}` is assigned more than once in `{attribute}()` in {path}"
                f" (lines {numbers})",
                local,
            )
        block_body = function.body
        if not isinstance(block_body, cst.IndentedBlock):
            raise manual(f"`{attribute}()` in {path} is written on one line", local)
        inner = list(block_body.body)
        inner.insert(_index_of(inner, line) + 1, _call_statement(call_node, local))
        new_function = function.with_changes(body=block_body.with_changes(body=inner))
        body[body.index(function)] = new_function
        edits = []

    if needs_import:
        edits.append(_import_site(tree, import_statement))
    # From the end, so that the indexes stay right; at one index the import goes first.
    for index, statement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        body.insert(index, statement)
    return tree.with_changes(body=body).code


def add_import(source: str, *, path: Path, import_line: str, comment: str | None = None) -> str:
    """Add `import_line` after the last top-level import, unless its module is imported already.

    For a side-effect import, such as Alembic's env.py importing the module that registers the
    user tables. Any runtime import of the module counts (`import a.b`, `import a.b as x`,
    `from a.b import y`, `from a import b`, also inside `try`), but not one under
    `if TYPE_CHECKING:`. `comment` (without its `#`) goes after the line.
    """
    import libcst as cst

    statement = _parse_import(import_line)
    small = statement.body[0]
    # The module whose import matters: `a.b` for `import a.b`, `a.b` for `from a import b`
    # (b may be a module, so `import a` alone does not count).
    target = None
    if isinstance(small, cst.Import) and len(small.names) == 1:
        target = _dotted(small.names[0].name)
    elif (
        isinstance(small, cst.ImportFrom)
        and not small.relative
        and not isinstance(small.names, cst.ImportStar)
        and len(small.names) == 1
    ):
        target = f"{_dotted(small.module)}.{_dotted(small.names[0].name)}"
    if target is None:
        raise ValueError(f"not an import of one absolute module: {import_line!r}")
    if comment:
        text = (
            import_line.rstrip() + "  " + (comment if comment.startswith("#") else "# " + comment)
        )
        statement = _parse_import(text)

    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise NeedsManualEdit(
            ManualStep(path, "with the imports at the top of the file", _tree_code(statement)),
            f"{path} does not parse: {error}",
        ) from None
    for imported in _runtime_imports(tree):
        if any(name == target or name.startswith(target + ".") for name in imported):
            return source
    if not source:
        tree = tree.with_changes(has_trailing_newline=True)
    body = list(tree.body)
    index, statement = _import_site(tree, statement)
    body.insert(index, statement)
    return tree.with_changes(body=body).code


def extend_target_metadata(source: str, *, path: Path, expression: str) -> str:
    """Make Alembic's ``target_metadata = X`` also cover ``expression`` (another MetaData):
    ``target_metadata = [X, expression]``, or one more item of a list already there. For user
    tables on a metadata of their own; unchanged if ``expression`` is there already."""
    import libcst as cst

    def manual(reason: str) -> NeedsManualEdit:
        snippet = f"target_metadata = [..., {expression}]"
        return NeedsManualEdit(ManualStep(path, "where target_metadata is set", snippet), reason)

    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise manual(f"{path} does not parse: {error}") from None
    new_item = cst.parse_expression(expression)
    found = [
        (index, statement)
        for index, statement in enumerate(tree.body)
        if isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Assign | cst.AnnAssign)
        and "target_metadata" in _bound_names(statement.body[0])
    ]
    if len(found) != 1:
        raise manual(f"{path} does not set target_metadata once at its top level")
    index, statement = found[0]
    assign = statement.body[0]
    assert isinstance(assign, cst.Assign | cst.AnnAssign)  # as the search above requires
    value = assign.value
    if value is None:
        raise manual(f"{path} declares target_metadata without a value")
    if isinstance(value, cst.List):
        items = [element.value for element in value.elements]
        if any(item.deep_equals(new_item) for item in items):
            return source
        elements = [*value.elements]
        if elements:
            last = elements[-1]
            elements[-1] = last.with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        new_value: cst.BaseExpression = value.with_changes(
            elements=[*elements, cst.Element(new_item)]
        )
    elif value.deep_equals(new_item):
        return source
    else:
        new_value = cst.List([cst.Element(value), cst.Element(new_item)])
    body = list(tree.body)
    body[index] = statement.with_changes(body=[assign.with_changes(value=new_value)])
    return tree.with_changes(body=body).code


def _tree_code(node: cst.CSTNode) -> str:
    """A statement's code on its own, without its line ending."""
    import libcst as cst

    return cst.Module(body=[]).code_for_node(node).rstrip("\r\n")


def _manual_wiring(
    path: Path,
    attribute: str,
    factory: bool,
    import_line: str | None,
    call: cst.Call,
    reason: str,
    app_name: str = "app",
    where: str | None = None,
) -> NeedsManualEdit:
    call_text = _tree_code(_call_statement(call, app_name))
    if where is None and factory:
        where = (
            f"in {path}, inside `{attribute}()`, right after the line that creates the FastAPI"
            f" app (`{app_name} = FastAPI(...)`)"
        )
    elif where is None:
        where = (
            f"in {path}, right after the line that creates the FastAPI app `{attribute}`,"
            " at the top level of the module"
        )
    snippet = call_text
    if import_line is not None:
        where += f"; the first line goes with the imports at the top of {path}"
        snippet = f"{import_line.strip()}\n{call_text}"
    return NeedsManualEdit(ManualStep(path, where, snippet), reason)


def _index_of(body: Sequence[cst.CSTNode], node: cst.CSTNode) -> int:
    return next(index for index, statement in enumerate(body) if statement is node)


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _dotted(node: cst.CSTNode | None) -> str | None:
    """`a.b.c` for a Name or a chain of Attributes on one, else None."""
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _first_argument_is(call: cst.Call, name: str) -> bool:
    import libcst as cst

    return (
        bool(call.args)
        and call.args[0].keyword is None
        and isinstance(call.args[0].value, cst.Name)
        and call.args[0].value.value == name
    )


def _call_statement(call: cst.Call, app_name: str) -> cst.SimpleStatementLine:
    """`call` as a statement, its arguments that are the name `app` renamed to `app_name`."""
    import libcst as cst

    args = [
        arg.with_changes(value=cst.Name(app_name))
        if isinstance(arg.value, cst.Name) and arg.value.value == "app"
        else arg
        for arg in call.args
    ]
    return cst.SimpleStatementLine(body=[cst.Expr(call.with_changes(args=args))])


def _parse_import(import_line: str) -> cst.SimpleStatementLine:
    import libcst as cst

    try:
        statement = cst.parse_statement(import_line.strip() + "\n")
    except cst.ParserSyntaxError:
        raise ValueError(f"not an import statement: {import_line!r}") from None
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Import | cst.ImportFrom)
    ):
        return statement
    raise ValueError(f"not one import statement: {import_line!r}")


_BLOCK_KEYWORDS = {
    "If": "if",
    "Try": "try",
    "TryStar": "try",
    "With": "with",
    "For": "for",
    "While": "while",
    "Match": "match",
}


def _scope_statements(
    node: cst.CSTNode, block: str | None = None
) -> Iterator[tuple[cst.CSTNode, cst.CSTNode, str | None]]:
    """The statements of one scope (a module or a function body), nested blocks included.

    Yields (the statement line it is on, the statement, the keyword of the outermost block it
    is in or None); a def or class is yielded but not entered.
    """
    import libcst as cst

    for child in node.children:
        if isinstance(child, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            for small in child.body:
                yield child, small, block
        elif isinstance(child, cst.BaseCompoundStatement):
            yield child, child, block
            if not isinstance(child, cst.FunctionDef | cst.ClassDef):
                keyword = block or _BLOCK_KEYWORDS.get(type(child).__name__, "a block")
                yield from _scope_statements(child, keyword)
        elif not isinstance(child, cst.BaseExpression):
            yield from _scope_statements(child, block)


def _target_names(target: cst.CSTNode) -> list[str]:
    import libcst as cst

    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [name for element in target.elements for name in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _bound_names(statement: cst.CSTNode) -> list[str]:
    """The names a statement binds in its scope (assignments, imports, def, class, for, with)."""
    import libcst as cst

    if isinstance(statement, cst.Assign):
        return [name for target in statement.targets for name in _target_names(target.target)]
    if isinstance(statement, cst.AnnAssign):
        return _target_names(statement.target) if statement.value is not None else []
    if isinstance(statement, cst.AugAssign):
        return _target_names(statement.target)
    if isinstance(statement, cst.Import):
        return [
            _target_names(alias.asname.name)[0]
            if alias.asname
            else (_dotted(alias.name) or "").split(".")[0]
            for alias in statement.names
        ]
    if isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar):
        return [
            (_target_names(alias.asname.name) or [""])[0]
            if alias.asname
            else _dotted(alias.name) or ""
            for alias in statement.names
        ]
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return [statement.name.value]
    if isinstance(statement, cst.For):
        return _target_names(statement.target)
    if isinstance(statement, cst.With):
        return [
            name
            for item in statement.items
            if item.asname is not None
            for name in _target_names(item.asname.name)
        ]
    return []


def _assigned_value(statement: cst.CSTNode, name: str | None) -> cst.BaseExpression | None:
    """The value of `name = value` or `name: T = value` (any single name if `name` is None)."""
    import libcst as cst

    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
    elif isinstance(statement, cst.AnnAssign):
        target = statement.target
    else:
        return None
    if isinstance(target, cst.Name) and name in (None, target.value):
        return statement.value
    return None


def _fastapi_names(tree: cst.Module) -> set[str]:
    """The names FastAPI is imported under (`from fastapi import FastAPI as F`)."""
    import libcst as cst

    names = {"FastAPI"}
    for node in _walk(tree):
        if (
            isinstance(node, cst.ImportFrom)
            and _dotted(node.module) == "fastapi"
            and not isinstance(node.names, cst.ImportStar)
        ):
            for alias in node.names:
                if _dotted(alias.name) == "FastAPI" and alias.asname is not None:
                    names.update(_target_names(alias.asname.name))
    return names


def _is_fastapi_call(value: cst.BaseExpression | None, names: set[str]) -> bool:
    import libcst as cst

    if not isinstance(value, cst.Call):
        return False
    function = _dotted(value.func) or ""
    return function in names or function.endswith(".FastAPI")


def _is_type_checking(statement: cst.CSTNode) -> bool:
    import libcst as cst

    return isinstance(statement, cst.If) and (_dotted(statement.test) or "").endswith(
        "TYPE_CHECKING"
    )


def _runtime_imports(tree: cst.Module) -> Iterator[list[str]]:
    """For each import the module runs at import time, the dotted modules it imports.

    `from a.b import c` imports `a.b` and maybe `a.b.c`; both are listed. Imports under
    `if TYPE_CHECKING:` (its else branch does run) and inside functions and classes are left out.
    """
    import libcst as cst

    def visit(node: cst.CSTNode) -> Iterator[list[str]]:
        for child in node.children:
            if isinstance(child, cst.FunctionDef | cst.ClassDef | cst.BaseExpression):
                continue
            if _is_type_checking(child):
                assert isinstance(child, cst.If)
                if child.orelse is not None:
                    yield from visit(child.orelse)
            elif isinstance(child, cst.Import):
                yield [_dotted(alias.name) or "" for alias in child.names]
            elif isinstance(child, cst.ImportFrom):
                if child.relative:
                    continue
                module = _dotted(child.module) or ""
                names = [] if isinstance(child.names, cst.ImportStar) else child.names
                yield [module, *(f"{module}.{_dotted(alias.name)}" for alias in names)]
            else:
                yield from visit(child)

    return visit(tree)


def _import_key(statement: cst.CSTNode) -> set[tuple[str, ...]]:
    """What an import binds, as comparable keys: ("from", dots, module, name, as) or
    ("import", module, as)."""
    import libcst as cst

    def as_name(alias: cst.ImportAlias) -> str:
        return _dotted(alias.asname.name) or "" if alias.asname is not None else ""

    if isinstance(statement, cst.Import):
        return {("import", _dotted(alias.name) or "", as_name(alias)) for alias in statement.names}
    if isinstance(statement, cst.ImportFrom):
        dots = str(len(statement.relative))
        module = _dotted(statement.module) or ""
        if isinstance(statement.names, cst.ImportStar):
            return {("from", dots, module, "*", "")}
        return {
            ("from", dots, module, _dotted(alias.name) or "", as_name(alias))
            for alias in statement.names
        }
    return set()


def _already_bound(tree: cst.Module, statement: cst.SimpleStatementLine) -> bool:
    """Whether the module, at run time, already imports what `statement` imports."""
    wanted = _import_key(statement.body[0])
    present: set[tuple[str, ...]] = set()
    stack: list[cst.CSTNode] = [tree]
    while stack:
        node = stack.pop()
        for child in node.children:
            if _is_type_checking(child):
                continue
            present |= _import_key(child)
            if not _is_scope(child):
                stack.append(child)
    return wanted <= present


def _is_scope(node: cst.CSTNode) -> bool:
    import libcst as cst

    return isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda | cst.BaseExpression)


def _import_site(
    tree: cst.Module, statement: cst.SimpleStatementLine
) -> tuple[int, cst.SimpleStatementLine]:
    """Where in the module's body an import goes: after the last top-level import, or else
    after the docstring (then after a blank line), or else first."""
    import libcst as cst

    position = 0
    for index, line in enumerate(tree.body):
        if isinstance(line, cst.SimpleStatementLine) and any(
            isinstance(small, cst.Import | cst.ImportFrom) for small in line.body
        ):
            position = index + 1
    if position == 0 and tree.body:
        first = tree.body[0]
        if (
            isinstance(first, cst.SimpleStatementLine)
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
        ):
            return 1, statement.with_changes(leading_lines=[cst.EmptyLine()])
    return position, statement


# --- Dependencies ----------------------------------------------------------------------------

DependencyFile = Literal["pep621", "poetry", "requirements"]


@dataclass(frozen=True)
class _Wanted:
    """A PEP 508 requirement, with the parts as written."""

    text: str
    name: str
    key: str  # the PEP 503 normalized name
    extras: tuple[str, ...]
    version: str  # the specifiers as written, without spaces: ">=2.0.30,<2.1"
    marker: str
    url: str


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str) -> _Wanted:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise ValueError(f"not a PEP 508 requirement: {text!r} ({error})") from None
    return _wanted(text, requirement)


def _wanted(text: str, requirement: Requirement) -> _Wanted:
    head = text.split(";", 1)[0]
    head = head.split("@", 1)[0] if requirement.url else head
    version = re.sub(r"^\s*[A-Za-z0-9._-]+\s*(\[[^\]]*\])?", "", head)
    version = re.sub(r"\s+", "", version).strip("()")
    return _Wanted(
        text=text.strip(),
        name=requirement.name,
        key=_normalize(requirement.name),
        extras=tuple(sorted(requirement.extras)),
        version=version,
        marker=str(requirement.marker) if requirement.marker else "",
        url=requirement.url or "",
    )


def _listed(text: str, kind: DependencyFile) -> dict[str, _Wanted | None]:
    """The dependencies a file lists, by normalized name; None where the version is not one
    usergen can compare (a Poetry git or path source, a requirement it cannot parse)."""
    if kind == "requirements":
        return _listed_requirements(text)
    import tomlkit

    document = tomlkit.parse(text)
    if kind == "pep621":
        entries = document.get("project", {}).get("dependencies", [])
        return {found.key: found for found in map(_parse_listed, entries) if found}
    listed: dict[str, _Wanted | None] = {}
    table = document.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for name, value in table.items():
        listed[_normalize(name)] = _from_poetry(name, value)
    return listed


def _parse_listed(entry: object) -> _Wanted | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return _wanted(str(entry), Requirement(str(entry)))
    except InvalidRequirement:
        return None


def _from_poetry(name: str, value: object) -> _Wanted | None:
    if isinstance(value, str):
        version, extras = value, ()
    elif isinstance(value, Mapping) and isinstance(value.get("version"), str):
        version, extras = value["version"], tuple(sorted(value.get("extras", ())))
    else:
        return None
    version = "" if version.strip() == "*" else re.sub(r"\s+", "", version)
    return _Wanted(f"{name} = {value!r}", name, _normalize(name), extras, version, "", "")


def _logical_lines(text: str) -> Iterator[str]:
    """A requirements file's lines, backslash continuations joined, comments removed."""
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        yield re.split(r"(^|\s)#", line, maxsplit=1)[0].strip()
    if pending:
        yield pending.strip()


def _listed_requirements(text: str) -> dict[str, _Wanted | None]:
    listed: dict[str, _Wanted | None] = {}
    for line in _logical_lines(text):
        if line and not line.startswith("-"):
            found = _parse_listed(line)
            if found is None:
                match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
                if match:
                    listed[_normalize(match.group())] = None
            else:
                listed.setdefault(found.key, found)
    return listed


def add_dependencies(
    text: str, *, path: Path, kind: DependencyFile, requirements: Sequence[str]
) -> str:
    """Add each requirement whose project the file does not list yet; leave the listed ones.

    `kind`: "pep621" (the `[project] dependencies` array), "poetry"
    (`[tool.poetry.dependencies]`, each requirement translated to Poetry's form) or
    "requirements" (a requirements.txt: lines appended at the end). Names are compared
    normalized (PEP 503), extras and versions ignored; `dependency_conflicts` lists the
    requirements listed with other versions or without the extras needed.
    """
    wanted = [_requirement(requirement) for requirement in requirements]
    if kind not in ("pep621", "poetry", "requirements"):
        raise ValueError(f"unknown kind of dependency file: {kind!r}")
    listed = _listed(text, kind)
    missing: list[_Wanted] = []
    for requirement in wanted:
        if requirement.key not in listed and requirement.key not in {m.key for m in missing}:
            missing.append(requirement)
    if not missing:
        return text
    if kind == "requirements":
        return _append_lines(text, [requirement.text for requirement in missing])
    if kind == "pep621":
        return _add_pep621(text, path, missing)
    return _add_poetry(text, path, missing)


def dependency_conflicts(text: str, kind: DependencyFile, requirements: Sequence[str]) -> list[str]:
    """The requirements the file lists with another version range, or without an extra needed.

    A listed range fits if any version will do, or if every version it allows is one the
    needed range allows too (judged by its bounds; a Poetry ^ or ~ constraint is read as
    the range it stands for). One line each:
    "sqlalchemy: you have ==1.4.*, the user module needs >=2.0.30,<2.1".
    Dependencies whose version usergen cannot read (a Poetry git source) are not reported.
    """
    listed = _listed(text, kind)
    conflicts = []
    for requirement in map(_requirement, requirements):
        have = listed.get(requirement.key)
        if have is None:
            continue
        missing_extras = [extra for extra in requirement.extras if extra not in have.extras]
        needed = SpecifierSet(requirement.version)
        try:
            have_set = SpecifierSet(_pep440(have.version))
        except InvalidSpecifier:  # a constraint usergen cannot read
            have_set = None
        fits = not requirement.version or (have_set is not None and _within(have_set, needed))
        if fits and not missing_extras:
            continue
        have_text = have.version or "any version"
        need_text = requirement.version or "any version"
        if missing_extras:
            have_text += f" without [{','.join(missing_extras)}]"
            need_text = f"[{','.join(requirement.extras)}]{requirement.version or ''}"
        conflicts.append(
            f"{requirement.name}: you have {have_text}, the user module needs {need_text}"
        )
    return conflicts


def _pep440(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier set: ``^1.4`` is ``>=1.4,<2``,
    ``^0.30`` is ``>=0.30,<0.31``, ``~1.4`` is ``>=1.4,<1.5``, ``*`` is any, a bare
    version is that version. A PEP 440 specifier set comes back as it is."""
    parts = []
    for item in (part.strip() for part in constraint.split(",")):
        match = re.fullmatch(r"([\^~])\s*(\d+(?:\.\d+)*)", item)
        if item in ("", "*"):
            continue
        if re.fullmatch(r"\d+(?:\.\d+)*", item):
            parts.append(f"=={item}")
        elif match is None:
            parts.append(item)
        else:
            numbers = [int(number) for number in match.group(2).split(".")]
            if match.group(1) == "^":  # up to the first non-zero number
                bump = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
            else:  # ~: up to the minor version (the major one if only it is given)
                bump = min(1, len(numbers) - 1)
            upper = [*numbers[:bump], numbers[bump] + 1]
            parts += [f">={match.group(2)}", "<" + ".".join(map(str, upper))]
    return ",".join(parts)


def _within(have: SpecifierSet, needed: SpecifierSet) -> bool:
    """Whether every version ``have`` allows is one ``needed`` allows, judged by bounds: the
    lowest version ``have`` allows is in ``needed``, and ``have`` stops no later than each
    upper bound of ``needed``. Exclusions (``!=``) and prereleases are left out of it."""
    lowest: Version | None = None
    highest: tuple[Version, bool] | None = None  # (bound, inclusive)
    for spec in have:
        version = Version(spec.version.removesuffix(".*"))
        if spec.operator in (">=", ">", "==", "===", "~="):
            lowest = version if lowest is None else max(lowest, version)
        if spec.operator in ("<", "<="):
            bound = (version, spec.operator == "<=")
            highest = bound if highest is None else min(highest, bound)
        elif spec.operator in ("==", "===") and not spec.version.endswith(".*"):
            highest = (version, True)
        elif spec.operator == "~=" or spec.version.endswith(".*"):  # ~=2.0.31, ==2.0.*: < 2.1
            kept = version.release[: -1 if spec.operator == "~=" else None]
            upper = Version(".".join(map(str, [*kept[:-1], kept[-1] + 1])))
            highest = (upper, False) if highest is None else min(highest, (upper, False))
    if lowest is None or not needed.contains(lowest, prereleases=True):
        return False
    for spec in needed:
        if spec.operator in ("<", "<="):
            if highest is None:
                return False
            version, inclusive = highest
            limit = Version(spec.version)
            if version > limit or (version == limit and inclusive and spec.operator == "<"):
                return False
    return True


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _append_lines(text: str, lines: Sequence[str]) -> str:
    newline = _newline(text)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + "".join(line + newline for line in lines)


def _add_pep621(text: str, path: Path, missing: Sequence[_Wanted]) -> str:
    import tomlkit

    document = tomlkit.parse(text)
    lines = "\n".join(f'    "{requirement.text}",' for requirement in missing)
    project = document.get("project")
    if project is None or "dependencies" in project.get("dynamic", []):
        reason = (
            "has no [project] table" if project is None else "declares its dependencies dynamic"
        )
        raise NeedsManualEdit(
            ManualStep(
                path, "in the list of the project's dependencies", lines.replace("    ", "", -1)
            ),
            f"{path} {reason}",
        )
    array = project.get("dependencies")
    if array is None:
        array = tomlkit.array()
        array.multiline(True)
        for requirement in missing:
            array.append(requirement.text)
        project["dependencies"] = array
        return tomlkit.dumps(document)
    raw = array.as_string()
    literal = re.match(r"\[\s*(#[^\n]*\n\s*)*'", raw) is not None
    strings = [tomlkit.string(requirement.text, literal=literal) for requirement in missing]
    if "\n" not in raw:
        for string in strings:
            array.append(string)
        return tomlkit.dumps(document)
    indents = re.findall(r"\n([ \t]*)[\"']", raw)
    indent = indents[0] if indents else "    "
    for string in strings:
        array.add_line(string, indent=_newline(text) + indent, newline=False)
    return tomlkit.dumps(document)


def _poetry_value(requirement: _Wanted) -> str | tomlkit.items.InlineTable:
    import tomlkit

    if requirement.url:
        raise ValueError(
            f"usergen cannot translate a URL requirement for Poetry: {requirement.text}"
        )
    version = requirement.version or "*"
    if not requirement.extras and not requirement.marker:
        return version
    table = tomlkit.inline_table()
    table["version"] = version
    if requirement.extras:
        table["extras"] = list(requirement.extras)
    if requirement.marker:
        table["markers"] = requirement.marker
    return table


def _add_poetry(text: str, path: Path, missing: Sequence[_Wanted]) -> str:
    import tomlkit

    document = tomlkit.parse(text)
    values = [(requirement.name, _poetry_value(requirement)) for requirement in missing]
    table = document.get("tool", {}).get("poetry", {}).get("dependencies")
    if table is None:
        lines = [tomlkit.dumps({name: value}).strip() for name, value in values]
        raise NeedsManualEdit(
            ManualStep(
                path, "at the end of the file", "\n".join(["[tool.poetry.dependencies]", *lines])
            ),
            f"{path} has no [tool.poetry.dependencies] table",
        )
    for name, value in values:
        table[name] = value
    return tomlkit.dumps(document)


# --- .env files --------------------------------------------------------------------------------

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def add_env_entries(text: str, entries: Mapping[str, str], *, header: str | None = None) -> str:
    """Append `KEY=value` for each key the file does not set yet, under a `# header` line.

    A key is set by a line `KEY=...` or `export KEY=...` (not by a commented one). The new
    lines come after one blank line; the rest of the file stays as it is.
    """
    for key, value in entries.items():
        if not _ENV_KEY.fullmatch(key):
            raise ValueError(f"not an environment variable name: {key!r}")
        if "\n" in value or "\r" in value:
            raise ValueError(f"the value of {key} spans lines")
    present = {
        match.group(1)
        for match in re.finditer(
            r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", text, re.MULTILINE
        )
    }
    missing = [f"{key}={value}" for key, value in entries.items() if key not in present]
    if not missing:
        return text
    newline = _newline(text)
    lines = text.splitlines()
    header_line = None
    if header is not None:
        header_line = header if header.startswith("#") else f"# {header}"
    # The header is not repeated when the file ends with its block (a later run adding keys).
    last_block: list[str] = []
    for line in reversed(lines):
        if not line.strip():
            break
        last_block.insert(0, line)
    if header_line is not None and last_block and last_block[0] == header_line:
        return _append_lines(text, missing)
    block = [header_line, *missing] if header_line is not None else missing
    if text.strip():
        text = text if text.endswith(("\n", "\r")) else text + newline
        if not text.endswith(newline * 2) and lines[-1].strip():
            text += newline
    else:
        text = ""
    return _append_lines(text, block)


# --- Dry runs ----------------------------------------------------------------------------------


def unified_diff(path: Path, before: str | None, after: str) -> str:
    """The change from `before` (None: the file is new) to `after`, as `git diff` shows it."""
    old = (before or "").splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    name = path.as_posix()
    lines = difflib.unified_diff(
        old, new, "/dev/null" if before is None else f"a/{name}", f"b/{name}"
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)
