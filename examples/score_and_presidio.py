"""Score a tuned model three ways, then drop it into a Presidio AnalyzerEngine.

Tunes the fake backend on generated rows in four languages, masks the held-out rows and
scores them: span level (strict and lenient), nervaluate's four schemes over IOB2 tokens,
and character level (label-agnostic, what PIIMB-style figures quote), per language too.
Then the same tuned model answers Presidio as a recognizer. Offline; Presidio is optional
(``pip install -e ".[presidio]"``), seqeval too.

    python examples/score_and_presidio.py
"""

from __future__ import annotations

import argparse
from typing import Any

from pii_gemini import (
    FakeBackend,
    Masker,
    PromptBuilder,
    Tuner,
    load_pii_dataset,
    metrics,
    train_test_split,
)
from pii_gemini.synthetic import generate_rows


def tuned_masker(rows: int, test_size: int) -> tuple[Masker, Any]:
    """A Masker over a fake model tuned on generated en/fr/de/it rows, and the test rows."""
    data = load_pii_dataset(generate_rows(rows, seed=1, languages=("en", "fr", "de", "it")))
    builder = PromptBuilder()
    prompts = data.join(builder.build(data)[["text_input", "output"]])
    train, test = train_test_split(prompts, test_size=test_size)
    backend = FakeBackend()
    model = Tuner(backend, poll_interval=0).tune(train, epoch_count=2).wait(progress=False)
    return Masker(backend, model.name, prompt_builder=builder), test


def score(masker: Masker, test: Any) -> metrics.EvaluationReport:
    """The three views of one evaluation, printed."""
    masked = masker.mask_dataframe(test)
    report = metrics.evaluate(
        test["source_text"],
        masked["masked_text"],
        gold_spans=test["privacy_mask"],
        languages=test["language"],
        model=masker.model,
    )
    print(f"span:  strict F1 {report.strict.f1:.3f}, lenient F1 {report.lenient.f1:.3f}")
    print(report.ner_schemes()[["correct", "incorrect", "partial", "missed", "spurious", "f1"]])
    print(f"char:  P {report.char.precision:.3f}  R {report.char.recall:.3f}  "
          f"F1 {report.char.f1:.3f}")  # fmt: skip
    print(report.per_language[["language", "n_rows", "strict_f1", "char_f1", "leak_rate"]])
    try:
        from seqeval.metrics import f1_score
    except ImportError:
        return report
    tags = report.iob2()
    print(f"seqeval F1 {f1_score(tags.gold, tags.pred):.3f} = {report.iob2_scores().f1:.3f}")
    return report


def presidio(masker: Masker, text: str) -> list[Any] | None:
    """The tuned model as a recognizer in a Presidio AnalyzerEngine (None without Presidio)."""
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except ImportError:
        print("presidio-analyzer is not installed: pip install -e '.[presidio]'")
        return None
    from pii_gemini.presidio import GeminiRecognizer

    # AnalyzerEngine() with its defaults loads a spaCy model; this one needs none
    registry = RecognizerRegistry(supported_languages=["en"])
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine([{"lang_code": "en", "model_name": "none"}]),
        supported_languages=["en"],
    )
    analyzer.registry.add_recognizer(GeminiRecognizer(masker))
    results: list[Any] = analyzer.analyze(text, language="en")
    for r in results:
        print(f"presidio: {r.entity_type} {r.start}-{r.end} score {r.score}")
    return results


def main(argv: list[str] | None = None) -> tuple[metrics.EvaluationReport, list[Any] | None]:
    """Tune, score three ways, analyze one test text with Presidio; returns both (tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--test-size", type=int, default=100)
    args = parser.parse_args(argv)
    masker, test = tuned_masker(args.rows, args.test_size)
    report = score(masker, test)
    return report, presidio(masker, test["source_text"].iloc[0])


if __name__ == "__main__":
    main()
