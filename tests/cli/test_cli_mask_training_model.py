"""``pii-gemini mask`` with a model still training: the hint is a command to paste."""

from __future__ import annotations

import shlex
from pathlib import Path

from _cli_support import Runner, field

from pii_gemini.synthetic import write_dataset


def test_the_hint_for_a_model_still_training_names_the_model(
    run_default_speed: Runner, tmp_path: Path
) -> None:
    run = run_default_speed
    data = write_dataset(tmp_path / "data.jsonl", 60, seed=3)
    out = tmp_path / "prepared"
    assert run("prepare", str(data), "--out", str(out), "--test-size", "10").code == 0
    tuned = run("--fake-speed", "0.001", "tune", str(out / "train.jsonl"), "--epochs", "1")
    assert tuned.code == 0, tuned.err
    model = field(tuned.out, "model")
    masked = run("mask", str(out / "test.jsonl"), str(tmp_path / "o.jsonl"), "--model", model)
    assert masked.code != 0 and "RUNNING" in masked.err
    hint = masked.err.split("follow its job with `", 1)[1].split("`", 1)[0]
    assert "JOB" not in hint and model in shlex.split(hint)
    status = run(*shlex.split(hint)[1:])  # the hint, pasted (without the program name)
    assert status.code == 0 and field(status.out, "state") == "RUNNING"
