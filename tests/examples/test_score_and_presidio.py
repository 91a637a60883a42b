"""docs/user-guide.md, section 5: a tuned model scored three ways and put into Presidio."""

from __future__ import annotations

import pytest
from test_quickstart import load_example


def test_the_guide_s_example_scores_three_ways_and_answers_presidio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("presidio_analyzer")
    example = load_example("score_and_presidio")
    report, results = example.main(["--rows", "400", "--test-size", "40"])
    out = capsys.readouterr().out
    assert "span:  strict F1" in out and "char:  P" in out and "seqeval F1" in out
    assert list(report.ner_schemes().index) == ["strict", "exact", "partial", "type"]
    assert set(report.per_language["language"]) <= {"en", "fr", "de", "it"}
    assert report.strict.f1 > 0.5 and report.char.f1 > 0.7  # a tuned model, measured
    assert results and all(0.0 < r.score <= 1.0 for r in results)
    assert "presidio:" in out
