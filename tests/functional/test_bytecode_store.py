"""Bytecode kept across probes: reused by the next probe, never trusted when stale.

Real wheels, real pip and uv, real throwaway environments: the probe code
itself reads the bytecode Python used for its module (PEP 552 flags: 0 is
what an import compiles, 3 is the checked-hash file the store links in).
"""

from __future__ import annotations

import py_compile
import sys
from pathlib import Path

import pytest
from probe_packages import find_links_options
from wheelfactory import build_wheel

from envprobe.model.outcome import Status
from envprobe.model.requests import ProbeRequest
from envprobe.paths import bytecode_dir
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.installed import CHILD_SCRIPT
from envprobe.probing.probe import run_probe

INSTALLERS = ["pip", pytest.param("uv", marks=pytest.mark.skipif(
    find_uv() is None, reason="uv is not installed"))]

# Asserts inside the probe: the module's value, and how its bytecode came to be.
PROBE_CODE = """
import os
import kept.part
assert "ENVPROBE_BYTECODE" not in os.environ, "the store's folder leaked to the code"
with open(kept.part.__cached__, "rb") as handle:
    flags = int.from_bytes(handle.read()[4:8], "little")
assert kept.part.VALUE == {value}, kept.part.VALUE
assert flags == {flags}, f"bytecode flags {{flags}}"
"""


def kept_wheel(folder: Path, value: int) -> Path:
    """`kept 1.0`; wheels of other values are the same size, so only a hash tells them apart."""
    build_wheel(folder, "kept", "1.0", {"kept/__init__.py": "", "kept/part.py": f"VALUE = {value}\n"})
    return folder


def probe(folder: Path, installer: str, value: int, flags: int):
    return run_probe(ProbeRequest(("kept==1.0",), PROBE_CODE.format(value=value, flags=flags),
                                  options=find_links_options(folder, installer=installer)))


def kept_files() -> list[Path]:
    return sorted(path for path in bytecode_dir().rglob("*.pyc"))


@pytest.mark.parametrize("installer", INSTALLERS)
def test_the_next_probe_imports_the_bytecode_the_first_one_compiled(tmp_path, installer):
    folder = kept_wheel(tmp_path / "one", 1)
    first = probe(folder, installer, value=1, flags=0)
    assert first.status is Status.OK, first.failure
    tag = sys.implementation.cache_tag
    # One folder per distribution, each file named by its path in site-packages.
    assert [path.relative_to(bytecode_dir()).parts[1:] for path in kept_files()] == [
        ("kept-1.0", f"kept%2F__pycache__%2F__init__.{tag}.pyc"),
        ("kept-1.0", f"kept%2F__pycache__%2Fpart.{tag}.pyc")]

    second = probe(folder, installer, value=1, flags=3)  # linked in, checked against its source
    assert second.status is Status.OK, second.failure


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_rebuilt_release_of_the_same_version_is_compiled_afresh(tmp_path, installer):
    first, rebuilt = kept_wheel(tmp_path / "first", 1), kept_wheel(tmp_path / "rebuilt", 2)
    assert probe(first, installer, value=1, flags=0).status is Status.OK
    # The kept bytecode of VALUE = 1 is linked in; its hash is not this source's.
    outcome = probe(rebuilt, installer, value=2, flags=3)
    assert outcome.status is Status.OK, outcome.failure
    again = probe(first, installer, value=1, flags=3)
    assert again.status is Status.OK, again.failure


def test_a_damaged_store_costs_the_probe_nothing_but_the_head_start(tmp_path):
    folder = kept_wheel(tmp_path / "one", 1)
    assert probe(folder, "pip", value=1, flags=0).status is Status.OK
    for path in kept_files():
        path.write_bytes(b"not bytecode at all")
    outcome = probe(folder, "pip", value=1, flags=0)  # linked in, refused, compiled afresh
    assert outcome.status is Status.OK, outcome.failure
    assert all(path.read_bytes()[4:8] == (3).to_bytes(4, "little") for path in kept_files()), [
        (path.name, path.read_bytes()[:16]) for path in kept_files()]
    assert probe(folder, "pip", value=1, flags=3).status is Status.OK  # and kept again


def load_keeper_module() -> dict:
    """`child_bytecode.py` as `child.py` loads it, in this interpreter."""
    path = CHILD_SCRIPT.with_name("child_bytecode.py")
    namespace = {"__name__": "_envprobe_bytecode", "__file__": str(path)}
    exec(compile(path.read_bytes(), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def test_bytecode_of_a_source_changed_since_it_was_compiled_is_not_kept(tmp_path):
    checked_header = load_keeper_module()["_checked_header"]
    source = tmp_path / "part.py"
    source.write_text("VALUE = 1\n")
    compiled = Path(py_compile.compile(str(source), cfile=str(tmp_path / "part.pyc"),
                                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP))
    header = compiled.read_bytes()[:16]
    modified = source.stat().st_mtime

    kept = checked_header(header, source.read_bytes(), modified)
    assert kept is not None and kept[:4] == header[:4] and kept[4:8] == (3).to_bytes(4, "little")
    assert checked_header(kept, source.read_bytes(), modified) == kept  # checked already
    assert checked_header(header, b"VALUE = 2\n", modified + 5) is None  # rewritten, same size
    assert checked_header(header, b"VALUE = 10\n", modified) is None  # another size
    assert checked_header(kept, b"VALUE = 2\n", modified) is None  # another source's hash
    assert checked_header(b"\0\0\0\0" + header[4:], source.read_bytes(), modified) is None


def test_store_names_map_back_to_their_paths_and_never_outside_site_packages():
    keeper = load_keeper_module()
    encoded, decoded, inside = keeper["_encoded"], keeper["_decoded"], keeper["_inside"]
    for path in ["six.py", "a%/b%2F/c.pyc", "pkg/%25/__pycache__/m.cpython-311.pyc", "%2F", "%"]:
        assert "/" not in encoded(path) and decoded(encoded(path)) == path
    assert inside("pkg/__pycache__/m.pyc")
    assert not inside(decoded("..%2F..%2Fescaped.pyc")) and not inside("/etc/passwd")
