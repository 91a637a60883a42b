"""Tests for pii_gemini.metrics: exact match, align, evaluate. Fixtures are hand-written."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pii_gemini import metrics
from pii_gemini._entities import render_masked
from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini._types import Span

SOURCES = [
    "Dear Ann Lee, your card 4111-1111-1111-1111 is active.",
    "Meet Bob at 10 Elm Street tomorrow, Bob.",
    "Hello Mr.Kerluke, pay £850.50 by Friday.",
    "No personal data here at all.",
]


def _spans(source: str, items: list[tuple[str, str]]) -> list[dict[str, object]]:
    out, cursor = [], 0
    for label, value in items:
        start = source.index(value, cursor)
        out.append({"value": value, "start": start, "end": start + len(value), "label": label})
        cursor = start + len(value)
    return out


GOLD = [
    _spans(
        SOURCES[0],
        [("FIRSTNAME", "Ann"), ("LASTNAME", "Lee"), ("CREDITCARDNUMBER", "4111-1111-1111-1111")],
    ),
    _spans(
        SOURCES[1],
        [
            ("FIRSTNAME", "Bob"),
            ("BUILDINGNUMBER", "10"),
            ("STREET", "Elm Street"),
            ("FIRSTNAME", "Bob"),
        ],
    ),
    _spans(
        SOURCES[2],
        [("PREFIX", "Mr."), ("LASTNAME", "Kerluke"), ("CURRENCYSYMBOL", "£"), ("AMOUNT", "850.50")],
    ),
    [],
]
REFERENCES = [
    render_masked(s, [Span(int(d["start"]), int(d["end"]), str(d["label"])) for d in g])  # type: ignore[call-overload]
    for s, g in zip(SOURCES, GOLD, strict=True)
]


def test_references_fixture_is_what_we_think() -> None:
    assert REFERENCES[2] == "Hello [PREFIX][LASTNAME], pay [CURRENCYSYMBOL][AMOUNT] by Friday."


def test_exact_match() -> None:
    assert metrics.exact_match(["a", "b "], ["a", "c"]) == 0.5
    assert metrics.exact_match(pd.Series(["x"]), ["x"]) == 1.0
    with pytest.raises(ConfigError, match="length"):
        metrics.exact_match(["a"], ["a", "b"])
    with pytest.raises(ConfigError):
        metrics.exact_match([], [])
    with pytest.raises(ConfigError, match="single str"):
        metrics.exact_match("abc", "abc")
    with pytest.raises(DatasetError, match=r"predictions\[0\]"):
        metrics.exact_match([3], ["a"])


def test_align_wrappers() -> None:
    spans = metrics.align(SOURCES[0], REFERENCES[0])
    assert [s.value for s in spans] == ["Ann", "Lee", "4111-1111-1111-1111"]
    detail = metrics.align_detailed(SOURCES[2], REFERENCES[2])
    assert detail.faithful and not detail.ambiguous


def _gold_kwargs(use: str) -> dict[str, object]:
    """evaluate's gold arguments: ``gold_spans``, ``references`` or both."""
    kwargs: dict[str, object] = {}
    if use in ("gold_spans", "both"):
        kwargs["gold_spans"] = GOLD
    if use in ("references", "both"):
        kwargs["references"] = REFERENCES
    return kwargs


@pytest.mark.parametrize("use", ["gold_spans", "references", "both"])
def test_gold_masked_text_scores_perfectly(use: str) -> None:
    kwargs = _gold_kwargs(use)
    r = metrics.evaluate(SOURCES, REFERENCES, **kwargs)  # type: ignore[arg-type]
    assert r.n_rows == 4 and r.exact_match == 1.0
    for scores in (r.strict, r.lenient):
        assert (scores.precision, scores.recall, scores.f1, scores.f2) == (1.0, 1.0, 1.0, 1.0)
    assert r.leak_rate == r.leak_rate_normalized == r.rows_with_leak_rate == 0.0
    assert r.preservation_rate == 1.0 and r.faithful_rate == 1.0
    assert r.chatter_rate == r.invented_label_rate == r.kept_value_rate == 0.0
    assert r.ambiguous_alignments == 0 and r.n_gold_spans == r.n_pred_spans == 11
    assert (r.to_dataframe()["strict_recall"] == 1.0).all()


def _numbered(source: str, gold: list[dict[str, object]]) -> str:
    """``source`` masked as the ``numbered`` operator does: ``[LABEL_N]``, N per value."""
    seen: dict[tuple[str, str], int] = {}
    per_label: dict[str, int] = {}
    out, last = [], 0
    for d in gold:
        label, value = str(d["label"]), str(d["value"])
        if (label, value) not in seen:
            per_label[label] = per_label.get(label, 0) + 1
            seen[label, value] = per_label[label]
        out += [source[last : int(d["start"])], f"[{label}_{seen[label, value]}]"]  # type: ignore[call-overload]
        last = int(d["end"])  # type: ignore[call-overload]
    return "".join([*out, source[last:]])


@pytest.mark.parametrize("use", ["gold_spans", "references", "both"])
def test_numbered_placeholders_score_like_plain_ones(use: str) -> None:
    # `mask --operator numbered` writes [FIRSTNAME_1], [FIRSTNAME_2]: the index names the
    # value, not a different label, so exact match must not drop to 0 (it did; F1 was 1.0)
    numbered = [_numbered(s, g) for s, g in zip(SOURCES, GOLD, strict=True)]
    assert numbered[1] == (
        "Meet [FIRSTNAME_1] at [BUILDINGNUMBER_1] [STREET_1] tomorrow, [FIRSTNAME_1]."
    )
    kwargs = _gold_kwargs(use)
    plain = metrics.evaluate(SOURCES, REFERENCES, **kwargs)  # type: ignore[arg-type]
    r = metrics.evaluate(SOURCES, numbered, **kwargs)  # type: ignore[arg-type]
    assert r.exact_match == plain.exact_match == 1.0
    assert r.summary() == plain.summary()
    assert r.rows()["exact"].tolist() == [True] * 4
    # legacy references ([LABEL_N], the original 200k schema) against plain predictions too
    legacy = metrics.evaluate(SOURCES, REFERENCES, references=numbered)
    assert legacy.exact_match == 1.0 and legacy.strict.f1 == 1.0


def test_numbered_exact_match_keeps_bracketed_text_of_the_source() -> None:
    # a bracketed token the source holds is text: "[REF_1]" kept as "[REF]" is a change
    source = "Ticket [REF_1] for Ann."
    gold = [[{"value": "Ann", "start": 19, "end": 22, "label": "FIRSTNAME"}]]
    right = metrics.evaluate([source], ["Ticket [REF_1] for [FIRSTNAME_1]."], gold_spans=gold)
    wrong = metrics.evaluate([source], ["Ticket [REF] for [FIRSTNAME_1]."], gold_spans=gold)
    assert right.exact_match == 1.0 and wrong.exact_match == 0.0
    wrong_ref = metrics.evaluate([source], ["Ticket [REF] for [FIRSTNAME]."],
                                 references=["Ticket [REF_1] for [FIRSTNAME_1]."])  # fmt: skip
    assert wrong_ref.exact_match == 0.0


def test_gold_with_chatter_still_perfect_spans_but_chatter_counted() -> None:
    preds = [f"Here is the anonymized output:\n\n{t}" for t in REFERENCES]
    r = metrics.evaluate(SOURCES, preds, gold_spans=GOLD)
    assert r.chatter_rate == 1.0 and r.leading_chatter_rate == 1.0
    assert r.strict.f1 == 1.0 and r.exact_match == 1.0
    raw = metrics.evaluate(SOURCES, preds, gold_spans=GOLD, clean=False)
    assert raw.exact_match == 0.0 and raw.faithful_rate == 0.0


def test_identity_output_leaks_everything() -> None:
    r = metrics.evaluate(SOURCES, SOURCES, gold_spans=GOLD)
    assert r.strict.recall == 0.0 and r.lenient.recall == 0.0
    assert r.strict.precision == 1.0  # nothing predicted
    assert r.leak_rate == 1.0 and r.leak_rate_normalized == 1.0
    assert r.rows_with_leak_rate == 0.75  # the PII-free row does not leak
    assert r.preservation_rate == 1.0


def test_realistic_model_output() -> None:
    preds = [
        # normalised leak: the card number comes back without separators
        "Sure! Here it is:\n\nDear [NAME], your card 4111111111111111 is active.",
        # one Bob leaked verbatim, the address collapsed into one invented label
        "Meet [FIRSTNAME] at [ADDRESS] tomorrow, Bob.",
        # inserted tag, kept value; rewritten tail
        "Hello [PREFIX][LASTNAME], pay [AMOUNT] : £850.50 soon.",
        "No personal data here at all.",
    ]
    r = metrics.evaluate(SOURCES, preds, gold_spans=GOLD)
    rows = r.rows()
    assert list(rows["leaked"]) == [0, 1, 2, 0]  # row 2 keeps both "£" and "850.50"
    assert list(rows["leaked_normalized"]) == [1, 1, 2, 0]
    assert r.leak_rate == pytest.approx(3 / 11)
    assert r.leak_rate_normalized == pytest.approx(4 / 11)
    assert r.rows_with_leak_rate == 0.5 and r.rows_with_leak_rate_normalized == 0.75
    assert r.chatter_rate == 0.25
    assert list(rows["invented_labels"]) == [1, 1, 0, 0]
    assert r.invented_label_rate == 0.5
    assert list(rows["faithful"]) == [False, True, False, True]  # row 0 dropped the dashes
    assert r.preservation_rate < 1.0
    # strict: only FIRSTNAME Bob (row 1) and PREFIX/LASTNAME (row 2) are exact
    assert rows["strict_tp"].tolist() == [0, 1, 2, 0]
    # lenient: [NAME] overlaps Ann and Lee, [ADDRESS] overlaps 10 and Elm Street
    assert rows["lenient_recall"].tolist()[:2] == [pytest.approx(2 / 3), 0.75]
    table = r.to_dataframe().set_index("label")
    assert table.loc["FIRSTNAME", "support"] == 3
    assert table.loc["FIRSTNAME", "strict_recall"] == pytest.approx(1 / 3)


def test_kept_value_counted() -> None:
    src = ["Device IMEI: 06-184755-866851-3 found."]
    gold = [_spans(src[0], [("PHONEIMEI", "06-184755-866851-3")])]
    r = metrics.evaluate(src, ["Device [IMEI] : 06-184755-866851-3 found."], gold_spans=gold)
    assert r.kept_value_rate == 1.0 and r.leak_rate == 1.0


def test_refusal_and_missing_prediction() -> None:
    preds = ["I cannot provide personal information.", "", "", SOURCES[3]]
    r = metrics.evaluate(SOURCES, preds, gold_spans=GOLD)
    assert r.refusal_rate == 0.25
    assert r.strict.recall == 0.0 and r.leak_rate == 0.0  # an empty answer leaks nothing
    assert r.preservation_rate < 0.5


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_a_missing_prediction_is_scored_as_its_unmasked_source(missing: object) -> None:
    # a row the model did not mask (mask_dataframe writes None) reaches its reader as the
    # source or not at all: it must not score as a clean answer
    r = metrics.evaluate(SOURCES[:2], [REFERENCES[0], missing], gold_spans=GOLD[:2])
    same = metrics.evaluate(SOURCES[:2], [REFERENCES[0], SOURCES[1]], gold_spans=GOLD[:2])
    assert r.summary() == same.summary()
    assert r.rows()["leaked"].tolist() == [0, len(GOLD[1])]


def test_gold_spans_accept_strings_and_spans() -> None:
    as_json = [str(g).replace("'", '"') for g in GOLD]
    r = metrics.evaluate(SOURCES, REFERENCES, gold_spans=as_json)
    assert r.strict.f1 == 1.0
    as_spans = [metrics.align(s, t) for s, t in zip(SOURCES, REFERENCES, strict=True)]
    assert metrics.evaluate(SOURCES, REFERENCES, gold_spans=as_spans).strict.f1 == 1.0


def test_indexed_gold_labels_are_normalised() -> None:
    gold = [[{"value": "Ann", "start": 5, "end": 8, "label": "FIRSTNAME_1"}]]
    r = metrics.evaluate(["Dear Ann"], ["Dear [FIRSTNAME_1]"], gold_spans=gold)
    assert r.strict.f1 == 1.0


@pytest.mark.parametrize(
    ("gold", "match"),
    [
        ([[{"start": 0, "end": 3}]], "label"),
        ([[{"start": 0, "end": 99, "label": "X"}]], "outside"),
        ([["not a dict"]], "not a dict"),
        (["{not json"], "not a list"),
    ],
)
def test_bad_gold_spans_name_the_row(gold: list[object], match: str) -> None:
    with pytest.raises(DatasetError, match=match) as info:
        metrics.evaluate(["Dear Ann"], ["Dear [X]"], gold_spans=gold)
    assert info.value.row == 0
    assert "Ann" not in str(info.value)


def test_gold_spans_in_any_order_or_container_score_the_same() -> None:
    """Unsorted dicts, numpy int offsets, object arrays and one-shot iterables all parse."""
    src, pred = ["Dear Ann Lee"], ["Dear [FIRSTNAME] [LASTNAME]"]
    ann = {"value": "Ann", "start": 5, "end": 8, "label": "FIRSTNAME"}
    lee = {"value": "Lee", "start": 9, "end": 12, "label": "LASTNAME"}
    expected = metrics.evaluate(src, pred, gold_spans=[[ann, lee]]).summary()
    lee_np = {**lee, "start": np.int64(9), "end": np.int64(12)}
    for gold in (
        [[lee, ann]],  # unsorted
        [[ann, lee_np]],  # numpy integers (parquet)
        [np.array([ann, lee], dtype=object)],  # an object array (parquet list column)
        [iter([lee, ann])],  # read once
        [(ann, lee)],
    ):
        assert metrics.evaluate(src, pred, gold_spans=gold).summary() == expected


@pytest.mark.parametrize(
    "items",
    [
        [{"start": 5, "end": 8, "label": "X"}, {"start": 6, "end": 12, "label": "Y"}],
        [{"start": 6, "end": 12, "label": "Y"}, {"start": 5, "end": 8, "label": "X"}],
        [{"start": 5, "end": 8, "label": "X"}, {"start": 5, "end": 8, "label": "X"}],
    ],
)
def test_overlapping_gold_spans_are_a_dataset_error(items: list[dict[str, object]]) -> None:
    with pytest.raises(DatasetError, match="overlapping") as info:
        metrics.evaluate(["Dear Ann Lee"], ["Dear [X]"], gold_spans=[items])
    assert info.value.row == 0


def test_gold_span_objects_are_checked_against_the_text() -> None:
    with pytest.raises(DatasetError, match="outside the text"):
        metrics.evaluate(["Dear Ann"], ["Dear [X]"], gold_spans=[[Span(5, 30, "FIRSTNAME")]])


def test_evaluate_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="references or gold_spans"):
        metrics.evaluate(["a"], ["a"])
    with pytest.raises(ConfigError, match="length"):
        metrics.evaluate(["a", "b"], ["a"], references=["a", "b"])
    with pytest.raises(ConfigError, match="at least one"):
        metrics.evaluate([], [], references=[])
    with pytest.raises(DatasetError, match=r"references\[0\]"):
        metrics.evaluate(["Dear Ann"], ["x"], references=["Hello [FIRSTNAME]"])


def test_custom_label_set_for_invented_labels() -> None:
    r = metrics.evaluate(
        ["Dear Ann"], ["Dear [NAME]"], references=["Dear [FIRSTNAME]"], labels={"NAME"}
    )
    assert r.invented_label_rate == 0.0
    r2 = metrics.evaluate(["Dear Ann"], ["Dear [NAME]"], references=["Dear [FIRSTNAME]"])
    assert r2.invented_label_rate == 1.0 and r2.lenient.f1 == 1.0 and r2.strict.f1 == 0.0


def test_compare_per_row_frame_hides_pii_by_default() -> None:
    df = metrics.compare(SOURCES, SOURCES, REFERENCES)
    assert len(df) == 4 and "exact" in df.columns and "chatter" in df.columns
    assert not {"source", "prediction", "reference"} & set(df.columns)
    shown = metrics.compare(SOURCES, SOURCES, REFERENCES, show_pii=True)
    assert shown["source"].tolist() == SOURCES


def test_f2_weights_recall() -> None:
    s = metrics.SpanScores.from_counts(tp_pred=1, n_pred=1, tp_gold=1, n_gold=4)
    assert s.precision == 1.0 and s.recall == 0.25
    assert s.f2 < s.f1 or math.isclose(s.f1, s.f2)
    assert s.f2 == pytest.approx(5 * 0.25 / (4 + 0.25))


def test_public_names_resolve() -> None:
    assert metrics.__all__ == sorted(metrics.__all__)
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
    repaired = metrics.repair("Dear Ann Lee, welcome!", "Dear [FIRSTNAME] Lee, welcome to you!")
    assert repaired == "Dear [FIRSTNAME] Lee, welcome!"


# -- safety net -----------------------------------------------------------------------------


def _span_at(source: str, value: str, label: str) -> Span:
    start = source.index(value)
    return Span(start, start + len(value), label, value)


def test_safety_net_caught_counts_gold_values_only_the_net_covered() -> None:
    src = "Mail ann@x.org or bob@y.org, Ann."
    gold = _spans(src, [("EMAIL", "ann@x.org"), ("EMAIL", "bob@y.org"), ("FIRSTNAME", "Ann")])
    net = [_span_at(src, "ann@x.org", "EMAIL")]
    model_only = "Mail ann@x.org or [EMAIL], [FIRSTNAME]."  # the model missed one address
    final = "Mail [EMAIL] or [EMAIL], [FIRSTNAME]."  # ... and the net masked it
    for pred in (model_only, final):
        report = metrics.evaluate([src], [pred], gold_spans=[gold], safety_net_spans=[net])
        assert report.safety_net_caught == 1
        assert report.summary()["safety_net_caught"] == 1
    as_dicts = [{"start": s.start, "end": s.end, "label": s.label} for s in net]
    assert metrics.evaluate(
        [src], [final], gold_spans=[gold], safety_net_spans=[as_dicts]
    ).safety_net_caught == 1  # fmt: skip
    # a net span over no gold value catches nothing
    nothing = [_span_at(src, "Mail", "X")]
    report = metrics.evaluate([src], [final], gold_spans=[gold], safety_net_spans=[nothing])
    assert report.safety_net_caught == 0


def test_safety_net_caught_only_when_measured() -> None:
    report = metrics.evaluate(SOURCES, SOURCES, gold_spans=GOLD)
    assert report.safety_net_caught is None and "safety_net_caught" not in report.summary()
    assert "safety_net_caught" not in report.to_markdown()
    empty = metrics.evaluate(SOURCES, SOURCES, gold_spans=GOLD, safety_net_spans=[[]] * 4)
    assert empty.safety_net_caught == 0 and "| safety_net_caught | 0 |" in empty.to_markdown()
    assert "| n_rows | 4 |" in empty.to_markdown()  # counts stay integers


def test_safety_net_spans_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="differ in length"):
        metrics.evaluate(SOURCES, SOURCES, gold_spans=GOLD, safety_net_spans=[[]])
    bad_rows: list[object] = [
        [{"start": 0, "end": 999, "label": "EMAIL"}],
        [{"start": "a", "end": 2, "label": "EMAIL"}],
        ["not a span"],
        "{not json",
    ]
    for bad in bad_rows:
        with pytest.raises(DatasetError, match="safety_net_spans") as info:
            metrics.evaluate(SOURCES[:1], SOURCES[:1], gold_spans=GOLD[:1], safety_net_spans=[bad])
        assert info.value.row == 0
        assert "Ann" not in str(info.value)
    ok = metrics.evaluate(SOURCES[:1], SOURCES[:1], gold_spans=GOLD[:1], safety_net_spans=["[]"])
    assert ok.safety_net_caught == 0


@pytest.mark.parametrize("source_prefix", ["", "[URGENT] "])  # a bracket in the source or not
def test_leak_counts_values_outside_placeholders_only(source_prefix: str) -> None:
    """A value spelled like a label ("DATE") is not leaked by the [DATE] placeholder."""
    src = f"{source_prefix}Code DATE for Ann"
    start = src.index("DATE")
    gold = [
        [
            {"start": start, "end": start + 4, "label": "USERNAME"},
            {"start": src.index("Ann"), "end": len(src), "label": "FIRSTNAME"},
        ]
    ]
    masked = f"{source_prefix}Code [DATE] for [FIRSTNAME]"
    r = metrics.evaluate([src], [masked], gold_spans=gold)
    assert r.leak_rate == 0.0 and r.leak_rate_normalized == 0.0
    kept = f"{source_prefix}Code d-a-t-e for [FIRSTNAME] [DATE]"  # kept after normalising
    r = metrics.evaluate([src], [kept], gold_spans=gold)
    assert r.leak_rate == 0.0 and r.leak_rate_normalized == 0.5
    src = src.replace("DATE", "KX91")  # a value in brackets is a leak, not a mask
    r = metrics.evaluate([src], [f"{source_prefix}Code [KX91] for [FIRSTNAME]"], gold_spans=gold)
    assert r.leak_rate == 0.5 and r.strict.recall == 0.5


# -- issue 15: what real model answers exposed ------------------------------------------------


def test_a_template_token_of_the_source_is_text_not_a_placeholder() -> None:
    """#2: "[ACCOUNTNUMBER_N]" kept from the source became the placeholder [ACCOUNTNUMBERN]."""
    src = ["Acct [ACCOUNTNUMBER_N] of Bob"]
    gold = ["Acct [ACCOUNTNUMBER_N] of [FIRSTNAME]"]
    report = metrics.evaluate(src, gold, references=gold)
    assert report.exact_match == 1.0
    assert report.strict == metrics.SpanScores(1.0, 1.0, 1.0, 1.0)
    assert metrics.normalize_placeholders(gold[0], src[0]) == gold[0]
    assert metrics.normalize_placeholders(gold[0]) != gold[0]  # without the source: a tag


def test_a_value_inside_brackets_is_a_leak_not_a_mask() -> None:
    """#3: "[WF75HYD]" for the value WF75HYD counted as masked (leak 0, lenient recall 1)."""
    gold = [[{"start": 4, "end": 11, "label": "VEHICLEVRM", "value": "WF75HYD"}]]
    report = metrics.evaluate(["VRM WF75HYD here"], ["VRM [WF75HYD] here"], gold_spans=gold)
    assert report.leak_rate == 1.0 and report.leak_rate_normalized == 1.0
    assert report.lenient.recall == 0.0 and report.n_pred_spans == 0
    a = metrics.align_detailed("VRM WF75HYD here", "VRM [WF75HYD] here")
    assert a.spans == () and "placeholder_reveals_value" in a.issues
    lower = metrics.evaluate(["Hi Bob"], ["Hi [BOB]"], gold_spans=[[Span(3, 6, "FIRSTNAME")]])
    assert lower.leak_rate_normalized == 1.0 and lower.lenient.recall == 0.0


def test_a_label_never_predicted_has_undefined_precision() -> None:
    """#6: a label with support but no prediction showed precision 1.0."""
    gold = [[Span(0, 3, "FIRSTNAME"), Span(8, 12, "CITY")]]
    report = metrics.evaluate(["Ann in  Oslo"], ["[FIRSTNAME] in  Oslo"], gold_spans=gold)
    table = report.per_label.set_index("label")
    assert table.loc["CITY", "support"] == 1 and table.loc["CITY", "n_pred"] == 0
    assert math.isnan(table.loc["CITY", "strict_precision"])
    assert table.loc["CITY", "strict_recall"] == 0.0 and table.loc["CITY", "strict_f1"] == 0.0
    assert table.loc["FIRSTNAME", "strict_precision"] == 1.0


def test_a_label_only_predicted_is_listed_with_no_support() -> None:
    gold = [[{"start": 0, "end": 3, "label": "FIRSTNAME"}]]
    report = metrics.evaluate(["Ann in Oslo"], ["[FIRSTNAME] in [CITY]"], gold_spans=gold)
    city = report.per_label.set_index("label").loc["CITY"]
    assert city["support"] == 0 and city["n_pred"] == 1
    assert city["strict_precision"] == 0.0 and math.isnan(city["strict_recall"])


def test_raw_and_cleaned_leak_figures_side_by_side() -> None:
    """#6: the headline leak rate is measured after chatter removal; the raw one is reported
    too, per value and per row."""
    src = ["Hi Bob.", "Hi Ann."]
    gold = [[Span(3, 6, "FIRSTNAME")], [Span(3, 6, "FIRSTNAME")]]
    preds = ['Hi [FIRSTNAME].\n\nNote: I replaced "Bob" with [FIRSTNAME].', "Hi [FIRSTNAME]."]
    s = metrics.evaluate(src, preds, gold_spans=gold).summary()
    assert s["leak_rate"] == 0.0 and s["rows_with_leak_rate"] == 0.0
    assert s["leak_rate_raw"] == 0.5 and s["rows_with_leak_rate_raw"] == 0.5


def test_fast_paths_of_evaluate_keep_their_counts() -> None:
    # the gold boundaries under other labels: strict misses, lenient and characters hit
    r = metrics.evaluate(SOURCES[:1], ["Dear [NAME] [NAME], your card [CARD] is active."],
                         gold_spans=GOLD[:1])  # fmt: skip
    assert (r.strict.recall, r.lenient.recall, r.char.recall, r.char.precision) == (0, 1, 1, 1)
    assert r.rows()["n_pred"].tolist() == [3] and r.per_label["support"].sum() == 3
    # chatter that repeats a value leaks it in the raw answer only; chatter without one not
    note = "\n\nNote: I replaced 4111-1111-1111-1111 with [CREDITCARDNUMBER]."
    quiet = "\n\nNote: I replaced the card number."
    leaky, clean = (metrics.evaluate(SOURCES[:1], [REFERENCES[0] + t], gold_spans=GOLD[:1])
                    for t in (note, quiet))  # fmt: skip
    assert (leaky.leak_rate, leaky.leak_rate_raw) == (0.0, 1 / 3)
    assert (clean.leak_rate, clean.leak_rate_raw, clean.chatter_rate) == (0.0, 0.0, 1.0)
    # a label-like value ("IP") is not counted inside a placeholder ("[IPV4]")
    src = "Use IP 10.0.0.1 now"
    gold = [[{"start": 4, "end": 6, "label": "JOBTYPE"}, {"start": 7, "end": 15, "label": "IPV4"}]]
    kept = metrics.evaluate([src], ["Use IP [IPV4] now"], gold_spans=gold)
    assert kept.leak_rate == 0.5 and kept.rows()["leaked"].tolist() == [1]
    masked = metrics.evaluate([src], ["Use [JOBTYPE] [IPV4] now"], gold_spans=gold)
    assert masked.leak_rate == 0.0 and masked.exact_match == 1.0


def test_an_exact_answer_predicts_the_gold_spans_whatever_the_aligner_returns() -> None:
    """Scores of an exact answer are the gold's: precision cannot exceed 1 even when the
    alignment of the answer drops a span (a strict F1 of 1.003 was seen so)."""
    from unittest import mock

    from pii_gemini import _evaluate

    source = "Anna Berg, 12 Elm Road"
    gold = _spans(source, [("FIRSTNAME", "Anna"), ("LASTNAME", "Berg")])
    reference = "[FIRSTNAME] [LASTNAME], 12 Elm Road"
    real_align, real_clean = _evaluate._align, _evaluate.clean_and_fit

    def dropping(src: str, text: str, **kw: object) -> object:
        al = real_align(src, text, **kw)
        return al._replace(starts=al.starts[:1], ends=al.ends[:1], labels=al.labels[:1])

    def unfitted(raw: str, src: str) -> object:
        return real_clean(raw, src)._replace(fitted=None)  # so the answer is aligned

    with (
        mock.patch.object(_evaluate, "_align", dropping),
        mock.patch.object(_evaluate, "clean_and_fit", unfitted),
    ):
        report = metrics.evaluate([source], [reference], gold_spans=[gold])
    assert report.exact_match == 1.0
    assert report.strict.precision == report.strict.recall == report.strict.f1 == 1.0
    assert report.lenient.f1 == 1.0
