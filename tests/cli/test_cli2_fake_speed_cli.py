"""``pii-gemini tune --fake-speed N`` then ``status`` without it: the job keeps speed N."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _cli2_support import Runner, make_runner

from pii_gemini.synthetic import write_dataset


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    return make_runner(tmp_path, monkeypatch, capsys, speed=None)  # the default, 400 steps/s


def _field(out: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith(name))


def test_status_without_fake_speed_follows_the_job_at_the_speed_tune_gave(
    run: Runner, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "data.jsonl", 60, seed=3)
    out = tmp_path / "prepared"
    assert run("prepare", str(data), "--out", str(out), "--test-size", "10").code == 0
    tuned = run("--fake-speed", "0.001", "tune", str(out / "train.jsonl"), "--epochs", "1")
    assert tuned.code == 0, tuned.err
    job = _field(tuned.out, "job")
    follow = _field(tuned.out, "follow it with")
    assert "--fake-speed" not in follow  # the job knows its speed: the hint needs none
    time.sleep(0.2)  # 80 steps at the default speed: more than the job's 13
    status = run("status", job)
    assert status.code == 0, status.err
    assert _field(status.out, "state") == "RUNNING"
    assert _field(status.out, "progress").startswith("0/13 ")
    finished = run("status", job, "--fake-speed", "0")  # an explicit speed overrides it
    assert _field(finished.out, "state") == "SUCCEEDED"
