"""What a probe's child lists as installed is what importlib.metadata lists, read faster."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.probing.installed import CHILD_SCRIPT, read_installed

_IMPORTLIB = ("import json, sys\nfrom importlib import metadata\n"
              "print(json.dumps([(d.metadata['Name'], d.version) "
              "for d in metadata.distributions()]))\n")


def _listed(python: str, out: Path, *extra_path: str) -> list:
    """The child's list and importlib.metadata's, both run with `extra_path` first."""
    prefix = f"import sys; sys.path[:0] = {list(extra_path)!r}\n"
    child = (prefix + f"sys.argv = ['child.py', '--installed', {str(out)!r}]\n"
             f"exec(compile(open({str(CHILD_SCRIPT)!r}).read(), 'child.py', 'exec'),"
             " {'__name__': '__main__', '__file__': " + repr(str(CHILD_SCRIPT)) + "})\n")
    subprocess.run([python, "-I", "-c", child], check=True)
    reference = subprocess.run([python, "-I", "-c", prefix + _IMPORTLIB], check=True,
                               capture_output=True, text=True)
    return [json.loads(out.read_text()), [list(pair) for pair in json.loads(reference.stdout)]]


def test_the_listing_of_a_real_environment_is_importlibs(tmp_path: Path):
    mine, reference = _listed(sys.executable, tmp_path / "installed.json")
    assert len(reference) > 10
    assert mine == reference
    assert set(read_installed(tmp_path / "installed.json")) == {
        canonicalize_name(name) for name, _ in reference if name}


def test_egg_info_folders_and_zips_on_the_path_are_listed_as_importlib_lists_them(
        tmp_path: Path):
    folder = tmp_path / "extra"
    (folder / "old_thing-1.0.egg-info").mkdir(parents=True)
    (folder / "old_thing-1.0.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nname: old-thing\nVersion: 1.0\n\nName: not-this\n")
    (folder / "broken-2.0.dist-info").mkdir()  # no METADATA: no name, left out by the host
    mine, reference = _listed(sys.executable, tmp_path / "a.json", str(folder))
    assert ["old-thing", "1.0"] in mine and ["not-this", "1.0"] not in mine
    assert [None, None] in mine  # as importlib lists a folder without its metadata file
    assert mine == reference

    archive = tmp_path / "zipped.zip"  # a zip on sys.path: importlib reads it
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped-3.0.dist-info/METADATA", "Name: zipped\nVersion: 3.0\n")
    mine, reference = _listed(sys.executable, tmp_path / "b.json", str(archive))
    assert ["zipped", "3.0"] in mine
    assert mine == reference


def test_names_with_quotes_non_ascii_and_broken_bytes_are_listed_as_importlib_reads_them(
        tmp_path: Path):
    # The listing is written without json (a passing probe never imports it): it must
    # still be the JSON importlib's names make, whatever a METADATA file holds.
    site = tmp_path / "site"
    headers = {"quoted-1.0.dist-info": b'Name: say "hi" \\ there\nVersion: 1.0\n',
               "accented-2.0.dist-info": "Name: caf\u00e9-\U0001d11e\nVersion: 2.0\n".encode()}
    for folder, header in headers.items():
        (site / folder).mkdir(parents=True)
        (site / folder / "METADATA").write_bytes(header)
    mine, reference = _listed(sys.executable, tmp_path / "installed.json", str(site))
    assert mine == reference
    assert {name for name, _ in mine[:2]} == {'say "hi" \\ there', "caf\u00e9-\U0001d11e"}
    # Bytes that are not UTF-8 (importlib refuses them) still make valid JSON, kept as read.
    (site / "broken-3.0.dist-info").mkdir()
    (site / "broken-3.0.dist-info" / "METADATA").write_bytes(b"Name: bro\xffken\tx\nVersion: 3\n")
    run_child = (f"import sys; sys.path[:0] = [{str(site)!r}]; "
                 f"sys.argv = ['child.py', '--installed', {str(tmp_path / 'broken.json')!r}]; "
                 f"exec(compile(open({str(CHILD_SCRIPT)!r}).read(), 'child.py', 'exec'), "
                 f"{{'__name__': '__main__', '__file__': {str(CHILD_SCRIPT)!r}}})")
    in_site = subprocess.run([sys.executable, "-I", "-c", run_child], check=False)
    assert in_site.returncode == 0
    assert ["bro\udcffken\tx", "3"] in json.loads((tmp_path / "broken.json").read_text())
