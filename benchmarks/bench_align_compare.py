"""Align and evaluate throughput of this checkout against an earlier commit, taking turns.

bench_align.py measures one build against a difflib baseline; this script answers "did a
change make the evaluation hot path slower?". Each variant of pii_gemini runs in its own
worker process (two builds of one package cannot share a process, least of all two mypyc
builds), and the workers take turns: every round runs one timed pass of each task in each
worker, so a slow spell of the shared machine hits all of them alike, and the best pass of
each counts. Variants:

* ``base pure``: ``git archive BASE pii_gemini`` (default ``main``), pure Python;
* ``new pure``: this checkout's sources, pure Python;
* ``base compiled`` / ``new compiled``: the interpreters of venvs where the mypyc wheels of
  the two commits are installed (``--base-python`` / ``--new-python``), when given.

Reads ../shared/data/ai4privacy-200k-en-dev.jsonl at run time (never copied). Tasks: align
all rows' target_text and Llama 3 answers, and align+evaluate the "exact" rows' target_text
and Llama 3 answers against their spans (as bench_align.py does). CPU time, one core.

Run: python benchmarks/bench_align_compare.py [--base main] [--rounds 12]
         [--base-python VENV/bin/python] [--new-python VENV/bin/python] [--data PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "ai4privacy-200k-en-dev.jsonl"
REPEAT = 3  # passes over the rows per timed run
TASKS = ("align target", "align llama3", "evaluate target", "evaluate llama3")
TARGET_ROWS_PER_S = 20_000  # issue 4: align+evaluate on real answers, compiled build
PURE_FLOOR = 0.90  # issue 15: no more than 10% slower in pure Python


def _worker(data: Path) -> None:
    """Serve timed passes: read a task name per line on stdin, answer rows/s (CPU time)."""
    import pandas as pd

    import pii_gemini
    from pii_gemini import metrics
    from pii_gemini._align import align
    from pii_gemini._build import build_description

    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    df = pd.read_json(data, lines=True)
    ex = df[df["derivation"] == "exact"]
    src, gold = ex["source_text"].tolist() * REPEAT, ex["privacy_mask_derived"].tolist() * REPEAT
    pairs = {
        "align target": (df["source_text"].tolist() * REPEAT, df["target_text"].tolist() * REPEAT),
        "align llama3": (
            df["source_text"].tolist() * REPEAT,
            df["llama3_t0001_response"].tolist() * REPEAT,
        ),
    }
    answers = {
        "evaluate target": ex["target_text"].tolist() * REPEAT,
        "evaluate llama3": ex["llama3_t0001_response"].tolist() * REPEAT,
    }

    def run(task: str) -> int:
        if task in pairs:
            sources, masked = pairs[task]
            for s, m in zip(sources, masked, strict=True):
                align(s, m)
            return len(sources)
        metrics.evaluate(src, answers[task], gold_spans=gold)
        return len(src)

    for task in TASKS:  # warm up (regex caches, imports)
        run(task)
    where = Path(pii_gemini.__file__ or "").parent
    print(f"ready {build_description()} {where}", flush=True)
    for line in sys.stdin:
        task = line.strip()
        if task == "quit":
            break
        t0 = time.process_time()
        n = run(task)
        print(n / (time.process_time() - t0), flush=True)


class _Worker:
    def __init__(self, name: str, python: str, data: Path, pythonpath: str | None) -> None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if pythonpath is not None:
            env["PYTHONPATH"] = pythonpath
        self.name = name
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--worker", "--data", str(data)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=tempfile.gettempdir(),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.build = self.proc.stdout.readline().strip().removeprefix("ready ")

    def time(self, task: str) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(task + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _base_sources(ref: str, into: Path) -> str:
    """Extract ``pii_gemini/`` of commit ``ref`` into ``into``; returns its commit id."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    archive = into / "base.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), commit, "pii_gemini"], check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--base", default="main", help="commit to compare with (main)")
    parser.add_argument("--rounds", type=int, default=12, help="timed passes per variant")
    parser.add_argument("--base-python", help="python of a venv with BASE's mypyc wheel")
    parser.add_argument("--new-python", help="python of a venv with this checkout's mypyc wheel")
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.data)
        return 0
    if any(ROOT.joinpath("pii_gemini").glob("*.so")):
        raise SystemExit("compiled modules in the checkout would shadow its sources: delete them")
    with tempfile.TemporaryDirectory() as tmp:
        base = _base_sources(args.base, Path(tmp))
        specs: list[tuple[str, str, str | None]] = [
            (f"{base} pure", sys.executable, tmp),
            ("new pure", sys.executable, str(ROOT)),
        ]
        if args.base_python:
            specs.append((f"{base} compiled", args.base_python, None))
        if args.new_python:
            specs.append(("new compiled", args.new_python, None))
        workers = [_Worker(name, py, args.data, path) for name, py, path in specs]
        try:
            best: dict[tuple[str, str], float] = {}
            for r in range(args.rounds):
                turn = workers[r % len(workers) :] + workers[: r % len(workers)]
                for task in TASKS:
                    for w in turn:
                        rate = w.time(task)
                        best[w.name, task] = max(best.get((w.name, task), 0.0), rate)
        finally:
            for w in workers:
                w.close()
    _report(workers, best, base, args.rounds)
    return 0


def _report(workers: list[Any], best: dict[tuple[str, str], float], base: str, rounds: int) -> None:
    print(f"rows/s, CPU time on one core, best of {rounds} turns x {REPEAT} passes")
    for w in workers:
        print(f"  {w.name}: {w.build}")
    width = max(len(w.name) for w in workers)
    print(f"\n{'':{width}}  " + "  ".join(f"{t:>16}" for t in TASKS))
    for w in workers:
        print(f"{w.name:{width}}  " + "  ".join(f"{best[w.name, t]:16,.0f}" for t in TASKS))
    for kind in ("pure", "compiled"):
        old, new = f"{base} {kind}", f"new {kind}"
        if (old, TASKS[0]) in best and (new, TASKS[0]) in best:
            ratios = "  ".join(f"{best[new, t] / best[old, t]:16.2f}" for t in TASKS)
            print(f"{'new/base ' + kind:{width}}  {ratios}")
    pure = best["new pure", "evaluate llama3"] / best[f"{base} pure", "evaluate llama3"]
    verdict = "met" if pure >= PURE_FLOOR else "MISSED"
    print(f"\npure Python, evaluate llama3: {pure:.2f}x of {base} (floor {PURE_FLOOR}): {verdict}")
    if ("new compiled", TASKS[3]) in best:
        rate = best["new compiled", "evaluate llama3"]
        verdict = "met" if rate >= TARGET_ROWS_PER_S else "MISSED"
        print(f"compiled, evaluate llama3: {rate:,.0f} rows/s (target {TARGET_ROWS_PER_S:,}): "
              f"{verdict}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
