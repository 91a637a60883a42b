"""The formats the fake's learner reads and writes: prompt template and answer formats.

The template is learned from the training prompts (their common prefix and suffix, cut at a
line boundary) to take the input back out of any prompt. Answers are masked text with
``[LABEL]`` or ``[LABEL_N]`` placeholders, a JSON list of ``{"label", "value"}`` entities,
or entity lines (``LABEL: value`` a line, ``NONE`` for no PII).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

from ._learner_evidence import Triple

__all__ = ["extract_input", "learn_template", "render_masked"]

_INPUT_MARKER = "Input:\n"  # used when a single example cannot reveal the template
_OUTPUT_MARKER = "\n\nOutput:"
_INDEXED_RE = re.compile(r"\[[A-Z][A-Z0-9]*_\d+\]")
_ENTITY_LINE_RE = re.compile(r"([A-Z][A-Z0-9_]*): (\S.*)")
_NO_ENTITIES = "NONE"  # the entity-lines answer for a text without PII
_INDEX_SUFFIX_RE = re.compile(r"_\d+$")


def _strip_index(label: str) -> str:
    return _INDEX_SUFFIX_RE.sub("", label)


def learn_template(inputs: list[str]) -> tuple[str | None, str | None]:
    """The template's text before and after the input, from the training prompts' common
    prefix and suffix; ``(None, None)`` when fewer than two prompts cannot reveal it."""
    if len(inputs) < 2:
        return None, None
    prefix = _common_prefix(inputs)
    suffix = _common_prefix([s[::-1] for s in inputs])[::-1]
    # Cut at a line (or word) boundary so that a common first word of the inputs
    # does not become part of the template.
    if "\n" in prefix:
        prefix = prefix[: prefix.rfind("\n") + 1]
    else:
        cut = max(prefix.rfind(" "), prefix.rfind("\t"))
        prefix = prefix[: cut + 1]
    if "\n" in suffix:
        suffix = suffix[suffix.find("\n") :]
    else:
        cut = min((i for i in (suffix.find(" "), suffix.find("\t")) if i >= 0), default=-1)
        suffix = suffix[cut:] if cut >= 0 else ""
    shortest = min(len(s) for s in inputs)
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest :]
    return prefix, suffix


def extract_input(prompt: str, pre: str | None, suf: str | None) -> str:
    """Take the input text back out of a prompt (template ``pre``/``suf``, else markers)."""
    if (
        pre is not None
        and suf is not None
        and (pre or suf)
        and prompt.startswith(pre)
        and prompt.endswith(suf)
        and len(prompt) >= len(pre) + len(suf)
    ):
        return prompt[len(pre) : len(prompt) - len(suf)]
    start = prompt.find(_INPUT_MARKER)
    if start < 0:
        return prompt
    start += len(_INPUT_MARKER)
    end = prompt.rfind(_OUTPUT_MARKER)
    return prompt[start:end] if end >= start else prompt[start:]


def render_masked(text: str, spans: Sequence[Triple], *, indexed: bool) -> str:
    """Replace each span by ``[LABEL]`` (or ``[LABEL_N]``, N counting per label)."""
    parts: list[str] = []
    counts: Counter[str] = Counter()
    pos = 0
    for start, end, label in spans:
        parts.append(text[pos:start])
        counts[label] += 1
        parts.append(f"[{label}_{counts[label]}]" if indexed else f"[{label}]")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)  # the extremes bound every common prefix
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _looks_like_entities(output: str) -> bool:
    stripped = output.strip()
    if not stripped.startswith("["):
        return False
    try:
        data = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(data, list) and all(
        isinstance(item, dict) and "label" in item and "value" in item for item in data
    )


def _looks_like_lines(output: str) -> bool:
    stripped = output.strip()
    if stripped == _NO_ENTITIES:
        return True
    lines = stripped.splitlines()
    return bool(lines) and all(_ENTITY_LINE_RE.fullmatch(line) for line in lines)


def _line_pairs(output: str) -> list[tuple[object, object]] | None:
    """``(label, value)`` pairs of an entity-lines answer, None when it is not one."""
    if output.strip() == _NO_ENTITIES:
        return []
    matches = [_ENTITY_LINE_RE.fullmatch(line) for line in output.strip().splitlines()]
    if not all(matches):
        return None
    return [(m.group(1), m.group(2)) for m in matches if m is not None]
