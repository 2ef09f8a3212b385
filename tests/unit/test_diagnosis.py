"""The pieces of `diagnose` that need no environment: tracebacks, conflicts, commands, panel."""

from __future__ import annotations

import io

from packaging.markers import default_environment
from rich.console import Console

from envprobe.diagnosing.failure import from_traceback
from envprobe.diagnosing.fixes import command_for
from envprobe.diagnosing.inventory import Installed, Inventory, declared_conflicts
from envprobe.diagnosing.names import _names_at
from envprobe.model.diagnosis import Diagnosis, Fix, MissingName
from envprobe.model.outcome import FailureKind
from envprobe.model.rules import Boundary
from envprobe.report.diagnosis import render_diagnosis

SITE = "/home/someone/venv/lib/python3.10/site-packages"

NEMO = f"""\
[NeMo W 2024-07-03 warnings]
Traceback (most recent call last):
  File "/home/someone/job.py", line 3, in <module>
    import nemo.collections.asr as nemo_asr
  File "{SITE}/nemo/collections/asr/__init__.py", line 15, in <module>
    from nemo.collections.asr import data, losses, models, modules
  File "{SITE}/nemo/core/classes/common.py", line 30, in <module>
    from huggingface_hub import HfApi, HfFolder, ModelFilter, hf_hub_download
ImportError: cannot import name 'ModelFilter' from 'huggingface_hub' ({SITE}/huggingface_hub/__init__.py)
"""


def inventory(**dists: tuple[str, tuple[str, ...], tuple[str, ...]]) -> Inventory:
    return Inventory(
        python="python",
        dists={name: Installed(name, version, requires, tops)  # type: ignore[arg-type]
               for name, (version, requires, tops) in dists.items()},
        path=(SITE,),
        environment=dict(default_environment()),
    )


NEMO_ENV = inventory(**{
    "nemo-toolkit": ("1.23.0", ("huggingface_hub",), ("nemo",)),
    "huggingface-hub": ("0.24.0", (), ("huggingface_hub",)),
})


def test_a_pasted_traceback_types_like_the_probe_child():
    failure = from_traceback(NEMO, NEMO_ENV)
    assert failure is not None and failure.kind is FailureKind.MISSING_SYMBOL
    assert (failure.name, failure.module, failure.package, failure.version) == (
        "ModelFilter", "huggingface_hub", "huggingface-hub", "0.24.0")
    assert failure.importer == "nemo/core/classes/common.py:30"
    assert (failure.importer_package, failure.importer_version) == ("nemo-toolkit", "1.23.0")
    assert failure.frames[0].file == "/home/someone/job.py"


def test_only_the_last_of_chained_tracebacks_counts():
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
            "KeyError: 'a'\n\nDuring handling of the above exception, another exception "
            "occurred:\n\n" + NEMO)
    assert from_traceback(text, NEMO_ENV).name == "ModelFilter"


def test_a_missing_module_and_a_text_without_an_exception():
    text = "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n" \
           "ModuleNotFoundError: No module named 'pkg_resources'\n"
    failure = from_traceback(text, NEMO_ENV)
    assert (failure.kind, failure.name) == (FailureKind.MISSING_MODULE, "pkg_resources")
    assert from_traceback("    indented only\n", NEMO_ENV) is None


def test_declared_conflicts_are_what_pip_check_says():
    env = inventory(a=("1.0", ("b>=2", "c", "d; python_version < '3'"), ()), b=("1.5", (), ()))
    assert declared_conflicts(env) == [
        "a 1.0 requires b>=2, but b 1.5 is installed",
        "a 1.0 requires c, which is not installed",
    ]


def test_the_extras_in_use_are_those_the_installed_set_satisfies():
    kit = ("1.0", ("hub", 'core-lib; extra == "core"', 'core-lib; extra == "asr"',
                   'audio>=2; extra == "asr"', 'video; extra == "tts"',
                   'old-audio<2; extra == "legacy"', 'win-only; sys_platform == "win32"'), ())
    env = inventory(kit=kit, hub=("1.0", (), ()), **{"core-lib": ("3.0", (), ())},
                    audio=("2.1", (), ()))
    # asr: both installed; core: covered by asr; tts: video missing; legacy: audio too new.
    assert env.extras_in_use("kit") == ("asr",)
    assert env.extras_in_use("hub") == () and env.extras_in_use("absent") == ()
    changes = {"kit": "==1.1"}
    assert command_for(changes, "/env/bin/python", "pip", {"kit": ["asr"]}) == \
        "/env/bin/python -m pip install 'kit[asr]==1.1'"


def test_every_name_of_a_parenthesised_import_is_read():
    source = "import os\nfrom hub import (\n    A,\n    B as b,\n)\n"
    assert _names_at(source, 3) == ["A", "B"]
    assert _names_at(source, 1) == []


def test_commands_speak_the_users_installer():
    changes = {"huggingface-hub": "<0.24.0rc0"}
    assert command_for(changes, "/env/bin/python", "pip") == \
        "/env/bin/python -m pip install 'huggingface-hub<0.24.0rc0'"
    assert command_for(changes, "/env/bin/python", "uv") == \
        "uv pip install --python /env/bin/python 'huggingface-hub<0.24.0rc0'"


def test_the_panel_says_what_failed_why_and_the_fix():
    diagnosis = Diagnosis(
        status="broken", python="/env/bin/python", code="import nemo\n",
        failure=from_traceback(NEMO, NEMO_ENV), involved={"huggingface-hub": "0.24.0"},
        also_missing=[MissingName("HfFolder", "huggingface_hub", "huggingface-hub", "0.24.0")],
        boundaries=[Boundary("huggingface-hub", "ModelFilter", "huggingface_hub", "0.23.5",
                             "0.24.0rc0", checked=(("0.23.5", True), ("0.24.0rc0", False)))],
        fixes=[Fix({"huggingface-hub": "<0.24.0rc0"}, "pip install 'huggingface-hub<0.24.0rc0'",
                   ["huggingface-hub 0.24.0 -> 0.23.5"], verified=True)],
        declared_conflicts=["a 1.0 requires b>=2, but b 1.5 is installed"],
    )
    out = io.StringIO()
    Console(file=out, width=200).print(render_diagnosis(diagnosis))
    text = out.getvalue()
    for words in ("BROKEN", "ModelFilter", "HfFolder", "up to 0.23.5, not from 0.24.0rc0",
                  "pip install 'huggingface-hub<0.24.0rc0'", "verified", "pip check"):
        assert words in text, words
    assert diagnosis.to_dict()["fixes"][0]["verified"] is True
