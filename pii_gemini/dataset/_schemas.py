"""The ai4privacy schemas: the columns of each one, how to tell them apart, language codes.

pii-masking-200k shipped two schemas: the original ``unmasked_text``/``masked_text`` with a
dict-repr ``privacy_mask`` (``legacy``) and today's ``source_text``/``target_text`` with a list
of spans (``current``, also 300k); 400k/500k name the target ``masked_text``. The loader picks
one from the columns it finds (or the one the caller forces) and maps language names and
codes to lower-case ISO codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .._exceptions import DatasetError

__all__ = ["NORMALISED_COLUMNS", "SCHEMAS", "detect_schema", "normalize_language"]

NORMALISED_COLUMNS = ("id", "source_text", "target_text", "privacy_mask", "language")
"""Columns of the frame :func:`load_pii_dataset` returns, in order."""

SCHEMAS: dict[str, tuple[str, str, str]] = {
    "legacy": ("unmasked_text", "masked_text", "privacy_mask"),
    "current": ("source_text", "target_text", "privacy_mask"),
    "masked_text": ("source_text", "masked_text", "privacy_mask"),
}
"""Required columns per schema: (source text, target text, privacy mask).

``legacy`` is pii-masking-200k before April 2024 (``[LABEL_N]``, dict-repr privacy_mask,
optional ``span_labels``); ``current`` is 200k/300k since then; ``masked_text`` is 400k/500k.
"""

_LANGUAGE_CODES = {
    "english": "en", "french": "fr", "german": "de", "italian": "it", "spanish": "es",
    "dutch": "nl", "hindi": "hi", "telugu": "te", "portuguese": "pt", "swedish": "sv",
    "danish": "da", "norwegian": "no", "finnish": "fi", "polish": "pl", "czech": "cs",
    "greek": "el", "turkish": "tr", "russian": "ru", "japanese": "ja", "chinese": "zh",
    "korean": "ko", "arabic": "ar", "hungarian": "hu", "romanian": "ro", "slovak": "sk",
    "slovenian": "sl", "croatian": "hr", "bulgarian": "bg", "ukrainian": "uk",
    "indonesian": "id", "vietnamese": "vi", "thai": "th", "hebrew": "he", "bengali": "bn",
    "tamil": "ta", "marathi": "mr", "urdu": "ur", "malay": "ms", "catalan": "ca",
    "lithuanian": "lt", "latvian": "lv", "estonian": "et", "gujarati": "gu",
    "kannada": "kn", "malayalam": "ml", "punjabi": "pa", "persian": "fa", "tagalog": "tl",
}  # fmt: skip
_ISO_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def normalize_language(value: object) -> str | None:
    """Map a language name or code to a lower-case ISO code ("English" -> "en").

    Missing values give ``None``; ISO-looking codes are lower-cased and reduced to the
    language ("EN" -> "en", "en_US" -> "en"); unknown names are returned stripped but
    otherwise unchanged.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str):
        return str(value)
    s = value.strip()
    if not s:
        return None
    low = s.lower()
    code = _LANGUAGE_CODES.get(low)
    if code is not None:
        return code
    if _ISO_RE.fullmatch(s):
        return re.split(r"[-_]", low, maxsplit=1)[0]
    return s


def detect_schema(columns: Sequence[str], forced: str | None) -> str:
    """The schema whose columns are all in ``columns`` (or ``forced``, checked).

    Raises DatasetError naming the first missing column, or listing every schema's columns
    when the frame matches none.
    """
    cols = set(columns)
    if forced is not None:
        missing = [c for c in SCHEMAS[forced] if c not in cols]
        if missing:
            raise DatasetError(
                f"schema {forced!r} needs column {missing[0]!r}, which is missing "
                f"(columns found: {sorted(map(str, cols))})",
                column=missing[0],
            )
        return forced
    for name, required in SCHEMAS.items():
        if set(required) <= cols:
            return name
    for required in SCHEMAS.values():  # the two text columns are there, the mask is not
        if set(required[:2]) <= cols:
            missing = [c for c in required if c not in cols]
            raise DatasetError(
                f"missing column {missing[0]!r} (columns found: {sorted(map(str, cols))})",
                column=missing[0],
            )
    expected = "; ".join(f"{k}: {', '.join(v)}" for k, v in SCHEMAS.items())
    raise DatasetError(
        f"unknown dataset schema: columns found {sorted(map(str, cols))}; expected one of "
        f"[{expected}]"
    )
