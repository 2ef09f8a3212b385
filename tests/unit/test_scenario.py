"""Scenario files: the minimal form is accepted, mistakes name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from envprobe.errors import ScenarioError
from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario

MINIMAL = '''
[scenario]
name = "nemo-asr"
probe = ["import nemo.collections.asr"]   # statements, run in order

[packages]                                 # targets; a range or "*"
nemo_toolkit = { version = ">=1.18,<2", extras = ["asr"] }
huggingface_hub = "*"
transformers = "*"
pytorch-lightning = "*"

[pins]                                     # fixed, not searched
torch = "2.13.0"

[budget]
max_installs = 12

[fallback]
model = "path/to/model.nemo"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_minimal_form_is_accepted(tmp_path: Path):
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert scenario.name == "nemo-asr"
    nemo = scenario.target("nemo-toolkit")
    assert nemo is not None and nemo.extras == {"asr"}
    assert nemo.name == "nemo-toolkit"
    assert str(nemo.specifier) == "<2,>=1.18"
    assert scenario.target("huggingface_hub").specifier == scenario.target("transformers").specifier
    assert str(scenario.pins["torch"]) == "2.13.0"
    assert scenario.budget.max_installs == 12
    assert scenario.fallback_model == tmp_path / "path/to/model.nemo"
    assert scenario.code == "import nemo.collections.asr\n"


def test_the_shipped_scenario_loads():
    scenario = load_scenario(Path(__file__).parents[2] / "constraints" / "nemo-asr.toml")
    assert scenario.target("nemo_toolkit") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scenario]\nprobe = ['import x']\n", "[packages] missing"),
        ("[scenario]\nprobe = ['import x']\n[packages]\nx = '>>1'\n", "[packages] x: not a version range"),
        ("[scenario]\nprobe = ['import (']\n[packages]\nx = '*'\n", "[scenario] probe: not valid Python"),
        ("[scenario]\n[packages]\nx = '*'\n", "[scenario] probe: missing"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[pins]\ny = 'abc'\n", "[pins] y: not an exact version"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[budget]\nmax_installs = 'many'\n", "[budget] max_installs: expected int"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[install]\ninstaller = ''\n", "[install] installer: expected an installer's name"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[budgte]\n", "] budgte: unknown key"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[pins]\nx = '1.0'\n", "[pins] x: also in [packages]"),
        ("not toml at all [", "not valid TOML"),
        ("[scenario]\nprobe = 'import x'\ntimeout = nan\n[packages]\nx = '*'\n", "[scenario] timeout: must be a positive finite"),
        ("[scenario]\nprobe = 'import x'\ntimeout = inf\n[packages]\nx = '*'\n", "[scenario] timeout: must be a positive finite"),
        ("[scenario]\nprobe = 'import x'\ntimeout = 2200000\n[packages]\nx = '*'\n", "[scenario] timeout: at most 604800"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[budget]\nmax_minutes = -5\n", "[budget] max_minutes: must be a positive finite"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = {extras = ['a b']}\n", "[packages.x] extras: not a valid extra name: 'a b'"),
        ("[scenario]\nname = '../escaped'\nprobe = 'import x'\n[packages]\nx = '*'\n", "[scenario] name: '../escaped' is not a slug"),
        ("[scenario]\nname = 'a/b'\nprobe = 'import x'\n[packages]\nx = '*'\n", "[scenario] name: 'a/b' is not a slug"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[install]\npass_env = ['A B']\n", "[install] pass_env: not an environment variable's name: 'A B'"),
        ("[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n[fallback]\nwhen = 'always'\n", "[fallback] when: expected one of unsatisfiable, unsolved"),
    ],
)
def test_mistakes_name_file_and_key(tmp_path: Path, text: str, expected: str):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    message = str(error.value)
    assert message.startswith(str(path)) and expected in message
    assert "\n" not in message


def test_missing_file_is_one_line(tmp_path: Path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")


def test_find_links_and_fallback_paths_are_relative_to_the_scenario_file(tmp_path: Path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = write(folder, "[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n"
                         "[install]\nfind_links = ['../dists', 'http://127.0.0.1:9/simple']\n"
                         "[fallback]\nmodel = 'm.nemo'\nwhen = 'unsolved'\n")
    scenario = load_scenario(path)
    assert scenario.find_links == (str(folder / "../dists"), "http://127.0.0.1:9/simple")
    assert scenario.fallback_model == folder / "m.nemo"
    assert scenario.fallback_when == "unsolved"


def test_an_installer_no_backend_knows_is_named_with_file_and_key(tmp_path: Path):
    path = write(tmp_path, "[scenario]\nprobe = 'import x'\n[packages]\nx = '*'\n"
                           "[install]\ninstaller = 'conda'\n")
    with pytest.raises(ScenarioError) as error:
        solve_scenario(load_scenario(path))
    assert str(error.value).startswith(f"{path}: [install] installer: unknown installer 'conda'")
