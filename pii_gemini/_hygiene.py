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

from ._align import RawAlignment, align, fit_raw, may_fit, split_masked
from ._chatter import body_bounds, is_preamble, is_refusal
from ._entities import render_masked
from ._exceptions import ConfigError
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
    "texts_required",
    "without_indices",
]

_FENCE_RE = re.compile(r"```[\w-]*[ \t]*\n(.*?)\n?```", re.DOTALL)
_ECHO_RE = re.compile(r"^\s*(?:output|answer|result|masked text|anonymi[sz]ed text)\s*:\s*", re.I)
_INLINE_PREAMBLE_RE = re.compile(
    r"(?:here(?:'s|’s| is)[^:\n]{0,80}|output):[ \t]+(?=\S)", re.IGNORECASE
)
_ABOUT_OUTPUT_RE = re.compile(
    r"anonymi[sz]|mask|redact|output|version|rewrit|replac|modified|result|PII", re.IGNORECASE
)
_NEEDS_FIX_RE = re.compile(r"\[[$€£¥₹+#@]?[A-Z][A-Z0-9]*[ _\-][A-Z]|\[[$€£¥₹+#@][A-Z]")
# a placeholder as models write it: caps words joined by _ - or space, optional symbol outside
_LOOSE_PLACEHOLDER_RE = re.compile(
    r"\[([$€£¥₹+#@]?)([A-Z][A-Z0-9]*(?:[ _\-][A-Z0-9]+)*?)(?:_(\d+))?\]"
)


def texts_required(where: str, **values: object) -> None:
    """Raise ConfigError unless every value is a str: the public entry points
    (:mod:`pii_gemini.metrics`) check their texts with it before any compiled code runs."""
    for name, value in values.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be a str, got {type(value).__name__}")


@dataclass(frozen=True)
class CleanedOutput:
    """The masked text extracted from a raw model answer and what was removed around it."""

    text: str = field(repr=False)
    had_chatter: bool
    removed_prefix: str = field(default="", repr=False)
    removed_suffix: str = field(default="", repr=False)
    refused: bool = False  # the answer was a refusal ("I cannot provide ..."), text is ""


def clean_output(raw: str, source: str | None = None) -> CleanedOutput:
    """Extract the masked text from a raw model answer.

    Removes code fences, preambles ("Here is the anonymized output:", "Sure! ..."), an
    "Output:" echo of the prompt, and trailing notes or bullet lists explaining the
    replacements. A refusal yields an empty text with ``refused=True``. Inner text is kept
    byte for byte; only the removed parts and surrounding whitespace change.

    With ``source``, the part of the answer that fits the source (equal to it outside its
    placeholders) is the masked text and everything around it is removed as chatter, so a
    note that repeats a value ("(I replaced "Bob" with [NAME])") never stays in the text; an
    answer that fits as a whole is returned as is (a source that itself ends with "Note: ..."
    is not cut). Only an answer that fits nowhere is cut by the heuristics alone.
    """
    c = clean_and_fit(raw, source)
    return CleanedOutput(c.text, c.had_chatter, c.removed_prefix, c.removed_suffix, c.refused)


class CleanedFit(NamedTuple):
    """:func:`clean_output`'s result as a plain tuple, plus what an evaluation reuses.

    ``normalized`` is ``text`` with model-style placeholders rewritten
    (:func:`normalize_placeholders` given the source; ``text`` itself when it has none) and
    ``fitted`` its alignment, ``align_raw(source, normalized)``, when it fits the source
    (None when it does not, or when ``source`` has surrounding whitespace: the check uses it
    stripped); ``unfit`` says the check was made and failed, so an aligner can skip the
    exact placement. ``model_tags`` says whether ``normalized`` differs from ``text``.
    """

    text: str
    had_chatter: bool
    removed_prefix: str
    removed_suffix: str
    refused: bool
    fitted: RawAlignment | None
    model_tags: bool
    normalized: str
    unfit: bool = False  # ``normalized`` is known not to fit the source (``fitted`` is None)


def _normalised_fit(source: str, text: str) -> tuple[str, RawAlignment] | None:
    """``text`` with model-style tags normalised and its alignment, when it fits ``source``.

    Normalising only rewrites bracketed tags (moving a symbol out in front of its
    bracket), so the raw text passing :func:`may_fit` is necessary: most answers stop there.
    """
    if "[" in text and _NEEDS_FIX_RE.search(text) is not None:
        if not may_fit(source, text):
            return None
        text = _normalise(text, source)
    fitted = fit_raw(source, text)
    return None if fitted is None else (text, fitted)


def clean_and_fit(raw: str, source: str | None = None) -> CleanedFit:
    """:func:`clean_output` for :func:`pii_gemini.metrics.evaluate`: no dataclass built, and
    the normalised text and its alignment kept instead of computed twice (see
    :class:`CleanedFit`)."""
    if not isinstance(raw, str) or (source is not None and not isinstance(source, str)):
        texts_required("clean_output", raw=raw, source="" if source is None else source)
    text = raw.strip()
    stripped = source.strip() if source is not None else None
    if stripped is not None:
        found = _normalised_fit(stripped, text)
        if found is not None:
            fit = found[1] if stripped == source else None
            return CleanedFit(text, False, "", "", False, fit, found[0] != text, found[0])
    whole = text
    prefix_parts: list[str] = []
    suffix_parts: list[str] = []
    fence = _FENCE_RE.search(text)
    if fence is not None:
        prefix_parts.append(text[: fence.start()])
        suffix_parts.append(text[fence.end() :])
        text = fence.group(1).strip()
    if is_refusal(text, source):
        return CleanedFit("", True, raw, "", True, None, False, "")
    start, end = body_bounds(text)
    body = text[start:end]
    head = text[:start]
    tail = text[end:]
    # a one-paragraph answer whose first line is a preamble: "Here is the output: <text>"
    first_line, sep, rest = body.partition("\n")
    if sep and rest.strip() and is_preamble(first_line.strip()):
        head += first_line + sep
        body = rest
    m = _INLINE_PREAMBLE_RE.match(body)
    if m is not None and _ABOUT_OUTPUT_RE.search(m.group(0)):
        head += m.group(0)
        body = body[m.end() :]
    echo = _ECHO_RE.match(body)
    if echo is not None:
        head += echo.group(0)
        body = body[echo.end() :]
    body = body.strip()
    found = None
    if stripped is not None:
        if body != whole:  # (the whole answer was tried first)
            found = _normalised_fit(stripped, body)
        if found is None:  # the heuristics missed: the lines of the answer that fit, if any
            part = _fitting_part(text, stripped)
            if part is not None:
                (lo, hi), found = part
                body, head, tail = text[lo:hi], text[:lo], text[hi:]
    fitted: RawAlignment | None = None
    if found is not None:
        norm, fitted = found
    else:
        norm = normalize_placeholders(body, source)
    removed_prefix = "".join([*prefix_parts, head]).strip()
    removed_suffix = "".join([tail, *suffix_parts]).strip()
    had = fence is not None or bool(removed_prefix or removed_suffix)
    exact_source = stripped == source
    fit = fitted if exact_source else None
    unfit = exact_source and fitted is None
    return CleanedFit(
        body, had, removed_prefix, removed_suffix, False, fit, norm != body, norm, unfit
    )


def _fitting_part(
    text: str, source: str
) -> tuple[tuple[int, int], tuple[str, RawAlignment]] | None:
    """The widest run of whole lines of ``text`` that fits ``source``: its (start, end) and
    :func:`_normalised_fit`, or None.

    What lies before the first and after the last ``[`` ``]`` is literal, so a line may open
    the run only when its text up to the next ``[`` starts the source, and close it only
    when the text after the last ``]`` ends the source: an answer costs a scan of its lines
    and a fit check or two.
    """
    if "\n" not in text or not source:
        return None
    first, last = source[0], source[-1]
    # the whole answer does not fit (tried first), so a part that does must open on a later
    # line or close on an earlier one: when no line break is followed by a possible opening
    # or preceded by a possible close, there is none (four C-level searches)
    if not ("\n[" in text or ("\n" + first) in text or "]\n" in text or (last + "\n") in text):
        return None
    opens: list[int] = []
    closes: list[int] = []
    pos = 0
    for line in text.split("\n"):
        s = pos + len(line) - len(line.lstrip())
        e = pos + len(line.rstrip())
        pos += len(line) + 1
        if e <= s:
            continue
        c = text[s]
        b = text.find("[", s)
        if c == "[" or (c == first and source.startswith(text[s : b if b >= 0 else len(text)])):
            opens.append(s)
        c = text[e - 1]
        if c == "]" or (c == last and source.endswith(text[text.rfind("]", 0, e) + 1 : e])):
            closes.append(e)
    for s in opens:
        for e in reversed(closes):
            if e <= s:
                break
            found = _normalised_fit(source, text[s:e])
            if found is not None:
                return (s, e), found
    return None


def normalize_placeholders(text: str, source: str | None = None) -> str:
    """Rewrite model-style placeholders into ``[LABEL]`` form.

    ``[PHONE NUMBER]`` and ``[IP_ADDRESS]`` become ``[PHONENUMBER]`` and ``[IPADDRESS]``;
    a symbol inside the brackets moves out (``[$AMOUNT]`` -> ``$[AMOUNT]``); an ``_N`` index
    is kept. Brackets that are not all-caps labels (``[sic]``, ``[1]``) are left alone, and
    so is a bracketed token that ``source`` holds (a template token such as
    ``[ACCOUNTNUMBER_N]`` kept from the text is text, not a placeholder).
    """
    if "[" not in text or _NEEDS_FIX_RE.search(text) is None:
        return text
    return _normalise(text, source)


def _normalise(text: str, source: str | None) -> str:
    """:func:`normalize_placeholders` once a model-style tag is known to be there."""
    if source is None or "[" not in source:
        return _LOOSE_PLACEHOLDER_RE.sub(_fixed_placeholder, text)
    return _LOOSE_PLACEHOLDER_RE.sub(
        lambda m: m[0] if m[0] in source else _fixed_placeholder(m), text
    )


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


_INDEXED_RE = re.compile(r"\[[A-Z][A-Z0-9]*_\d+\]")  # a placeholder with an index, "[NAME_1]"


def without_indices(text: str, source: str) -> str:
    """``text`` with the ``_N`` index of each placeholder dropped: ``[FIRSTNAME_1]`` ->
    ``[FIRSTNAME]``.

    The index of the original 200k schema and of the ``numbered`` operator names an
    occurrence or a value, not a label (the aligner and the gold spans read ``FIRSTNAME``
    from both, see :data:`~pii_gemini.labels.PLACEHOLDER_RE`), so exact match compares texts
    in this form. A bracketed token that ``source`` holds is text and stays as it is.
    """
    if "_" not in text or _INDEXED_RE.search(text) is None:
        return text
    if "[" not in source:
        return PLACEHOLDER_RE.sub(r"[\1]", text)
    return PLACEHOLDER_RE.sub(lambda m: m[0] if m[0] in source else f"[{m[1]}]", text)


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
