"""Kill a real masking process part-way (SIGKILL) and resume it.

The first run masks a few thousand rows through a slow scripted backend and is killed
once some hundreds of result lines exist. The second run resumes: afterwards there must be
exactly one result per input row, and the rows whose results were already written must
not have been sent to the backend again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _masking_support import mask_known

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 2000
KILL_AFTER_LINES = 200

WORKER = """
import json, sys
from _masking_support import ScriptedBackend
from pii_gemini._retry import RetryPolicy
from pii_gemini.masking import Masker

src, dst, latency = sys.argv[1], sys.argv[2], float(sys.argv[3])
backend = ScriptedBackend(latency=latency)
masker = Masker(backend, "tunedModels/kill-test", concurrency=4, retry=RetryPolicy.none())
summary = masker.mask_file(src, dst, id_column="id", chunk_size=25, progress=False)
print(json.dumps({"inputs": backend.inputs(), "skipped": summary.skipped_resumed,
                  "done": summary.done}))
"""


def _run(src: Path, dst: Path, latency: float) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(src), str(dst), str(latency)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _complete_lines(path: Path) -> list[dict[str, object]]:
    """The result lines a reader can trust: newline-terminated, valid JSON."""
    records = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        records.append(json.loads(line))
    return records


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("fmt", ["jsonl"])  # parquet resume is covered in test_masking.py
def test_killed_run_resumes_with_one_result_per_row(tmp_path: Path, fmt: str) -> None:
    texts = [
        f"Row {i}: Alice calls {100 + i % 900}-{1000 + i} about case {i}." for i in range(N_ROWS)
    ]
    df = pd.DataFrame({"id": [f"r{i}" for i in range(N_ROWS)], "source_text": texts})
    src, dst = tmp_path / f"in.{fmt}", tmp_path / "out.jsonl"
    if fmt == "jsonl":
        df.to_json(src, orient="records", lines=True)
    else:
        df.to_parquet(src)

    first = _run(src, dst, latency=0.004)  # ~2 s of work at concurrency 4
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if dst.exists() and dst.read_bytes().count(b"\n") >= KILL_AFTER_LINES:
                break
            if first.poll() is not None:
                pytest.fail(f"worker exited early: {first.stderr.read() if first.stderr else ''}")
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)  # reap it and close its pipes
    assert first.returncode == -signal.SIGKILL

    written = _complete_lines(dst)
    k = len(written)
    assert KILL_AFTER_LINES <= k < N_ROWS  # really killed part-way
    assert [r["row"] for r in written] == list(range(k))  # a prefix, in order

    second = _run(src, dst, latency=0.0)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    report = json.loads(out)
    assert report["skipped"] == k and report["done"] == N_ROWS - k
    sent = report["inputs"]
    assert len(sent) == N_ROWS - k  # each remaining row sent once
    assert sorted(sent) == sorted(texts[k:])  # and none already written

    final = _complete_lines(dst)
    assert dst.read_bytes().endswith(b"\n")
    assert [r["row"] for r in final] == list(range(N_ROWS))
    assert [r["id"] for r in final] == [f"r{i}" for i in range(N_ROWS)]
    assert final[:k] == written  # earlier results kept as they were
    assert all(r["status"] == "ok" for r in final)
    assert [r["masked_text"] for r in final] == [mask_known(t) for t in texts]
