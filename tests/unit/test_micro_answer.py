"""A micro-probe's answer line is parsed strictly: the release's own prints are no answer."""

from __future__ import annotations

import pytest

from envprobe.probing.micro import _answer_from


def test_a_well_formed_line_is_the_answer():
    answer = _answer_from('{"answer": false, "why": "numpy has no sctypes", "needs": ""}', "x 1")
    assert (answer.answer, answer.why) == (False, "numpy has no sctypes")


@pytest.mark.parametrize("text", ["not json", '{"answer": "yes", "why": "", "needs": ""}',
                                  '{"why": "missing answer"}', "[1, 2]"])
def test_anything_else_is_no_answer(text: str):
    answer = _answer_from(text, "lib 1.0")
    assert answer.answer is None
    assert answer.why == "the question to lib 1.0 got a malformed answer"
