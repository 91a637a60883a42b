"""Benchmark: preparing 200,000 ai4privacy rows for tuning.

Times, on the same synthetic rows:

* generation: ``synthetic.generate_rows`` (reported separately, not part of the comparison);
* ours: ``load_pii_dataset(df)`` (schema detection, offset validation of every span,
  normalisation) + ``PromptBuilder().build`` + ``train_test_split``;
* the seed notebook's formatter: ``df.apply(lambda r: f"...{r['unmasked_text']}...", axis=1)``
  plus ``df["output"] = df["masked_text"]`` (no validation at all).

Both pii-masking-200k schemas are measured: ``legacy`` (the seed's columns) and ``current``
(what Hugging Face serves today). Each timing is the best of ``--repeat`` runs, because a
shared 2-core machine is noisy; the load average is printed alongside.

    python benchmarks/bench_prepare.py [--rows 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from pii_gemini.dataset import PromptBuilder, load_pii_dataset, train_test_split
from pii_gemini.synthetic import generate_rows

SEED_PROMPT = "Given the information below, mask the personal identifiable information."


def seed_baseline(df: pd.DataFrame) -> pd.DataFrame:
    """The seed notebook's row-wise formatter, verbatim (on a copy)."""
    df = df.copy()
    df["text_input"] = df.apply(
        lambda r: f"{SEED_PROMPT}\n\nInput:\n{r['unmasked_text']}\n\nOutput:\n", axis=1
    )
    df["output"] = df["masked_text"]
    return df


def ours(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """load + validate + normalise, build prompts, split (seed's head/tail, 100 test rows)."""
    normalised = load_pii_dataset(df)
    examples = PromptBuilder().build(normalised)
    return train_test_split(examples, test_size=100)


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # not Linux
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n, repeat = args.rows, args.repeat
    print(f"{n:,} rows, best of {repeat}, {os.cpu_count()} CPUs, load average {load()}")

    for schema in ("legacy", "current"):
        start = time.perf_counter()
        rows = generate_rows(n, seed=0, schema=schema)
        first = time.perf_counter() - start
        again, _ = best_of(1, lambda s=schema: generate_rows(n, seed=0, schema=s))  # type: ignore[misc]
        spans = sum(map(len, load_pii_dataset(rows.head(2000))["privacy_mask"])) / min(n, 2000)
        print(f"\n[{schema}] generate_rows: {first:.2f} s "
              f"(Faker pools cached after: {again:.2f} s), {spans:.1f} spans/row")  # fmt: skip

        t_ours, (train, test) = best_of(repeat, lambda r=rows: ours(r))  # type: ignore[misc]
        assert len(train) == n - 100 and len(test) == 100
        print(f"[{schema}] ours (load+validate+build+split): {t_ours:.2f} s   "
              f"target < 2 s: {'met' if t_ours < 2 else 'NOT met'}")  # fmt: skip
        if schema == "legacy":
            t_seed, seeded = best_of(repeat, lambda r=rows: seed_baseline(r))  # type: ignore[misc]
            same = seeded["text_input"].tolist() == [
                *train["text_input"].tolist(),
                *test["text_input"].tolist(),
            ]
            print(f"[{schema}] seed df.apply formatter (no validation): {t_seed:.2f} s")
            print(f"[{schema}] ratio seed / ours: {t_seed / t_ours:.1f}x   same prompts: {same}")
    print(f"\nload average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
