"""One pass over a module's import-time statements: what they bind, declare and feed.

The namespace reader needs more than the names a module binds: its
`__all__`, its star-imports, and the raw material of any lazy attribute
mechanism (what each name is defined as, which tables are updated in place).
This module collects those facts without judging them; `lazy` and
`namespaces` draw the conclusions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from envprobe.static.syntax import is_type_checking, literal_string, literal_strings

__all__ = ["ModuleFacts", "collect_facts", "comprehension_keys", "table_names"]

_TRY_NODES = (ast.Try, ast.TryStar)


@dataclass
class ModuleFacts:
    """What one pass over a module's import-time statements found."""

    names: set[str] = field(default_factory=set)
    declared_all: list[str] = field(default_factory=list)
    has_all: bool = False
    all_readable: bool = True
    star_imports: list[tuple[int, str | None]] = field(default_factory=list)
    definitions: dict[str, list[ast.AST]] = field(default_factory=dict)
    lazy_roots: list[ast.AST] = field(default_factory=list)
    table_updates: dict[str, list[list[str] | None]] = field(default_factory=dict)
    mutations: dict[str, list[ast.AST]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    # `__all__ += sub.__all__`: names whose `__all__` this module's takes in
    all_refs: list[str] = field(default_factory=list)
    # table -> the keys of `table["key"] = ...` statements (None: a computed key)
    assigned_keys: dict[str, list[str | None]] = field(default_factory=dict)
    # module-level classes derived from ModuleType, and whether a bare call builds each
    module_classes: dict[str, bool] = field(default_factory=dict)
    # name -> (level, module, attribute) of the import that bound it
    imported: dict[str, tuple[int, str | None, str | None]] = field(default_factory=dict)

    def define(self, name: str, value: ast.AST) -> None:
        self.definitions.setdefault(name, []).append(value)

    def update_table(self, name: str, names: list[str] | None) -> None:
        self.table_updates.setdefault(name, []).append(names)


def collect_facts(tree: ast.Module, where: str) -> ModuleFacts:
    """Facts of every statement that runs at import time; `where` names the file in messages."""
    facts = ModuleFacts()
    for statement in _module_level(tree.body):
        _note_statement(statement, facts, where)
    for name, built in facts.module_classes.items():
        if not built:  # `sys.modules[__name__].__class__ = C`, or a use this reading misses
            facts.unresolved.append(f"{where} defines module class {name}, used in a way "
                                    "this reading does not follow")
    return facts


def table_names(table: ast.Dict) -> list[str] | None:
    """Names a lazy table makes available; None when it cannot be read.

    Two shapes occur: submodule -> [names] (huggingface_hub, transformers,
    lazy_loader) and name -> anything (a name -> submodule map, or
    `extra_objects`).
    """
    if any(literal_string(key) is None for key in table.keys):
        return None
    if all(isinstance(value, (ast.List, ast.Tuple, ast.Set)) for value in table.values):
        names: list[str] = []
        for value in table.values:
            strings = literal_strings(value)
            if strings is None:
                return None
            names += strings
        return names
    return [literal_string(key) for key in table.keys]


def comprehension_keys(node: ast.DictComp, facts: ModuleFacts) -> list[str] | None:
    """Keys of `{n: ... for n, _ in TABLE}` over a literal list (numpy's deprecated
    aliases); None for any other shape."""
    if len(node.generators) != 1 or not isinstance(node.key, ast.Name):
        return None
    loop = node.generators[0]
    source = loop.iter
    if isinstance(source, ast.Name):
        found = facts.definitions.get(source.id, [])
        source = found[0] if len(found) == 1 else None
    if loop.ifs or not isinstance(source, (ast.List, ast.Tuple, ast.Set)):
        return None
    if isinstance(loop.target, ast.Name) and loop.target.id == node.key.id:
        return literal_strings(source)
    names = [t.id if isinstance(t, ast.Name) else None for t in getattr(loop.target, "elts", [])]
    if node.key.id not in names:
        return None
    at = names.index(node.key.id)
    keys = [literal_string(e.elts[at]) if isinstance(e, ast.Tuple) and len(e.elts) == len(names)
            else None for e in source.elts]
    return None if None in keys else keys  # type: ignore[return-value]


def _module_level(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import time: top level, both sides of every if/try.

    Not the body of `if TYPE_CHECKING:`: a name bound only there is not in the
    module when it runs (markdown 3.5's `etree` in `markdown.util`).
    """
    for statement in body:
        yield statement
        if isinstance(statement, _TRY_NODES):
            blocks = [statement.body, *(h.body for h in statement.handlers),
                      statement.orelse, statement.finalbody]
        elif isinstance(statement, ast.If) and is_type_checking(statement.test):
            blocks = [statement.orelse]
        elif isinstance(statement, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            blocks = [statement.body, statement.orelse]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            blocks = [statement.body]
        elif isinstance(statement, ast.Match):
            blocks = [case.body for case in statement.cases]
        else:
            blocks = []
        for block in blocks:
            yield from _module_level(block)


def _bound_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


def _entry_names(key: ast.expr, value: ast.expr) -> list[str] | None:
    """Names added by `table[key] = value`, in either table shape; None if unreadable."""
    if literal_string(value) is not None:
        return [literal_string(key)] if literal_string(key) is not None else None
    return literal_strings(value)


def _appended_strings(method: str, argument: ast.expr | None) -> list[str] | None:
    """Strings that `x.extend(argument)` or `x.append(argument)` adds; None if not literal."""
    if method == "extend":
        return literal_strings(argument)
    return [literal_string(argument)] if literal_string(argument) is not None else None


def _is_sys_modules_entry(target: ast.expr) -> bool:
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Attribute)
        and target.value.attr == "modules"
        and isinstance(target.value.value, ast.Name)
        and target.value.value.id == "sys"
    )


def _is_namespace_call(node: ast.expr) -> bool:
    """`globals()` or `vars()`: a way to bind names no static reading can list."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id in ("globals", "vars")
    )


def _root_name(node: ast.expr) -> str | None:
    """`T` for `T`, `T[k]`, `T.a[k]`...; None when the chain starts elsewhere."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _subscripted_name(node: ast.expr) -> str | None:
    """`T` for `T["key"]`, else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id
    return None


def _note_statement(statement: ast.stmt, facts: ModuleFacts, where: str) -> None:
    if isinstance(statement, ast.ClassDef) and any(
            (b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")) == "ModuleType"
            for b in statement.bases):
        facts.module_classes[statement.name] = False
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        facts.names.add(statement.name)
        facts.define(statement.name, statement)
        if statement.name == "__getattr__":
            facts.lazy_roots.append(statement)
    elif isinstance(statement, ast.Assign):
        for target in statement.targets:
            _note_assignment(target, statement.value, facts)
            if isinstance(target, ast.Subscript) and _is_namespace_call(target.value):
                facts.unresolved.append(f"{where} assigns names through {target.value.func.id}()")
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        _note_assignment(statement.target, statement.value, facts)
    elif isinstance(statement, ast.AugAssign):
        _note_augmented(statement, facts)
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        facts.names.update(_bound_names(statement.target))
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        for item in statement.items:
            if item.optional_vars is not None:
                facts.names.update(_bound_names(item.optional_vars))
    elif isinstance(statement, ast.Import):
        for alias in statement.names:
            bound = alias.asname or alias.name.partition(".")[0]
            facts.names.add(bound)
            facts.imported[bound] = (0, alias.name if alias.asname else bound, None)
    elif isinstance(statement, ast.ImportFrom):
        for alias in statement.names:
            if alias.name == "*":
                facts.star_imports.append((statement.level, statement.module))
            elif (alias.asname or alias.name) == "__getattr__":
                facts.names.add("__getattr__")
                facts.unresolved.append(f"{where} takes its __getattr__ from another module")
            else:
                facts.names.add(alias.asname or alias.name)
                facts.imported[alias.asname or alias.name] = (
                    statement.level, statement.module, alias.name)
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        callee = statement.value.func
        if isinstance(callee, ast.Name) and callee.id in facts.module_classes:
            # werkzeug 0.16: a bare call that puts a module object in sys.modules, its
            # tables passed as arguments
            facts.module_classes[callee.id] = True
            facts.lazy_roots.append(statement.value)
        _note_call(statement.value, facts, where)


def _note_assignment(target: ast.expr, value: ast.expr, facts: ModuleFacts) -> None:
    bound = list(_bound_names(target))
    facts.names.update(bound)
    for name in bound:
        facts.define(name, value)
    if "__getattr__" in bound or _is_sys_modules_entry(target):
        facts.lazy_roots.append(value)
    if "__all__" in bound:
        facts.has_all = True
    if isinstance(target, ast.Name) and target.id == "__all__":
        _declare_all(facts, value)
    elif "__all__" in bound:
        facts.all_readable = False
    table = _subscripted_name(target)
    if table is not None:
        facts.update_table(table, _entry_names(target.slice, value))
        facts.assigned_keys.setdefault(table, []).append(literal_string(target.slice))


def _note_augmented(statement: ast.AugAssign, facts: ModuleFacts) -> None:
    target, value = statement.target, statement.value
    if isinstance(target, ast.Name):
        facts.names.add(target.id)
        if target.id == "__all__":
            _declare_all(facts, value)
    table = _subscripted_name(target)
    if table is not None:
        facts.update_table(table, literal_strings(value))


def _note_call(call: ast.Call, facts: ModuleFacts, where: str) -> None:
    function = call.func
    if not isinstance(function, ast.Attribute):
        return
    owner, method = function.value, function.attr
    if (root := _root_name(owner)) is not None:
        # `T[k].update(other)` makes `other` reachable from wherever T is.
        facts.mutations.setdefault(root, []).append(call)
    argument = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if isinstance(owner, ast.Name) and owner.id == "__all__" and method == "extend":
        _declare_all(facts, argument)
    elif isinstance(owner, ast.Name) and owner.id == "__all__" and method == "append":
        _declare_all(facts, ast.List([argument]) if argument is not None else None)
    elif (table := _subscripted_name(owner)) is not None and method in ("extend", "append"):
        facts.update_table(table, _appended_strings(method, argument))
    elif isinstance(owner, ast.Name) and method == "update":
        names = table_names(argument) if isinstance(argument, ast.Dict) else (
            comprehension_keys(argument, facts) if isinstance(argument, ast.DictComp) else None)
        facts.update_table(owner.id, names)
    if method == "update" and _is_namespace_call(owner):
        facts.unresolved.append(f"{where} adds names through {owner.func.id}().update()")


def _declare_all(facts: ModuleFacts, value: ast.expr | None) -> None:
    """Add literal strings (and other modules' `__all__`) to `__all__`; any other computed
    part makes `__all__` unreadable."""
    parts = _all_parts(value)
    facts.all_readable &= parts is not None
    strings, refs = parts or ([], [])
    facts.declared_all += strings
    facts.all_refs += refs


def _all_parts(node: ast.expr | None) -> tuple[list[str], list[str]] | None:
    """(literal names, modules whose `__all__` is added) of an `__all__` expression."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _all_parts(node.left), _all_parts(node.right)
        return None if left is None or right is None else (left[0] + right[0],
                                                            left[1] + right[1])
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("list", "tuple") and len(node.args) == 1 and not node.keywords):
        return _all_parts(node.args[0])
    if (isinstance(node, ast.Attribute) and node.attr == "__all__"
            and isinstance(node.value, ast.Name)):
        return [], [node.value.id]
    strings = literal_strings(node)
    return None if strings is None else (strings, [])
