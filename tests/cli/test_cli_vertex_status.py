"""``pii-gemini status`` on Vertex says that Vertex reports no step progress while the job
runs (it printed ``progress: 0/25 steps (0%)``, as if the job were stuck at step 0, against
docs/cli.md: "the job reports neither steps nor loss through its API")."""

from __future__ import annotations

from pathlib import Path

from _cli_support import Runner, field

from pii_gemini.synthetic import write_dataset
from pii_gemini.testing import Progression, fake_backend


def test_vertex_status_says_progress_is_not_reported_until_the_job_succeeds(
    run: Runner, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "data.jsonl", 60, seed=5)
    prepared = tmp_path / "prepared"
    assert run("prepare", str(data), "--out", str(prepared), "--test-size", "10").code == 0
    with fake_backend(progression=Progression.per_poll(1)):  # 13 steps: 13 polls
        tuned = run("--backend", "vertex", "tune", str(prepared / "train.jsonl"), "--epochs", "1")
        assert tuned.code == 0, tuned.err
        job = field(tuned.out, "job")
        running = run("--backend", "vertex", "status", job)
        assert field(running.out, "state") in ("PENDING", "RUNNING")
        progress = field(running.out, "progress")
        assert progress.startswith("not reported by Vertex AI"), progress
        assert "0/" not in progress
        done = run("--backend", "vertex", "status", job, "--wait", "--poll-interval", "0")
        assert done.code == 0, done.err
        finished = run("--backend", "vertex", "status", job)
        assert field(finished.out, "state") == "SUCCEEDED"
        total = field(finished.out, "progress").split()[0].split("/")
        assert total[0] == total[1] != "0"
