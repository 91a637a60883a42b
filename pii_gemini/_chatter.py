"""Chatter around a model's answer: preambles, trailing notes, bullet lists and refusals.

Real zero-shot answers open with "Here is the anonymized output:", close with "Note: I
replaced ..." or a bullet list of replacements (which often repeats the PII), or refuse ("I
cannot provide ..."). These are text heuristics on paragraphs; ``_hygiene.clean_and_fit``
uses them when the answer does not already fit the source, and prefers the part of the answer
that does fit whenever there is one.
"""

from __future__ import annotations

import re

from .labels import PLACEHOLDER_RE

__all__ = ["body_bounds", "is_preamble", "is_refusal"]

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
# "I cannot <verb>", "I'm sorry, but I can't <verb>", "I apologize, but I am unable to <verb>"
_REFUSAL_RE = re.compile(
    r"(?:(?:i(?:'m|’m| am) sorry|sorry|i apologi[sz]e|unfortunately)[,.!]?\s+(?:but\s+)?)?"
    r"i\s*(?:cannot|can ?not|can't|can’t|won't|won’t|will not|must decline to"
    r"|(?:'m|’m| am) (?:unable|not able) to)\s+(\w+)",
    re.IGNORECASE,
)
_REFUSAL_VERBS = frozenset(
    {
        "provide", "help", "assist", "access", "share", "comply", "fulfil", "fulfill", "process",
        "disclose", "anonymize", "anonymise", "mask", "redact", "confirm", "create", "fill",
        "complete", "generate", "review", "perform", "do", "modify", "rewrite", "edit",
        "identify", "reveal", "support", "engage", "continue", "accommodate", "answer",
        "analyze", "analyse", "retrieve", "verify", "give", "offer", "make", "write", "produce",
        "handle", "work",
    }
)  # fmt: skip
# the closing line of a refusal, or a refusal's reason
_REFUSAL_HINT_RE = re.compile(
    r"(?:something|anything) else|can i help|personal(?:ly identifiable)? (?:information|data)"
    r"|\bPII\b|privacy|sensitive|confidential|consent|permission",
    re.IGNORECASE,
)
_PARA_SEP_RE = re.compile(r"\n[ \t]*\n\s*")
_TRAILER_LEAD = "(*_ \t"  # "(Note: ...)", "**Note:** ...": stripped before matching a trailer


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated paragraph."""
    out: list[tuple[int, int]] = []
    last = 0
    for m in _PARA_SEP_RE.finditer(text):
        out.append((last, m.start()))
        last = m.end()
    out.append((last, len(text)))
    return out


def is_preamble(par: str) -> bool:
    """True when a paragraph (stripped) introduces an answer rather than belonging to it."""
    if len(par) > _MAX_CHATTER_PARAGRAPH or (PLACEHOLDER_RE.search(par) and not par.endswith(":")):
        return False
    if _OPENER_RE.match(par) or _INPUT_ECHO_RE.match(par):
        return True
    if _FIRST_PERSON_RE.match(par) and _ABOUT_PII_RE.search(par):
        return True
    return par.endswith(":") and _ABOUT_OUTPUT_RE.search(par) is not None


def _is_trailer(par: str, after_trailer: bool) -> bool:
    if _TRAILER_RE.match(par.lstrip(_TRAILER_LEAD)):
        return True
    lines = [ln for ln in par.splitlines() if ln.strip()]
    if lines and all(_BULLET_RE.match(ln) for ln in lines):
        return after_trailer or all(_REPLACEMENT_HINT_RE.search(ln) for ln in lines)
    return False


def body_bounds(text: str) -> tuple[int, int]:
    """(start, end) of what is left once preamble and trailer paragraphs are dropped."""
    if "\n" not in text:
        return 0, len(text)  # a single line is a single paragraph: nothing to drop
    paras = _paragraphs(text)
    lo, hi = 0, len(paras)
    while hi - lo > 1 and is_preamble(text[paras[lo][0] : paras[lo][1]].strip()):
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


def is_refusal(text: str, source: str | None = None) -> bool:
    """True when ``text`` (a stripped answer) refuses the task instead of masking.

    It opens with "I cannot / can't / won't / am unable to <verb>" (after an optional "I'm
    sorry, but"), holds no placeholder, and either the verb is one a refusal uses ("provide",
    "anonymize", "confirm", "fill", "review", ...) or the text gives a refusal's reason or
    closing line ("personal information", "Can I help you with something else?"). A source
    that itself opens with the same words ("I cannot log in to ...") is not refused.
    """
    m = _REFUSAL_RE.match(text)
    if m is None or PLACEHOLDER_RE.search(text) is not None:
        return False
    if source is not None and source.lstrip()[: m.end()].lower() == text[: m.end()].lower():
        return False
    return m.group(1).lower() in _REFUSAL_VERBS or _REFUSAL_HINT_RE.search(text) is not None
