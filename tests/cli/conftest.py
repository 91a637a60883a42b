"""Fixtures of the CLI tests: ``pii-gemini`` run in process on a private fake state."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli_support import Runner, make_runner


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """``pii-gemini`` with instant fake training (``$PII_GEMINI_FAKE_SPEED`` 0)."""
    return make_runner(tmp_path, monkeypatch, capsys)


@pytest.fixture
def run_default_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """``pii-gemini`` with no ``$PII_GEMINI_FAKE_SPEED``: the default speed, 400 steps/s."""
    return make_runner(tmp_path, monkeypatch, capsys, speed=None)
