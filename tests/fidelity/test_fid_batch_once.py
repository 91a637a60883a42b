"""A batch prediction job is created at most once, whatever happens to the answer.

The emulator commits the job, then drops the connection or answers after the client's
timeout. Before the fix ``OUT.batch.json`` was written only after the create returned, so
the error lost the job and a re-run created (and paid for) a second one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pii_gemini import Masker, Tuner
from pii_gemini._exceptions import BackendError, ConfigError
from pii_gemini.testing import Emulator, Progression

TEXTS = [f"Please call Ann Smith on 0{i}1 23 45 67 89 today." for i in range(4)]


@pytest.fixture()
def tuned() -> Iterator[tuple[Emulator, str]]:
    with Emulator(progression=Progression.immediate()) as emu:
        with emu.vertex_backend() as backend:
            pairs = [(f"Mask: I am Bob {i}.", "I am [NAME].") for i in range(10)]
            model = Tuner(backend).tune(pairs).wait(progress=False).name
        yield emu, model


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"source_text": t}) + "\n" for t in TEXTS), "utf-8")
    return path


def _run(emu: Emulator, model: str, tmp_path: Path, **kwargs: object) -> object:
    with emu.vertex_backend(timeout=kwargs.pop("client_timeout", 5)) as backend:
        masker = Masker(backend, model)
        return masker.mask_file(
            _source(tmp_path), tmp_path / "out.jsonl", mode="batch", progress=False,
            poll_interval=0, sleep=lambda s: None, **kwargs,
        )  # fmt: skip


@pytest.mark.parametrize("mode", ["late", "drop"])
def test_a_create_whose_answer_is_lost_is_found_not_repeated(
    tuned: tuple[Emulator, str], tmp_path: Path, mode: str
) -> None:
    emu, model = tuned
    emu.fault_after_commit("vertex.batch_create", mode, delay=1.2)
    summary = _run(emu, model, tmp_path, client_timeout=0.4)
    assert getattr(summary, "done", 0) == len(TEXTS)
    assert len(emu.requests_to("/batchPredictionJobs", "POST")) == 1
    assert emu.requests_to(":generateContent") == []  # the answers came from that job


def test_a_rerun_after_a_failed_lookup_attaches_to_the_committed_job(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    emu.fault_after_commit("vertex.batch_create", "drop")
    emu.echo_errors("vertex.batch_list", 503, times=20)  # the lookup cannot answer either
    with pytest.raises(BackendError) as info:
        _run(emu, model, tmp_path)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "not created again" in notes or not hasattr(info.value, "add_note")
    state = tmp_path / "out.jsonl.batch.json"
    recorded = json.loads(state.read_text("utf-8"))
    assert recorded["token"] and recorded["model"] == model and "job" not in recorded
    if os.name == "posix":
        assert state.stat().st_mode & 0o777 == 0o600
    with emu._app._lock:
        emu._app.hooks.clear()
    summary = _run(emu, model, tmp_path)
    assert getattr(summary, "done", 0) == len(TEXTS)
    assert len(emu.requests_to("/batchPredictionJobs", "POST")) == 1
    assert not state.exists()


def test_the_state_file_is_written_before_the_create(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    seen: list[dict[str, str]] = []

    def hook(req: object, route: str) -> None:
        if route == "vertex.batch_create":
            seen.append(json.loads((tmp_path / "out.jsonl.batch.json").read_text("utf-8")))

    with emu._app._lock:
        emu._app.hooks.append(hook)
    _run(emu, model, tmp_path)
    assert len(seen) == 1 and seen[0]["token"] and seen[0]["model"] == model
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["in.jsonl", "out.jsonl", "out.jsonl.state"]  # no temp file stays


def test_a_planted_symlink_at_the_old_temp_name_is_not_followed(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", "utf-8")
    (tmp_path / "out.jsonl.batch.json.tmp").symlink_to(victim)
    _run(emu, model, tmp_path)
    assert victim.read_text("utf-8") == "keep"


def test_the_emulator_lists_batch_jobs_by_display_name_and_refuses_unknown_filters(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    _run(emu, model, tmp_path)
    (create,) = emu.requests_to("/batchPredictionJobs", "POST")
    display = create.body["displayName"]
    with emu.vertex_backend() as backend:
        client = backend._client
        found = list(client.batches.list(config={"filter": f'display_name="{display}"'}))
        assert [j.display_name for j in found] == [display]
        assert list(client.batches.list(config={"filter": 'display_name="other"'})) == []
        with pytest.raises(Exception) as info:
            list(client.batches.list(config={"filter": 'colour="blue"'}))
        assert getattr(info.value, "code", None) == 400


def test_a_create_refused_before_commit_is_sent_again_once_none_is_found(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    emu.echo_errors("vertex.batch_create", 503)  # refused: nothing was created
    _run(emu, model, tmp_path)
    creates = emu.requests_to("/batchPredictionJobs", "POST")
    assert [r.status for r in creates] == [503, 200]
    lists = emu.requests_to("/batchPredictionJobs", "GET")
    assert lists[0].status == 200 and "filter" in lists[0].query  # looked up before the 2nd


def test_a_service_that_refuses_the_filter_is_scanned(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    emu.fault_after_commit("vertex.batch_create", "drop")
    emu.echo_errors("vertex.batch_list", 400)
    _run(emu, model, tmp_path)
    assert len(emu.requests_to("/batchPredictionJobs", "POST")) == 1
    lists = emu.requests_to("/batchPredictionJobs", "GET")
    lists = [r for r in lists if r.path.endswith("/batchPredictionJobs")]
    assert [r.status for r in lists] == [400, 200] and "filter" not in lists[1].query


def test_a_record_for_another_model_is_not_reused(
    tuned: tuple[Emulator, str], tmp_path: Path
) -> None:
    emu, model = tuned
    state = tmp_path / "out.jsonl.batch.json"
    state.write_text(json.dumps({"token": "0123456789ab", "model": "projects/p/models/other"}))
    with pytest.raises(ConfigError, match="another model"):
        _run(emu, model, tmp_path)
    assert emu.requests_to("/batchPredictionJobs") == []
