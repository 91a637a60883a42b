"""LocalBackend end to end on a tiny random Gemma: tune, card, reload, generate, mask, CLI.

One tuning run (module fixture) memorises four generated rows; the tests then read its
card, reload its adapter in a new backend, generate and mask with it. Training runs in a
thread here; test_local_jobs.py covers the worker process, crashes and cancel.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from _local_support import BUILDER

from pii_gemini import Masker, MaskStatus, Tuner, TuningJob
from pii_gemini._exceptions import InvalidRequestError, NotFoundError
from pii_gemini._types import (
    GenerationConfig,
    JobState,
    TunedModelInfo,
    TuningExample,
    TuningSpec,
)
from pii_gemini.backends.local import LocalBackend
from pii_gemini.cli import main as cli_main

EPOCHS = 100  # four rows, one batch a step: 100 steps memorise them


@dataclass(frozen=True)
class Tuned:
    backend: LocalBackend
    job: TuningJob
    model: TunedModelInfo
    train: pd.DataFrame
    progress: str


def _backend(models: Path, base: Path, **kwargs: object) -> LocalBackend:
    settings: dict[str, object] = {
        "models_dir": models,
        "base_model": str(base),
        "worker": "thread",
        "threads": 1,
        "lora_rank": 16,
        "lora_alpha": 32,
    }
    settings.update(kwargs)
    return LocalBackend(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, rows: pd.DataFrame) -> Tuned:
    backend = _backend(tmp_path_factory.mktemp("models"), tiny_base, checkpoint_every=25)
    train, held_out = rows.head(4), rows.tail(2)
    job = Tuner(backend, poll_interval=0.05).tune(
        train,
        model_id="pii-tiny",
        epoch_count=EPOCHS,
        batch_size=4,
        learning_rate=0.01,
        validation=held_out,
        prompt_builder=BUILDER,
    )
    bar = io.StringIO()
    model = job.wait(progress=True, file=bar, timeout=300)
    return Tuned(backend, job, model, train, bar.getvalue())


def test_tuning_lowers_the_loss_with_a_real_progress_bar(tuned: Tuned) -> None:
    assert tuned.model.state is JobState.SUCCEEDED
    assert tuned.model.name == "tunedModels/pii-tiny"
    assert tuned.job.name == "tunedModels/pii-tiny/operations/tune"
    frame = tuned.job.snapshots()
    assert frame["step"].tolist() == list(range(1, EPOCHS + 1))
    assert frame["mean_loss"].iloc[0] > 5.0
    assert frame["mean_loss"].iloc[-5:].max() < frame["mean_loss"].iloc[0] / 10
    assert "validation_loss" in frame.columns
    assert frame["validation_loss"].notna().all()  # one batch an epoch: measured every step
    assert f"{EPOCHS}/{EPOCHS}" in tuned.progress and "loss=" in tuned.progress


def test_the_card_records_the_training_contract(tuned: Tuned, tiny_base: Path) -> None:
    card = tuned.backend.model_card(tuned.model.name)
    assert card.base_model == str(tiny_base) == tuned.backend.default_source_model
    assert card.contract is not None and card.prompt_format == "chat"
    assert (card.contract.target, card.contract.template, card.contract.instruction) == (
        "entity_lines",
        BUILDER.template,
        BUILDER.instruction,
    )
    assert tuned.model.contract == card.contract and card.inferred_target is None
    hp = card.hyperparameters
    assert (hp.epoch_count, hp.batch_size, hp.learning_rate) == (EPOCHS, 4, 0.01)
    assert (card.lora_rank, card.lora_alpha, card.train_examples) == (16, 32, 4)
    assert card.validation_examples == 2 and card.total_steps == EPOCHS
    assert card.final_train_loss is not None and card.final_train_loss < 1.0
    assert card.final_validation_loss == tuned.job.snapshots()["validation_loss"].iloc[-1]
    assert card.device == "cpu" and card.dtype == "float32"
    assert {"torch", "transformers", "peft"} <= set(card.versions)
    folder = tuned.backend.models_dir / "pii-tiny"
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert not (folder / "data").exists() and not (folder / "checkpoints").exists()
    text = (folder / "card.json").read_text()
    assert json.loads(text)["data"]["train_examples"] == 4
    values = [span["value"] for spans in tuned.train["privacy_mask"] for span in spans]
    assert not [v for v in values if len(v) > 4 and v in text]  # sizes and a digest, no data


def test_the_adapter_reloads_in_a_new_backend(tuned: Tuned, tiny_base: Path) -> None:
    again = _backend(tuned.backend.models_dir, tiny_base)
    try:
        [listed] = again.list_models()
        assert listed.name == tuned.model.name and listed.state is JobState.SUCCEEDED
        assert listed.hyperparameters == tuned.model.hyperparameters
        assert listed.contract == tuned.model.contract
        for prompt, answer in zip(tuned.train["text_input"], tuned.train["output"], strict=True):
            generation = again.generate(tuned.model.name, prompt)
            assert generation.text == answer
            assert generation.finish_reason == "STOP"
    finally:
        again.close()


def test_generation_counts_tokens_and_stops_at_the_budget(tuned: Tuned, tiny_base: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    prompt, answer = tuned.train["text_input"].iloc[0], tuned.train["output"].iloc[0]
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    full = tuned.backend.generate(tuned.model.name, prompt)
    cut = tuned.backend.generate(tuned.model.name, prompt, GenerationConfig(max_output_tokens=3))
    assert full.text == answer and full.finish_reason == "STOP"
    assert full.prompt_tokens == len(tokenizer(chat, add_special_tokens=False)["input_ids"])
    assert full.output_tokens == len(tokenizer(answer, add_special_tokens=False)["input_ids"])
    assert cut.finish_reason == "MAX_TOKENS" and cut.output_tokens == 3
    assert answer.startswith(cut.text or "-") and cut.prompt_tokens == full.prompt_tokens
    assert tuned.backend.count_tokens(tuned.model.name, prompt) == full.prompt_tokens
    base = tuned.backend.generate(str(tiny_base), prompt)  # the untuned base
    assert base.prompt_tokens == full.prompt_tokens and base.text != answer


def test_the_masker_masks_through_it_in_batches(tuned: Tuned) -> None:
    masker = Masker.for_model(tuned.backend, tuned.model.name, concurrency=4)  # its contract
    assert masker.target == "entity_lines"
    before = len(tuned.backend._batcher.batch_sizes)
    results = masker.mask_many(list(tuned.train["source_text"]))
    assert [r.status for r in results] == [MaskStatus.OK] * 4
    assert [r.masked_text for r in results] == tuned.train["target_text"].tolist()
    sizes = tuned.backend._batcher.batch_sizes[before:]
    assert sum(sizes) == 4 and max(sizes) > 1  # concurrency 4 became batches


def test_models_list_and_status_on_the_command_line(
    tuned: Tuned,
    tiny_base: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PII_GEMINI_LOCAL_DIR", str(tuned.backend.models_dir))
    monkeypatch.setenv("PII_GEMINI_LOCAL_BASE_MODEL", str(tiny_base))
    assert cli_main(["models", "list", "--backend", "local"]) == 0
    assert "tunedModels/pii-tiny\tSUCCEEDED" in capsys.readouterr().out
    assert cli_main(["status", tuned.job.name, "--backend", "local"]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out and f"{EPOCHS}/{EPOCHS} steps" in out


def test_a_lost_create_is_found_by_its_client_token(tuned: Tuned) -> None:
    card = tuned.backend.model_card(tuned.model.name)
    assert card.contract is not None and card.contract.token
    rows = tuple(
        TuningExample(p, o)
        for p, o in zip(tuned.train["text_input"], tuned.train["output"], strict=True)
    )
    again = TuningSpec(card.base_model, rows, client_token=card.contract.token)
    found = tuned.backend.find_tuning_job(again)
    assert found is not None and found.name == tuned.job.name
    other = TuningSpec(card.base_model, rows, client_token="0123456789ab")
    assert tuned.backend.find_tuning_job(other) is None


def test_names_it_does_not_have_are_not_found(tuned: Tuned) -> None:
    with pytest.raises(NotFoundError, match="no local model or job tunedModels/nope"):
        tuned.backend.get_model("tunedModels/nope")
    with pytest.raises(NotFoundError):
        tuned.backend.get_tuning_job("tunedModels/nope/operations/tune")
    with pytest.raises(InvalidRequestError, match="base checkpoints only"):
        Tuner(tuned.backend).tune(tuned.train, source_model=tuned.model.name)
