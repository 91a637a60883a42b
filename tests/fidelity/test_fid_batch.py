"""Vertex AI batch prediction with a tuned model (issue 14): ``mask_file(mode="batch")``
stages the prompts, runs one batch job through google-genai and writes the same records
as the online path; a crash while waiting re-attaches to the job instead of paying twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pii_gemini import Masker, Tuner
from pii_gemini._exceptions import ConfigError, TuningTimeout
from pii_gemini.backends import FakeBackend
from pii_gemini.testing import Emulator, Progression

TEXTS = [f"Please call Ann Smith on 0{i}1 23 45 67 89 today." for i in range(6)] + ["   "]


@pytest.fixture()
def tuned() -> Iterator[tuple[Emulator, object, str]]:
    with Emulator(progression=Progression.immediate()) as emu, emu.vertex_backend() as backend:
        pairs = [(f"Mask: I am Bob {i}.", "I am [NAME].") for i in range(10)]
        model = Tuner(backend).tune(pairs).wait(progress=False).name
        yield emu, backend, model


def _write(path: Path) -> Path:
    path.write_text("".join(json.dumps({"source_text": t}) + "\n" for t in TEXTS), "utf-8")
    return path


def _setup(tuned: tuple[Emulator, object, str], tmp_path: Path) -> tuple[Emulator, Masker, Path]:
    emu, backend, model = tuned
    return emu, Masker(backend, model), _write(tmp_path / "in.jsonl")  # type: ignore[arg-type]


def test_batch_mode_writes_the_online_records(
    tuned: tuple[Emulator, object, str], tmp_path: Path
) -> None:
    emu, masker, source = _setup(tuned, tmp_path)
    backend, model = masker.backend, masker.model
    summary = masker.mask_file(source, tmp_path / "batch.jsonl", mode="batch", progress=False,
                               poll_interval=0)  # fmt: skip
    batch = pd.read_json(tmp_path / "batch.jsonl", lines=True, dtype=False)
    assert summary.done == len(TEXTS) and (batch["status"] == "ok").all()
    creates = emu.requests_to("/batchPredictionJobs", "POST")
    assert len(creates) == 1 and creates[0].body["model"].endswith("@1")  # the model resource
    assert emu.requests_to(":generateContent") == []  # every answer came from the batch
    staged = emu.get_object(creates[0].body["inputConfig"]["gcsSource"]["uris"][0])
    assert len(staged.splitlines()) == len(TEXTS) - 1  # blank rows cost nothing
    online = Masker(backend, model).mask_file(source, tmp_path / "online.jsonl", progress=False)
    lines = pd.read_json(tmp_path / "online.jsonl", lines=True, dtype=False)
    assert online.done == summary.done
    assert list(lines["masked_text"]) == list(batch["masked_text"])
    assert not (tmp_path / "batch.jsonl.batch.json").exists()


def test_a_rerun_after_a_timeout_reattaches_to_the_same_job(
    tuned: tuple[Emulator, object, str], tmp_path: Path
) -> None:
    emu, masker, source = _setup(tuned, tmp_path)
    with pytest.raises(TuningTimeout):
        masker.mask_file(source, tmp_path / "out.jsonl", mode="batch", progress=False,
                         poll_interval=0, timeout=0)  # fmt: skip
    assert (tmp_path / "out.jsonl.batch.json").exists()
    masker.mask_file(source, tmp_path / "out.jsonl", mode="batch", progress=False,
                     poll_interval=0)  # fmt: skip
    assert len(emu.requests_to("/batchPredictionJobs", "POST")) == 1


def test_batch_mode_needs_vertex(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vertex"):
        Masker(FakeBackend(), "models/gemini-1.5-flash-001").mask_file(
            _write(tmp_path / "in.jsonl"), tmp_path / "o.jsonl", mode="batch"
        )
