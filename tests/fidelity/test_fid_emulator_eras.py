"""The emulator as a dated model (issue 14): the seed notebook still runs against
``era="2024"``; today's era answers as today's services do. Both SDKs are unmodified."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from pii_gemini.testing import DEFAULT_API_KEY, DEFAULT_BEARER_TOKEN, Emulator, Progression


def _legacy() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import google.generativeai as genai
    return genai


def _genai() -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from google import genai
        from google.genai import types
    return genai, types


def test_the_seed_notebook_runs_end_to_end_in_2024() -> None:
    """The seed's calls, in its order: configure, create_tuned_model from a DataFrame,
    wait_bar, get_tuned_model, snapshots as a DataFrame, GenerativeModel.generate_content."""
    genai = _legacy()
    train = pd.DataFrame(
        {
            "text_input": [f"Mask: My name is Bob {i}." for i in range(12)],
            "output": ["My name is [FIRSTNAME]."] * 12,
        }
    )
    with Emulator(era="2024", progression=Progression.per_poll(3)) as emu:
        genai.configure(
            api_key=DEFAULT_API_KEY, transport="rest", client_options={"api_endpoint": emu.url}
        )
        try:
            operation = genai.create_tuned_model(
                source_model="models/gemini-1.5-flash-001-tuning",
                training_data=train,
                id="seed-notebook",
                epoch_count=2,
                batch_size=4,
                learning_rate=0.001,
            )
            statuses = list(operation.wait_bar(disable=True))
            result = operation.result()
            model = genai.get_tuned_model(f"tunedModels/{result.name.split('/')[-1]}")
            snapshots = pd.DataFrame(model.tuning_task.snapshots)
            answer = genai.GenerativeModel(model_name=model.name).generate_content(
                "Mask: My name is Bob 99.", request_options={"retry": None}
            )
        finally:
            genai.configure(api_key="reset", transport="rest")
    assert statuses[-1].total_steps == 6 and model.state.name == "ACTIVE"
    assert list(snapshots["step"]) == [1, 2, 3, 4, 5, 6]
    assert answer.text and answer.candidates[0].finish_reason.name == "STOP"


@pytest.fixture()
def client() -> Iterator[tuple[Emulator, Any, Any]]:
    genai, types = _genai()
    with Emulator(progression=Progression.per_poll(1)) as emu:
        from pii_gemini.backends.vertex import static_token_credentials

        vertex = genai.Client(
            vertexai=True,
            project="my-project",
            location="us-central1",
            credentials=static_token_credentials(DEFAULT_BEARER_TOKEN),
            http_options=types.HttpOptions(base_url=emu.url),
        )
        emu.put_object(
            "gs://b/train.jsonl",
            b"\n".join(
                b'{"contents":[{"role":"user","parts":[{"text":"I am Bob %d"}]},'
                b'{"role":"model","parts":[{"text":"I am [NAME]"}]}]}' % i
                for i in range(8)
            ),
        )
        emu.put_object("gs://b/bad.jsonl", b'{"contents": "not a conversation"}\n')
        yield emu, vertex, types


def _tune(vertex: Any, types: Any, uri: str = "gs://b/train.jsonl") -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vertex.tunings.tune(
            base_model="gemini-2.5-flash-lite",
            training_dataset=types.TuningDataset(gcs_uri=uri),
            config=types.CreateTuningJobConfig(epoch_count=1),
        )


def test_todays_vertex_job_lifecycle(client: tuple[Emulator, Any, Any]) -> None:
    _, vertex, types = client
    job = _tune(vertex, types)
    # Create returns at once: queued, no statistics yet; names carry the project number.
    assert job.state.value == "JOB_STATE_PENDING" and job.tuning_data_stats is None
    assert job.name.split("/")[1].isdigit()
    seen = [job.state.value]
    while not job.has_ended:
        job = vertex.tunings.get(name=job.name)
        seen.append(job.state.value)
    assert seen[1] == "JOB_STATE_RUNNING" and seen[-1] == "JOB_STATE_SUCCEEDED"
    assert job.tuning_data_stats.supervised_tuning_data_stats.tuning_step_count == 2
    # Separate ids for the job, the model and the endpoint.
    ids = {job.name.rsplit("/", 1)[1], job.tuned_model.model.split("/")[-1].split("@")[0],
           job.tuned_model.endpoint.rsplit("/", 1)[1]}  # fmt: skip
    assert len(ids) == 3
    answer = vertex.models.generate_content(model=job.tuned_model.endpoint, contents="I am Bob 3")
    assert answer.text
    tokens = vertex.models.count_tokens(model="gemini-2.5-flash-lite", contents="I am Bob 3")
    assert tokens.total_tokens == 3


def test_cancelling_before_cancelled_and_bad_datasets_fail_as_jobs(
    client: tuple[Emulator, Any, Any],
) -> None:
    _, vertex, types = client
    job = _tune(vertex, types)
    vertex.tunings.get(name=job.name)
    vertex.tunings.cancel(name=job.name)
    states = [vertex.tunings.get(name=job.name).state.value for _ in range(2)]
    assert states == ["JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"]
    bad = _tune(vertex, types, "gs://b/bad.jsonl")
    assert bad.state.value == "JOB_STATE_PENDING"  # accepted: the data is read later
    failed = vertex.tunings.get(name=bad.name)
    assert failed.state.value == "JOB_STATE_FAILED" and "line 1" in failed.error.message


def test_todays_gemini_api_models_and_count_tokens() -> None:
    genai, types = _genai()
    with Emulator() as emu:
        api = genai.Client(
            api_key=DEFAULT_API_KEY, http_options=types.HttpOptions(base_url=emu.url)
        )
        names = [m.name for m in api.models.list()]
        assert "models/gemini-3.5-flash" in names and "models/gemini-1.5-flash-001" not in names
        model = api.models.get(model="gemini-3.5-flash")
        assert "createTunedModel" not in (model.supported_actions or [])
        assert (
            api.models.count_tokens(model="gemini-3.5-flash", contents="abcdefgh").total_tokens == 2
        )


def test_no_broken_pipe_traceback_when_a_client_gives_up(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import requests

    with Emulator() as emu:
        emu.set_latency("gemini.list_models", 0.6)
        with pytest.raises(requests.exceptions.Timeout):
            requests.get(f"{emu.url}/v1beta/models", headers={"x-goog-api-key": DEFAULT_API_KEY},
                         timeout=0.2)  # fmt: skip
        time.sleep(0.8)  # the emulator writes to a closed socket
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_gemini_api_and_vertex_state_are_kept_apart() -> None:
    with Emulator(progression=Progression.immediate()) as emu:
        with emu.vertex_backend() as vertex:
            from pii_gemini import Tuner

            Tuner(vertex).tune([("Mask: I am Bob.", "I am [NAME].")] * 10).wait(progress=False)
        with emu.gemini_backend() as gemini:
            assert gemini.list_models() == []
            from pii_gemini._exceptions import PermissionDeniedError

            with pytest.raises(PermissionDeniedError):
                gemini.get_model("tunedModels/vertex-1000000001")
