"""Value families, shapes and patterns: how the fake's learner generalises a PII value.

``pattern_key`` turns a value into a pattern that other values of the same kind share
(``Apt. 156`` -> ```Apt`. 999``, or a family such as e-mail/URL/IP/IBAN/MAC/crypto
address/user agent); ``_pattern_regex`` finds those values in a text. ``coarse_shape``
(``John`` -> ``Aa+``) is the looser shape a label's values are remembered by.
"""

from __future__ import annotations

import re

__all__ = ["coarse_shape", "pattern_key"]

# Value families recognised before falling back to a generic shape.
_FAMILIES: dict[str, str] = {
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "url": r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]",
    "ipv4": r"(?:\d{1,3}\.){3}\d{1,3}",
    "mac": r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}",
    "ipv6": r"(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}",
    "iban": r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?",
    "eth": r"0x[0-9a-fA-F]{40}",
    "btc": r"(?:bc1[a-z0-9]{25,59}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})",
    "useragent": (
        r"[A-Z][A-Za-z]+/\d+(?:\.\d+)* \([^()]{3,}\)(?: [A-Za-z]+/[\w.]+(?: \([^()]*\))?)*"
    ),
}
_FAMILY_RES = {key: re.compile(pattern) for key, pattern in _FAMILIES.items()}


def _char_class(ch: str, *, case: bool) -> str:
    if ch.isdigit():
        return "9"
    if ch.isalpha():
        return "A" if case and ch.isupper() else "a"
    return ch


def coarse_shape(value: str) -> str:
    """Case-aware run-compressed shape: ``John`` -> ``Aa+``, ``12 Main`` -> ``9+ Aa+``."""
    out: list[str] = []
    prev = ""
    for ch in value:
        cls = _char_class(ch, case=True)
        if cls == prev and cls in "Aa9":
            if not out[-1].endswith("+"):
                out[-1] += "+"
            continue
        out.append(cls)
        prev = cls
    return "".join(out)


_RUN_RE = re.compile(r"[^\W\d_]+|.", re.DOTALL)
_UPPER = "[A-ZÀ-ÖØ-Þ]"
_LOWER = "[a-zß-öø-ÿ]"


def pattern_key(value: str) -> str | None:
    """The generalised pattern of a value, or None when it is not distinctive enough.

    Families (e-mail, URL, IP, IBAN, crypto addresses, user agents) win. Otherwise digits
    keep their count, punctuation is kept, whole words stay literal (in backticks) and
    letter runs inside tokens become case classes: ``Apt. 156`` -> ```Apt`. 999``,
    ``JC4HSC1X`` -> ``A+9A+9A``. Values with fewer than 3 digits are not distinctive:
    they are left to the lexicon and cue words.
    """
    for key, family in _FAMILY_RES.items():
        if family.fullmatch(value):
            return _FAMILY_MARK + key
    digits = sum(ch.isdigit() for ch in value)
    if digits < 3 or len(value) < 4 or "`" in value:
        return None
    out: list[str] = []
    for match in _RUN_RE.finditer(value):
        run = match.group()
        if run.isdigit():
            out.append("9" * len(run))
        elif not run[0].isalpha():
            out.append(run)
        elif (
            len(run) >= 2
            and (match.start() == 0 or not value[match.start() - 1].isalnum())
            and (match.end() == len(value) or not value[match.end()].isalnum())
        ):
            out.append(f"`{run}`")  # a whole word: keep it
        else:
            out.append(_case_runs(run))
    return _SHAPE_MARK + "".join(out)


# Pattern keys start with a marker that says how to read the rest: a family name, or a
# shape whose own characters (which may be "@", "#", ...) are read from index 1.
_FAMILY_MARK = "@"
_SHAPE_MARK = "#"


def _case_runs(run: str) -> str:
    parts: list[str] = []
    for ch in run:
        cls = "A" if ch.isupper() else "a"
        if parts and parts[-1][0] == cls:
            parts[-1] = cls + "+"
        else:
            parts.append(cls)
    return "".join(parts)


def _pattern_regex(key: str) -> re.Pattern[str]:
    if key.startswith(_FAMILY_MARK):
        body = _FAMILIES[key[1:]]
    else:
        parts: list[str] = []
        i = 1  # skip _SHAPE_MARK
        while i < len(key):
            ch = key[i]
            if ch == "`":
                end = key.index("`", i + 1)
                parts.append(re.escape(key[i + 1 : end]))
                i = end
            elif ch == "9":
                parts.append(r"\d")
            elif ch in "Aa":
                cls = _UPPER if ch == "A" else _LOWER
                if key.startswith("+", i + 1):
                    parts.append(cls + "+")
                    i += 1
                else:
                    parts.append(cls)
            else:
                parts.append(re.escape(ch))
            i += 1
        body = "".join(parts)
    return re.compile(r"(?<![\w])" + body + r"(?![\w])")
