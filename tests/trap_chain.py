"""A made-up chain like an old web framework's: three dependencies each removed a name it imports.

- `templ` re-exports `escape` from a private submodule (`from templ._markup
  import *`, the submodule's `__all__` naming it) and drops it in 3.0: the
  boundary is only visible through the re-export;
- `wsgitools` drops `url_quote` in 2.0;
- `signer` drops its module-level `json` in 2.0, and its releases before 2.0
  ship only an sdist (built by an in-tree backend that needs nothing from an
  index), as old releases of real packages do for a new Python.

`oldweb` 1.0 imports all three names at module level and declares its
dependencies without upper bounds. Built at test time (and by
`bench/bench_chain.py`); the boundaries are the ones written below, which the
solver must discover, never read from here.
"""

from __future__ import annotations

from pathlib import Path

from wheelfactory import build_sdist, build_wheel

__all__ = ["TRAPS", "build_keyword_removal", "build_trap_chain", "chain_scenario"]

# (distribution, name, last release with it, first release without it)
TRAPS = (("templ", "escape", "2.1", "3.0"),
         ("wsgitools", "url_quote", "1.1", "2.0"),
         ("signer", "json", "1.1", "2.0"))

# An in-tree PEP 517 backend: the wheel holds the sdist's package folder as it is.
_BACKEND = '''\
import base64, hashlib, os, zipfile

NAME, VERSION = {name!r}, {version!r}


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{{NAME}}-{{VERSION}}.dist-info"
    files = {{}}
    for folder, _, names in os.walk(NAME):
        for file_name in names:
            path = os.path.join(folder, file_name)
            with open(path, "rb") as handle:
                files[path.replace(os.sep, "/")] = handle.read()
    files[f"{{info}}/METADATA"] = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n".encode()
    files[f"{{info}}/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{{path}},sha256={{digest}},{{len(data)}}")
    record.append(f"{{info}}/RECORD,,")
    files[f"{{info}}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    wheel = f"{{NAME}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel
'''
_PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def chain_scenario(*, allow_sdist: bool, max_installs: int, installer: str = "auto") -> str:
    """The scenario: `oldweb` must import and work; sdists allowed or not."""
    return (f'[scenario]\nname = "oldweb"\nprobe = ["import oldweb", "assert oldweb.page(\'a b\')"]\n'
            f'[packages]\noldweb = "*"\n'
            f'[install]\ninstaller = "{installer}"\nallow_sdist = {str(allow_sdist).lower()}\n'
            f"[budget]\nmax_installs = {max_installs}\n")


def build_keyword_removal(out: Path, without: tuple[str, ...] = ("2.0",)) -> None:
    """`audiolib` 1.0 takes load()'s `mmap` keyword, the releases `without` do not;
    `caller` 1.0 passes it after the import."""
    build_wheel(out, "audiolib", "1.0",
                {"audiolib/__init__.py": "def load(path, mmap=False):\n    return path\n"})
    for version in without:
        build_wheel(out, "audiolib", version,
                    {"audiolib/__init__.py": "def load(path):\n    return path\n"})
    build_wheel(out, "caller", "1.0", {
        "caller/__init__.py": "import audiolib\n\n\ndef run():\n"
                              "    return audiolib.load('x.wav', mmap=True)\n",
    }, requires=["audiolib"])


def _templ(out: Path, version: str, has_escape: bool) -> None:
    names = ["Markup", "escape"] if has_escape else ["Markup"]
    markup = f"__all__ = {names!r}\n\n\nclass Markup(str):\n    pass\n"
    if has_escape:
        markup += "\n\ndef escape(text):\n    return Markup(text)\n"
    build_wheel(out, "templ", version, {"templ/__init__.py": "from templ._markup import *\n",
                                        "templ/_markup.py": markup})


def _signer_sdist(out: Path, version: str) -> None:
    build_sdist(out, "signer", version, {
        "pyproject.toml": _PYPROJECT,
        "backend.py": _BACKEND.format(name="signer", version=version),
        "signer/__init__.py": "import json\n\n\nclass Signer:\n    pass\n",
    })


def build_trap_chain(out: Path) -> Path:
    """Write every release of the chain into `out` (a find-links folder); returns it."""
    for version in ("1.0", "2.0", "2.1"):
        _templ(out, version, has_escape=True)
    for version in ("3.0", "3.1"):
        _templ(out, version, has_escape=False)
    for version in ("0.9", "1.0", "1.1"):
        build_wheel(out, "wsgitools", version, {
            "wsgitools/__init__.py": "def url_quote(text):\n    return text\n\n\n"
                                     "def url_unquote(text):\n    return text\n"})
    for version in ("2.0", "2.1"):
        build_wheel(out, "wsgitools", version, {
            "wsgitools/__init__.py": "def url_unquote(text):\n    return text\n"})
    for version in ("1.0", "1.1"):
        _signer_sdist(out, version)
    for version in ("2.0", "2.1"):
        build_wheel(out, "signer", version,
                    {"signer/__init__.py": "class Signer:\n    pass\n"})
    build_wheel(out, "oldweb", "1.0", {
        "oldweb/__init__.py": "from templ import escape\nfrom wsgitools import url_quote\n"
                              "from signer import json\n\n\ndef page(text):\n"
                              "    return escape(url_quote(json.dumps(text)))\n"},
        requires=["templ>=1.0", "wsgitools>=0.9", "signer>=1.0"])
    return out
