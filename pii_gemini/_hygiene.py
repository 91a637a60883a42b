"""Model-output hygiene: strip chatter, normalise placeholders, invented labels, kept values.

LLMs rarely answer with the bare masked text. Real zero-shot answers open with
"Here is the anonymized output:", close with "Note: I replaced ..." or a bullet list of
replacements (which often repeats the PII), write placeholders as ``[PHONE NUMBER]`` or
``[IP_ADDRESS]``, invent labels, or insert a tag while keeping the value
("bearing [IMEI] : 06-184755-866851-3"). This module turns such an answer into the masked text
and says what it had to remove; it also checks faithfulness and repairs unfaithful output.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from ._align import RawAlignment, align, fit_raw, split_masked
from ._entities import render_masked
from ._types import Span
from .labels import PLACEHOLDER_RE

__all__ = [
    "CleanedFit",
    "CleanedOutput",
    "FaithfulnessReport",
    "check_faithfulness",
    "clean_and_fit",
    "clean_output",
    "invented_labels",
    "kept_values",
    "normalize_placeholders",
    "repair",
]

_MAX_CHATTER_PARAGRAPH = 400  # characters; a longer paragraph is content, not a preamble

_OPENER_RE = re.compile(
    r"(?:sure|certainly|of course|absolutely|okay|ok|alright|great|no problem|happy to help"
    r"|here(?:'s|’s| is| are)|below (?:is|are)"
    r"|i(?:'d|’d| would| will|'ll|’ll| have|'ve|’ve| can) (?:be (?:happy|glad)|gladly|help"
    r"|anonymi[sz]ed|replaced|masked|redacted|rewritten)"
    r"|(?:the |an? )?(?:anonymi[sz]ed|masked|redacted|rewritten|modified|updated|sanitized)"
    r" (?:text|output|version|input))\b",
    re.IGNORECASE,
)
_ABOUT_OUTPUT_RE = re.compile(
    r"anonymi[sz]|mask|redact|output|version|rewrit|replac|modified|result|PII", re.IGNORECASE
)
_TRAILER_RE = re.compile(
    r"(?:notes?\s*:|please note|note that|i(?:'ve|’ve| have)? (?:replaced|anonymi[sz]ed|masked"
    r"|redacted|preserved|kept|changed|removed)|let me know|as an? (?:advanced )?anonymi[sz]er"
    r"|the (?:context|output|above|original)|this (?:output|anonymi[sz]ed|version)"
    r"|in this (?:output|version)|explanation|changes made|replacements?:|i hope)",
    re.IGNORECASE,
)
_INPUT_ECHO_RE = re.compile(r"(?:original )?input\s*:", re.IGNORECASE)
_FIRST_PERSON_RE = re.compile(r"i(?:'m|’m| am|'ve|’ve| have|'d|’d|'ll|’ll| will)?\b", re.IGNORECASE)
_ABOUT_PII_RE = re.compile(r"anonymi[sz]|\bPII\b|personally identifiable", re.IGNORECASE)
_BULLET_RE = re.compile(r"\s*(?:[*•\-]|\d+[.)])\s+")
_REPLACEMENT_HINT_RE = re.compile(r"became|replaced|->|→|=>|\bwith\b|\"\[|“\[", re.IGNORECASE)
_REFUSAL_RE = re.compile(
    r"i (?:cannot|can't|can’t|am unable to|won't|will not) (?:provide|help|assist|access|share"
    r"|comply|fulfil|fulfill|process|disclose)",
    re.IGNORECASE,
)
_FENCE_RE = re.compile(r"```[\w-]*[ \t]*\n(.*?)\n?```", re.DOTALL)
_ECHO_RE = re.compile(r"^\s*(?:output|answer|result|masked text|anonymi[sz]ed text)\s*:\s*", re.I)
_INLINE_PREAMBLE_RE = re.compile(
    r"(?:here(?:'s|’s| is)[^:\n]{0,80}|output):[ \t]+(?=\S)", re.IGNORECASE
)
_NEEDS_FIX_RE = re.compile(r"\[[$€£¥₹+#@]?[A-Z][A-Z0-9]*[ _\-][A-Z]|\[[$€£¥₹+#@][A-Z]")
_PARA_SEP_RE = re.compile(r"\n[ \t]*\n\s*")
# a placeholder as models write it: caps words joined by _ - or space, optional symbol outside
_LOOSE_PLACEHOLDER_RE = re.compile(
    r"\[([$€£¥₹+#@]?)([A-Z][A-Z0-9]*(?:[ _\-][A-Z0-9]+)*?)(?:_(\d+))?\]"
)


@dataclass(frozen=True)
class CleanedOutput:
    """The masked text extracted from a raw model answer and what was removed around it."""

    text: str = field(repr=False)
    had_chatter: bool
    removed_prefix: str = field(default="", repr=False)
    removed_suffix: str = field(default="", repr=False)
    refused: bool = False  # the answer was a refusal ("I cannot provide ..."), text is ""


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated paragraph."""
    out: list[tuple[int, int]] = []
    last = 0
    for m in _PARA_SEP_RE.finditer(text):
        out.append((last, m.start()))
        last = m.end()
    out.append((last, len(text)))
    return out


def _is_preamble(par: str) -> bool:
    if len(par) > _MAX_CHATTER_PARAGRAPH or (PLACEHOLDER_RE.search(par) and not par.endswith(":")):
        return False
    if _OPENER_RE.match(par) or _INPUT_ECHO_RE.match(par):
        return True
    if _FIRST_PERSON_RE.match(par) and _ABOUT_PII_RE.search(par):
        return True
    return par.endswith(":") and _ABOUT_OUTPUT_RE.search(par) is not None


def _is_trailer(par: str, after_trailer: bool) -> bool:
    if _TRAILER_RE.match(par):
        return True
    lines = [ln for ln in par.splitlines() if ln.strip()]
    if lines and all(_BULLET_RE.match(ln) for ln in lines):
        return after_trailer or all(_REPLACEMENT_HINT_RE.search(ln) for ln in lines)
    return False


def _body_bounds(text: str) -> tuple[int, int]:
    """(start, end) of what is left once preamble and trailer paragraphs are dropped."""
    if "\n" not in text:
        return 0, len(text)  # a single line is a single paragraph: nothing to drop
    paras = _paragraphs(text)
    lo, hi = 0, len(paras)
    while hi - lo > 1 and _is_preamble(text[paras[lo][0] : paras[lo][1]].strip()):
        lo += 1
    after_trailer = False
    if hi - lo > 2:
        last_par = text[paras[hi - 1][0] : paras[hi - 1][1]].strip()
        before = text[paras[hi - 2][0] : paras[hi - 2][1]].strip()
        lines = [ln for ln in last_par.splitlines() if ln.strip()]
        if all(_BULLET_RE.match(ln) for ln in lines) and (
            _TRAILER_RE.match(before) or (before.endswith(":") and _ABOUT_OUTPUT_RE.search(before))
        ):
            hi -= 2
            after_trailer = True
    while hi - lo > 1:
        par = text[paras[hi - 1][0] : paras[hi - 1][1]].strip()
        if not _is_trailer(par, after_trailer):
            break
        hi -= 1
        after_trailer = True
    # a trailer paragraph introducing the removed bullet list ("I replaced the PII as follows:")
    while after_trailer and hi - lo > 1:
        par = text[paras[hi - 1][0] : paras[hi - 1][1]].strip()
        if not (par.endswith(":") and _ABOUT_OUTPUT_RE.search(par) and len(par) < 300):
            break
        hi -= 1
    return paras[lo][0], paras[hi - 1][1]


def clean_output(raw: str, source: str | None = None) -> CleanedOutput:
    """Extract the masked text from a raw model answer.

    Removes code fences, preambles ("Here is the anonymized output:", "Sure! ..."), an
    "Output:" echo of the prompt, and trailing notes or bullet lists explaining the
    replacements. A refusal yields an empty text with ``refused=True``. Inner text is kept
    byte for byte; only the removed parts and surrounding whitespace change. With
    ``source``, an answer that already matches the source outside its placeholders is
    returned as is (so a source that itself ends with "Note: ..." is not cut).
    """
    c = clean_and_fit(raw, source)
    return CleanedOutput(c.text, c.had_chatter, c.removed_prefix, c.removed_suffix, c.refused)


class CleanedFit(NamedTuple):
    """:func:`clean_output`'s result as a plain tuple, plus what an evaluation reuses.

    ``fitted`` is ``align_raw(source, text)`` when the answer fitted the source as is (None
    when it needed cleaning, or when ``source`` has surrounding whitespace: the check uses
    it stripped). ``model_tags`` is False when the answer holds no model-style placeholder
    (``[PHONE NUMBER]``), so :func:`normalize_placeholders` would leave it unchanged.
    """

    text: str
    had_chatter: bool
    removed_prefix: str
    removed_suffix: str
    refused: bool
    fitted: RawAlignment | None
    model_tags: bool


def clean_and_fit(raw: str, source: str | None = None) -> CleanedFit:
    """:func:`clean_output` for :func:`pii_gemini.metrics.evaluate`: no dataclass built, and
    the fit check's alignment kept instead of computed twice (see :class:`CleanedFit`)."""
    if not isinstance(raw, str):
        raise TypeError(f"clean_output expects a str, got {type(raw).__name__}")
    text = raw.strip()
    model_tags = True
    if source is not None:
        stripped = source.strip()
        # a model-style tag ("[PHONE NUMBER]") is literal text to the aligner: cheap no-fit
        tag = _NEEDS_FIX_RE.search(text)
        model_tags = tag is not None  # (what the cleaned text keeps of ``text`` is a slice)
        fitted = fit_raw(stripped, text) if tag is None or tag[0] in stripped else None
        if fitted is not None:
            fit = fitted if stripped == source else None
            return CleanedFit(text, False, "", "", False, fit, model_tags)
    prefix_parts: list[str] = []
    suffix_parts: list[str] = []
    fence = _FENCE_RE.search(text)
    if fence is not None:
        prefix_parts.append(text[: fence.start()])
        suffix_parts.append(text[fence.end() :])
        text = fence.group(1).strip()
    if _REFUSAL_RE.match(text) and not PLACEHOLDER_RE.search(text):
        return CleanedFit("", True, raw, "", True, None, False)
    start, end = _body_bounds(text)
    prefix_parts.append(text[:start])
    suffix_parts.insert(0, text[end:])
    body = text[start:end]
    # a one-paragraph answer whose first line is a preamble: "Here is the output: <text>"
    first_line, sep, rest = body.partition("\n")
    if sep and rest.strip() and _is_preamble(first_line.strip()):
        prefix_parts.append(first_line + sep)
        body = rest
    m = _INLINE_PREAMBLE_RE.match(body)
    if m is not None and _ABOUT_OUTPUT_RE.search(m.group(0)):
        prefix_parts.append(m.group(0))
        body = body[m.end() :]
    echo = _ECHO_RE.match(body)
    if echo is not None:
        prefix_parts.append(echo.group(0))
        body = body[echo.end() :]
    body = body.strip()
    removed_prefix = "".join(prefix_parts).strip()
    removed_suffix = "".join(suffix_parts).strip()
    had = fence is not None or bool(removed_prefix or removed_suffix)
    return CleanedFit(body, had, removed_prefix, removed_suffix, False, None, model_tags)


def normalize_placeholders(text: str) -> str:
    """Rewrite model-style placeholders into ``[LABEL]`` form.

    ``[PHONE NUMBER]`` and ``[IP_ADDRESS]`` become ``[PHONENUMBER]`` and ``[IPADDRESS]``;
    a symbol inside the brackets moves out (``[$AMOUNT]`` -> ``$[AMOUNT]``); an ``_N`` index
    is kept. Brackets that are not all-caps labels (``[sic]``, ``[1]``) are left alone.
    """
    if "[" not in text or _NEEDS_FIX_RE.search(text) is None:
        return text
    return _LOOSE_PLACEHOLDER_RE.sub(_fixed_placeholder, text)


_FIXED: dict[str, str] = {}  # token -> fixed token; models reuse a handful of spellings


def _fixed_placeholder(m: re.Match[str]) -> str:
    token = m[0]
    fixed = _FIXED.get(token)
    if fixed is None:
        symbol, label, index = m.groups()
        label = label.replace(" ", "").replace("_", "").replace("-", "")  # the joiners
        fixed = f"{symbol}[{label}_{index}]" if index else f"{symbol}[{label}]"
        if len(_FIXED) < 4096:  # bounded: odd answers cannot grow it without end
            _FIXED[token] = fixed
    return fixed


def invented_labels(masked: str, labels: Collection[str]) -> list[str]:
    """Labels of the placeholders in ``masked`` that are not in ``labels``, in order."""
    return [m.group(1) for m in PLACEHOLDER_RE.finditer(masked) if m.group(1) not in labels]


_KEPT_TOKEN_RE = re.compile(
    r"[ \t]*[:=\-–(]?[ \t]+([^\s,;()\[\]]+)|[ \t]*[:=][ \t]*([^\s,;()\[\]]+)"
)
# a closing bracket followed, like _KEPT_TOKEN_RE, by a token holding an "@" or five digits:
# no match means no kept value (on ASCII text, where \d is exactly str.isdigit)
_KEPT_CANDIDATE_RE = re.compile(
    r"\](?:[ \t]*[:=\-–(]?[ \t]+|[ \t]*[:=][ \t]*)"
    r"[^\s,;()\[\]]*?(?:@|\d(?:[^\s,;()\[\]\d]*\d){4})"
)


def _value_like(token: str) -> bool:
    return len(token) >= 5 and ("@" in token or sum(map(str.isdigit, token)) >= 5)


def kept_values(source: str, masked: str) -> list[Span]:
    """Source spans of values kept right after a tag inserted for them.

    Detects "bearing [IMEI] : 06-184755-866851-3": a placeholder followed, after a space or
    a colon, by a value-like token (at least 5 digits, or an e-mail address) that still
    occurs in the source. The span's label is the tag's label. A value glued to the tag
    ("[CURRENCYSYMBOL]100.00") is a partial mask, not a kept value; a placeholder whose
    bracketed text the source itself holds is text, not a tag.
    """
    found: list[Span] = []
    if masked.isascii() and _KEPT_CANDIDATE_RE.search(masked) is None:
        return found  # the common case, settled by one scan
    seen: set[tuple[int, int]] = set()
    for m in PLACEHOLDER_RE.finditer(masked):
        if m[0] in source:
            continue
        tm = _KEPT_TOKEN_RE.match(masked, m.end())
        if tm is None:
            continue
        token = (tm.group(1) or tm.group(2)).rstrip(".!?:'\"")
        if not _value_like(token):
            continue
        pos = source.find(token)
        if pos >= 0 and (pos, pos + len(token)) not in seen:
            seen.add((pos, pos + len(token)))
            found.append(Span(pos, pos + len(token), m.group(1), token))
    found.sort(key=lambda s: s.start)
    return found


@dataclass(frozen=True)
class FaithfulnessReport:
    """How much of the source's unmasked text the output kept unchanged.

    ``preserved_rate`` is the share of source characters outside the recovered spans that
    appear unchanged in the output; ``changes`` are ``(source_start, source_end,
    output_start, output_end)`` offsets of rewritten regions (offsets only, never text).
    """

    faithful: bool
    preserved_rate: float
    changes: tuple[tuple[int, int, int, int], ...]
    n_changed_source_chars: int
    unanchored_placeholders: int


def check_faithfulness(
    source: str, masked: str, *, labels: Collection[str] | None = None
) -> FaithfulnessReport:
    """Check that ``masked`` equals ``source`` outside its placeholders."""
    a = align(source, masked, labels=labels)
    masked_chars = sum(s.end - s.start for s in a.spans)
    changed = sum(s1 - s0 for s0, s1, _, _ in a.changes)
    outside = len(source) - masked_chars
    rate = 1.0 if outside <= 0 else max(0.0, (outside - changed) / outside)
    n_placeholders = len(split_masked(masked, source, labels=labels).labels)
    return FaithfulnessReport(
        a.faithful, rate, a.changes, changed, max(0, n_placeholders - len(a.spans))
    )


def repair(source: str, masked: str, *, labels: Collection[str] | None = None) -> str:
    """Re-apply the spans recovered from ``masked`` to the original ``source``.

    Non-PII text comes from ``source`` and is never altered. A placeholder that cannot be
    anchored in the source is dropped (check ``check_faithfulness(...).unanchored_placeholders``).
    """
    return render_masked(source, align(source, masked, labels=labels).spans)
