"""`pii-gemini tune` refuses what cannot work before anything is uploaded or created.

Defects a new user hit (each reproduced on the emulator before the fix): a missing --card or
a prompts file without one gave the model an empty contract (an entity_lines model then
masked garbage with every row ok); --plot on Vertex failed only after the whole wait; an
unknown --source-model uploaded the data and failed with a 400 that did not name it;
Vertex ignored --batch-size/--learning-rate silently while the step count came from them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pii_gemini.cli import main
from pii_gemini.synthetic import write_dataset
from pii_gemini.testing import Emulator, fake_backend

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    monkeypatch.setenv("PII_GEMINI_FAKE_SPEED", "0")
    monkeypatch.delenv("PII_GEMINI_BACKEND", raising=False)
    capsys.readouterr()

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(["-q", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


@pytest.fixture
def lines(tmp_path: Path, cli: Cli) -> Path:
    """A prepared entity_lines train/test pair (with the card `prepare` writes)."""
    data = write_dataset(tmp_path / "data.jsonl", 100, seed=3)
    prepared = tmp_path / "prepared"
    code, _, err = cli("prepare", str(data), "--out", str(prepared), "--target",
                       "entity_lines", "--test-size", "20")  # fmt: skip
    assert code == 0, err
    return prepared


def _uploads_and_creates(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests if "/upload/" in r.path or "tuningJobs" in r.path]


def _field(out: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                if line.startswith(f"{name}:"))  # fmt: skip


# -- 1. the training contract ---------------------------------------------------------------


def test_missing_card_is_refused_before_anything_is_sent(
    cli: Cli, lines: Path, tmp_path: Path
) -> None:
    with fake_backend() as emu:
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                           "--card", str(tmp_path / "no" / "card.json"))  # fmt: skip
        assert code == 2
        assert "card.json" in err and "does not exist" in err
        assert _uploads_and_creates(emu) == []


def test_without_a_card_the_target_is_inferred_and_masking_follows_it(
    cli: Cli, lines: Path, tmp_path: Path
) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(lines / "train.jsonl", alone / "train.jsonl")  # no model card beside it
    code, out, err = cli("tune", str(alone / "train.jsonl"), "--epochs", "2", "--wait",
                         "--poll-interval", "0")  # fmt: skip
    assert code == 0, err
    assert "entity_lines" in err  # says what it inferred, and from what
    card = json.loads((alone / "model-card.json").read_text())
    assert card["contract"]["target"] == "entity_lines"
    out_file = tmp_path / "masked.jsonl"
    code, _, err = cli("mask", str(lines / "test.jsonl"), str(out_file), "--model",
                       _field(out, "model"))  # fmt: skip
    assert code == 0, err
    rows = pd.read_json(out_file, lines=True, dtype=False)
    # Read as entity lines and rendered into the text, not pasted as the masked text.
    assert not rows["masked_text"].str.contains(r"^[A-Z_]+: ", regex=True).any()


def test_a_prompts_file_of_no_known_shape_is_refused_naming_the_options(
    cli: Cli, tmp_path: Path
) -> None:
    train = tmp_path / "train.jsonl"
    rows = [{"text_input": f"Q{i}: mask Bob {i}", "output": f"[NAME] {i}"} for i in range(20)]
    rows += [{"text_input": "Q: x", "output": "NAME: Bob"}]  # a rewrite and an entity line
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = cli("tune", str(train), "--epochs", "1")
    assert code == 2
    assert "--card" in err and "--target" in err


def test_an_explicit_target_that_contradicts_the_outputs_is_refused(
    cli: Cli, lines: Path, tmp_path: Path
) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(lines / "train.jsonl", alone / "train.jsonl")
    code, _, err = cli("tune", str(alone / "train.jsonl"), "--target", "masked_text")
    assert code == 2 and "entity_lines" in err


# -- 2. --plot on a backend that reports no loss --------------------------------------------


def test_plot_on_vertex_is_refused_before_anything_is_sent(cli: Cli, lines: Path) -> None:
    with fake_backend() as emu:
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                           "--wait", "--plot", "loss.png")  # fmt: skip
        assert code == 2 and "loss" in err and "Vertex AI" in err
        assert _uploads_and_creates(emu) == []
        job = "projects/p/locations/us-central1/tuningJobs/1"
        code, _, err = cli("--backend", "vertex", "status", job, "--wait", "--plot", "l.png")
        assert code == 2 and "no training loss" in err
        assert emu.requests == []


# -- 3. the base model against the dated catalogue ------------------------------------------


def test_unknown_source_model_is_refused_before_upload_naming_it(cli: Cli, lines: Path) -> None:
    with fake_backend() as emu:
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                           "--source-model", "gemini-9-ultra")  # fmt: skip
        assert code == 2
        assert "gemini-9-ultra" in err and "gemini-2.5-flash-lite" in err
        assert "--allow-unlisted-model" in err
        assert _uploads_and_creates(emu) == []
        dry = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                  "--source-model", "gemini-9-ultra", "--dry-run")  # fmt: skip
        assert dry[0] == 2 and "gemini-9-ultra" in dry[2]


def test_allow_unlisted_model_sends_it_to_the_service(cli: Cli, lines: Path) -> None:
    with fake_backend(tunable_models=["models/gemini-9-ultra"]) as emu:
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                           "--source-model", "gemini-9-ultra",
                           "--allow-unlisted-model")  # fmt: skip
        # The service is the judge now: this emulator era does not tune it either.
        assert code == 1 and "gemini-9-ultra" in err
        assert any("tuningJobs" in p for p in _uploads_and_creates(emu))


# -- 4. Vertex decides the batch size and the learning rate ----------------------------------


def test_vertex_warns_about_batch_size_and_learning_rate_and_derives_no_steps(
    cli: Cli, lines: Path
) -> None:
    with fake_backend():
        code, out, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"),
                             "--batch-size", "16", "--learning-rate", "0.01")  # fmt: skip
    assert code == 0, err
    assert err.count("--batch-size") == 1 and "--learning-rate" in err
    assert "--learning-rate-multiplier" in err
    # ceil(80 / 16) * 2 = 10 is what the flags would give; Vertex reports its own count.
    assert _field(out, "total steps") != "10"
    assert "Vertex" in _field(out, "total steps")


def test_vertex_default_run_prints_no_hyperparameter_warning(cli: Cli, lines: Path) -> None:
    with fake_backend():
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"))
    assert code == 0, err
    assert "--batch-size" not in err


# -- 5. smaller messages ---------------------------------------------------------------------


def test_gemini_refusal_names_the_cli_flag_and_the_argument(cli: Cli, lines: Path) -> None:
    with fake_backend():
        code, _, err = cli("--backend", "gemini", "tune", str(lines / "train.jsonl"))
    assert code == 2
    assert "--source-model" in err and "source_model=" in err


@pytest.mark.parametrize("uri", ["s3://bucket/prefix", "gs:///prefix"])
def test_bad_gcs_uri_error_quotes_what_the_user_typed(
    cli: Cli, lines: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    with fake_backend():
        monkeypatch.setenv("PII_GEMINI_GCS_URI", uri)
        code, _, err = cli("--backend", "vertex", "tune", str(lines / "train.jsonl"))
    assert code == 2
    assert repr(uri) in err and "/x" not in err


def test_an_unknown_base_model_is_named_in_the_generate_error(
    cli: Cli, lines: Path, tmp_path: Path
) -> None:
    with fake_backend():
        code, _, err = cli("--backend", "vertex", "mask", str(lines / "test.jsonl"),
                           str(tmp_path / "out.jsonl"), "--model", "gemini-9-ultra")  # fmt: skip
    assert code == 1 and "gemini-9-ultra" in err


# -- the library: the same inference and refusals without the CLI ---------------------------


@pytest.mark.parametrize(
    ("outputs", "target"),
    [
        (["I am [FIRSTNAME].", "No PII here."], "masked_text"),
        (['[{"label":"FIRSTNAME","value":"Ann"}]', "[]"], "entities"),
        (["FIRSTNAME: Ann\nCITY: Rome", "NONE"], "entity_lines"),
        (["FIRSTNAME: Ann", "I am [FIRSTNAME]."], None),  # mixed: cannot tell
    ],
)
def test_infer_target(outputs: list[str], target: str | None) -> None:
    from pii_gemini._contract import infer_target

    assert infer_target(outputs) == target


def test_tuner_records_the_inferred_contract_and_vertex_steps_and_loss() -> None:
    from pii_gemini import PromptBuilder, Tuner
    from pii_gemini._exceptions import ConfigError
    from pii_gemini.testing import Progression

    builder = PromptBuilder(target="entity_lines")
    pairs = [(builder.format(f"I am Bob {i}."), "FIRSTNAME: Bob") for i in range(20)]
    with Emulator(progression=Progression.per_poll(50)) as emu, emu.vertex_backend() as backend:
        job = Tuner(backend, poll_interval=0).tune(pairs)  # no prompt_builder given
        assert job.contract is not None and job.contract.target == "entity_lines"
        assert job.contract.template == builder.template
        assert job.total_steps == job.info.total_steps  # the count Vertex reports
        job.wait(progress=False)
        with pytest.raises(ConfigError, match="no training loss"):
            job.plot_loss()


# -- the model card of an earlier tune ------------------------------------------------------


def test_a_card_naming_an_earlier_model_is_kept_not_overwritten_silently(
    cli: Cli, lines: Path
) -> None:
    """Tuning again from the same folder used to replace the first model's card without a
    word. The earlier card is kept beside it (and that is said); the new card keeps the
    prompt contract read from the card and records the new model."""
    card = lines / "model-card.json"
    train = str(lines / "train.jsonl")
    code, _, err = cli("tune", train, "--model-id", "first", "--epochs", "1")
    assert code == 0, err
    before = card.read_text()
    code, out, err = cli("tune", train, "--model-id", "second", "--epochs", "1")
    assert code == 0, err
    kept = lines / "model-card.first.json"
    assert f"recorded the tuned model tunedModels/first: kept as {kept}" in err
    assert kept.read_text() == before
    old, new = json.loads(before), json.loads(card.read_text())
    assert new["model"] == _field(out, "model") == "tunedModels/second"
    assert {k: v for k, v in new["contract"].items() if k != "token"} == {
        k: v for k, v in old["contract"].items() if k != "token"
    }
    code, _, err = cli("tune", train, "--model-id", "first-2", "--epochs", "1")
    assert code == 0 and (lines / "model-card.second.json").is_file(), err
    assert kept.read_text() == before  # an earlier copy is never replaced


def test_preparing_again_keeps_the_card_of_the_model_tuned_from_the_folder(
    cli: Cli, lines: Path, tmp_path: Path
) -> None:
    """`prepare` into a folder whose card records a tuned model used to reset it silently."""
    card = lines / "model-card.json"
    code, _, err = cli("tune", str(lines / "train.jsonl"), "--model-id", "tuned", "--epochs", "1")
    assert code == 0, err
    tuned = card.read_text()
    data = write_dataset(tmp_path / "again.jsonl", 60, seed=4)
    code, _, err = cli("prepare", str(data), "--out", str(lines), "--test-size", "10")
    assert code == 0, err
    assert "recorded the tuned model tunedModels/tuned: kept as" in err
    assert (lines / "model-card.tuned.json").read_text() == tuned
    assert json.loads(card.read_text())["model"] == ""  # the new data's card: no model yet
