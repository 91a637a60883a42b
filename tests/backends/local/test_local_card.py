"""The local model card: JSON round trip, contract inference, data digest (no torch needed)."""

from __future__ import annotations

import datetime as _dt
import json

from pii_gemini._types import Hyperparameters, JobState, TrainingContract, TuningExample
from pii_gemini.backends._local_card import ModelCard, data_digest, infer_target


def test_card_round_trips_through_json() -> None:
    when = _dt.datetime(2026, 12, 1, 10, 30, tzinfo=_dt.timezone.utc)
    card = ModelCard(
        name="tunedModels/pii-1",
        job="tunedModels/pii-1/operations/tune",
        state=JobState.SUCCEEDED,
        base_model="google/gemma-3-270m-it",
        base_path="/models/gemma",
        hyperparameters=Hyperparameters(epoch_count=3, batch_size=2, learning_rate=0.0002),
        total_steps=150,
        train_examples=100,
        validation_examples=10,
        contract=TrainingContract("entity_lines", "{instruction}\n{input}\n", "Mask:", "ab12"),
        prompt_format="chat",
        target_modules=("q_proj", "v_proj"),
        final_train_loss=0.25,
        final_validation_loss=0.5,
        resumed_from=(50,),
        restarts=1,
        create_time=when,
        update_time=when,
        versions={"torch": "2.13.0"},
    )
    again = ModelCard.from_json(card.to_json())
    assert again == card
    data = json.loads(card.to_json())
    assert data["contract"] == {
        "target": "entity_lines",
        "template": "{instruction}\n{input}\n",
        "instruction": "Mask:",
        "token": "ab12",
        "inferred_target": None,
        "prompt_format": "chat",
    }
    without = ModelCard.from_json(card.replace(contract=None, inferred_target="entities").to_json())
    assert without.contract is None and without.inferred_target == "entities"
    assert data["final"] == {"train_loss": 0.25, "validation_loss": 0.5}
    assert data["data"]["train_examples"] == 100


def test_replace_moves_the_update_time() -> None:
    old = _dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc)
    card = ModelCard(
        name="tunedModels/a",
        job="tunedModels/a/operations/tune",
        state=JobState.RUNNING,
        base_model="b",
        base_path="/b",
        hyperparameters=Hyperparameters(),
        total_steps=1,
        train_examples=1,
        update_time=old,
    )
    done = card.replace(state=JobState.SUCCEEDED)
    assert done.state is JobState.SUCCEEDED
    assert done.update_time is not None and done.update_time > old


def test_infer_target_tells_the_three_answer_formats_apart() -> None:
    assert infer_target(["Dear [FIRSTNAME], call [PHONENUMBER].", "Hi."]) == "masked_text"
    assert infer_target(["FIRSTNAME: Ann\nPHONENUMBER: 555-0101", "NONE"]) == "entity_lines"
    assert infer_target(['[{"label": "FIRSTNAME", "value": "Ann"}]', "[]"]) == "entities"
    assert infer_target(["FIRSTNAME: Ann", "Dear [FIRSTNAME]"]) == "masked_text"  # mixed


def test_data_digest_tells_data_apart_and_ignores_nothing() -> None:
    a = [TuningExample("p1", "o1"), TuningExample("p2", "o2")]
    assert data_digest(a) == data_digest(list(a))
    assert data_digest(a) != data_digest(a[::-1])
    assert data_digest(a, []) != data_digest([], a)  # train vs validation
    assert data_digest([TuningExample("ab", "c")]) != data_digest([TuningExample("a", "bc")])
