"""``pii-gemini mask`` with a model still training: the hint is a command to paste."""

from __future__ import annotations

import shlex
from pathlib import Path

from _cli_support import Runner, field, start_slow_job


def test_the_hint_for_a_model_still_training_names_the_model(
    run_default_speed: Runner, tmp_path: Path
) -> None:
    run = run_default_speed
    tuned = start_slow_job(run, tmp_path)
    out = tmp_path / "prepared"
    model = field(tuned.out, "model")
    masked = run("mask", str(out / "test.jsonl"), str(tmp_path / "o.jsonl"), "--model", model)
    assert masked.code != 0 and "RUNNING" in masked.err
    hint = masked.err.split("follow its job with `", 1)[1].split("`", 1)[0]
    assert "JOB" not in hint and model in shlex.split(hint)
    status = run(*shlex.split(hint)[1:])  # the hint, pasted (without the program name)
    assert status.code == 0 and field(status.out, "state") == "RUNNING"
