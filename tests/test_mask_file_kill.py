"""Kill a real masking process part-way (SIGKILL) and resume it.

The first run masks a few thousand rows through a slow scripted backend and is killed
once some hundreds of result lines exist. The second run resumes: afterwards there must be
exactly one result per input row, byte-identical to an uninterrupted run (one that shares
the resume secret of the state file), and no row whose result was written ``ok`` may have
been sent to the backend again. Two variants:

* ``failures``: in the first run every 37th row fails (a 503, no retries): the resumed run
  masks those rows again, through the redo journal, and merges them into the output;
* ``vault``: the numbered operator with a vault log (one worker, so numbering is
  deterministic): the vault log is byte-identical too, and every row unmasks to its source.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _masking_support import mask_known

from pii_gemini.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 2000
KILL_AFTER_LINES = 200
FAIL_EVERY = 37

WORKER = """
import json, sys
from _masking_support import ScriptedBackend
from pii_gemini._exceptions import TransientBackendError
from pii_gemini._retry import RetryPolicy
from pii_gemini.masking import Masker

src, dst, latency, variant, vault = sys.argv[1:6]
fail = variant == "failures" and float(latency) > 0
def fault(text, attempt):
    row = int(text.split(":")[0].split()[1])
    return TransientBackendError("down", code=503) if fail and row % 37 == 5 else None
backend = ScriptedBackend(latency=float(latency), fault=fault)
numbered = variant == "vault"
masker = Masker(backend, "tunedModels/kill-test", concurrency=1 if numbered else 4,
                retry=RetryPolicy.none(), operator="numbered" if numbered else "replace",
                breaker=None)
summary = masker.mask_file(src, dst, id_column="id", chunk_size=25, progress=False,
                           vault_path=vault if numbered else None)
print(json.dumps({"inputs": backend.inputs(), "skipped": summary.skipped_resumed,
                  "done": summary.done, "redone": summary.redone, "failed": summary.failed}))
"""


def _run(src: Path, dst: Path, latency: float, variant: str, vault: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    args = [str(src), str(dst), str(latency), variant, str(vault)]
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
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


def _kill_part_way(proc: subprocess.Popen[str], dst: Path) -> None:
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if dst.exists() and dst.read_bytes().count(b"\n") >= KILL_AFTER_LINES:
                break
            if proc.poll() is not None:
                pytest.fail(f"worker exited early: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # reap it and close its pipes
    assert proc.returncode == -signal.SIGKILL


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report: dict[str, object] = json.loads(out)
    return report


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("variant", ["failures", "vault"])
def test_killed_run_resumes_with_one_result_per_row(tmp_path: Path, variant: str) -> None:
    texts = [
        f"Row {i}: Alice calls {100 + i % 900}-{1000 + i} about case {i}." for i in range(N_ROWS)
    ]
    df = pd.DataFrame({"id": [f"r{i}" for i in range(N_ROWS)], "source_text": texts})
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    df.to_json(src, orient="records", lines=True)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    vault = secrets_dir / "vault.jsonl"

    _kill_part_way(_run(src, dst, 0.004, variant, vault), dst)  # ~2 s of work at 4 workers
    written = _complete_lines(dst)
    k = len(written)
    assert KILL_AFTER_LINES <= k < N_ROWS  # really killed part-way
    assert [r["row"] for r in written] == list(range(k))  # a prefix, in order
    failed = [r["row"] for r in written if r["status"] == "failed"]
    assert failed == ([i for i in range(k) if i % FAIL_EVERY == 5] if variant == "failures" else [])

    # an uninterrupted, healthy reference run that shares the resume secret
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(tmp_path / "out.jsonl.state", ref / "out.jsonl.state")
    (ref / "secrets").mkdir()
    if variant == "vault":  # ... and the vault's id (which every line names)
        Vault(vault_id=Vault.load(vault).id).save(ref / "secrets" / "vault.jsonl")
    _finish(_run(src, ref / "out.jsonl", 0.0, variant, ref / "secrets" / "vault.jsonl"))

    report = _finish(_run(src, dst, 0.0, variant, vault))
    redo = [texts[i] for i in failed]
    assert report["skipped"] == k - len(failed) and report["redone"] == len(failed)
    assert report["done"] == N_ROWS - k + len(failed) and report["failed"] == 0
    sent = report["inputs"]
    assert isinstance(sent, list) and sorted(sent) == sorted(redo + texts[k:])  # each once

    final = _complete_lines(dst)
    assert dst.read_bytes() == (ref / "out.jsonl").read_bytes()
    assert [r["row"] for r in final] == list(range(N_ROWS))
    assert [r["id"] for r in final] == [f"r{i}" for i in range(N_ROWS)]
    assert [r for r in final[:k] if r["row"] not in failed] == [
        r for r in written if r["row"] not in failed
    ]  # earlier results kept as they were
    assert all(r["status"] == "ok" for r in final)
    assert not (tmp_path / "out.jsonl.redo").exists()
    if variant == "failures":
        assert [r["masked_text"] for r in final] == [mask_known(t) for t in texts]
        return
    assert vault.read_bytes() == (ref / "secrets" / "vault.jsonl").read_bytes()
    loaded = Vault.load(vault)
    for record, text in zip(final, texts, strict=True):
        tokens = record["tokens"]
        assert isinstance(tokens, list) and isinstance(record["masked_text"], str)
        assert loaded.unmask(record["masked_text"], tokens=tokens) == text
