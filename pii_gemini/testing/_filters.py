"""The ``filter`` of the emulator's Vertex list routes (tuning and batch prediction jobs).

Google's list filters follow AIP-160 (https://google.aip.dev/160, "Validation", read
2026-12-04): a non-compliant or schematically invalid filter (a field the resource does
not have, among others) errors with ``INVALID_ARGUMENT``, and Vertex answers such a filter
with "400 Provided filter is not valid." (Vertex AI agent-engine troubleshooting page,
https://cloud.google.com/vertex-ai/generative-ai/docs/agent-engine/troubleshooting/manage,
last updated 2025-10-19, read 2026-12-04). The tuningJobs.list reference
(https://docs.cloud.google.com/gemini-enterprise-agent-platform/reference/rest/v1/projects.locations.tuningJobs/list,
read 2026-12-04) only says "the standard list filter".

Here a filter is an ``AND`` of ``field = value`` / ``field != value`` terms over the
fields a route names, plus ``labels.KEY``; anything else (``OR``, ``NOT``, wildcards,
times, unknown fields) is a 400 INVALID_ARGUMENT: stricter than Google where Google would
answer, so that a client never takes a filter the emulator ignored for a filtered answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import TypeVar

from ._server import HttpError

__all__ = ["list_filter"]

T = TypeVar("T")

_TERM_RE = re.compile(
    r"(?P<field>[A-Za-z_]+|labels\.[a-z0-9_-]+)\s*(?P<op>!=|=)\s*"
    r'(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))'
)


def list_filter(
    raw: str, fields: Collection[str], value_of: Callable[[T, str], str | None]
) -> Callable[[T], bool]:
    """``raw`` as a predicate over items; ``fields`` are the names it may test besides
    ``labels.KEY``, ``value_of(item, field)`` reads one (``labels.KEY`` included)."""
    tests: list[Callable[[T], bool]] = []
    for term in (t.strip() for t in raw.split(" AND ")) if raw.strip() else ():
        found = _TERM_RE.fullmatch(term)
        name = found["field"] if found is not None else ""
        if found is None or not (name in fields or name.startswith("labels.")):
            raise HttpError(400, f"Provided filter is not valid: {term}", "INVALID_ARGUMENT")
        equal = found["op"] == "="
        value = found["quoted"] if found["quoted"] is not None else found["bare"]

        def test(item: T, name: str = name, value: str = value, equal: bool = equal) -> bool:
            return (value_of(item, name) == value) == equal

        tests.append(test)
    return lambda item: all(t(item) for t in tests)
