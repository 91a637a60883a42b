"""The emulator is as strict as Google where a lax answer would hide a client bug.

Defects found before the fix: the tuning-jobs list dropped filter terms it did not know and
answered the unfiltered list (Google answers 400 INVALID_ARGUMENT), and ``Emulator.reset()``
left the batch prediction jobs of the previous test in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pii_gemini import Masker, Tuner
from pii_gemini.testing import Emulator, Progression

PAIRS = [(f"Mask: I am Bob {i}.", "I am [NAME].") for i in range(10)]


@pytest.mark.parametrize(
    "bad",
    [
        'colour="blue"',  # no such field
        'display_name="x"',  # a batch job's field; a TuningJob has none
        'state="JOB_STATE_SUCCEEDED" OR state="JOB_STATE_FAILED"',  # OR is not modelled
        "labels.",  # no key
    ],
)
def test_the_tuning_jobs_list_refuses_a_filter_it_cannot_apply(bad: str) -> None:
    with Emulator(progression=Progression.immediate()) as emu, emu.vertex_backend() as backend:
        job = Tuner(backend).tune(PAIRS)
        job.wait(progress=False)
        client = backend._client
        with pytest.raises(Exception) as info:
            list(client.tunings.list(config={"filter": bad}))
        assert getattr(info.value, "code", None) == 400
        assert "INVALID_ARGUMENT" in str(info.value)
        (create,) = emu.requests_to("/tuningJobs", "POST")
        token = create.body["labels"]["pii-gemini-token"]
        ok = f'labels.pii-gemini-token="{token}" AND state="JOB_STATE_SUCCEEDED"'
        assert [j.name for j in client.tunings.list(config={"filter": ok})] == [job.name]
        none = f'labels.pii-gemini-token="{token}" AND state!="JOB_STATE_SUCCEEDED"'
        assert list(client.tunings.list(config={"filter": none})) == []


def test_reset_forgets_batch_prediction_jobs(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"source_text": "Call Ann on 0123."}) + "\n", "utf-8")
    with Emulator(progression=Progression.immediate()) as emu, emu.vertex_backend() as backend:
        model = Tuner(backend).tune(PAIRS).wait(progress=False).name
        Masker(backend, model).mask_file(source, tmp_path / "out.jsonl", mode="batch",
                                         progress=False, poll_interval=0)  # fmt: skip
        client = backend._client
        (before,) = list(client.batches.list())
        emu.reset()
        assert list(client.batches.list()) == []
        with pytest.raises(Exception) as info:
            client.batches.get(name=before.name)
        assert getattr(info.value, "code", None) == 404
