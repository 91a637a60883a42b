"""The entities target format: parse a model's entity list, ground it in the input, render.

Instead of rewriting the whole text, a model tuned with ``target="entities"`` answers with
``[{"label": "FIRSTNAME", "value": "Anna"}, ...]`` in order of appearance. The library
finds each value in the input (exact first, then tolerant of case, spaces and digit
separators) and builds the masked text itself, so the non-PII text is kept by construction
and the answer needs far fewer output tokens.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from ._exceptions import ConfigError
from ._types import Span

__all__ = [
    "Grounding",
    "format_entities",
    "ground_entities",
    "ground_entities_detailed",
    "parse_entities",
    "render_masked",
]

_FENCE_RE = re.compile(r"```[\w-]*[ \t]*\n?(.*?)```", re.DOTALL)
_PAIR_RE = re.compile(
    r"""["']?(?:label|type|entity_type|entity)["']?\s*:\s*["']([^"'\n]*)["']\s*,\s*"""
    r"""["']?(?:value|text|span)["']?\s*:\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""",
    re.IGNORECASE,
)
_PAIR_REV_RE = re.compile(
    r"""["']?(?:value|text|span)["']?\s*:\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*,\s*"""
    r"""["']?(?:label|type|entity_type|entity)["']?\s*:\s*["']([^"'\n]*)["']""",
    re.IGNORECASE,
)
_LINE_RE = re.compile(r"^\s*(?:[-*]\s*)?\[?([A-Z][A-Z0-9_]*)\]?\s*:\s*(.+?)\s*$", re.MULTILINE)
_LABEL_KEYS = ("label", "type", "entity_type", "entity", "category")
_VALUE_KEYS = ("value", "text", "span", "word")
_SEPARATORS = frozenset(" \t\n\r\u00a0\u202f-–.,()/_'’")
_BY_START_END = attrgetter("start", "end")


def _clean_label(label: str) -> str:
    label = label.strip().strip("[]").strip()
    label = re.sub(r"[ \-]", "_", label).upper()
    return re.sub(r"_\d+$", "", label)


def _from_obj(obj: object) -> list[tuple[str, str]] | None:
    if isinstance(obj, dict):
        for key in ("entities", "pii", "results", "items"):
            if isinstance(obj.get(key), list):
                return _from_obj(obj[key])
        return _from_obj([obj]) if any(k in obj for k in _LABEL_KEYS) else None
    if not isinstance(obj, list):
        return None
    out: list[tuple[str, str]] = []
    for item in obj:
        if isinstance(item, dict):
            lab = next((item[k] for k in _LABEL_KEYS if k in item), None)
            val = next((item[k] for k in _VALUE_KEYS if k in item), None)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            lab, val = item
        else:
            continue
        if isinstance(lab, str) and isinstance(val, (str, int, float)) and lab.strip():
            out.append((_clean_label(lab), str(val)))
    return out


def _loads(candidate: str) -> object:
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    fixed = re.sub(r",\s*([\]}])", r"\1", candidate)  # trailing commas
    try:
        return json.loads(fixed)
    except ValueError:
        pass
    try:
        return ast.literal_eval(fixed)  # single quotes, Python reprs
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _unquote(token: str) -> str:
    quote = token[0]
    body = token[1:-1]
    if quote == '"':
        try:
            return str(json.loads(token))
        except ValueError:
            return body
    return body.replace("\\'", "'")


def parse_entities(output: str) -> list[tuple[str, str]]:
    """Read ``(label, value)`` pairs from a model's entity-list answer, tolerantly.

    Accepts a JSON list of ``{"label", "value"}`` objects (also ``{"entities": [...]}``),
    inside code fences or surrounded by chatter, with single quotes or trailing commas; falls
    back to scanning ``"label": .., "value": ..`` pairs and then ``LABEL: value`` lines.
    Labels come back upper-cased without brackets or ``_N``. Unreadable output gives ``[]``.
    """
    if not isinstance(output, str):
        raise TypeError(f"parse_entities expects a str, got {type(output).__name__}")
    text = output.strip()
    fence = _FENCE_RE.search(text)
    if fence is not None:
        text = fence.group(1).strip()
    if text in ("", "[]", "{}"):
        return []
    candidates: list[str] = []
    for open_, close in (("[", "]"), ("{", "}")):
        i, j = text.find(open_), text.rfind(close)
        if 0 <= i < j:
            candidates.append(text[i : j + 1])
    parsed: list[tuple[str, str]] | None = None
    for cand in candidates:
        parsed = _from_obj(_loads(cand)) or None  # "[1, 2]" in chatter is not an answer
        if parsed is not None:
            if cand.startswith("["):
                return parsed
            break
    pairs = [(_clean_label(lab), _unquote(val)) for lab, val in _PAIR_RE.findall(text)]
    if not pairs:
        pairs = [(_clean_label(lab), _unquote(val)) for val, lab in _PAIR_REV_RE.findall(text)]
    if parsed is not None and len(parsed) >= len(pairs):
        return parsed
    if pairs:
        return pairs
    return [(_clean_label(lab), val) for lab, val in _LINE_RE.findall(text)]


def format_entities(spans: Iterable[Span]) -> str:
    """The canonical entities answer for ``spans``: a compact JSON list in order of appearance."""
    items = [{"label": s.label, "value": s.value} for s in sorted(spans, key=lambda s: s.start)]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Grounding:
    """Entities located in the source: spans plus how each was found."""

    spans: tuple[Span, ...]
    n_exact: int
    n_tolerant: int
    n_missing: int


def _normalised(text: str) -> tuple[str, list[int]]:
    """Lower-cased ``text`` without separators, with the source index of each kept char."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _SEPARATORS:
            continue
        chars.append(ch.lower())
        index.append(i)
    return "".join(chars), index


def _free(used: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= a or start >= b for a, b in used)


def _find_free(source: str, value: str, cursor: int, used: list[tuple[int, int]]) -> int:
    """First occurrence at/after ``cursor`` not overlapping ``used``, else from the start."""
    for begin in (cursor, 0):
        p = source.find(value, begin)
        while p >= 0:
            if _free(used, p, p + len(value)):
                return p
            p = source.find(value, p + 1)
    return -1


def ground_entities_detailed(
    source: str, entities: Sequence[tuple[str, str]], *, tolerant: bool = True
) -> Grounding:
    """Locate each ``(label, value)`` in ``source``; see :func:`ground_entities`."""
    used: list[tuple[int, int]] = []
    spans: list[Span] = []
    n_exact = n_tol = n_missing = 0
    cursor = 0
    norm: tuple[str, list[int]] | None = None
    for label, value in entities:
        value = value.strip()
        if not value or not label:
            n_missing += 1
            continue
        p = _find_free(source, value, cursor, used)
        if p >= 0:
            start, end = p, p + len(value)
            n_exact += 1
        elif tolerant:
            if norm is None:
                norm = _normalised(source)
            ntext, index = norm
            nval = _normalised(value)[0]
            start = end = -1
            if nval:
                ncur = next((k for k, i in enumerate(index) if i >= cursor), len(index))
                for begin in (ncur, 0):
                    q = ntext.find(nval, begin)
                    while q >= 0:
                        s, e = index[q], index[q + len(nval) - 1] + 1
                        if _free(used, s, e):
                            start, end = s, e
                            break
                        q = ntext.find(nval, q + 1)
                    if start >= 0:
                        break
            if start < 0:
                n_missing += 1
                continue
            n_tol += 1
        else:
            n_missing += 1
            continue
        used.append((start, end))
        spans.append(Span(start, end, label, source[start:end]))
        cursor = end
    spans.sort(key=lambda s: s.start)
    return Grounding(tuple(spans), n_exact, n_tol, n_missing)


def ground_entities(
    source: str, entities: Sequence[tuple[str, str]], *, tolerant: bool = True
) -> tuple[Span, ...]:
    """Find each entity value in ``source`` and return its span, sorted by offset.

    Exact matches first, left to right from the previous entity (so repeated values map to
    successive occurrences), never overlapping an earlier entity; then, if ``tolerant``, a
    match ignoring case, whitespace and separators such as ``-``, ``.`` and ``()``
    (``"403 555 1234"`` finds ``"403-555-1234"``). Values not found are dropped.
    """
    return ground_entities_detailed(source, entities, tolerant=tolerant).spans


def render_masked(source: str, spans: Iterable[Span], style: str = "[LABEL]") -> str:
    """Replace each span of ``source`` by its placeholder.

    ``style`` is ``"[LABEL]"`` (current ai4privacy schema) or ``"[LABEL_N]"`` (original
    200k schema; ``N`` counts occurrences of the label from 1, in order of appearance).
    """
    if style not in ("[LABEL]", "[LABEL_N]"):
        raise ConfigError(f"style must be '[LABEL]' or '[LABEL_N]', got {style!r}")
    indexed = style == "[LABEL_N]"
    n_chars = len(source)
    out: list[str] = []
    last = 0
    counts: dict[str, int] = {}
    for k, s in enumerate(sorted(spans, key=_BY_START_END)):
        start, end, label = s.start, s.end, s.label
        if start < last:
            raise ConfigError(f"spans overlap: span {k} starts at {start} before {last}")
        if end > n_chars:
            raise ConfigError(f"span {k} ends at {end}, beyond the text ({n_chars} chars)")
        out.append(source[last:start])
        if indexed:
            counts[label] = counts.get(label, 0) + 1
            out.append(f"[{label}_{counts[label]}]")
        else:
            out.append(f"[{label}]")
        last = end
    out.append(source[last:])
    return "".join(out)
