"""Running ``pii-gemini`` in process for the tests in tests/cli (fixtures shared by them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pii_gemini import cli


@dataclass
class Run:
    code: int
    out: str
    err: str


Runner = Callable[..., Run]


def make_runner(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    speed: str | None = "0",
) -> Runner:
    """``cli.main`` with a private fake state file (and a fake speed, unless None)."""
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "state" / "fake.pkl"))
    if speed is None:
        monkeypatch.delenv("PII_GEMINI_FAKE_SPEED", raising=False)
    else:
        monkeypatch.setenv("PII_GEMINI_FAKE_SPEED", speed)
    monkeypatch.delenv("PII_GEMINI_BACKEND", raising=False)

    def _run(*argv: str) -> Run:
        code = cli.main(["-q", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return _run


def field(out: str, name: str) -> str:
    """The value of the ``name: value`` line of a command's output."""
    for line in out.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} line in {out!r}")


def start_slow_job(run: Runner, tmp_path: Path) -> Run:
    """Prepare 60 generated rows and start a fake tuning job at 0.001 steps/s (it stays
    RUNNING for the test); returns the finished ``tune`` command's run."""
    from pii_gemini.synthetic import write_dataset

    data = write_dataset(tmp_path / "data.jsonl", 60, seed=3)
    out = tmp_path / "prepared"
    assert run("prepare", str(data), "--out", str(out), "--test-size", "10").code == 0
    tuned = run("--fake-speed", "0.001", "tune", str(out / "train.jsonl"), "--epochs", "1")
    assert tuned.code == 0, tuned.err
    return tuned
