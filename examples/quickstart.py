"""Quickstart: the whole "fine-tune Gemini to mask PII" workflow, end to end.

load -> prompts -> split 1900/100 -> tune (2 epochs, batch 4, lr 0.001) with a progress bar
-> loss plot PNG -> mask the test rows with the tuned and the untuned model -> metrics.

Offline by default: the fake backend and 2,000 Faker-generated rows in the ai4privacy
format (the project ships no ai4privacy rows). The same script runs against Google:

    python examples/quickstart.py                                   # fake backend, offline
    python examples/quickstart.py --data ai4privacy/pii-masking-200k --language en
    GOOGLE_CLOUD_PROJECT=p PII_GEMINI_GCS_URI=gs://bucket/pii \\
        python examples/quickstart.py --backend vertex              # gemini-2.5-flash-lite

Each backend gets its own defaults: the base model is the backend's
(``Backend.default_source_model``), and only the hyperparameters it sends
(``Backend.tuning_hyperparameters``) are passed: Vertex chooses its own batch size and
learning rate, so it gets the epochs only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pii_gemini
from pii_gemini import (
    Masker,
    PromptBuilder,
    Tuner,
    load_pii_dataset,
    make_backend,
    metrics,
    train_test_split,
)
from pii_gemini.synthetic import generate_rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="fake (default), gemini or vertex")
    parser.add_argument(
        "--data", default=None, help="HF dataset name or local file (default: generated rows)"
    )
    parser.add_argument("--language", default="en", help="keep rows of this language")
    parser.add_argument("--rows", type=int, default=2000, help="rows to use (seed: 2000)")
    parser.add_argument("--test-size", type=int, default=100, help="rows held out (seed: 100)")
    parser.add_argument(
        "--source-model", default=None, help="base model (default: the backend's default)"
    )
    parser.add_argument("--out", default="out/quickstart", help="folder for the PNGs and tables")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, metrics.EvaluationReport]:
    """Run the workflow; returns the tuned and untuned reports (for tests)."""
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. Data: any ai4privacy schema is normalised to source_text/target_text/privacy_mask.
    source = args.data if args.data else generate_rows(args.rows, seed=0)
    data = load_pii_dataset(source, language=args.language, limit=args.rows)
    print(f"loaded {len(data)} rows")

    # 2. Prompts with the seed's template, then the seed's head/tail split.
    builder = PromptBuilder()
    prompts = data.join(builder.build(data)[["text_input", "output"]])
    train, test = train_test_split(prompts, test_size=args.test_size, method="head_tail")
    print(f"train {len(train)} rows, test {len(test)} rows")

    # 3. Tuning, watched with a progress bar; the fake answers polls at once.
    backend = make_backend(args.backend)
    fake = isinstance(backend, pii_gemini.FakeBackend)
    tuner = Tuner(backend, poll_interval=0.0 if fake else 10.0)
    seed_settings = {"batch_size": 4, "learning_rate": 0.001}  # the seed's (Gemini API) values
    job = tuner.tune(
        train,
        source_model=args.source_model,  # None: the backend's default base model
        epoch_count=2,
        display_name="pii masker",
        **{k: v for k, v in seed_settings.items() if k in backend.tuning_hyperparameters},
    )
    print(f"tuning {job.model} from {job.base_model}: {job.total_steps} steps")
    model = job.wait(progress=True)
    if backend.reports_loss:
        print(job.loss_by_epoch().to_string(index=False))
        job.plot_loss(out / "loss.png")
        print(f"loss plot: {out / 'loss.png'}")
    else:  # Vertex keeps the loss in the Cloud console
        print(f"no loss plot: {backend.no_loss}")

    # 4. Masking the held-out rows with the tuned and the untuned model.
    reports = {}
    for name, model_name in (("tuned", model.name), ("untuned", job.base_model)):
        masker = Masker(backend, model_name, prompt_builder=builder)  # safety net on
        masked = masker.mask_dataframe(test, text_column="source_text")
        if masker.last_summary is not None:
            caught = masker.last_summary.safety_net_caught
            print(f"{name}: the safety net masked {caught} value(s) the model missed")
        predictions = masked["masked_text"].fillna("").tolist()
        # 5. Metrics against the gold spans of the dataset.
        reports[name] = metrics.evaluate(
            test["source_text"],
            predictions,
            references=test["target_text"],
            gold_spans=test["privacy_mask"],
            languages=test["language"],
            model=f"{name} ({model_name})",
        )
    reports["tuned"].plot_recall(out / "recall_by_label.png")
    (out / "report.md").write_text(reports["tuned"].to_markdown(), encoding="utf-8")

    rows = ["exact_match", "strict_f1", "lenient_recall", "leak_rate", "rows_with_leak_rate"]
    print("\n| metric | tuned | untuned |\n|---|---|---|")
    for key in rows:
        print(f"| {key} | {reports['tuned'][key]:.3f} | {reports['untuned'][key]:.3f} |")
    print(f"\nfull report: {out / 'report.md'}")
    return reports


if __name__ == "__main__":
    main()
    sys.exit(0)
