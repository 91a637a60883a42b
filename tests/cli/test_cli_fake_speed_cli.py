"""``pii-gemini tune --fake-speed N`` then ``status`` without it: the job keeps speed N."""

from __future__ import annotations

import time
from pathlib import Path

from _cli_support import Runner, field, start_slow_job


def test_status_without_fake_speed_follows_the_job_at_the_speed_tune_gave(
    run_default_speed: Runner, tmp_path: Path
) -> None:
    run = run_default_speed  # no $PII_GEMINI_FAKE_SPEED: 400 steps/s unless the job has its own
    tuned = start_slow_job(run, tmp_path)
    job = field(tuned.out, "job")
    follow = field(tuned.out, "follow it with")
    assert "--fake-speed" not in follow  # the job knows its speed: the hint needs none
    time.sleep(0.2)  # 80 steps at the default speed: more than the job's 13
    status = run("status", job)
    assert status.code == 0, status.err
    assert field(status.out, "state") == "RUNNING"
    assert field(status.out, "progress").startswith("0/13 ")
    finished = run("status", job, "--fake-speed", "0")  # an explicit speed overrides it
    assert field(finished.out, "state") == "SUCCEEDED"
