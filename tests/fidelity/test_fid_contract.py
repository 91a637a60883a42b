"""Issue 14.7: the training contract (prompt template and target) is stored with the tuned
model and followed by Masker/``mask``; a mismatch is refused before any request.

Before the fix, ``prepare --target entity_lines``, ``tune`` and a plain ``mask`` marked
every row ok with the entity lines read as a masked text ("IPV4: [IPV4]...")."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pii_gemini import Masker, PromptBuilder, Tuner
from pii_gemini._exceptions import ConfigError
from pii_gemini.cli import main
from pii_gemini.synthetic import write_dataset
from pii_gemini.testing import Emulator, Progression


def _cli(*argv: str) -> int:
    return main(["-q", *argv])


def test_cli_prepare_tune_mask_follows_the_entity_lines_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    monkeypatch.setenv("PII_GEMINI_FAKE_SPEED", "0")
    monkeypatch.delenv("PII_GEMINI_BACKEND", raising=False)
    data = write_dataset(tmp_path / "data.jsonl", 120, seed=3)
    prepared = tmp_path / "prepared"
    assert _cli("prepare", str(data), "--out", str(prepared), "--target", "entity_lines",
                "--test-size", "20") == 0  # fmt: skip
    train = str(prepared / "train.jsonl")
    assert _cli("tune", train, "--epochs", "2", "--wait", "--poll-interval", "0") == 0
    model = next(
        line.split()[-1]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("model:")
    )
    card = json.loads((prepared / "model-card.json").read_text())
    assert card["model"] == model and card["contract"]["target"] == "entity_lines"
    out = tmp_path / "masked.jsonl"
    assert _cli("mask", str(prepared / "test.jsonl"), str(out), "--model", model) == 0
    rows = pd.read_json(out, lines=True, dtype=False)
    assert (rows["status"] == "ok").all()
    # Entity lines were read as entities and rendered into the text, not pasted as the text.
    assert not rows["masked_text"].str.contains(r"^[A-Z_]+: ", regex=True).any()
    refused = _cli("mask", str(prepared / "test.jsonl"), str(tmp_path / "x.jsonl"),
                   "--model", model, "--target", "masked_text")  # fmt: skip
    assert refused == 2 and "entity_lines" in capsys.readouterr().err


def test_vertex_stores_the_contract_and_masker_for_model_uses_it() -> None:
    builder = PromptBuilder(target="entity_lines", instruction="Find the personal data.")
    pairs = [(builder.format(f"I am Bob {i}."), "FIRSTNAME: Bob") for i in range(20)]
    with Emulator(progression=Progression.per_poll(50)) as emu, emu.vertex_backend() as backend:
        job = Tuner(backend, poll_interval=0).tune(pairs, prompt_builder=builder, description="x")
        model = job.wait(progress=False)
        body = emu.requests_to("/tuningJobs", "POST")[0].body
        assert body["description"].startswith("x\npii-gemini:")
        assert model.contract is not None and model.contract.target == "entity_lines"
        masker = Masker.for_model(backend, model.name)
        assert masker.target == "entity_lines"
        assert masker.prompt_builder.format("t") == builder.format("t")
        with pytest.raises(ConfigError, match="entity_lines"):
            Masker.for_model(backend, model.name, prompt_builder=PromptBuilder())


def test_the_vertex_recipe_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/backends.md "Tune and mask on Vertex today", steps 4-7, on the 2026 emulator."""
    from pii_gemini.testing import fake_backend

    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "data.jsonl", 150, seed=5)
    assert _cli("prepare", "data.jsonl", "--out", "prepared", "--target", "entity_lines",
                "--test-size", "20") == 0  # fmt: skip
    with fake_backend(progression=Progression.per_poll(100)) as emu:
        capsys.readouterr()
        assert _cli("--backend", "vertex", "tune", "prepared/train.jsonl", "--dry-run") == 0
        dry = capsys.readouterr().out
        assert "base model:  gemini-2.5-flash-lite (vertex)" in dry
        assert "price unknown" in dry and "$" in dry.splitlines()[-2]
        assert emu.requests_to("/tuningJobs") == []  # counted tokens, started nothing
        priced = _cli("--backend", "vertex", "tune", "prepared/train.jsonl", "--dry-run",
                      "--training-price", "1.5")  # fmt: skip
        assert priced == 0 and "training price" not in capsys.readouterr().out
        assert _cli("--backend", "vertex", "tune", "prepared/train.jsonl", "--wait",
                    "--poll-interval", "0") == 0  # fmt: skip
        model = json.loads((tmp_path / "prepared" / "model-card.json").read_text())["model"]
        assert "/models/" in model  # the card names the tuned model once the job succeeded
        assert _cli("--backend", "vertex", "mask", "prepared/test.jsonl", "out.jsonl",
                    "--model", model) == 0  # fmt: skip
        assert "estimated cost: masking:" in capsys.readouterr().out
