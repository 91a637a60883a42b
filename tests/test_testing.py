"""pii_gemini.testing: the emulator's HTTP contract, auth, recording and fake_backend()."""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

import pytest
import requests

from pii_gemini._exceptions import ConfigError
from pii_gemini._types import JobState, TuningExample, TuningSpec
from pii_gemini.testing import (
    DEFAULT_API_KEY,
    Emulator,
    FakeService,
    Progression,
    fake_backend,
)

KEY = {"x-goog-api-key": DEFAULT_API_KEY}
BASE = "models/gemini-1.5-flash-001-tuning"
EXAMPLES = [{"textInput": f"I am Bob {i}", "output": "I am [NAME]"} for i in range(6)]


def create_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": BASE,
        "displayName": "Test model",
        "tuningTask": {
            "trainingData": {"examples": {"examples": EXAMPLES}},
            "hyperparameters": {"epochCount": 1, "batchSize": 2, "learningRate": 0.001},
        },
    }
    body.update(extra)
    return body


@pytest.fixture()
def emu() -> Any:
    with Emulator(era="2024", progression=Progression.per_poll(1)) as emulator:
        yield emulator


def test_lifecycle_and_url(emu: Emulator) -> None:
    assert emu.running and emu.url.startswith("http://127.0.0.1:")
    assert repr(emu) == f"Emulator({emu.url})"
    port = int(emu.url.rsplit(":", 1)[1])
    emu.start()  # idempotent
    emu.stop()
    emu.stop()
    assert not emu.running and repr(emu) == "Emulator(stopped)"
    with pytest.raises(ConfigError):
        _ = emu.url
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass


def test_service_arguments() -> None:
    service = FakeService()
    assert Emulator(service).service is service
    with pytest.raises(ConfigError):
        Emulator(service, seed=3)


def test_auth_like_google(emu: Emulator) -> None:
    url = f"{emu.url}/v1beta/tunedModels"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = requests.get(url, headers={"x-goog-api-key": "nope"}, timeout=5)
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert requests.get(url, params={"key": DEFAULT_API_KEY}, timeout=5).status_code == 200
    assert requests.get(url, headers=KEY, timeout=5).status_code == 200
    assert requests.get(url, headers={"Authorization": "Bearer any"}, timeout=5).ok
    assert requests.get(url, headers={"Authorization": "Bearer "}, timeout=5).status_code == 401


def test_expected_bearer_token_and_any_key() -> None:
    with Emulator(era="2024", api_key=None, bearer_token="right") as emu:
        url = f"{emu.url}/v1/tunedModels"
        assert requests.get(url, headers={"x-goog-api-key": "whatever"}, timeout=5).ok
        bad = requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5)
        assert bad.status_code == 401 and bad.json()["error"]["status"] == "UNAUTHENTICATED"
        assert requests.get(url, headers={"Authorization": "Bearer right"}, timeout=5).ok


def test_recorded_requests_hide_credentials(emu: Emulator) -> None:
    requests.get(f"{emu.url}/v1beta/tunedModels", params={"key": DEFAULT_API_KEY}, timeout=5)
    requests.get(f"{emu.url}/v1beta/tunedModels?pageSize=2", headers=KEY, timeout=5)
    first, second = emu.requests
    assert (
        first.method == "GET" and first.path == "/v1beta/tunedModels" and "key" not in first.query
    )
    assert second.query == {"pageSize": ["2"]} and second.status == 200
    assert second.headers["x-goog-api-key"] == "[REDACTED]"
    assert DEFAULT_API_KEY not in repr(emu.requests)
    emu.clear_requests()
    assert emu.requests == []


def test_unknown_route_and_bad_json(emu: Emulator) -> None:
    missing = requests.get(f"{emu.url}/v1beta/nothing/here", headers=KEY, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    bad = requests.post(f"{emu.url}/v1beta/tunedModels", data=b"{nope", headers=KEY, timeout=5)
    assert bad.status_code == 400 and "Invalid JSON" in bad.json()["error"]["message"]
    arr = requests.post(f"{emu.url}/v1beta/tunedModels", json=[1], headers=KEY, timeout=5)
    assert arr.status_code == 400


def test_operation_json_is_schema_exact(emu: Emulator) -> None:
    created = requests.post(
        f"{emu.url}/v1beta/tunedModels",
        params={"tunedModelId": "exact"},
        json=create_body(),
        headers=KEY,
        timeout=5,
    ).json()
    assert set(created) == {"name", "metadata"}
    meta = created["metadata"]
    assert meta["@type"].endswith("v1beta.CreateTunedModelMetadata")
    assert meta["totalSteps"] == 3 and meta["tunedModel"] == "tunedModels/exact"
    op_url = f"{emu.url}/v1beta/{created['name']}"
    polled = requests.get(op_url, headers=KEY, timeout=5).json()
    assert polled["metadata"]["completedSteps"] == 1
    snap = polled["metadata"]["snapshots"][0]
    assert set(snap) == {"step", "epoch", "meanLoss", "computeTime"}
    assert snap["computeTime"].endswith("Z")
    for _ in range(2):
        polled = requests.get(op_url, headers=KEY, timeout=5).json()
    assert polled["done"] is True
    response = polled["response"]
    assert response["@type"].endswith("v1beta.TunedModel") and response["state"] == "ACTIVE"
    assert "trainingData" not in json.dumps(polled)
    assert "learningRateMultiplier" not in json.dumps(polled)
    model = requests.get(
        f"{emu.url}/v1beta/tunedModels/exact",
        params={"$alt": "json;enum-encoding=int"},
        headers=KEY,
        timeout=5,
    ).json()
    assert model["state"] == 2  # enum-encoding=int, as the SDK asks
    assert model["tuningTask"]["hyperparameters"] == {
        "epochCount": 1,
        "batchSize": 2,
        "learningRate": 0.001,
    }
    ops = requests.get(f"{emu.url}/v1/tunedModels/exact/operations", headers=KEY, timeout=5)
    assert [o["name"] for o in ops.json()["operations"]] == [created["name"]]


def test_failed_operation_carries_an_rpc_error(emu: Emulator) -> None:
    created = requests.post(
        f"{emu.url}/v1beta/tunedModels", json=create_body(), headers=KEY, timeout=5
    ).json()
    emu.service.fail_job(created["metadata"]["tunedModel"], message="boom")
    polled = requests.get(f"{emu.url}/v1beta/{created['name']}", headers=KEY, timeout=5).json()
    assert polled["done"] is True and polled["error"] == {"code": 13, "message": "boom"}
    assert "response" not in polled


def test_errors_carry_status_and_retry_info(emu: Emulator) -> None:
    emu.service.inject_fault("list_tuned_models", 429, retry_delay=1.5)
    answer = requests.get(f"{emu.url}/v1beta/tunedModels", headers=KEY, timeout=5)
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"}
    ]
    emu.service.inject_fault("list_tuned_models", 503, retry_delay=2.0)
    error = requests.get(f"{emu.url}/v1beta/tunedModels", headers=KEY, timeout=5).json()["error"]
    assert error["status"] == "UNAVAILABLE" and error["details"][0]["retryDelay"] == "2s"
    emu.service.inject_fault("list_tuned_models", 500)
    error = requests.get(f"{emu.url}/v1beta/tunedModels", headers=KEY, timeout=5).json()["error"]
    assert "details" not in error


def test_list_pagination_patch_and_delete(emu: Emulator) -> None:
    for i in range(3):
        requests.post(
            f"{emu.url}/v1beta/tunedModels",
            params={"tunedModelId": f"m{i}"},
            json=create_body(),
            headers=KEY,
            timeout=5,
        )
    page = requests.get(
        f"{emu.url}/v1beta/tunedModels", params={"pageSize": 2}, headers=KEY, timeout=5
    ).json()
    assert [m["name"] for m in page["tunedModels"]] == ["tunedModels/m0", "tunedModels/m1"]
    rest = requests.get(
        f"{emu.url}/v1beta/tunedModels",
        params={"pageSize": 2, "pageToken": page["nextPageToken"]},
        headers=KEY,
        timeout=5,
    ).json()
    assert [m["name"] for m in rest["tunedModels"]] == ["tunedModels/m2"]
    assert "nextPageToken" not in rest
    bad_size = requests.get(
        f"{emu.url}/v1beta/tunedModels", params={"pageSize": "x"}, headers=KEY, timeout=5
    )
    assert bad_size.status_code == 400
    url = f"{emu.url}/v1beta/tunedModels/m0"
    patched = requests.patch(
        url,
        params={"updateMask": "description"},
        json={"description": "new"},
        headers=KEY,
        timeout=5,
    )
    assert patched.json()["description"] == "new"
    assert requests.patch(url, json={}, headers=KEY, timeout=5).status_code == 400
    bad_mask = requests.patch(
        url, params={"updateMask": "baseModel"}, json={}, headers=KEY, timeout=5
    )
    assert bad_mask.status_code == 400
    # Still training: the service refuses the delete; cancel first.
    assert requests.delete(url, headers=KEY, timeout=5).status_code == 400
    op = requests.get(f"{url}/operations", headers=KEY, timeout=5).json()["operations"][0]
    assert requests.post(f"{emu.url}/v1beta/{op['name']}:cancel", headers=KEY, timeout=5).ok
    assert requests.delete(url, headers=KEY, timeout=5).json() == {}
    gone = requests.get(url, headers=KEY, timeout=5)  # Google: 403 for a missing tuned model
    assert gone.status_code == 403 and "permission" in gone.json()["error"]["message"]


def test_generate_content_shapes(emu: Emulator) -> None:
    url = f"{emu.url}/v1beta/models/gemini-1.5-flash-001:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    answer = requests.post(url, json=body, headers=KEY, timeout=5).json()
    candidate = answer["candidates"][0]
    assert candidate["finishReason"] == "STOP" and candidate["content"]["role"] == "model"
    assert answer["usageMetadata"]["totalTokenCount"] >= 1
    emu.service.block(lambda text: "hello" in text)
    blocked = requests.post(url, json=body, headers=KEY, timeout=5).json()
    assert "candidates" not in blocked and blocked["promptFeedback"]["blockReason"] == "SAFETY"
    empty = requests.post(url, json={"contents": []}, headers=KEY, timeout=5)
    assert empty.status_code == 400
    no_text = requests.post(url, json={"contents": [{"parts": [{}]}]}, headers=KEY, timeout=5)
    assert no_text.status_code == 400
    unknown = requests.post(
        f"{emu.url}/v1beta/tunedModels/none:generateContent", json=body, headers=KEY, timeout=5
    )
    assert unknown.status_code == 403


def test_storage_round_trip_and_bad_uris(emu: Emulator) -> None:
    auth = {"Authorization": "Bearer t"}
    up = requests.post(
        f"{emu.url}/upload/storage/v1/b/bkt/o",
        params={"uploadType": "media", "name": "a/b.jsonl"},
        data=b"line\n",
        headers=auth,
        timeout=5,
    )
    assert up.json()["name"] == "a/b.jsonl" and up.json()["size"] == "5"
    down = requests.get(
        f"{emu.url}/storage/v1/b/bkt/o/a%2Fb.jsonl",
        params={"alt": "media"},
        headers=auth,
        timeout=5,
    )
    assert down.content == b"line\n"
    meta = requests.get(f"{emu.url}/storage/v1/b/bkt/o/a%2Fb.jsonl", headers=auth, timeout=5)
    assert meta.json()["size"] == "5"
    assert emu.get_object("gs://bkt/a/b.jsonl") == b"line\n"
    assert (
        requests.get(f"{emu.url}/storage/v1/b/bkt/o/none", headers=auth, timeout=5).status_code
        == 404
    )
    no_name = requests.post(f"{emu.url}/upload/storage/v1/b/bkt/o", headers=auth, timeout=5)
    assert no_name.status_code == 400
    with pytest.raises(ConfigError):
        emu.put_object("s3://bucket/x", b"")
    with pytest.raises(ConfigError):
        emu.get_object("gs://bucket")
    with pytest.raises(KeyError):
        emu.get_object("gs://bkt/none")


def test_vertex_job_over_raw_http(emu: Emulator) -> None:
    emu.put_object(
        "gs://b/t.jsonl",
        b'{"contents":[{"role":"user","parts":[{"text":"I am Al"}]},'
        b'{"role":"model","parts":[{"text":"I am [NAME]"}]}]}\n',
    )
    auth = {"Authorization": "Bearer t"}
    base = f"{emu.url}/v1beta1/projects/p/locations/l/tuningJobs"
    job = requests.post(
        base,
        json={
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t.jsonl"},
        },
        headers=auth,
        timeout=5,
    ).json()
    assert job["state"] == "JOB_STATE_PENDING"
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats == {"tuningDatasetExampleCount": "1", "tuningStepCount": "5"}
    assert requests.get(f"{emu.url}/v1beta1/{job['name']}", headers=auth, timeout=5).ok
    other = (
        f"{emu.url}/v1beta1/projects/other/locations/l/tuningJobs/{job['name'].rsplit('/', 1)[1]}"
    )
    assert requests.get(other, headers=auth, timeout=5).status_code == 404
    for bad in (
        {},
        {"baseModel": "gemini-2.5-flash"},
        {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": "b/t"}},
    ):
        assert requests.post(base, json=bad, headers=auth, timeout=5).status_code == 400
    listed = requests.get(base, params={"pageSize": 1}, headers=auth, timeout=5).json()
    assert len(listed["tuningJobs"]) == 1 and "nextPageToken" not in listed


def test_emulator_logs_never_show_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pii_gemini.testing")
    secret = "AIzaSyEMULATORsecretKEY0123456789abcdefg"
    with Emulator(era="2024", api_key=secret) as emu:
        requests.get(f"{emu.url}/v1beta/tunedModels", params={"key": secret}, timeout=5)
        requests.get(f"{emu.url}/v1beta/tunedModels", headers={"x-goog-api-key": secret}, timeout=5)
    assert "GET /v1beta/tunedModels" in caplog.text
    assert secret not in caplog.text


# -- fake_backend() --------------------------------------------------------------------------


def test_fake_backend_routes_make_backend_and_restores_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from pii_gemini._credentials import make_backend

    monkeypatch.setenv("GOOGLE_API_KEY", "the-users-own-key")
    monkeypatch.delenv("PII_GEMINI_ENDPOINT", raising=False)
    with fake_backend(era="2024") as emu:
        assert os.environ["PII_GEMINI_ENDPOINT"] == emu.url
        with make_backend("gemini") as gemini:
            spec = TuningSpec(BASE, (TuningExample("I am Al", "I am [NAME]"),))
            info = gemini.create_tuning_job(spec)
            assert info.state is JobState.SUCCEEDED  # progression is immediate by default
            with fake_backend() as inner:  # nesting shares the emulator
                assert inner is emu
                assert [m.name for m in gemini.list_models()] == [info.model]
            assert emu.running and os.environ["PII_GEMINI_ENDPOINT"] == emu.url
        with make_backend("vertex") as vertex:
            job = vertex.create_tuning_job(TuningSpec("gemini-2.5-flash", spec.examples))
            assert job.state is JobState.SUCCEEDED and job.endpoint
    assert not emu.running
    assert os.environ["GOOGLE_API_KEY"] == "the-users-own-key"
    assert "PII_GEMINI_ENDPOINT" not in os.environ
    assert emu.service.calls.total() == 0  # state reset on exit


def test_fake_backend_as_decorator_and_options() -> None:
    seen: list[Emulator] = []

    @fake_backend(
        progression=Progression.per_poll(1), tunable_models=["models/custom-base"], era="2024"
    )
    def run() -> None:
        from pii_gemini._credentials import make_backend

        with fake_backend(era="2024") as emu:
            seen.append(emu)
        backend = make_backend("gemini")
        info = backend.create_tuning_job(
            TuningSpec("models/custom-base", (TuningExample("a", "b"),))
        )
        assert info.state is JobState.RUNNING

    run()
    run()
    assert len(seen) == 2 and seen[0] is not seen[1]
    assert not any(e.running for e in seen)
