"""Mask a DataFrame with Dask: tune once in the driver, mask partitions on the workers.

Runs offline on the fake backend::

    python examples/dask_mask.py --rows 400 --partitions 4 --scheduler processes

The tuned fake model lives in the driver's in-memory service, so the backend factory
carries a snapshot of it (``FakeService.export_state()``) to the workers, which rebuild
the service once per process. With a real backend the factory would instead build a
``GeminiBackend``/``VertexBackend`` from credentials on the worker; nothing is pickled
but the factory itself. The API quota is per project: more partitions or workers than
the quota can serve gain nothing (see docs/scale.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd

from pii_gemini import metrics
from pii_gemini.backends._service import FakeService, Progression
from pii_gemini.backends.fake import FakeBackend
from pii_gemini.dataset import PromptBuilder, load_pii_dataset, train_test_split
from pii_gemini.distributed import make_mask_batch
from pii_gemini.synthetic import generate_rows
from pii_gemini.tuning import Tuner


class FakeBackendFactory:
    """Picklable: builds, on each worker, a FakeBackend holding the driver's tuned models."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __call__(self) -> FakeBackend:
        service = FakeService(progression=Progression.immediate())
        service.import_state(self.state)
        return FakeBackend(service=service)


def tune_in_driver(train: pd.DataFrame) -> tuple[str, FakeBackendFactory]:
    """Tune on the fake backend; return the tuned model and a factory that ships it."""
    backend = FakeBackend(progression=Progression.immediate())
    job = Tuner(backend, poll_interval=0).tune(train, epoch_count=2, batch_size=4)
    job.wait(progress=False)
    return job.model, FakeBackendFactory(backend.service.export_state())


def run(
    rows: int = 400, partitions: int = 4, scheduler: str = "threads", seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, str, FakeBackendFactory]:
    """Tune, then mask the test rows with Dask; returns (masked, test rows, model, factory)."""
    df = load_pii_dataset(generate_rows(rows, seed=seed))
    train, test = train_test_split(df, test_size=max(partitions, rows // 4), method="head_tail")
    model, factory = tune_in_driver(PromptBuilder().build(train))

    mask_partition = make_mask_batch(factory, model, text_column="source_text", concurrency=4)
    ddf = dd.from_pandas(test[["id", "source_text"]], npartitions=partitions)
    masked_ddf = ddf.map_partitions(mask_partition, meta=mask_partition.meta(ddf._meta))
    with dask.config.set(scheduler=scheduler):
        masked = masked_ddf.compute()
    return masked, test, model, factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--scheduler", choices=("threads", "processes", "synchronous"), default="processes"
    )
    args = parser.parse_args(argv)
    masked, test, model, _ = run(args.rows, args.partitions, args.scheduler)
    print(f"masked {len(masked)} rows in {args.partitions} partitions with {model}")
    print(masked["mask_status"].value_counts().to_string())
    report = metrics.evaluate(
        test["source_text"].tolist(),
        masked["masked_text"].fillna("").tolist(),
        gold_spans=test["privacy_mask"].tolist(),
    )
    print(f"strict span F1 {report['strict_f1']:.3f}, leaked values {report['leak_rate']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
