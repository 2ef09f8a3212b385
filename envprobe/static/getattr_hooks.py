"""A module `__getattr__` read as a closed list: the names it answers, all others refused.

The usual deprecation hook (flask 2.3, numpy 2) tests the name against
literals or tables, answers those, and ends in `raise AttributeError`.
When every branch that returns is guarded by such a test, the names it can
hand out are known, and a name outside them is absent for sure. Anything
less regular (a return no test guards, a test not on the name alone, a table
that is computed) leaves the hook open, and the caller falls back to
following its tables.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from envprobe.static.facts import ModuleFacts, comprehension_keys
from envprobe.static.syntax import literal_string, literal_strings

__all__ = ["answered_names"]


def answered_names(function: ast.FunctionDef | ast.AsyncFunctionDef,
                   facts: ModuleFacts) -> set[str] | None:
    """Names this `__getattr__` answers; None when it may answer others too."""
    if not function.args.args:
        return None
    parameter = function.args.args[0].arg
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and literal_string(body[0].value) is not None:
        body = body[1:]  # the docstring
    if not body or not isinstance(body[-1], ast.Raise):
        return None
    return _branches(body[:-1], parameter, facts)


def _branches(statements: Iterable[ast.stmt], parameter: str,
              facts: ModuleFacts) -> set[str] | None:
    names: set[str] = set()
    for statement in statements:
        if not _returns(statement):
            continue  # imports, warnings, assignments: they hand nothing out
        if isinstance(statement, ast.If):
            found = _guarded(statement, parameter, facts)
        elif isinstance(statement, (ast.Try, ast.TryStar)):
            found = _table_lookup(statement, parameter, facts)
        else:
            found = None
        if found is None:
            return None
        names |= found
    return names


def _guarded(statement: ast.If, parameter: str, facts: ModuleFacts) -> set[str] | None:
    """`if name == "x": ... return` answers x; an `elif` chain is read the same way."""
    names: set[str] = set()
    if _returns_body(statement.body):
        keys = _name_test(statement.test, parameter, facts)
        if keys is None or not _ends_in_exit(statement.body):
            return None  # a return the test does not pin down, or one that may not happen
        names |= keys
    if statement.orelse:
        rest = _branches(statement.orelse, parameter, facts)
        if rest is None:
            return None
        names |= rest
    return names


def _table_lookup(statement: ast.Try | ast.TryStar, parameter: str,
                  facts: ModuleFacts) -> set[str] | None:
    """numpy's `try: v = T[name] except KeyError: pass else: ... return v` answers T's keys."""
    handlers_return = any(_returns(h) for h in statement.handlers) or any(
        _returns(s) for s in statement.finalbody)
    if handlers_return or len(statement.body) != 1:
        return None
    only = statement.body[0]
    value = only.value if isinstance(only, (ast.Assign, ast.Return)) else None
    if not (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)
            and isinstance(value.slice, ast.Name) and value.slice.id == parameter):
        return None
    return _table_keys(value.value.id, facts)


def _name_test(test: ast.expr, parameter: str, facts: ModuleFacts) -> set[str] | None:
    """The names a test on the parameter alone admits; None for any other test."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        parts = [_name_test(value, parameter, facts) for value in test.values]
        return None if any(p is None for p in parts) else set().union(*parts)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, right, op = test.left, test.comparators[0], test.ops[0]
    if isinstance(op, ast.Eq):
        if isinstance(right, ast.Name) and right.id == parameter:
            left, right = right, left
        is_parameter = isinstance(left, ast.Name) and left.id == parameter
        return {literal_string(right)} if is_parameter and literal_string(right) else None
    if isinstance(op, ast.In) and isinstance(left, ast.Name) and left.id == parameter:
        if isinstance(right, ast.Name):
            return _table_keys(right.id, facts)
        strings = literal_strings(right)
        return set(strings) if strings is not None else None
    return None


def _table_keys(name: str, facts: ModuleFacts) -> set[str] | None:
    """Keys of a module-level table: a literal (or a comprehension over one), changed
    after only by `T[key] = ...` and `T.update(...)` with keys as readable; else None."""
    definitions = facts.definitions.get(name, [])
    if len(definitions) != 1:
        return None
    keys = _keys_of(definitions[0], facts)
    for change in facts.mutations.get(name, []):
        is_update = (isinstance(change, ast.Call) and isinstance(change.func, ast.Attribute)
                     and change.func.attr == "update" and len(change.args) == 1)
        found = _keys_of(change.args[0], facts) if is_update else None
        keys = None if keys is None or found is None else keys + found
    assigned = facts.assigned_keys.get(name, [])
    if keys is None or None in keys or None in assigned:
        return None
    return set(keys).union(assigned)  # type: ignore[arg-type]


def _keys_of(table: ast.AST, facts: ModuleFacts) -> list[str | None] | None:
    if isinstance(table, ast.Dict):
        return [literal_string(key) for key in table.keys]
    if isinstance(table, ast.DictComp):
        return comprehension_keys(table, facts)  # type: ignore[return-value]
    return literal_strings(table)  # type: ignore[arg-type,return-value]


def _returns(node: ast.AST) -> bool:
    """Whether a return of this function lies inside (nested functions do not count)."""
    if isinstance(node, ast.Return):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
        return False
    return any(_returns(child) for child in ast.iter_child_nodes(node))


def _returns_body(body: list[ast.stmt]) -> bool:
    return any(_returns(statement) for statement in body)


def _ends_in_exit(body: list[ast.stmt]) -> bool:
    """Whether a branch surely leaves the function: a return or a raise as its last word."""
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))
