"""What docs/backends.md says of the fake's state file: it holds the training rows, so it is
0600, and ``models delete`` removes a model's rows from it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from _cli_support import Runner

from pii_gemini.synthetic import write_dataset


def test_the_state_file_is_private_and_delete_removes_the_rows(run: Runner, tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data.jsonl", 40, seed=6)
    prepared = tmp_path / "prepared"
    assert run("prepare", str(data), "--out", str(prepared), "--test-size", "5").code == 0
    first = json.loads((prepared / "train.jsonl").read_text("utf-8").splitlines()[0])
    tuned = run("tune", str(prepared / "train.jsonl"), "--epochs", "1", "--model-id", "priv")
    assert tuned.code == 0, tuned.err
    state = tmp_path / "state" / "fake.pkl"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    text = first["source_text"].encode("utf-8")
    assert text in state.read_bytes()  # the training rows are in it: hence 0600
    assert run("models", "delete", "tunedModels/priv").code == 0
    assert text not in state.read_bytes()
