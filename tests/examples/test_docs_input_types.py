"""The docs list exactly the input and output files ``mask_file`` / ``pii-gemini mask`` take."""

from __future__ import annotations

import re
from pathlib import Path

from pii_gemini._io import _FORMATS
from pii_gemini.masking._filejob import _OUTPUT_SUFFIXES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _suffixes(text: str) -> set[str]:
    return set(re.findall(r"`(\.[a-z]+)`", text))


def test_user_guide_mask_file_row_lists_every_suffix() -> None:
    guide = (DOCS / "user-guide.md").read_text(encoding="utf-8")
    row = next(line for line in guide.splitlines() if line.startswith("| `mask_file("))
    assert _suffixes(row) == set(_FORMATS) | set(_OUTPUT_SUFFIXES)


def test_cli_mask_section_lists_every_suffix() -> None:
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    section = cli.split("## `mask`", 1)[1].split("\n## ", 1)[0]
    streams = section[section.index("Streams `IN`") :].split("):", 1)[0] + ")"
    assert _suffixes(streams) == set(_FORMATS) | set(_OUTPUT_SUFFIXES)
