"""Which boundary a rule rests on: by the rule's typed key when it has one, by its words otherwise."""

from __future__ import annotations

from envprobe.model.rules import Boundary, ImportCheck, Rule
from envprobe.report.words import boundary_for

HF_FOLDER = Boundary("huggingface-hub", "HfFolder", "huggingface_hub", "0.36.2", "1.0.0rc0")
MODEL_FILTER = Boundary("huggingface-hub", "ModelFilter", "huggingface_hub", "0.23.5", "0.24.0")
BOUNDARIES = [HF_FOLDER, MODEL_FILTER]


def test_a_key_picks_its_boundary_whatever_the_words_say():
    rule = Rule(requires="huggingface-hub<0.24.0", because="mentions HfFolder only",
                     kind="missing_symbol", package="nemo-toolkit",
                     boundary=("huggingface_hub", "huggingface_hub", "ModelFilter"))

    assert boundary_for(rule, BOUNDARIES) is MODEL_FILTER


def test_a_key_without_its_boundary_finds_none():
    rule = Rule(requires="huggingface-hub<2", because="HfFolder", kind="missing_symbol",
                     boundary=("huggingface-hub", "huggingface_hub", "Gone"))

    assert boundary_for(rule, BOUNDARIES) is None


def test_a_rule_stored_without_a_key_gets_it_from_its_import_check_not_its_words():
    checked = Rule.from_dict(Rule(requires="huggingface-hub<1.0.0rc0", because="",
                                  kind="missing_symbol", package="nemo-toolkit",
                                  when_imports=ImportCheck("huggingface_hub", "HfFolder"))
                             .to_dict() | {"boundary": None})
    worded = Rule(requires="huggingface-hub<0.24.0", because="the probe imports ModelFilter",
                  kind="missing_symbol")
    unrelated = Rule(requires="huggingface-hub<0.24.0", because="ModelFilter",
                     kind="dependency_check")

    assert checked.boundary == ("huggingface-hub", "huggingface_hub", "HfFolder")
    assert boundary_for(checked, BOUNDARIES) is HF_FOLDER
    assert boundary_for(worded, BOUNDARIES) is None
    assert boundary_for(unrelated, BOUNDARIES) is None
