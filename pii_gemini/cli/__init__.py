"""The ``pii-gemini`` command line: prepare, tune, status, models, mask, unmask, evaluate, demo.

A thin layer over the public API: it parses arguments, calls ``dataset``, ``Tuner``,
``Masker`` and ``metrics``, and turns library errors into one-line messages and exit codes:

* 0 - success
* 1 - runtime or backend error (a failed tuning job, a service error)
* 2 - usage or configuration error (a bad option, a missing credential)
* 3 - data error (a missing or malformed input file, a missing column)
* 130 - interrupted (Ctrl-C)

Messages never contain input text, PII values or API keys; ``--verbose`` adds tracebacks.

The fake backend keeps its tuned models in a local state file (``--state`` or
``PII_GEMINI_FAKE_STATE``; default ``~/.cache/pii-gemini/fake-state.pkl``) so that ``tune``
in one process and ``status``/``mask`` in the next see the same models
(``backends/_fake_state.py``).

Inside: ``_main`` (the parser and ``main``), one module per command group (``_data``:
prepare; ``_tuning``: tune, status, models; ``_masking``: mask, unmask; ``_evaluation``:
evaluate, demo) and ``_common`` (exit codes, messages, argument types, files, the backend).
"""

from __future__ import annotations

from ._main import build_parser as build_parser
from ._main import main

__all__ = ["main"]
