"""Static look inside a wheel: what a module exports, and what the wheel imports.

The boundary finder asks "which releases of Q still provide S?" and "which
releases of P import S from Q?" for dozens of releases. Installing each one
costs minutes; reading its wheel as a zip of Python sources costs
milliseconds. Nothing here imports or executes wheel code: sources are parsed
with `ast`, and every answer says whether it is conclusive.

Results are cached on disk by the wheel's sha256, so a release is scanned once.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from envprobe.atomic import write_atomically
from envprobe.paths import cache_dir

__all__ = [
    "ImportSite",
    "NamespaceScan",
    "has_module",
    "import_sites",
    "module_namespace",
    "provides_symbol",
    "top_level_modules",
]

# Bump when scanning rules change: cached answers of older rules are then ignored.
_SCAN_FORMAT = "v2"
_EXTENSION_SUFFIXES = (".so", ".pyd")
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_TRY_NODES = tuple(
    node for node in (ast.Try, getattr(ast, "TryStar", None)) if node is not None
)


@dataclass(frozen=True)
class NamespaceScan:
    """Names that `from module import X` would find, read from source.

    `complete` is False when the module can produce names this scan cannot
    see (an unreadable lazy `__getattr__`, a star-import from another
    distribution, compiled code, a file that does not parse); then a name's
    absence proves nothing, and `unresolved` says why.
    """

    names: frozenset[str]
    complete: bool = True
    lazy_names: frozenset[str] = frozenset()
    declared_all: frozenset[str] | None = None
    unresolved: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportSite:
    """One place in a wheel that takes names from another distribution's module.

    `kind` is "from" (`from m import a, b`), "import" (`import m`, no names)
    or "attribute" (`m.a` after `import m`). `optional` marks code guarded by
    a `try` that catches the failure; `in_function` code that runs only when
    called; `typing_only` code under `if TYPE_CHECKING:` that never runs.
    """

    file: str
    line: int
    kind: str
    module: str
    names: tuple[str, ...]
    optional: bool = False
    in_function: bool = False
    typing_only: bool = False


# -- public questions ---------------------------------------------------------


def top_level_modules(wheel_path: Path) -> frozenset[str]:
    """Importable top-level names the wheel installs (packages, modules, extensions)."""
    with _WheelFiles.open(wheel_path) as wheel:
        return wheel.children("")


def has_module(wheel_path: Path, dotted: str) -> bool:
    """Whether the wheel installs `dotted` as a package, namespace package, module or extension."""
    with _WheelFiles.open(wheel_path) as wheel:
        return wheel.locate(dotted) is not None


def module_namespace(wheel_path: Path, module: str) -> NamespaceScan | None:
    """What `module` exports, or None when the wheel does not install it."""
    digest = _sha256(wheel_path)
    cache_file = _cache_path(digest, "namespace", module)
    cached = _read_cache(cache_file)
    if cached is not None:
        return _scan_from_json(cached["scan"])
    with _WheelFiles.open(wheel_path) as wheel:
        scan = _NamespaceReader(wheel).scan(module)
    _write_cache(cache_file, {"scan": None if scan is None else _scan_to_json(scan)})
    return scan


def provides_symbol(wheel_path: Path, module: str, name: str) -> bool | None:
    """True if `from module import name` finds it, False if not, None if the scan cannot tell.

    A module the wheel does not install gives False, as the import would
    fail; callers that must tell "no module" from "no name" ask `has_module`.
    """
    scan = module_namespace(wheel_path, module)
    if scan is None:
        return False
    if name in scan.names:
        return True
    return False if scan.complete else None


def import_sites(wheel_path: Path, target: str) -> list[ImportSite]:
    """Every absolute import of `target` (or its submodules) in the wheel's Python files.

    Only files whose text mentions `target` are parsed, so even a wheel of
    thousands of files is scanned in seconds. Relative imports are not
    reported: another distribution is always imported by absolute name.
    Files that do not parse on this interpreter are skipped.
    """
    digest = _sha256(wheel_path)
    cache_file = _cache_path(digest, "imports", target)
    cached = _read_cache(cache_file)
    if cached is not None:
        return [ImportSite(**{**site, "names": tuple(site["names"])}) for site in cached["sites"]]
    needle = target.encode()
    sites: list[ImportSite] = []
    with _WheelFiles.open(wheel_path) as wheel:
        for path in wheel.python_files():
            source = wheel.read(path)
            if needle not in source:
                continue
            tree = _parse(source)
            if tree is not None:
                sites.extend(_SiteFinder(path, target, tree).sites)
    _write_cache(cache_file, {"sites": [asdict(site) for site in sites]})
    return sites


# -- the wheel as a tree of installed files --------------------------------------


def _installed_path(member: str) -> str | None:
    """Where a zip member lands relative to site-packages; None for metadata and data."""
    if member.endswith("/"):
        return None
    head, _, rest = member.partition("/")
    if head.endswith(".dist-info"):
        return None
    if head.endswith(".data"):
        scheme, _, inner = rest.partition("/")
        return inner if scheme in ("purelib", "platlib") and inner else None
    return member


def _extension_module(filename: str) -> str | None:
    """`fast.cpython-311-x86_64-linux-gnu.so` -> `fast`; None for other files."""
    if filename.endswith(_EXTENSION_SUFFIXES):
        return filename.partition(".")[0]
    return None


@dataclass
class _WheelFiles:
    """The installed layout of an open wheel: files, folders and how to read them."""

    archive: zipfile.ZipFile
    members: dict[str, str] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    extensions: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def open(cls, wheel_path: Path) -> Iterator[_WheelFiles]:
        with zipfile.ZipFile(wheel_path) as archive:
            wheel = cls(archive)
            for member in archive.namelist():
                installed = _installed_path(member)
                if installed is None:
                    continue
                wheel.members[installed] = member
                folder, _, filename = installed.rpartition("/")
                while folder and folder not in wheel.folders:
                    wheel.folders.add(folder)
                    folder = folder.rpartition("/")[0]
                stem = _extension_module(filename)
                if stem is not None:
                    module_path = f"{installed.rpartition('/')[0]}/{stem}".lstrip("/")
                    wheel.extensions[module_path] = installed
            yield wheel

    def read(self, path: str) -> bytes:
        return self.archive.read(self.members[path])

    def python_files(self) -> list[str]:
        return sorted(path for path in self.members if path.endswith(".py"))

    def locate(self, dotted: str) -> tuple[str, str | None] | None:
        """(kind, source file) of a module: package, module, extension or namespace."""
        base = dotted.replace(".", "/")
        if f"{base}/__init__.py" in self.members:
            return "package", f"{base}/__init__.py"
        if f"{base}.py" in self.members:
            return "module", f"{base}.py"
        if base in self.extensions:
            return "extension", self.extensions[base]
        if base in self.folders:
            return "namespace", None
        return None

    def children(self, dotted: str) -> frozenset[str]:
        """Names of the modules and packages directly inside package `dotted`."""
        prefix = dotted.replace(".", "/") + "/" if dotted else ""
        names = set()
        for path in [*self.members, *self.folders]:
            if not path.startswith(prefix):
                continue
            head, slash, _ = path[len(prefix):].partition("/")
            name = head if slash else (
                head[: -len(".py")] if head.endswith(".py") else _extension_module(head)
            )
            if name and name.isidentifier() and name != "__init__":
                names.add(name)
        return frozenset(names)


def _parse(source: bytes) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


# -- module namespaces ---------------------------------------------------------


def _module_level(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import time: top level, both sides of every if/try."""
    for statement in body:
        yield statement
        if isinstance(statement, _TRY_NODES):
            blocks = [statement.body, *(h.body for h in statement.handlers),
                      statement.orelse, statement.finalbody]
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


def _strings(node: ast.expr | None) -> list[str] | None:
    """The strings of a literal list/tuple/set (or a `+` of them); None if not literal."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _strings(node.left), _strings(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and all(
        isinstance(element, ast.Constant) and isinstance(element.value, str)
        for element in node.elts
    ):
        return [element.value for element in node.elts]
    return None


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _table_names(table: ast.Dict) -> list[str] | None:
    """Names a lazy table makes available; None when it cannot be read.

    Two shapes occur: submodule -> [names] (huggingface_hub, transformers,
    lazy_loader) and name -> anything (a name -> submodule map, or
    `extra_objects`).
    """
    if any(_string(key) is None for key in table.keys):
        return None
    if all(isinstance(value, (ast.List, ast.Tuple, ast.Set)) for value in table.values):
        names: list[str] = []
        for value in table.values:
            strings = _strings(value)
            if strings is None:
                return None
            names += strings
        return names
    return [_string(key) for key in table.keys]


def _entry_names(key: ast.expr, value: ast.expr) -> list[str] | None:
    """Names added by `table[key] = value`, in either table shape; None if unreadable."""
    if _string(value) is not None:
        return [_string(key)] if _string(key) is not None else None
    return _strings(value)


def _names_in(nodes: Iterable[ast.AST]) -> set[str]:
    return {
        node.id for root in nodes for node in ast.walk(root) if isinstance(node, ast.Name)
    }


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


@dataclass
class _ModuleFacts:
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

    def define(self, name: str, value: ast.AST) -> None:
        self.definitions.setdefault(name, []).append(value)

    def update_table(self, name: str, names: list[str] | None) -> None:
        self.table_updates.setdefault(name, []).append(names)


def _collect_facts(tree: ast.Module, where: str) -> _ModuleFacts:
    facts = _ModuleFacts()
    for statement in _module_level(tree.body):
        _note_statement(statement, facts, where)
    return facts


def _note_statement(statement: ast.stmt, facts: _ModuleFacts, where: str) -> None:
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
            facts.names.add(alias.asname or alias.name.partition(".")[0])
    elif isinstance(statement, ast.ImportFrom):
        for alias in statement.names:
            if alias.name == "*":
                facts.star_imports.append((statement.level, statement.module))
            elif (alias.asname or alias.name) == "__getattr__":
                facts.names.add("__getattr__")
                facts.unresolved.append(f"{where} takes its __getattr__ from another module")
            else:
                facts.names.add(alias.asname or alias.name)
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        _note_call(statement.value, facts, where)


def _note_assignment(target: ast.expr, value: ast.expr, facts: _ModuleFacts) -> None:
    bound = list(_bound_names(target))
    facts.names.update(bound)
    for name in bound:
        facts.define(name, value)
    if "__getattr__" in bound or _is_sys_modules_entry(target):
        facts.lazy_roots.append(value)
    if "__all__" in bound:
        facts.has_all = True
    if isinstance(target, ast.Name) and target.id == "__all__":
        strings = _strings(value)
        facts.all_readable &= strings is not None
        facts.declared_all += strings or []
    elif "__all__" in bound:
        facts.all_readable = False
    table = _subscripted_name(target)
    if table is not None:
        facts.update_table(table, _entry_names(target.slice, value))


def _note_augmented(statement: ast.AugAssign, facts: _ModuleFacts) -> None:
    target, value = statement.target, statement.value
    if isinstance(target, ast.Name):
        facts.names.add(target.id)
        if target.id == "__all__":
            strings = _strings(value)
            facts.all_readable &= strings is not None
            facts.declared_all += strings or []
    table = _subscripted_name(target)
    if table is not None:
        facts.update_table(table, _strings(value))


def _note_call(call: ast.Call, facts: _ModuleFacts, where: str) -> None:
    function = call.func
    if not isinstance(function, ast.Attribute):
        return
    owner, method = function.value, function.attr
    if (root := _root_name(owner)) is not None:
        # `T[k].update(other)` makes `other` reachable from wherever T is.
        facts.mutations.setdefault(root, []).append(call)
    argument = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if isinstance(owner, ast.Name) and owner.id == "__all__" and method in ("extend", "append"):
        strings = _strings(argument) if method == "extend" else (
            [_string(argument)] if _string(argument) is not None else None
        )
        facts.all_readable &= strings is not None
        facts.declared_all += strings or []
    elif (table := _subscripted_name(owner)) is not None and method in ("extend", "append"):
        strings = _strings(argument) if method == "extend" else (
            [_string(argument)] if _string(argument) is not None else None
        )
        facts.update_table(table, strings)
    elif isinstance(owner, ast.Name) and method == "update":
        names = _table_names(argument) if isinstance(argument, ast.Dict) else None
        facts.update_table(owner.id, names)
    if method == "update" and _is_namespace_call(owner):
        facts.unresolved.append(f"{where} adds names through {owner.func.id}().update()")


def _lazy_names(facts: _ModuleFacts, where: str, unresolved: list[str]) -> set[str]:
    """Names a module-level `__getattr__` (or a lazy module object) can hand out.

    Follows every name the lazy mechanism mentions, through module-level
    definitions and in-place updates, to the dict literals it ends in. The
    namespace stays open-ended when no table is readable, when a table entry
    is computed, or when the mechanism is fed data computed by code from
    elsewhere (a call this module does not define).
    """
    if not facts.lazy_roots:
        return set()
    reachable: set[str] = set()
    frontier = _names_in(facts.lazy_roots)
    while frontier:
        name = frontier.pop()
        reachable.add(name)
        frontier |= _names_in(
            [*facts.definitions.get(name, []), *facts.mutations.get(name, [])]
        ) - reachable
    expressions = [
        root for root in facts.lazy_roots
        if not isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    tables = [
        (name, value)
        for name in sorted(reachable)
        for value in facts.definitions.get(name, [])
        if isinstance(value, ast.Dict)
    ] + [
        ("inline table", node)
        for root in expressions for node in ast.walk(root) if isinstance(node, ast.Dict)
    ]
    names: set[str] = set()
    readable = 0
    for name, table in tables:
        table_names = _table_names(table)
        if table_names is None:
            unresolved.append(f"{where}: lazy table {name} cannot be read")
            continue
        readable += 1
        names.update(table_names)
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


def _foreign_producer(name: str, facts: _ModuleFacts, seen: frozenset[str] = frozenset()) -> str | None:
    """The outside function that computes `name`, if any of its definitions is such a call."""
    for value in facts.definitions.get(name, []):
        if isinstance(value, ast.Name) and value.id not in seen:
            found = _foreign_producer(value.id, facts, seen | {name})
            if found:
                return found
        if isinstance(value, ast.Call):
            callee = value.func
            root = _attribute_chain(callee) if isinstance(callee, ast.Attribute) else (
                [callee.id] if isinstance(callee, ast.Name) else None
            )
            local = root is not None and len(root) == 1 and any(
                isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef))
                for definition in facts.definitions.get(root[0], [])
            )
            if not local:
                return ".".join(root) if root else "a call"
    return None


def _absolute_module(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    """Resolve `from <level dots><target> import ...` written inside `module`."""
    if level == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(base) - 1:
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


class _NamespaceReader:
    """Namespaces of the modules of one open wheel, following star-imports inside it."""

    def __init__(self, wheel: _WheelFiles) -> None:
        self._wheel = wheel
        self._done: dict[str, NamespaceScan | None] = {}
        self._visiting: set[str] = set()
        self._unreadable_all: set[str] = set()

    def scan(self, module: str) -> NamespaceScan | None:
        if module not in self._done:
            located = self._wheel.locate(module)
            self._visiting.add(module)
            try:
                self._done[module] = None if located is None else self._scan_located(
                    module, *located
                )
            finally:
                self._visiting.discard(module)
        return self._done[module]

    def _scan_located(self, module: str, kind: str, source_file: str | None) -> NamespaceScan:
        children = self._wheel.children(module) if kind in ("package", "namespace") else frozenset()
        if kind == "namespace" or source_file is None:
            return NamespaceScan(names=children)
        if kind == "extension":
            return NamespaceScan(
                names=frozenset(), complete=False,
                unresolved=(f"{source_file} is compiled code",),
            )
        tree = _parse(self._wheel.read(source_file))
        if tree is None:
            return NamespaceScan(
                names=children, complete=False,
                unresolved=(f"{source_file} does not parse on this Python",),
            )
        facts = _collect_facts(tree, source_file)
        unresolved = list(facts.unresolved)
        lazy = _lazy_names(facts, source_file, unresolved)
        names = facts.names | children | set(facts.declared_all) | lazy
        for level, target in facts.star_imports:
            names |= self._star_names(
                _absolute_module(module, kind == "package", level, target),
                f"{'.' * level}{target or ''}", source_file, unresolved,
            )
        if facts.has_all and not facts.all_readable:
            self._unreadable_all.add(module)
        return NamespaceScan(
            names=frozenset(names),
            complete=not unresolved,
            lazy_names=frozenset(lazy),
            declared_all=(
                frozenset(facts.declared_all) if facts.has_all and facts.all_readable else None
            ),
            unresolved=tuple(dict.fromkeys(unresolved)),
        )

    def _star_names(
        self, absolute: str | None, written: str, where: str, unresolved: list[str]
    ) -> set[str]:
        """Names `from <absolute> import *` brings in, as far as this wheel shows."""
        if absolute is None or self._wheel.locate(absolute) is None:
            unresolved.append(f"{where} star-imports {written}, which this wheel does not hold")
            return set()
        if absolute in self._visiting:
            # An import cycle: the partner is half-initialised at that moment anyway.
            return set()
        scan = self.scan(absolute)
        if scan is None:
            return set()
        if scan.declared_all is not None:
            return set(scan.declared_all)
        if absolute in self._unreadable_all:
            unresolved.append(f"{where} star-imports {written}, whose __all__ cannot be read")
        unresolved.extend(scan.unresolved)
        return {name for name in scan.names if not name.startswith("_")}


# -- import sites --------------------------------------------------------------


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None when the chain starts at anything but a name."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.append(current.id)
    return parts[::-1]


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"BaseException"}
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in nodes
        if isinstance(node, (ast.Name, ast.Attribute))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _SiteFinder(ast.NodeVisitor):
    """Walks one file, noting each use of `target` with the context it runs in."""

    def __init__(self, file: str, target: str, tree: ast.Module) -> None:
        self._file = file
        self._target = target
        self._aliases: dict[str, str] = {}
        self._imported: set[str] = set()
        self._in_function = 0
        self._typing_only = 0
        self._caught: list[set[str]] = []
        self.sites: list[ImportSite] = []
        self._learn_aliases(tree)
        self.visit(tree)

    def _is_target(self, module: str) -> bool:
        return module == self._target or module.startswith(self._target + ".")

    def _learn_aliases(self, tree: ast.Module) -> None:
        """Names bound by `import target...` anywhere in the file (shadowing is ignored)."""
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import):
                continue
            for alias in node.names:
                parts = alias.name.split(".")
                self._imported.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if alias.asname:
                    self._aliases[alias.asname] = alias.name
                else:
                    self._aliases[parts[0]] = parts[0]

    def _add(self, node: ast.AST, kind: str, module: str, names: tuple[str, ...]) -> None:
        caught = set().union(*self._caught) if self._caught else set()
        guarding = _IMPORT_ERRORS | ({"AttributeError"} if kind == "attribute" else set())
        self.sites.append(ImportSite(
            file=self._file,
            line=node.lineno,
            kind=kind,
            module=module,
            names=names,
            optional=bool(caught & guarding),
            in_function=self._in_function > 0,
            typing_only=self._typing_only > 0,
        ))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._is_target(alias.name):
                self._add(node, "import", alias.name, ())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and self._is_target(node.module):
            self._add(node, "from", node.module, tuple(alias.name for alias in node.names))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _attribute_chain(node)
        if chain is None or chain[0] not in self._aliases or not isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
            return
        module, rest = self._aliases[chain[0]], chain[1:]
        while len(rest) > 1 and f"{module}.{rest[0]}" in self._imported:
            module, rest = f"{module}.{rest[0]}", rest[1:]
        if self._is_target(module) and f"{module}.{rest[0]}" not in self._imported:
            self._add(node, "attribute", module, (rest[0],))

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # Decorators and defaults run at definition time; only the body waits for a call.
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        self.visit(node.args)
        saved_caught, self._caught = self._caught, []
        self._in_function += 1
        for part in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(part)
        self._in_function -= 1
        self._caught = saved_caught

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_Try(self, node: ast.Try) -> None:
        self._caught.append(set().union(*(_caught_names(h) for h in node.handlers)))
        for statement in node.body:
            self.visit(statement)
        self._caught.pop()
        for part in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(part)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        typing_only = _is_type_checking(node.test)
        self._typing_only += typing_only
        for statement in node.body:
            self.visit(statement)
        self._typing_only -= typing_only
        for statement in node.orelse:
            self.visit(statement)


# -- the scan cache --------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def _sha256(wheel_path: Path) -> str:
    """The wheel's sha256, computed once per file version in this process."""
    stat = os.stat(wheel_path)
    key = (str(Path(wheel_path).resolve()), stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    with open(wheel_path, "rb") as stream:
        while chunk := stream.read(1 << 16):
            digest.update(chunk)
    with _digests_lock:
        _digests[key] = digest.hexdigest()
    return _digests[key]


def _cache_path(digest: str, kind: str, subject: str) -> Path:
    return cache_dir() / "scans" / _SCAN_FORMAT / digest[:2] / digest / kind / f"{subject}.json"


def _read_cache(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_cache(path: Path, value: object) -> None:
    """Atomic, so concurrent scans of one wheel never read half an answer."""
    write_atomically(path, json.dumps(value).encode())


def _scan_to_json(scan: NamespaceScan) -> dict:
    return {
        "names": sorted(scan.names),
        "complete": scan.complete,
        "lazy_names": sorted(scan.lazy_names),
        "declared_all": None if scan.declared_all is None else sorted(scan.declared_all),
        "unresolved": list(scan.unresolved),
    }


def _scan_from_json(data: dict | None) -> NamespaceScan | None:
    if data is None:
        return None
    return NamespaceScan(
        names=frozenset(data["names"]),
        complete=data["complete"],
        lazy_names=frozenset(data["lazy_names"]),
        declared_all=None if data["declared_all"] is None else frozenset(data["declared_all"]),
        unresolved=tuple(data["unresolved"]),
    )
