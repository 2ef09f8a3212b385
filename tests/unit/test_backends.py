"""The installer backends' commands, read without running them.

What each installer is told decides what a probe can find; these pin down
the parts that differ between pip and uv (build isolation, several indexes,
the base layer's folder) and the parts they share (binary policy, sources).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envprobe.errors import UsageError
from envprobe.model.requests import InstallOptions
from envprobe.probing.backends import INSTALLERS, Environment, backend_for
from envprobe.probing.backends.pip import PipBackend
from envprobe.probing.backends.uv import UvBackend

ENV = Environment(Path("/runs/r/env"), "/runs/r/env/bin/python", Path("/runs/r/env/site"))
SET = ("app==2.0", "flash-attn==2.5")
OPTIONS = InstallOptions(
    index_url="http://127.0.0.1:1/simple/", extra_index_urls=("http://127.0.0.1:2/simple/",),
    pre_install=("torch", "setuptools<70"), no_build_isolation=("Flash_Attn",),
    base=("torch==2.3.0",),
)


def test_pip_builds_unisolated_projects_alone_at_their_pins_after_the_pre_install():
    steps = PipBackend().install_steps(ENV, SET, OPTIONS)
    assert [s.label for s in steps] == ["pre-install", "build-without-isolation", "install"]
    assert steps[0].argv[-2:] == ("torch", "setuptools<70")
    assert steps[1].argv[-1] == "flash-attn==2.5"
    assert {"--no-build-isolation", "--no-deps"} <= set(steps[1].argv)
    assert steps[2].argv[-3:] == ("torch==2.3.0", *SET)
    assert all(s.argv[:4] == (ENV.python, "-m", "pip", "install") for s in steps)
    assert all("--only-binary" in s.argv for s in steps)


def test_uv_turns_isolation_off_per_project_and_searches_every_index():
    steps = UvBackend("/bin/uv").install_steps(ENV, SET, OPTIONS)
    assert [s.label for s in steps] == ["pre-install", "install"]
    install = steps[-1].argv
    assert install[:5] == ("/bin/uv", "pip", "install", "--python", ENV.python)
    assert install[install.index("--no-build-isolation-package") + 1] == "Flash_Attn"
    assert install[install.index("--index-strategy") + 1] == "unsafe-best-match"
    assert install[install.index("--extra-index-url") + 1] == "http://127.0.0.1:2/simple/"


def test_base_layer_commands_install_into_a_folder():
    target = Path("/cache/layers/k/site")
    pip = PipBackend().target_command(ENV, OPTIONS.base, OPTIONS, target)
    uv = UvBackend().target_command(ENV, OPTIONS.base, OPTIONS, target)
    for argv in (pip, uv):
        assert argv[argv.index("--target") + 1] == str(target)
        assert argv[-1] == "torch==2.3.0"
    assert "--compile-bytecode" in uv  # pip compiles by default; uv must be told


def test_sdists_are_allowed_only_when_asked():
    allowed = InstallOptions(allow_sdist=True)
    assert "--only-binary" not in PipBackend().install_steps(ENV, SET, allowed)[-1].argv
    assert "--only-binary" not in UvBackend().install_steps(ENV, SET, allowed)[-1].argv


def test_installer_choices_and_an_unknown_one():
    assert INSTALLERS == ("auto", "pip", "uv")
    assert backend_for("pip").seed == frozenset({"pip"})
    with pytest.raises(UsageError, match="choose one of auto, pip, uv"):
        backend_for("conda")
