"""Failure parsing on installer output and exception messages as the tools print them.

Each installer backend reads its own log; the child's report has a parser of
its own. The end-to-end tests (test_probe.py) produce these from real
installs; here the shapes that a test package cannot easily produce (older
pip wording, pkg_resources conflicts) are pinned down, and so is the refusal
to guess.
"""

from __future__ import annotations

import pytest

from envprobe.model.outcome import Demand, Failure, FailureKind
from envprobe.probing import child_failures, evidence
from envprobe.probing.backends import logs, pip, uv

BACKENDS = {"pip": pip.PipBackend(), "uv": uv.UvBackend()}
UNKNOWN_IN_LOG = {"pip": pip.unknown_in_log, "uv": uv.unknown_in_log}


def from_install_log(log: str, installer: str) -> Failure:
    return BACKENDS[installer].failure_from_log(log)

PIP_CONFLICT = """\
Processing ./pd/ca-1.0-py3-none-any.whl
ERROR: Cannot install ca==1.0 and cb==1.0 because these package versions have conflicting dependencies.

The conflict is caused by:
    ca 1.0 depends on heavy<1
    cb 1.0 depends on heavy>=1
    The user requested heavy==0.5

To fix this you could try to:
1. loosen the range of package versions you've specified

ERROR: ResolutionImpossible: for help visit the dependency-resolution page of pip's documentation
"""

UV_CONFLICT = """\
Using Python 3.11.7 environment at: e3
error: No solution found when resolving dependencies
  cause: Because all versions of cb depend on heavy>=1 and all versions of ca depend on heavy<1, we can conclude that all versions of ca and all versions of cb are incompatible.
         And because you require ca==1.0 and cb==1.0, we can conclude that your requirements are unsatisfiable.
"""

UV_UNKNOWN = """\
error: No solution found when resolving dependencies
  cause: Because nope was not found in the provided package locations and you require nope==1.0, we can conclude that your requirements are unsatisfiable.
"""

UV_WRONG_TAG = """\
error: No solution found when resolving dependencies
  ╰─▶ Because cp27only==1.0 has no wheels with a matching Python implementation tag (e.g., `cp311`) and you require cp27only==1.0, we can conclude that your requirements are unsatisfiable.
"""

PIP_NO_VERSION = """\
ERROR: Could not find a version that satisfies the requirement heavy==9 (from versions: 0.5, 1.0)
ERROR: No matching distribution found for heavy==9
"""

PIP_NONE_AT_ALL = """\
ERROR: Could not find a version that satisfies the requirement nope==1.0 (from versions: none)
ERROR: No matching distribution found for nope==1.0
"""

PIP_SETUP_PY_BUILD = """\
Collecting flashy==0.3
  Downloading flashy-0.3.tar.gz (12 kB)
  Installing build dependencies: finished with status 'done'
  Getting requirements to build wheel: finished with status 'error'
  error: subprocess-exited-with-error

  × Getting requirements to build wheel did not run successfully.
  │ exit code: 1
  ╰─> [17 lines of output]
      Traceback (most recent call last):
        File "<string>", line 4, in <module>
      ModuleNotFoundError: No module named 'torch'
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
ERROR: Failed to build 'flashy' when getting requirements to build wheel
"""

UV_BUILD = """\
error: Failed to build `brokenbuild==1.0`
  cause: The build backend returned an error
  cause: Call to `backend.get_requires_for_build_wheel` failed (exit status: 1)

         [stderr]
         ModuleNotFoundError: No module named 'numpyy_build_helper'
"""


def test_pip_conflict_keeps_every_conflicting_requirement():
    failure = from_install_log(PIP_CONFLICT, "pip")
    assert failure.kind is FailureKind.DECLARED_CONFLICT
    assert failure.requirements == ("heavy<1", "heavy>=1", "heavy==0.5")
    assert failure.name == "heavy"
    assert failure.message.startswith("Cannot install ca==1.0 and cb==1.0")
    assert "ca 1.0 depends on heavy<1" in failure.log_excerpt


def test_uv_conflict_keeps_what_parses():
    failure = from_install_log(UV_CONFLICT, "uv")
    assert failure.kind is FailureKind.DECLARED_CONFLICT
    assert set(failure.requirements) == {"heavy>=1", "heavy<1", "ca==1.0", "cb==1.0"}
    assert failure.name == "heavy"


def test_conflicts_keep_who_depends_on_what_for_both_installers():
    pip = from_install_log(PIP_CONFLICT, "pip")
    assert pip.demands == (
        Demand("heavy<1", "ca", "==1.0"),
        Demand("heavy>=1", "cb", "==1.0"),
        Demand("heavy==0.5"),
    )
    uv = from_install_log(UV_CONFLICT, "uv")
    assert set(uv.demands) == {
        Demand("heavy>=1", "cb"), Demand("heavy<1", "ca"), Demand("ca==1.0"), Demand("cb==1.0"),
    }
    ranged = from_install_log(
        "error: No solution found when resolving dependencies\n  cause: Because lib>=1.5 "
        "depends on helper<2 and app>=2.0 depends on helper>=2, we can conclude that app>=2.0 "
        "and lib>=1.5 are incompatible.\n", "uv")
    assert set(ranged.demands) == {Demand("helper<2", "lib", ">=1.5"),
                                   Demand("helper>=2", "app", ">=2.0")}
    assert Failure.from_dict(ranged.to_dict()) == ranged


@pytest.mark.parametrize(("log", "installer", "name", "unknown"), [
    (PIP_NO_VERSION, "pip", "heavy", False),
    (PIP_NONE_AT_ALL, "pip", "nope", None),  # pip cannot tell: the caller asks pip again
    (UV_UNKNOWN, "uv", "nope", True),
    (UV_WRONG_TAG, "uv", "cp27only", False),
])
def test_no_distribution_and_whether_the_project_exists(log, installer, name, unknown):
    failure = from_install_log(log, installer)
    assert failure.kind is FailureKind.NO_DISTRIBUTION
    assert failure.name == name
    assert UNKNOWN_IN_LOG[installer](log, failure.name) is unknown


@pytest.mark.parametrize(("log", "installer", "module", "package"), [
    (PIP_SETUP_PY_BUILD, "pip", "torch", "flashy"),
    (UV_BUILD, "uv", "numpyy_build_helper", "brokenbuild"),
])
def test_build_failure_names_the_missing_build_module(log, installer, module, package):
    failure = from_install_log(log, installer)
    assert failure.kind is FailureKind.BUILD_FAILED
    assert (failure.name, failure.package) == (module, package)


def test_an_unrecognised_installer_error_is_install_failed_with_the_excerpt():
    log = "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n"
    failure = from_install_log(log, "pip")
    assert failure.kind is FailureKind.INSTALL_FAILED
    assert "No space left" in failure.message and "No space left" in failure.log_excerpt


def test_excerpt_keeps_the_last_relevant_lines():
    log = "\n".join(["Collecting x", "Downloading x.whl"] + [f"line {i}" for i in range(100)])
    kept = evidence.excerpt(log).splitlines()
    assert len(kept) == evidence.EXCERPT_LINES
    assert kept[-1] == "line 99" and "Collecting x" not in kept


def test_unreachable_index_is_recognised():
    log = ("WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError("
           "\"Failed to establish a new connection: [Errno 111] Connection refused\")': /simple/x/")
    assert logs.index_unreachable(log) == "Failed to establish a new connection"
    assert logs.index_unreachable(PIP_NONE_AT_ALL) is None


def test_debug_log_file_names_tell_whether_a_project_has_files():
    log = ("Skipping link: none of the wheel's tags (cp27-cp27mu-linux_x86_64) are compatible: "
           "file:///tmp/d/cp27only-1.0-cp27-cp27mu-linux_x86_64.whl\n"
           "Skipping link: wrong project name (not cp27only): file:///tmp/d/heavy-1.0.tar.gz")
    assert pip.lists_files_of(log, "cp27only")
    assert not pip.lists_files_of(log, "nope")


def child_error(exception_type: str, message: str, **extra: object) -> dict:
    return {"status": "error", "exception": {"type": exception_type, "message": message},
            "missing": None, "importer": None, "frames": [], "traceback": "", **extra}


@pytest.mark.parametrize(("exception_type", "message", "expected"), [
    ("ImportError",
     ("tokenizers>=0.11.1,!=0.11.3,<0.14 is required for a normal functioning of this module, "
      "but found tokenizers==0.15.0.\nTry: pip install transformers -U"),
     "tokenizers!=0.11.3,<0.14,>=0.11.1"),
    ("pkg_resources.ContextualVersionConflict",
     ("(huggingface-hub 0.24.0 (/env/site-packages), "
      "Requirement.parse('huggingface-hub<0.20,>=0.16'), {'nemo-toolkit'})"),
     "huggingface-hub<0.20,>=0.16"),
    ("RuntimeError", "pytorch_lightning requires torch>=2.1 but found torch 1.13", "torch>=2.1"),
    ("pkg_resources.VersionConflict", "numpy 2.0.0 is installed but numpy<2 is required", "numpy<2"),
    ("ImportError", "pyarrow requires NumPy 2.0 or newer, found 1.26.4", "numpy>=2.0"),
])
def test_import_time_dependency_checks_are_parsed_not_guessed(exception_type, message, expected):
    failure = child_failures.from_child(child_error(exception_type, message),
                                        {"tokenizers": "0.15.0", "huggingface-hub": "0.24.0"})
    assert failure.kind is FailureKind.DEPENDENCY_CHECK
    assert failure.requirements == (expected,)
    assert failure.name == failure.package
    if failure.name == "tokenizers":
        assert failure.version == "0.15.0"


@pytest.mark.parametrize("message", [
    "expected numpy>=1.0 arrays",  # a requirement-like text that is not a version check
    "CUDA driver version is insufficient",
])
def test_other_errors_stay_probe_errors(message):
    failure = child_failures.from_child(child_error("RuntimeError", message), {})
    assert failure.kind is FailureKind.PROBE_ERROR
    assert failure.message == f"RuntimeError: {message}"


def test_a_passing_child_has_no_failure():
    assert child_failures.from_child({"status": "ok", "seconds": {"code": 0.1}}, {}) is None


def test_crash_and_timeout_say_what_happened():
    assert "SIGSEGV" in child_failures.crashed(-11, "Fatal Python error: Segmentation fault").message
    assert "code 3" in child_failures.crashed(3, "").message
    assert "3 s" in child_failures.timed_out(3.0, "").message
