"""Static scans that settle more: sdists, re-exports, deprecation hooks, honest words."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version
from wheelfactory import build_sdist, build_wheel

from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
from envprobe.solving.teachers.common import Case, Lesson, Tools
from envprobe.solving.teachers.symbol import missing_symbol
from envprobe.static.layout import has_module
from envprobe.static.namespaces import module_namespace, provides_symbol
from envprobe.static.scanner import StaticScanner

_SETUP = {"setup.py": "from setuptools import setup\nsetup(name='old')\n"}


# -- sdists ----------------------------------------------------------------------


def test_an_sdist_is_read_from_its_src_layout(tmp_path: Path):
    sdist = build_sdist(tmp_path, "old", "0.9", {
        **_SETUP,
        "src/old/__init__.py": "from old.core import Legacy\n",
        "src/old/core.py": "class Legacy: pass\n",
        "tests/test_old.py": "from old import Legacy\n",
    })
    assert has_module(sdist, "old.core") is True
    assert has_module(sdist, "old.gone") is False  # pure Python: its file list is complete
    assert has_module(sdist, "tests") is None  # never installed, so never located
    assert provides_symbol(sdist, "old", "Legacy") is True
    assert provides_symbol(sdist, "old", "Modern") is False


def test_an_sdist_that_compiles_or_writes_modules_proves_no_absence(tmp_path: Path):
    sdist = build_sdist(tmp_path, "fast", "1.0", {
        "setup.py": "setup(ext_modules=[Extension('fast._speed', ['fast/speed.c'])])\n",
        "pyproject.toml": "[tool.setuptools_scm]\nwrite_to = 'fast/_version.py'\n",
        "fast/__init__.py": "X = 1\n",
        "fast/speed.c": "",
    })
    assert has_module(sdist, "fast._speed") is None  # built from a C file of another name
    assert has_module(sdist, "fast._version") is True  # the build writes it
    assert provides_symbol(sdist, "fast._version", "version") is None
    assert provides_symbol(sdist, "fast", "X") is True
    assert provides_symbol(sdist, "fast", "_speed") is None


def test_a_hostile_sdist_member_is_ignored(tmp_path: Path):
    path = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("evil-1.0/evil/__init__.py", "A = 1\n"),
                           ("evil-1.0/../../evil/sneaky.py", "B = 1\n"),
                           ("/abs/evil/other.py", "C = 1\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("evil-1.0/evil/link.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    assert has_module(path, "evil") is True
    assert has_module(path, "evil.sneaky") is False and has_module(path, "evil.link") is False
    assert provides_symbol(path, "evil", "A") is True


@dataclass(frozen=True)
class _File:
    filename: str
    is_wheel: bool
    yanked: bool = False
    size: int | None = None


class _Index:
    """A release with only an sdist, one with only another CPython's wheel."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def best_wheel(self, name, version, tags):
        for path in self.folder.glob(f"{name}-{version}-*.whl"):
            wheel_tag = path.name.split("-", 2)[2]
            if tags is None or any(f"{t.interpreter}-{t.abi}-{t.platform}.whl" == wheel_tag
                                   for t in tags):
                return _File(path.name, True)
        return None

    def files(self, name, version):
        return [_File(p.name, p.name.endswith(".whl"))
                for p in self.folder.glob(f"{name}-{version}*")]

    def archive(self, dist):
        return self.folder / dist.filename


def test_the_scanner_reads_another_pythons_wheel_then_the_sdist(tmp_path: Path):
    from packaging.tags import Tag
    tags = [Tag("cp311", "cp311", "linux_x86_64"), Tag("py3", "none", "any")]
    build_sdist(tmp_path, "old", "0.9", {**_SETUP, "old/__init__.py": "Legacy = 1\n"})
    build_wheel(tmp_path, "old", "1.0", {"old/__init__.py": "Legacy = 1\n"},
                tag="cp39-cp39-linux_x86_64")
    build_wheel(tmp_path, "old", "2.0", {"old/__init__.py": "Modern = 1\n"})
    scanner = StaticScanner(_Index(tmp_path), tags)
    answers = [scanner.provides("old", Version(v), "old", "Legacy") for v in ("0.9", "1.0", "2.0")]
    assert answers == [True, True, False]
    assert scanner.scanned == ["old-0.9.tar.gz", "old-1.0-cp39-cp39-linux_x86_64.whl",
                               "old-2.0-py3-none-any.whl"]
    assert [scanner.has_wheel("old", Version(v)) for v in ("0.9", "1.0", "2.0")] == [
        False, False, True]  # only read, never installed: no micro-probe for those
    assert scanner.python_tag == "cp311"


# -- re-exports ------------------------------------------------------------------


def test_a_reexport_through_a_private_submodule_with_a_composed_all(tmp_path: Path):
    wheel = build_wheel(tmp_path, "pkg", "1.0", {
        "pkg/__init__.py": "from ._impl import *\n",
        "pkg/_impl.py": "from . import _a\nfrom ._a import *\nfrom ._b import *\n"
                        "from . import _b as b\n__all__ = _a.__all__ + list(b.__all__)\n",
        "pkg/_a.py": "__all__ = ['One']\nOne = 1\nHelper = 0\n",
        "pkg/_b.py": "__all__ = ['Two']\nTwo = 2\nExtra = 3\n",
        "pkg/np/__init__.py": "from .sub import *\n__all__ = ['top']\n__all__ += sub.__all__\n"
                              "from .. import _a\n__all__.extend(_a.__all__)\ntop = 1\n",
        "pkg/np/sub.py": "__all__ = ['deep']\ndeep = 1\n",
        "user.py": "from pkg.np import *\n",
    })
    assert [provides_symbol(wheel, "pkg", n) for n in ("One", "Two", "Helper", "Extra")] == [
        True, True, False, False]
    assert module_namespace(wheel, "pkg").complete
    assert module_namespace(wheel, "pkg.np").declared_all == {"top", "deep", "One"}
    assert provides_symbol(wheel, "user", "deep") is True
    assert provides_symbol(wheel, "user", "sub") is False


def test_an_all_from_a_module_this_wheel_cannot_read_stays_open(tmp_path: Path):
    wheel = build_wheel(tmp_path, "pkg", "1.0", {
        "pkg/__init__.py": "from ._impl import *\n",
        "pkg/_impl.py": "import elsewhere\nfrom elsewhere import *\n__all__ = elsewhere.__all__\n",
    })
    assert provides_symbol(wheel, "pkg", "Anything") is None


def test_a_module_object_built_by_a_bare_call_hands_out_its_tables(tmp_path: Path):
    """werkzeug 0.16: `_DeprecatedImportModule(__name__, {".utils": [...]}, ...)`."""
    wheel = build_wheel(tmp_path, "wz", "1.0", {
        "wz/__init__.py": "from types import ModuleType\n"
                          "class _Deprecated(ModuleType):\n"
                          "    def __getattr__(self, item):\n        return 1\n"
                          "_Deprecated(__name__, {'.utils': ['secure_filename']}, '1.0')\n",
        "other/__init__.py": "import sys, types\nclass M(types.ModuleType):\n    pass\n"
                             "sys.modules[__name__].__class__ = M\n",
    })
    assert provides_symbol(wheel, "wz", "secure_filename") is True
    assert provides_symbol(wheel, "other", "anything") is None


# -- deprecation hooks -----------------------------------------------------------

_HOOK = '''
import warnings
_OLD = {"OldName": "NewName"}
def __getattr__(name):
    """Deprecated names, answered with a warning."""
    if name == "__version__":
        warnings.warn("use importlib.metadata")
        return "1.0"
    elif name in ("escape", "Markup"):
        from markupsafe import escape, Markup
        return escape if name == "escape" else Markup
    if name in _OLD:
        warnings.warn("renamed")
        return globals()[_OLD[name]]
    if name in _GONE:
        raise AttributeError(_GONE[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
'''


def test_a_deprecation_getattr_is_conclusive_for_every_other_name(tmp_path: Path):
    wheel = build_wheel(tmp_path, "pkg", "1.0", {
        "pkg/__init__.py": "from pkg._gone import _GONE\nNewName = 1\n" + _HOOK,
        "pkg/_gone.py": "_GONE = {'Removed': 'gone in 1.0'}\n",
        "open/__init__.py": "def __getattr__(name):\n    if name.startswith('x'):\n"
                            "        return 1\n    raise AttributeError(name)\n",
    })
    scan = module_namespace(wheel, "pkg")
    assert scan.complete and not scan.unresolved
    for name in ("__version__", "escape", "Markup", "OldName", "NewName"):
        assert provides_symbol(wheel, "pkg", name) is True
    for name in ("Removed", "Anything", "_GONE_NOT"):
        assert provides_symbol(wheel, "pkg", name) is False
    assert provides_symbol(wheel, "open", "xray") is None  # a test not on literals: open


def test_numpys_tables_built_by_comprehension_and_item_assignment(tmp_path: Path):
    wheel = build_wheel(tmp_path, "np", "1.0", {"np/__init__.py": (
        "_info = [('float', 'a'), ('int', 'b')]\n__deprecated_attrs__ = {}\n"
        "__deprecated_attrs__.update({n: (1, m) for n, m in _info})\n"
        "__deprecated_attrs__['typeDict'] = (2, 'c')\n"
        "_fin = ['fv', 'pv']\n__expired_functions__ = {n: 'gone' for n in _fin}\n"
        "def __getattr__(attr):\n"
        "    try:\n        msg = __expired_functions__[attr]\n    except KeyError:\n        pass\n"
        "    else:\n        return lambda: msg\n"
        "    try:\n        val, msg = __deprecated_attrs__[attr]\n    except KeyError:\n"
        "        pass\n    else:\n        return val\n"
        "    if attr == 'testing':\n        return 1\n"
        "    raise AttributeError(attr)\n")})
    for name in ("float", "int", "typeDict", "fv", "testing"):
        assert provides_symbol(wheel, "np", name) is True
    assert provides_symbol(wheel, "np", "asscalar") is False


# -- words -----------------------------------------------------------------------


class _Scanner:
    """Releases 1.x (sdist only here) have the name; 2.x (wheels) do not."""

    python_tag = "cp311"

    def __init__(self) -> None:
        self.scanned: list[str] = []

    def provides(self, name, version, module, symbol):
        return version < Version("2.0")


def test_a_name_only_sdist_only_releases_have_is_reported_as_that():
    installable = [Version(v) for v in ("2.0", "2.1")]
    known = [Version(v) for v in ("1.0", "1.5", "2.0", "2.1")]
    tools = Tools(_Scanner(), lambda n: installable, lambda fixed, purpose: None,
                  lambda n, v: [], lambda n, v: None, confirm=False, known=lambda n: known)
    failure = Failure(FailureKind.MISSING_SYMBOL, "cannot import name 'Old'", name="Old",
                      module="lib", package="lib", version="2.1")
    case = Case(failure, ProbeOutcome(Status.FAILED, {"lib": "2.1"}, failure),
                {"lib": Version("2.1")})
    lesson = Lesson()
    missing_symbol(tools, case, lesson)
    rule = lesson.rules[0]
    assert rule.requires == "lib<2.0"
    assert rule.because.endswith("lib provides it up to 1.5 and not from 2.0; "
                                 "lib 1.5 provides it, ships no wheel for cp311: "
                                 "usable with allow_sdist")
    assert "no release" not in rule.because
