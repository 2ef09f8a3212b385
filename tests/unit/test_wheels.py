"""Static wheel scans on real wheels built at test time (and, by hand, the real index)."""

from __future__ import annotations

import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from wheelfactory import build_wheel

from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex
from envprobe.static import imports
from envprobe.static.imports import ImportSite, import_sites
from envprobe.static.layout import has_module
from envprobe.static.namespaces import NamespaceScan, module_namespace, provides_symbol


def _wheel(tmp_path: Path, files: dict[str, str], name: str = "pkg") -> Path:
    return build_wheel(tmp_path, name, "1.0", files)


# -- the fake chain ---------------------------------------------------------------


@pytest.mark.parametrize(("version", "expected"), [
    ("0.9", True), ("1.0", True), ("1.1", True), ("2.0", False), ("2.1", False),
])
def test_fakehub_model_filter_through_its_lazy_table(
    chain_dists: Path, version: str, expected: bool
):
    wheel = chain_dists / f"fakehub-{version}-py3-none-any.whl"
    assert provides_symbol(wheel, "fakehub", "ModelFilter") is expected
    scan = module_namespace(wheel, "fakehub")
    assert scan.complete
    if version != "0.9":
        assert "NewApi" in scan.names or version == "1.0"
        assert ("ModelFilter" in scan.lazy_names) is expected


def test_toolkit_imports_model_filter_from_fakehub(chain_dists: Path):
    sites = import_sites(chain_dists / "toolkit-1.0-py3-none-any.whl", "fakehub")
    assert sites == [ImportSite(
        file="toolkit/core.py", line=1, kind="from", module="fakehub", names=("ModelFilter",),
    )]


def test_modules_of_a_wheel(chain_dists: Path, tmp_path: Path):
    toolkit = chain_dists / "toolkit-1.0-py3-none-any.whl"
    assert has_module(toolkit, "toolkit") and has_module(toolkit, "toolkit.core")
    assert not has_module(toolkit, "toolkit.missing") and not has_module(toolkit, "fakehub")
    assert module_namespace(toolkit, "toolkit.missing") is None
    assert provides_symbol(toolkit, "toolkit.missing", "anything") is False

    wheel = _wheel(tmp_path, {
        "nspkg/sub/leaf.py": "X = 1\n",
        "fast/__init__.py": "",
        "fast/_speed.cpython-311-x86_64-linux-gnu.so": "not really ELF",
        "pkg-1.0.data/purelib/datamod.py": "Y = 2\n",
        "single.py": "",
    })
    assert all(has_module(wheel, name) for name in ("nspkg", "fast", "datamod", "single"))
    assert has_module(wheel, "nspkg.sub.leaf")
    assert module_namespace(wheel, "nspkg") == NamespaceScan(names=frozenset({"sub"}))
    assert has_module(wheel, "fast._speed")
    assert "_speed" in module_namespace(wheel, "fast").names
    extension = module_namespace(wheel, "fast._speed")
    assert not extension.complete and provides_symbol(wheel, "fast._speed", "f") is None
    assert provides_symbol(wheel, "datamod", "Y") is True


# -- namespaces -------------------------------------------------------------------


def test_bindings_of_every_kind_and_both_branches(tmp_path: Path):
    wheel = _wheel(tmp_path, {"pkg/__init__.py": """\
import os.path
import json as j
from .sub import Thing as Renamed
try:
    from fastjson import loads
except ImportError:
    loads = None
if os.name == "nt":
    WINDOWS = True
else:
    POSIX = True
first, (second, *rest) = 1, (2, 3)
annotated: int = 1
declared_only: int
for loop_var in range(1):
    pass
with open(__file__) as handle:
    pass
def function(): pass
async def coroutine(): pass
class Klass: pass
__all__ = ["listed_only"] + ["function"]
__all__ += ("also_listed",)
__all__.append("appended")
""", "pkg/sub.py": "Thing = 1\n", "pkg/other/__init__.py": ""})
    scan = module_namespace(wheel, "pkg")
    assert scan.complete
    assert {
        "os", "j", "Renamed", "loads", "WINDOWS", "POSIX", "first", "second", "rest",
        "annotated", "loop_var", "handle", "function", "coroutine", "Klass",
        "listed_only", "also_listed", "appended", "sub", "other",
    } <= scan.names
    assert "declared_only" not in scan.names and "Thing" not in scan.names
    assert scan.declared_all == frozenset({"listed_only", "function", "also_listed", "appended"})


def test_star_imports_inside_the_wheel_honour_all(tmp_path: Path):
    wheel = _wheel(tmp_path, {
        "pkg/__init__.py": "from .api import *\nfrom pkg._impl import *\n",
        "pkg/api.py": "from .deeper import *\n__all__ = ['Public', 'Deep']\n"
                      "class Public: pass\nclass Hidden: pass\n",
        "pkg/deeper.py": "Deep = 1\nAlsoDeep = 2\n",
        "pkg/_impl.py": "def helper(): pass\n_private = 1\n",
    })
    scan = module_namespace(wheel, "pkg")
    assert scan.complete
    assert {"Public", "Deep", "helper"} <= scan.names
    assert not {"Hidden", "AlsoDeep", "_private"} & scan.names
    assert provides_symbol(wheel, "pkg", "Hidden") is False


def test_star_import_from_another_distribution_is_inconclusive(tmp_path: Path):
    wheel = _wheel(tmp_path, {"pkg/__init__.py": "from os.path import *\nLocal = 1\n"})
    scan = module_namespace(wheel, "pkg")
    assert not scan.complete and "os.path" in scan.unresolved[0]
    assert provides_symbol(wheel, "pkg", "Local") is True
    assert provides_symbol(wheel, "pkg", "join") is None


def test_transformers_style_import_structure(tmp_path: Path):
    init = """\
from typing import TYPE_CHECKING
from .utils import _LazyModule

_import_structure = {"configuration": ["Config"], "models.bert": []}
_import_structure["models.bert"].extend(["BertModel", "BertConfig"])
_import_structure["tokenization"] = ["Tokenizer"]
_import_structure["configuration"].append("ConfigMixin")
_import_structure["pipelines"] += ["pipeline"]

if TYPE_CHECKING:
    from .configuration import Config
else:
    import sys
    sys.modules[__name__] = _LazyModule(
        __name__, globals()["__file__"], _import_structure, module_spec=__spec__,
        extra_objects={"__version__": "1.0"},
    )
"""
    wheel = _wheel(tmp_path, {"pkg/__init__.py": init, "pkg/utils.py": "class _LazyModule: pass\n"})
    for name in ("BertModel", "BertConfig", "Tokenizer", "ConfigMixin", "pipeline", "__version__"):
        assert provides_symbol(wheel, "pkg", name) is True, name
    assert provides_symbol(wheel, "pkg", "Missing") is False

    computed = init.replace(
        '_import_structure["tokenization"] = ["Tokenizer"]',
        '_import_structure["dummies"] = [n for n in dir(object) if not n.startswith("_")]',
    )
    other = _wheel(tmp_path / "computed", {"pkg/__init__.py": computed})
    assert provides_symbol(other, "pkg", "BertModel") is True
    assert provides_symbol(other, "pkg", "Missing") is None
    assert "is computed" in module_namespace(other, "pkg").unresolved[0]


def test_lazy_loader_attach_and_name_to_module_tables(tmp_path: Path):
    wheel = _wheel(tmp_path, {
        "pkg/__init__.py": "import lazy_loader as lazy\n"
        "__getattr__, __dir__, __all__ = lazy.attach(\n"
        "    __name__, submodules=['sub'], submod_attrs={'sub': ['Thing', 'Other']})\n",
        "pkg/sub.py": "Thing = Other = 1\n",
        "flat/__init__.py": "import importlib\n_LAZY = {'Widget': '.widgets'}\n"
        "def __getattr__(name):\n"
        "    return getattr(importlib.import_module(_LAZY[name], __name__), name)\n",
    })
    assert provides_symbol(wheel, "pkg", "Other") is True
    assert provides_symbol(wheel, "pkg", "Missing") is False
    assert provides_symbol(wheel, "flat", "Widget") is True
    assert provides_symbol(wheel, "flat", "Gadget") is False


def test_unreadable_getattr_or_foreign_table_is_inconclusive(tmp_path: Path):
    wheel = _wheel(tmp_path, {
        "dynamic/__init__.py": "import importlib\n"
        "def __getattr__(name):\n"
        "    return importlib.import_module('._' + name.lower(), __name__)\n",
        "fed/__init__.py": "import sys\nfrom elsewhere import build_table, LazyModule\n"
        "table = build_table(__file__)\n"
        "sys.modules[__name__] = LazyModule(__name__, table, extra_objects={'V': 1})\n",
        "borrowed/__init__.py": "from ._lazy import __getattr__\n",
        "generated/__init__.py": "for _n in ('A', 'B'):\n    globals()[_n] = _n\n",
        "updated/__init__.py": "globals().update({'C': 1})\n",
    })
    for module in ("dynamic", "fed", "borrowed", "generated", "updated"):
        scan = module_namespace(wheel, module)
        assert not scan.complete
        assert provides_symbol(wheel, module, "Anything") is None
    assert "without a readable table" in module_namespace(wheel, "dynamic").unresolved[0]
    assert "build_table()" in module_namespace(wheel, "fed").unresolved[0]


def test_names_a_getattr_only_refuses_are_not_provided(tmp_path: Path):
    """numpy 2's `__expired_attributes__`: a table read to raise, not to hand out."""
    refusing = ("_expired = {'sctypes': 'removed in 2.0'}\n"
                "def __getattr__(attr):\n"
                "    if attr in _expired:\n"
                "        raise AttributeError(_expired[attr])\n")
    wheel = _wheel(tmp_path, {
        "mixed/__init__.py": refusing.replace("def __getattr__", "_lazy = {'Later': 'sub'}\n"
                                              "def __getattr__") +
        "    if attr in _lazy:\n        return 1\n    raise AttributeError(attr)\n",
        "mixed/sub.py": "Later = 1\n",
        "refusing/__init__.py": refusing + "    raise AttributeError(attr)\n",
    })
    assert provides_symbol(wheel, "mixed", "Later") is True
    assert provides_symbol(wheel, "mixed", "sctypes") is False
    # A hook that never returns hands nothing out: every name it is asked for is absent.
    assert provides_symbol(wheel, "refusing", "sctypes") is False
    assert module_namespace(wheel, "refusing").complete


def test_file_that_does_not_parse_is_inconclusive(tmp_path: Path):
    wheel = _wheel(tmp_path, {"pkg/__init__.py": "def broken(:\n", "pkg/sub.py": ""})
    scan = module_namespace(wheel, "pkg")
    assert not scan.complete and "does not parse" in scan.unresolved[0]
    assert provides_symbol(wheel, "pkg", "sub") is True
    assert provides_symbol(wheel, "pkg", "broken") is None


# -- import sites -----------------------------------------------------------------


def test_import_sites_of_every_kind(tmp_path: Path):
    wheel = _wheel(tmp_path, {"app/main.py": """\
from typing import TYPE_CHECKING
import fakehub
import fakehub.hf_api
import fakehub as fh
from fakehub.hf_api import HfApi, ModelFilter as MF
from . import fakehub_local
from .fakehub import nothing
try:
    from fakehub import Optional
except (ImportError, RuntimeError):
    Optional = None
if TYPE_CHECKING:
    from fakehub import OnlyForTypes
value = fakehub.TopLevel
other = fh.Aliased.attribute
deep = fakehub.hf_api.DeepName
fakehub.Assigned = 1

def later():
    from fakehub import Lazy
    return fakehub.InFunction
""", "app/unrelated.py": "import json\n"})
    sites = {(site.kind, site.module, site.names): site for site in import_sites(wheel, "fakehub")}
    assert set(sites) == {
        ("import", "fakehub", ()),
        ("import", "fakehub.hf_api", ()),
        ("from", "fakehub.hf_api", ("HfApi", "ModelFilter")),
        ("from", "fakehub", ("Optional",)),
        ("from", "fakehub", ("OnlyForTypes",)),
        ("attribute", "fakehub", ("TopLevel",)),
        ("attribute", "fakehub", ("Aliased",)),
        ("attribute", "fakehub.hf_api", ("DeepName",)),
        ("from", "fakehub", ("Lazy",)),
        ("attribute", "fakehub", ("InFunction",)),
    }
    assert sites[("from", "fakehub", ("Optional",))].optional
    assert sites[("from", "fakehub", ("OnlyForTypes",))].typing_only
    assert sites[("from", "fakehub", ("Lazy",))].in_function
    top = sites[("attribute", "fakehub", ("TopLevel",))]
    assert (top.file, top.line, top.optional, top.in_function) == ("app/main.py", 14, False, False)
    assert sites[("attribute", "fakehub", ("InFunction",))].in_function
    assert all(site.file == "app/main.py" for site in sites.values())


def test_only_files_mentioning_the_target_are_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    files = {f"big/mod{i}.py": f"def f{i}():\n    return {i}\n" * 50 for i in range(3000)}
    files.update({f"big/user{i}.py": "from fakehub import ModelFilter\n" for i in range(30)})
    wheel = _wheel(tmp_path, files, name="big")
    parsed = []
    real_parse = imports.parse_source
    monkeypatch.setattr(
        imports, "parse_source", lambda source: parsed.append(1) or real_parse(source)
    )
    started = time.perf_counter()
    sites = import_sites(wheel, "fakehub")
    elapsed = time.perf_counter() - started
    assert len(sites) == 30 and len(parsed) == 30
    assert elapsed < 10, f"scan of 3030 files took {elapsed:.1f}s"


def test_scans_are_cached_by_wheel_hash(chain_dists: Path, monkeypatch: pytest.MonkeyPatch):
    wheel = chain_dists / "fakehub-1.1-py3-none-any.whl"
    first = module_namespace(wheel, "fakehub")
    sites = import_sites(wheel, "importlib")

    def no_zip(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the wheel was opened again")

    monkeypatch.setattr(zipfile, "ZipFile", no_zip)
    assert module_namespace(wheel, "fakehub") == first
    assert import_sites(wheel, "importlib") == sites
    assert provides_symbol(wheel, "fakehub", "NewApi") is True


# -- the real package index (by hand: pytest -m live) ------------------------------


@pytest.mark.live
def test_live_which_hub_releases_provide_model_filter(real_machine: None):
    """The boundary is discovered here and printed, never written down in code."""
    index = PackageIndex(IndexConfig.from_pip())
    project, module, symbol = "huggingface_hub", "huggingface_hub", "ModelFilter"
    releases = [version for version in index.versions(project) if not version.is_prerelease]
    wheels_by_version = {
        version: wheel for version in releases
        if (wheel := index.best_wheel(project, version)) is not None
    }
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        paths = dict(zip(wheels_by_version, pool.map(index.download, wheels_by_version.values())))
    downloaded = time.perf_counter() - started
    started = time.perf_counter()
    answers = {version: provides_symbol(path, module, symbol) for version, path in paths.items()}
    scanned = time.perf_counter() - started
    providing = [version for version, answer in answers.items() if answer]
    lacking = [version for version, answer in answers.items() if answer is False]
    unsure = [version for version, answer in answers.items() if answer is None]
    last_with = max(providing)
    first_without = min((v for v in lacking if v > last_with), default=None)
    print(f"\n{len(answers)} {project} releases with wheels: downloads {downloaded:.1f}s, "
          f"scans {scanned:.1f}s ({scanned / len(answers) * 1000:.0f} ms each)")
    print(f"  {symbol} provided by {len(providing)} releases: {providing[0]} .. {last_with}; "
          f"first release without it after that: {first_without}; inconclusive: {unsure}")
    print(f"  lacking before {providing[0]}: {[str(v) for v in lacking if v < providing[0]]}")
    assert providing and lacking
    assert all(answer is False for version, answer in answers.items() if version > last_with)

    nemo = index.best_wheel("nemo_toolkit", "1.23.0")
    started = time.perf_counter()
    importers = [
        site for site in import_sites(index.download(nemo), module) if symbol in site.names
    ]
    print(f"  nemo_toolkit 1.23.0 imports {symbol} at "
          f"{[(site.file, site.line, site.kind) for site in importers]} "
          f"(found in {time.perf_counter() - started:.1f}s)")
    assert importers


def test_a_name_bound_only_for_type_checkers_is_not_in_the_module(tmp_path):
    # markdown 3.5's util.py: `etree` exists for annotations only, never at run time.
    wheel = _wheel(tmp_path, {"md/__init__.py": "", "md/util.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    import xml.etree.ElementTree as etree\nelse:\n    OTHER = 1\n")}, name="md")
    assert provides_symbol(wheel, "md.util", "etree") is False
    assert provides_symbol(wheel, "md.util", "OTHER") is True
