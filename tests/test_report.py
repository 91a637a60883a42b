"""Tests for the evaluation report (pii_gemini._report)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from pii_gemini import metrics
from pii_gemini._exceptions import ConfigError
from pii_gemini._report import EvaluationReport, SpanScores, markdown_table

SOURCES = ["Dear Ann, call 555-0101.", "Bob lives in Oslo.", "Nothing here."]
REFS = ["Dear [FIRSTNAME], call [PHONENUMBER].", "[FIRSTNAME] lives in [CITY].", "Nothing here."]
PREDS = [
    "Dear [FIRSTNAME], call 555-0101.",
    "Here you go:\n\n[NAME] lives in [CITY].",
    "Nothing here.",
]


@pytest.fixture
def report() -> EvaluationReport:
    return metrics.evaluate(SOURCES, PREDS, references=REFS)


def test_repr_has_no_text_or_pii(report: EvaluationReport) -> None:
    text = repr(report)
    for secret in ("Ann", "555-0101", "Bob", "Oslo"):
        assert secret not in text
    assert "n_rows=3" in text


def test_summary_and_getitem(report: EvaluationReport) -> None:
    s = report.summary()
    assert s["n_rows"] == 3 and report["strict_recall"] == s["strict_recall"] == 0.5
    assert report["leak_rate"] == 0.25 and report["rows_with_leak_rate"] == pytest.approx(1 / 3)
    with pytest.raises(KeyError):
        report["nope"]


def test_to_markdown(report: EvaluationReport) -> None:
    md = report.to_markdown()
    assert "| metric | value |" in md and "| strict_f1 |" in md
    assert "| label | support |" in md and "| PHONENUMBER | 1 |" in md
    assert "555-0101" not in md and "Ann" not in md


def test_to_dataframe_is_a_copy(report: EvaluationReport) -> None:
    df = report.to_dataframe()
    assert set(df["label"]) == {"FIRSTNAME", "PHONENUMBER", "CITY", "NAME"}  # NAME: predicted
    df.loc[0, "support"] = 999
    assert report.to_dataframe().loc[0, "support"] != 999


def test_rows_hide_pii_unless_asked(report: EvaluationReport) -> None:
    hidden = report.rows()
    assert "source" not in hidden.columns and "prediction" not in hidden.columns
    shown = report.rows(show_pii=True)
    assert shown.loc[0, "source"] == SOURCES[0]


def test_worst_rows(report: EvaluationReport) -> None:
    worst = report.worst_rows(2)
    assert list(worst["row"]) == [0, 1]  # the leak first, then the lower recall
    assert "source" not in worst.columns
    assert "reference" in report.worst_rows(1, show_pii=True).columns
    with pytest.raises(ConfigError):
        report.worst_rows(-1)


def test_plot_recall_saves_png(report: EvaluationReport, tmp_path: Path) -> None:
    path = tmp_path / "recall.png"
    fig = report.plot_recall(path)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plot_recall() is not None


def test_plot_loss(tmp_path: Path) -> None:
    loss = pd.DataFrame({"step": [1, 2, 3], "epoch": [1, 1, 2], "mean_loss": [2.0, 1.2, 0.7]})
    fig = EvaluationReport.plot_loss(loss, tmp_path / "loss.png")
    assert isinstance(fig, Figure) and (tmp_path / "loss.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="mean_loss"):
        EvaluationReport.plot_loss(pd.DataFrame({"step": [1]}))


def test_span_scores_edge_cases() -> None:
    assert SpanScores.from_counts(0, 0, 0, 0) == SpanScores(1.0, 1.0, 1.0, 1.0)
    assert SpanScores.from_counts(0, 3, 0, 2) == SpanScores(0.0, 0.0, 0.0, 0.0)


def test_markdown_table_formats_floats() -> None:
    md = markdown_table(pd.DataFrame({"a": [1], "b": [0.123456], "c": [float("nan")]}))
    assert md.splitlines() == ["| a | b | c |", "|---|---|---|", "| 1 | 0.1235 | nan |"]


def test_recall_chart_shows_support_tells_zero_from_no_data_and_names_the_model() -> None:
    """Issue 15 #6: recall charts must show each label's support, tell zero recall from no
    data, and say which model they show."""
    report = metrics.evaluate(SOURCES, PREDS, references=REFS, model="tunedModels/pii-1")
    ax = report.plot_recall().axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "PHONENUMBER (n=1)" in ticks and "NAME (n=0)" in ticks
    assert "tunedModels/pii-1" in ax.get_title()
    notes = {t.get_text() for t in ax.texts}
    assert "strict 0.00, lenient 0.00" in notes  # PHONENUMBER: missed, drawn as a zero
    assert "no gold spans" in notes  # NAME: predicted only, nothing to recall
    assert "other model" in report.plot_recall(model="other model").axes[0].get_title()


def test_readme_defines_every_headline_metric() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    gold = [[{"start": 5, "end": 8, "label": "FIRSTNAME"}]]
    keys = metrics.evaluate(
        ["Dear Ann."], ["Dear [FIRSTNAME]."], gold_spans=gold, safety_net_spans=[[]]
    ).summary()
    missing = [key for key in keys if f"`{key}`" not in readme]
    assert not missing, f"README.md does not define {missing}"


def test_per_language_breakdown_on_generated_fr_de_it_rows() -> None:
    """Issue 15: ai4privacy is en/fr/de/it; the report breaks the scores down by language."""
    from pii_gemini.synthetic import generate_rows

    df = generate_rows(240, seed=9, languages=("fr", "de", "it"))
    preds = [
        target if lang == "fr" or (lang == "it" and i % 2) else source
        for i, (lang, source, target) in enumerate(
            zip(df["language"], df["source_text"], df["target_text"], strict=True)
        )
    ]
    report = metrics.evaluate(
        df["source_text"], preds, gold_spans=df["privacy_mask"], languages=df["language"]
    )
    table = report.per_language.set_index("language")
    assert sorted(table.index) == ["de", "fr", "it"] and table["n_rows"].sum() == 240
    assert table.loc["fr", "strict_f1"] == 1.0 and table.loc["fr", "char_f1"] == 1.0
    assert table.loc["fr", "leak_rate"] == 0.0
    assert table.loc["de", "strict_recall"] == 0.0 and table.loc["de", "leak_rate"] == 1.0
    assert 0.3 < table.loc["it", "strict_recall"] < 0.7
    assert "### Per language" in report.to_markdown()
    plain = metrics.evaluate(df["source_text"], preds, gold_spans=df["privacy_mask"])
    assert plain.per_language.empty and "Per language" not in plain.to_markdown()
    missing = metrics.evaluate(["Hi Ann"], ["Hi [FIRSTNAME]"], references=["Hi [FIRSTNAME]"],
                               languages=[None])  # fmt: skip
    assert list(missing.per_language["language"]) == ["unknown"]
