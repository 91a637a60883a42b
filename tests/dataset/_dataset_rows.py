"""Hand-written rows shared by the dataset tests, and the check every normalised frame passes."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pii_gemini.dataset import NORMALISED_COLUMNS

# A hand-written row in the original (Nov 2023) 200k schema, with the quirks: adjacent
# placeholders, a repeated label, a literal bracket that is no placeholder, a quote in a value.
LEGACY_SOURCE = "[sic] Dear Mr.O'Neil, pay £850.75 to Zoé before 12/05/2024, Zoé said."
LEGACY_ROW: dict[str, Any] = {
    "masked_text": "[sic] Dear [PREFIX_1][LASTNAME_1], pay [CURRENCYSYMBOL_1][AMOUNT_1] to "
    "[FIRSTNAME_1] before [DATE_1], [FIRSTNAME_2] said.",
    "unmasked_text": LEGACY_SOURCE,
    "privacy_mask": "{'[PREFIX_1]': 'Mr.', '[LASTNAME_1]': \"O'Neil\", '[CURRENCYSYMBOL_1]': '£', "
    "'[AMOUNT_1]': '850.75', '[FIRSTNAME_1]': 'Zoé', '[DATE_1]': '12/05/2024', "
    "'[FIRSTNAME_2]': 'Zoé'}",
    "span_labels": "[[0, 11, 'O'], [11, 14, 'PREFIX_1'], [14, 20, 'LASTNAME_1'], [20, 26, 'O'], "
    "[26, 27, 'CURRENCYSYMBOL_1'], [27, 33, 'AMOUNT_1'], [33, 37, 'O'], [37, 40, 'FIRSTNAME_1'], "
    "[40, 48, 'O'], [48, 58, 'DATE_1'], [58, 60, 'O'], [60, 63, 'FIRSTNAME_2'], [63, 69, 'O']]",
}
LEGACY_SPANS = [
    ("Mr.", "PREFIX"), ("O'Neil", "LASTNAME"), ("£", "CURRENCYSYMBOL"), ("850.75", "AMOUNT"),
    ("Zoé", "FIRSTNAME"), ("12/05/2024", "DATE"), ("Zoé", "FIRSTNAME"),
]  # fmt: skip


def current_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_text": "Dear Omar, call 555-0100.",
        "target_text": "Dear [FIRSTNAME], call [PHONENUMBER].",
        "privacy_mask": [
            {"value": "Omar", "start": 5, "end": 9, "label": "FIRSTNAME"},
            {"value": "555-0100", "start": 16, "end": 24, "label": "PHONENUMBER"},
        ],
        "id": 7,
        "language": "en",
        "set": "train",
    }
    row.update(overrides)
    return row


def check_normalised(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(NORMALISED_COLUMNS)
    for row in df.itertuples():
        assert isinstance(row.id, str)
        assert isinstance(row.privacy_mask, list)
        starts = [s["start"] for s in row.privacy_mask]
        assert starts == sorted(starts)
        for span in row.privacy_mask:
            assert set(span) == {"value", "start", "end", "label"}
            assert row.source_text[span["start"] : span["end"]] == span["value"]
            assert "_" not in span["label"]
