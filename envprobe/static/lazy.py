"""Names a module hands out lazily, through `__getattr__` or a module object in `sys.modules`.

huggingface_hub's `_SUBMOD_ATTRS`, transformers' `_import_structure` and
lazy_loader's `attach(...)` all end in dict literals naming what the module
provides on first access. Following the lazy mechanism to those tables is
what lets "does release X export S?" be answered without importing X.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from envprobe.static.facts import ModuleFacts, table_names
from envprobe.static.getattr_hooks import answered_names
from envprobe.static.syntax import attribute_chain

__all__ = ["lazy_names"]


def lazy_names(facts: ModuleFacts, where: str, unresolved: list[str]) -> set[str]:
    """Names a module-level `__getattr__` (or a lazy module object) can hand out.

    A `__getattr__` that only answers names it tests for (`getattr_hooks`)
    hands out exactly those. Otherwise every name the lazy mechanism
    mentions is followed, through module-level
    definitions and in-place updates, to the dict literals it ends in. The
    namespace stays open-ended when no table is readable, when a table entry
    is computed, or when the mechanism is fed data computed by code from
    elsewhere (a call this module does not define). Why it stays open is
    appended to `unresolved`.
    """
    answered: set[str] = set()
    open_roots = []
    for root in facts.lazy_roots:
        closed = answered_names(root, facts) if isinstance(
            root, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if closed is None:
            open_roots.append(root)
        else:
            answered |= closed  # a deprecation hook: these names, and no others
    if not open_roots:
        return answered
    return answered | _table_names(facts, open_roots, where, unresolved)


def _table_names(facts: ModuleFacts, roots: list[ast.AST], where: str,
                 unresolved: list[str]) -> set[str]:
    """Names in the tables an open lazy mechanism consults."""
    reachable: set[str] = set()
    frontier = _names_in(roots)
    while frontier:
        name = frontier.pop()
        reachable.add(name)
        frontier |= _names_in(
            [*facts.definitions.get(name, []), *facts.mutations.get(name, [])]
        ) - reachable
    expressions = [
        root for root in roots
        if not isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    refusing = _refusal_tables(roots)
    tables = [
        (name, value)
        for name in sorted(reachable - refusing)
        for value in facts.definitions.get(name, [])
        if isinstance(value, ast.Dict)
    ] + [
        ("inline table", node)
        for root in expressions for node in ast.walk(root) if isinstance(node, ast.Dict)
    ]
    names: set[str] = set()
    readable = 0
    for name, table in tables:
        found = table_names(table)
        if found is None:
            unresolved.append(f"{where}: lazy table {name} cannot be read")
            continue
        readable += 1
        names.update(found)
        for update in facts.table_updates.get(name, []):
            if update is None:
                unresolved.append(f"{where}: an entry of lazy table {name} is computed")
            else:
                names.update(update)
    for name in _fed_names(expressions):
        if (callee := _foreign_producer(name, facts)) is not None:
            unresolved.append(f"{where}: lazy table {name} is computed by {callee}()")
    if not readable:
        unresolved.append(f"{where} defines a lazy __getattr__ without a readable table")
    return names


def _refusal_tables(roots: Iterable[ast.AST]) -> set[str]:
    """Tables a `__getattr__` consults only to refuse: `if name in T: ... raise`.

    numpy 2's `__expired_attributes__` is the model: its keys are the names
    the release removed, each answered with an AttributeError of its own words.
    """
    refusing = set()
    for root in roots:
        if not isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)) or not root.args.args:
            continue
        parameter = root.args.args[0].arg
        for node in ast.walk(root):
            if not (isinstance(node, ast.If) and isinstance(node.body[-1], ast.Raise)):
                continue
            test = node.test
            if (isinstance(test, ast.Compare) and len(test.ops) == 1
                    and isinstance(test.ops[0], ast.In)
                    and isinstance(test.left, ast.Name) and test.left.id == parameter
                    and isinstance(test.comparators[0], ast.Name)):
                refusing.add(test.comparators[0].id)
    return refusing


def _names_in(nodes: Iterable[ast.AST]) -> set[str]:
    return {
        node.id for root in nodes for node in ast.walk(root) if isinstance(node, ast.Name)
    }


def _fed_names(expressions: Iterable[ast.AST]) -> set[str]:
    """Plain names passed as arguments to the calls that build the lazy mechanism."""
    fed = set()
    for root in expressions:
        for node in ast.walk(root):
            if isinstance(node, ast.Call):
                for value in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    if isinstance(value, ast.Name) and not value.id.startswith("__"):
                        fed.add(value.id)
    return fed


def _foreign_producer(name: str, facts: ModuleFacts, seen: frozenset[str] = frozenset()) -> str | None:
    """The outside function that computes `name`, if any of its definitions is such a call."""
    for value in facts.definitions.get(name, []):
        if isinstance(value, ast.Name) and value.id not in seen:
            found = _foreign_producer(value.id, facts, seen | {name})
            if found:
                return found
        if isinstance(value, ast.Call):
            callee = value.func
            root = attribute_chain(callee) if isinstance(callee, ast.Attribute) else (
                [callee.id] if isinstance(callee, ast.Name) else None
            )
            local = root is not None and len(root) == 1 and any(
                isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef))
                for definition in facts.definitions.get(root[0], [])
            )
            if not local:
                return ".".join(root) if root else "a call"
    return None
