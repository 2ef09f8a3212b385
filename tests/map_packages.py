"""Tiny packages for the compatibility map, with a window of every shape.

`hub` (the column) has names that come and go: `Old` from 0.9 to 1.1,
`New` from 1.0 on; 0.8 ships only an sdist. `app` (the rows):
- 1.0 imports Old: works with hub 0.9 .. 1.1 (below: sdist only; above: Old gone)
- 2.0 imports Old and New: hub 1.0 .. 1.1 (New added in 1.0)
- 3.0 imports New and declares hub>=2.1: a window of one release
- 4.0 imports Gone, which no hub has: no working release
`ext` (a second column) imports hub; ext 1.0 declares hub<2, ext 2.0 hub>=2.
"""

from __future__ import annotations

from pathlib import Path

from wheelfactory import build_sdist, build_wheel

HUB_NAMES = {"0.9": ["Old"], "1.0": ["Old", "New"], "1.1": ["Old", "New"],
             "2.0": ["New"], "2.1": ["New"]}
APP_IMPORTS = {"1.0": ["Old"], "2.0": ["Old", "New"], "3.0": ["New"], "4.0": ["Gone"]}

MAP_SCENARIO = """
[scenario]
name = "appmap"
probe = ["import app", "import ext"]
timeout = 60

[packages]
app = "*"
hub = "*"
ext = "*"

[budget]
max_installs = 30
"""


def build_map_packages(out: Path) -> Path:
    """Write the map's packages into `out` and return it."""
    build_sdist(out, "hub", "0.8", {"setup.py": "raise SystemExit('never built')\n"})
    for version, names in HUB_NAMES.items():
        body = "".join(f"class {n}:\n    pass\n" for n in names)
        build_wheel(out, "hub", version, {"hub/__init__.py": f'__version__ = "{version}"\n{body}'})
    for version, names in APP_IMPORTS.items():
        requires = ["hub>=2.1"] if version == "3.0" else ["hub"]
        build_wheel(out, "app", version,
                    {"app/__init__.py": f"from hub import {', '.join(names)}\n"},
                    requires=requires)
    for version, hub in (("1.0", "hub<2"), ("2.0", "hub>=2")):
        build_wheel(out, "ext", version, {"ext/__init__.py": "import hub\n"}, requires=[hub])
    return out


# Traps the real NeMo map showed. `hub2` drops `Old` after 1.0. `app2` (the rows):
# - 1.0 imports hub2 at top level; it imports `Old` only in a module the probe never
#   loads and in one its `__init__` imports under `try/except ImportError`: every hub2 works
# - 2.0 requires tool==1.0 while the scenario's pin `pin2` requires tool>=2: no set holds
#   it, whatever hub2 is (as NeMo 1.19 pins a setuptools torch 2.13 refuses)
# - 3.0 imports Old at top level (so hub2 1.0 only) and tf2, whose releases from 5.0 on
#   declare hub2>=2 (before, hub2<2): tf2 5.0 .. 12.0 clash on paper, found by a
#   bisection, not a walk (as transformers 5 needs a hub without NeMo's ModelFilter)
# - 4.0 imports New (hub2 2.0 on) and tf2: tf2 1.0 .. 4.0 clash, at the window's low end
# - 5.0 imports hub2, d1 and d2, whose newest releases fail at import, one after the
#   other: two lessons about the rest of the set before hub2 3.0 passes, not hub2's fault
TRAPS_SCENARIO = """
[scenario]
name = "trapmap"
probe = ["import app2"]
timeout = 60

[packages]
app2 = "*"
hub2 = "*"
tf2 = "*"

[pins]
pin2 = "1.0"
"""


def build_trap_packages(out: Path) -> Path:
    """Write the traps' packages into `out` and return it."""
    new = "class New:\n    pass\n"
    for version, body in (("1.0", "class Old:\n    pass\n"), ("2.0", new), ("3.0", new)):
        build_wheel(out, "hub2", version, {"hub2/__init__.py": body})
    unreached = {"app2/__init__.py": "import hub2\ntry:\n    from app2 import guarded\n"
                                     "except ImportError:\n    guarded = None\n",
                 "app2/guarded.py": "from hub2 import Old\n",
                 "app2/extra.py": "from hub2 import Old\n"}
    build_wheel(out, "app2", "1.0", unreached, requires=["hub2"])
    build_wheel(out, "app2", "2.0", {"app2/__init__.py": "import hub2\n"},
                requires=["hub2", "tool==1.0"])
    build_wheel(out, "app2", "3.0", {"app2/__init__.py": "from hub2 import Old\nimport tf2\n"},
                requires=["hub2", "tf2"])
    build_wheel(out, "app2", "4.0", {"app2/__init__.py": "from hub2 import New\nimport tf2\n"},
                requires=["hub2", "tf2"])
    build_wheel(out, "app2", "5.0", {"app2/__init__.py": "import hub2\nimport d1\nimport d2\n"},
                requires=["hub2", "d1", "d2"])
    for dep in ("d1", "d2"):
        build_wheel(out, dep, "1.0", {f"{dep}/__init__.py": ""})
        build_wheel(out, dep, "2.0", {f"{dep}/__init__.py": "raise RuntimeError('broken')\n"})
    for major in range(1, 13):
        build_wheel(out, "tf2", f"{major}.0", {"tf2/__init__.py": ""},
                    requires=["hub2>=2" if major >= 5 else "hub2<2"])
    for version in ("1.0", "2.0"):
        build_wheel(out, "tool", version, {"tool/__init__.py": ""})
    build_wheel(out, "pin2", "1.0", {"pin2/__init__.py": ""}, requires=["tool>=2"])
    return out


# A build that fails without naming a module, as tokenizers' sdist does without a Rust
# toolchain: an in-tree backend that needs nothing and gives up with a message.
_NO_TOOLCHAIN = {
    "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                      'backend-path = ["."]\n',
    "backend.py": "def get_requires_for_build_wheel(config_settings=None):\n"
                  "    return []\n\n\n"
                  "def build_wheel(wheel_directory, config_settings=None, "
                  "metadata_directory=None):\n"
                  "    raise SystemExit(\"error: can't find Rust compiler\")\n",
}


def build_wheelless_toks(out: Path) -> Path:
    """`toks` 1.0 ships only an sdist whose build fails without naming a cause; 2.0 a wheel."""
    build_sdist(out, "toks", "1.0", _NO_TOOLCHAIN)
    build_wheel(out, "toks", "2.0", {"toks/__init__.py": ""})
    return out


# `hub4` 1.0 and 3.0 need toks 1.0 (as some old transformers need a tokenizers without a
# wheel for this Python); 2.0 and 4.0 take toks 2.0. `app4` 1.0 imports hub4: its window
# is 2.0 .. 4.0 with a hole at 3.0, the lower edge and the hole a build problem.
BUILD_SCENARIO = """
[scenario]
name = "buildmap"
probe = ["import app4"]
timeout = 60

[packages]
app4 = "*"
hub4 = "*"

[install]
installer = "uv"
allow_sdist = true
"""


def build_build_packages(out: Path) -> Path:
    """Write the build trap's packages into `out` and return it."""
    build_wheelless_toks(out)
    for version in ("1.0", "2.0", "3.0", "4.0"):
        build_wheel(out, "hub4", version, {"hub4/__init__.py": "import toks\n"},
                    requires=["toks==1.0" if version in ("1.0", "3.0") else "toks>=2"])
    build_wheel(out, "app4", "1.0", {"app4/__init__.py": "import hub4\n"}, requires=["hub4"])
    return out
