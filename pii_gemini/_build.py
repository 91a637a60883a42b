"""Which build of pii_gemini is running: pure Python, or its hot path compiled by mypyc.

The optional compiled build (``HATCH_BUILD_HOOK_ENABLE_MYPYC=1`` when building the wheel, see
pyproject.toml) turns the modules below into C extensions from the same source; everything
else, and every editable or sdist install, is pure Python. ``pii-gemini --version`` says
which one is installed, and the benchmarks print it next to their figures.
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES

__all__ = ["COMPILABLE", "build_description", "compiled_modules"]

COMPILABLE: tuple[str, ...] = (
    "pii_gemini._align",
    "pii_gemini._align_fast",
    "pii_gemini._align_loose",
    "pii_gemini._chatter",
    "pii_gemini._evaluate",
    "pii_gemini._gold",
    "pii_gemini._hygiene",
    "pii_gemini._leaks",
    "pii_gemini._shapes",
    "pii_gemini._spanmath",
)
"""The modules the mypyc build compiles (the ``include`` list of the hook in pyproject.toml)."""


def compiled_modules() -> tuple[str, ...]:
    """The modules of :data:`COMPILABLE` loaded from a compiled extension (none: pure Python)."""
    suffixes = tuple(EXTENSION_SUFFIXES)
    return tuple(
        name
        for name in COMPILABLE
        if str(getattr(importlib.import_module(name), "__file__", "")).endswith(suffixes)
    )


def build_description() -> str:
    """``"pure Python"`` or ``"compiled with mypyc (10/10 modules)"`` (short: ``--version``
    prints it on one line)."""
    compiled = compiled_modules()
    if not compiled:
        return "pure Python"
    return f"compiled with mypyc ({len(compiled)}/{len(COMPILABLE)} modules)"
