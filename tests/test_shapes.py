"""Tests for the value shapes that split adjacent placeholders (pii_gemini._shapes).

The shapes must accept every form a label's values take in ai4privacy (``benchmarks/
check_shapes.py`` checks them against real rows; here against the synthetic generator's
pools, which copy those forms) and flag what they cannot settle.
"""

from __future__ import annotations

import pytest

from pii_gemini._shapes import SHAPED_LABELS, shape_ok
from pii_gemini.metrics import align_detailed
from pii_gemini.synthetic import generate_rows


def _values(a: object) -> list[tuple[str, str]]:
    return [(s.label, s.value) for s in a.spans]  # type: ignore[attr-defined]


def test_age_in_years_is_split_from_the_gender_after_it() -> None:
    """Issue 15 #1: AGE values are mostly "N years (old)"; '25' + 'years old Male' was
    reported as a certain split."""
    a = align_detailed("for our 25 years old Male client", "for our [AGE] [GENDER] client")
    assert _values(a) == [("AGE", "25 years old"), ("GENDER", "Male")]
    assert not a.ambiguous and "split_by_shape" in a.issues


def test_a_split_the_shapes_cannot_settle_is_flagged() -> None:
    """ "25 years Male" as [AGE] [SEX]: "25" + "years Male" and "25 years" + "Male" both fit."""
    a = align_detailed("a 25 years Male patient", "a [AGE] [SEX] patient")
    assert a.ambiguous and "ambiguous_split" in a.issues


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("AGE", "72"),
        ("AGE", "88 years"),
        ("AGE", "34 years old"),
        ("TIME", "12"),
        ("TIME", "5 o'clock"),
        ("TIME", "2:48am"),
        ("GENDER", "F2M"),
        ("GENDER", "T* woman"),
        ("EYECOLOR", "Eye color: Blue"),
    ],
)
def test_real_value_forms_pass_their_shape(label: str, value: str) -> None:
    assert shape_ok(label, value)


def test_account_name_and_number_split_by_digits() -> None:
    """Issue 15 #7: adjacent [ACCOUNTNAME] [ACCOUNTNUMBER] were flagged ambiguous and split at
    the earliest point."""
    a = align_detailed("Savings Account 12345678 here", "[ACCOUNTNAME] [ACCOUNTNUMBER] here")
    assert _values(a) == [("ACCOUNTNAME", "Savings Account"), ("ACCOUNTNUMBER", "12345678")]
    assert not a.ambiguous and a.issues == ("split_by_shape",)


def test_every_generated_value_passes_its_shape() -> None:
    rows = generate_rows(600, seed=3, languages=("en", "fr", "de", "it"))
    checked = 0
    for mask in rows["privacy_mask"]:
        for span in mask:
            if span["label"] in SHAPED_LABELS:
                assert shape_ok(span["label"], span["value"]), (span["label"], len(span["value"]))
                checked += 1
    assert checked > 1000
