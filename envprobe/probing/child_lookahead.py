"""Read ahead of a failed probe: imports it would meet next, from the files alone.

Python stops at the first import that fails, so a set whose dependencies
removed three names costs three installs when each is met by running. While
the environment still exists, the child reads the module-level imports that
the probe code reaches and that have not run yet, without executing any of
them, and lists the suspects: an unconditional `from m import name` whose
installed `m` never mentions `name`, and an `import m` that nothing on
`sys.path` provides. Suspects are not failures: the host checks each against
the provider's release with its static reading before it learns from one.

Loaded by `child.py` from its own folder, in the environment's interpreter:
standard library only, Python 3.8+.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import re
import sys
import time

_MAX_SUSPECTS = 30
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))  # Python 3.10+


def read_ahead(code: str, dists, relative, seconds: float = 20.0,
               max_modules: int = 4000) -> list[dict]:
    """Suspects reachable from the probe code's unconditional imports, cross-distribution only."""
    reader = _Reader(dists, relative, time.monotonic() + seconds, max_modules)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    reader.walk("__main__", False, tree, None)
    return reader.suspects


class _Reader:
    def __init__(self, dists, relative, deadline: float, max_modules: int) -> None:
        self.dists, self.relative = dists, relative
        self.deadline, self.max_modules = deadline, max_modules
        self.specs: dict[str, object] = {}
        self.visited: set[str] = set()
        self.sources: dict[str, str | None] = {}
        self.suspects: list[dict] = []
        self.seen: set[tuple[str, str]] = set()

    def walk(self, module: str, is_package: bool, tree: ast.Module, origin: str | None) -> None:
        queue = [(module, is_package, tree, origin)]
        while queue and time.monotonic() < self.deadline and len(self.visited) < self.max_modules:
            name, package, body, file = queue.pop()
            for node in _unconditional_imports(body):
                for target in self._targets(name, package, node, file):
                    if target not in self.visited:
                        self.visited.add(target)
                        parsed = self._parse(target)
                        if parsed is not None:
                            queue.append(parsed)

    def _targets(self, module: str, is_package: bool, node: ast.stmt, file: str | None) -> list[str]:
        """Modules the statement imports (parents first), noting suspects on the way."""
        targets: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets += self._with_parents(alias.name, node, file)
            return targets
        assert isinstance(node, ast.ImportFrom)
        base = _absolute(module, is_package, node.level, node.module)
        if base is None:
            return targets
        targets += self._with_parents(base, node, file)
        for alias in node.names:
            if alias.name == "*" or f"{base}.{alias.name}" in self.visited:
                continue
            if self._spec(f"{base}.{alias.name}") is not None:
                targets.append(f"{base}.{alias.name}")
            elif self._lacks(base, alias.name):
                self._suspect("symbol", alias.name, base, node, file)
        return targets

    def _with_parents(self, dotted: str, node: ast.stmt, file: str | None) -> list[str]:
        parts = dotted.split(".")
        found = []
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in sys.modules or self._spec(name) is not None:
                found.append(name)
                continue
            if i == 1 and name not in sys.builtin_module_names and _absent(name):
                self._suspect("module", name, name, node, file)
            break
        return found

    def _spec(self, name: str):
        if name not in self.specs:
            self.specs[name] = None
            parent, _, _ = name.rpartition(".")
            if parent:
                loaded = sys.modules.get(parent)
                path = getattr(loaded, "__path__", None) if loaded is not None else None
                if path is None:
                    spec = self._spec(parent)
                    path = getattr(spec, "submodule_search_locations", None)
                if path is None:
                    return None
            else:
                path = None
            try:
                self.specs[name] = importlib.machinery.PathFinder.find_spec(name, path)
            except (ImportError, ValueError, OSError):
                pass
        return self.specs[name]

    def _parse(self, name: str):
        """(name, is_package, tree, file) of a module that has not run yet; None otherwise."""
        if name in sys.modules or name.partition(".")[0] in _STDLIB:
            return None  # it ran to the end (its imports all succeeded), or it is no trap
        spec = self._spec(name)
        origin = getattr(spec, "origin", None)
        source = self._source(name)
        if source is None:
            return None
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        return name, spec.submodule_search_locations is not None, tree, origin

    def _source(self, name: str) -> str | None:
        if name not in self.sources:
            origin = getattr(self._spec(name), "origin", None)
            text = None
            if isinstance(origin, str) and origin.endswith(".py"):
                try:
                    with open(origin, encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    pass
            self.sources[name] = text
        return self.sources[name]

    def _lacks(self, module: str, name: str, depth: int = 0) -> bool:
        """Whether the installed `module` surely never mentions `name` (cheap; the host checks).

        A star import hands on names its text never spells (`from .values import *` in
        llvmlite.ir binds `Constant`): the modules it takes from are read too, a few deep."""
        loaded = sys.modules.get(module)
        if loaded is not None:
            namespace = vars(loaded)
            if name in namespace:
                return False
            if "__getattr__" not in namespace and not hasattr(type(loaded), "__getattr__"):
                return True  # it ran to the end and did not bind the name (nor serves it lazily)
        source = self._source(module)  # a lazy table names what its `__getattr__` serves
        if source is None:
            return False  # an extension, a namespace folder or nothing readable: no opinion
        if re.search(r"\b" + re.escape(name) + r"\b", source) is not None:
            return False
        if _REPLACED.search(source):
            return False  # it puts another object in its place (transformers' lazy module)
        stars = _STAR.findall(source)
        if stars and depth >= _STAR_DEPTH:
            return False  # too deep to follow: no opinion
        is_package = getattr(self._spec(module), "submodule_search_locations", None) is not None
        for dots, target in stars:
            origin = _absolute(module, is_package, len(dots), target or None)
            if origin is None or not self._lacks(origin, name, depth + 1):
                return False
        return True

    def _suspect(self, kind: str, name: str, module: str, node: ast.stmt, file: str | None) -> None:
        if (module, name) in self.seen or len(self.suspects) >= _MAX_SUSPECTS:
            return
        self.seen.add((module, name))
        importer = self.dists.owner_of_file(file) if file else None
        if file and importer is None:
            return  # a file no distribution installed: no release to blame
        owner = None
        if kind == "symbol":
            origin = getattr(sys.modules.get(module), "__file__", None) or getattr(
                self._spec(module), "origin", None)
            owner = self.dists.owner_of_file(origin) or self.dists.owner_of_module(module)
            if owner is None or (importer is not None and owner[0] == importer[0]):
                return  # within one release, or nobody to blame: not a dependency trap
        self.suspects.append({
            "missing": {"kind": kind, "name": name, "module": module, "function": None,
                        "package": owner[0] if owner else None,
                        "version": owner[1] if owner else None},
            "importer": {"file": self.relative(file) if file else "<probe>", "line": node.lineno,
                         "function": "<module>", "package": importer[0] if importer else None,
                         "version": importer[1] if importer else None},
        })


def _absent(name: str) -> bool:
    """No finder on `sys.meta_path` knows the top-level `name` (finding runs no module code)."""
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return False


_STAR = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\*", re.MULTILINE)
_STAR_DEPTH = 3
_REPLACED = re.compile(r"sys\.modules\[__name__\]\s*=")


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    if level == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > len(base):
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else [])) or None


def _unconditional_imports(tree: ast.AST):
    """Import statements that run whenever the module runs: its body and class bodies only.

    Anything under `try`, `if`, `with` or a function may be skipped or guarded,
    so it is left out: a suspect must be certain to run.
    """
    for node in getattr(tree, "body", ()):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _unconditional_imports(node)
