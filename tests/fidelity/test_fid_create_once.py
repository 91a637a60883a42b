"""Issue 14.1: a tuning job is created at most once, whatever happens to the answer.

The emulator commits the job, then answers late (after the client's timeout) or drops the
connection; the unmodified SDKs see a timeout or a transport error. Before the fix the
Tuner retried the create blindly: 5 tuned models (Gemini API) or 5 Vertex jobs and 5
staged files, and an error naming none of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pii_gemini import Tuner
from pii_gemini._exceptions import TransientBackendError
from pii_gemini._retry import RetryPolicy
from pii_gemini._types import TuningJobInfo, TuningSpec
from pii_gemini.backends import FakeBackend
from pii_gemini.backends.base import Backend
from pii_gemini.testing import Emulator, Progression

TRAIN = [(f"Mask: I am Bob {i}.", "I am [NAME].") for i in range(8)]
LEGACY_BASE = "models/gemini-1.5-flash-001-tuning"
POLICY = RetryPolicy(attempts=5, initial_delay=0.0, jitter=0.0)


def tuner(backend: Backend) -> Tuner:
    return Tuner(backend, retry=POLICY, sleep=lambda s: None, poll_interval=0)


@pytest.fixture()
def emu2024() -> Iterator[Emulator]:
    with Emulator(era="2024", progression=Progression.per_poll(4)) as emu:
        yield emu


@pytest.mark.parametrize("mode", ["late", "drop"])
def test_gemini_api_create_answered_late_makes_one_model(emu2024: Emulator, mode: str) -> None:
    emu2024.fault_after_commit("gemini.create", mode, delay=1.2)
    with emu2024.gemini_backend(timeout=0.4) as backend:
        job = tuner(backend).tune(TRAIN, source_model=LEGACY_BASE, display_name="PII masker")
        assert job.model.startswith("tunedModels/pii-masker-")
        assert len(emu2024.requests_to("/tunedModels", "POST")) == 1
        assert [m.name for m in backend.list_models()] == [job.model]
        assert job.wait(progress=False).name == job.model


def test_gemini_api_create_with_model_id_is_handed_back_not_409(emu2024: Emulator) -> None:
    emu2024.fault_after_commit("gemini.create", "drop")
    with emu2024.gemini_backend(timeout=2) as backend:
        job = tuner(backend).tune(TRAIN, source_model=LEGACY_BASE, model_id="mine")
        assert job.model == "tunedModels/mine"
        assert len(backend.list_models()) == 1


def test_failure_before_commit_is_retried_once_the_job_is_known_absent(
    emu2024: Emulator,
) -> None:
    # A 503 before the request takes effect: the lookup (a 403, as Google answers for a
    # missing tuned model) shows no job, so the create is sent again - once.
    emu2024.service.inject_fault("create_tuned_model", 503)
    with emu2024.gemini_backend(timeout=5) as backend:
        job = tuner(backend).tune(TRAIN, source_model=LEGACY_BASE)
        creates = emu2024.requests_to("/tunedModels", "POST")
        assert [r.status for r in creates] == [503, 200]
        lookups = [r for r in emu2024.requests if r.method == "GET" and job.model in r.path]
        assert lookups[0].status == 403
        assert len(backend.list_models()) == 1


@pytest.mark.parametrize("mode", ["late", "drop"])
def test_vertex_create_answered_late_makes_one_job_and_one_file(mode: str) -> None:
    with Emulator(progression=Progression.per_poll(4)) as emu:
        emu.fault_after_commit("vertex.create", mode, delay=1.2)
        with emu.vertex_backend(timeout=0.4) as backend:
            job = tuner(backend).tune(TRAIN, display_name="pii")
            assert len(emu.requests_to("/tuningJobs", "POST")) == 1
            assert [m.name for m in backend.list_models()] == [job.name]
            with emu.vertex.lock:
                staged = [key for key in emu.vertex.objects if key[1].endswith(".jsonl")]
            assert len(staged) == 1
            assert job.wait(progress=False).endpoint


class _NoLookup(FakeBackend):
    """A backend whose create always fails ambiguously and that cannot look jobs up."""

    def __init__(self) -> None:
        super().__init__()
        self.creates = 0

    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        self.creates += 1
        raise TransientBackendError("timed out", code=504)

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        raise NotImplementedError


def test_a_backend_that_cannot_look_up_is_never_sent_a_second_create() -> None:
    backend = _NoLookup()
    with pytest.raises(TransientBackendError) as info:
        tuner(backend).tune(TRAIN)
    assert backend.creates == 1
    assert any("not repeated" in note for note in getattr(info.value, "__notes__", []))


def test_vertex_lookup_survives_a_service_that_refuses_the_label_filter() -> None:
    with Emulator(progression=Progression.per_poll(4)) as emu:
        emu.fault_after_commit("vertex.create", "drop")
        emu.echo_errors("vertex.list", 400)  # the filtered list is refused once
        with emu.vertex_backend(timeout=2) as backend:
            job = tuner(backend).tune(TRAIN)
            assert len(emu.requests_to("/tuningJobs", "POST")) == 1
            lists = emu.requests_to("/tuningJobs", "GET")
            assert [r.status for r in lists[:2]] == [400, 200]
            assert [m.name for m in backend.list_models()] == [job.name]
