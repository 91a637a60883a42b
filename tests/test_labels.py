from __future__ import annotations

import pytest

from pii_gemini import labels
from pii_gemini._exceptions import ConfigError
from pii_gemini.labels import (
    ALL_LABELS,
    LABEL_SETS,
    LABELS_200K,
    LABELS_300K,
    LABELS_400K,
    LABELS_500K,
    PLACEHOLDER_RE,
    normalize_label,
)


def test_label_set_sizes() -> None:
    assert len(LABELS_200K) == 56
    assert len(LABELS_300K) == 28
    assert len(LABELS_400K) == 17
    assert len(LABELS_500K) == 20
    assert ALL_LABELS == LABELS_200K | LABELS_300K | LABELS_400K | LABELS_500K
    assert set(LABEL_SETS) == {"200k", "300k", "400k", "500k"}


def test_version_specific_labels() -> None:
    assert {"FIRSTNAME", "IPV4", "CURRENCYSYMBOL", "PHONEIMEI"} <= LABELS_200K
    assert {"GIVENNAME1", "GIVENNAME2", "LASTNAME1", "LASTNAME2", "LASTNAME3"} <= LABELS_300K
    assert "GIVENNAME" in LABELS_400K and "GIVENNAME" not in LABELS_200K
    assert "PASSPORTNUM" in LABELS_500K and "PASSPORTNUM" not in LABELS_400K


@pytest.mark.parametrize("label_set", [LABELS_200K, LABELS_300K, LABELS_400K, LABELS_500K])
def test_every_label_is_a_fixed_point_and_matches_placeholder(label_set: frozenset[str]) -> None:
    for label in label_set:
        assert normalize_label(label) == label
        m = PLACEHOLDER_RE.fullmatch(f"[{label}]")
        assert m is not None and m.group(1) == label and m.group(2) is None
        m = PLACEHOLDER_RE.fullmatch(f"[{label}_12]")
        assert m is not None and m.group(1) == label and m.group(2) == "12"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dear [FIRSTNAME_1] [LASTNAME_2]", [("FIRSTNAME", "1"), ("LASTNAME", "2")]),
        ("Dear [GIVENNAME1] [LASTNAME3]", [("GIVENNAME1", None), ("LASTNAME3", None)]),
        ("[CURRENCYSYMBOL][AMOUNT]", [("CURRENCYSYMBOL", None), ("AMOUNT", None)]),
        ("[IPV4_1] and [IPV6]", [("IPV4", "1"), ("IPV6", None)]),
        ("[sic] [urgent] [ ] [] [1ABC] [A B]", []),
        ("account [ACCOUNTNUMBER_N] literal", []),
    ],
)
def test_placeholder_re_findall(text: str, expected: list[tuple[str, str | None]]) -> None:
    found = [(m.group(1), m.group(2)) for m in PLACEHOLDER_RE.finditer(text)]
    assert found == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[FIRSTNAME_1]", "FIRSTNAME"),
        ("FIRSTNAME_12", "FIRSTNAME"),
        ("firstname", "FIRSTNAME"),
        (" [email] ", "EMAIL"),
        ("GIVENNAME1", "GIVENNAME1"),
        ("[givenname2]", "GIVENNAME2"),
        ("IPV4_3", "IPV4"),
        ("[ LASTNAME3 ]", "LASTNAME3"),
    ],
)
def test_normalize_label(raw: str, expected: str) -> None:
    assert normalize_label(raw) == expected


@pytest.mark.parametrize("bad", ["", "[]", "  ", "FIRST NAME", "1ABC", "LABEL_", "A-B", "[X"])
def test_normalize_label_rejects_non_labels(bad: str) -> None:
    with pytest.raises(ConfigError):
        normalize_label(bad)


def test_normalize_label_rejects_non_strings() -> None:
    with pytest.raises(ConfigError, match="string"):
        normalize_label(5)  # type: ignore[arg-type]


def test_all_exported() -> None:
    assert sorted(labels.__all__) == labels.__all__
    for name in labels.__all__:
        assert hasattr(labels, name)
