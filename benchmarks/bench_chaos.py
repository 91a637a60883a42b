"""Chaos run of ``mask_file``: the real SDK against the emulator, faults, an outage, poison
rows and kill -9s, then one healthy resume. Checks the guarantees of docs/scale.md.

Run: ``python benchmarks/bench_chaos.py`` (20,000 rows, a 2-minute outage: about 15 minutes)
or e.g. ``--rows 4000 --outage 60 --rpm 2400`` for a shorter one.

* Service: ``pii_gemini.testing.Emulator`` over HTTP, driven by google-generativeai (REST)
  through ``GeminiBackend``; 20% of generateContent calls fail (429/503, seeded), and an
  outage (every call 503) starts once 35% of the rows are written and lasts ``--outage``
  seconds. The emulator's model answers as a perfect tuned model would (the gold
  ``target_text``), so what reaches the disk is the library's doing, not model misses.
* Data: synthetic ai4privacy rows (``pii_gemini.synthetic``, generated at run time), 1% of
  them poisoned: a lone surrogate (a cut emoji), placeholders of other rows (``[EMAIL_1]``,
  ``FIRSTNAME_2``), a byte-order mark inside the text, a NUL and other control characters.
* Runs: ``mask_file`` with the numbered operator and a vault log, in a child process that is
  killed with SIGKILL when 20%, 55% and 85% of the rows are written and restarted (after the
  outage if one is on); the circuit breaker stops a run in the outage. Then the faults are
  switched off and the job is resumed once.

It prints: rows written, duplicates, rows failed after the chaos and after the one resume
(must be 0), unmask mismatches (0), raw PII found anywhere on disk outside the vault and the
source (0), stray temp files, file modes, and the most requests seen in any rolling minute
(never above ``--rpm``; retries included).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pii_gemini.dataset import PromptBuilder
from pii_gemini.synthetic import generate_rows
from pii_gemini.testing import Emulator
from pii_gemini.vault import Vault

MODEL = "models/gemini-2.5-flash-lite"  # a base model the emulator serves today
FAULT_RATE = 0.2
KILL_AT = (0.20, 0.55, 0.85)  # share of rows written when a run is killed
OUTAGE_AT = 0.35  # share of rows written when the outage starts
POISON = (
    " \ud83d",  # half of a cut emoji: valid JSON, not a character
    " cc [EMAIL_1] and FIRSTNAME_2",  # placeholders as if from other rows
    " \ufeffquoted",  # a byte-order mark inside the text
    " a\x00b\x07c",  # NUL and a control character
)
_LONE = re.compile("[\ud800-\udfff]")

CHILD = """
import json, logging, sys
from pii_gemini import CircuitOpenError, QuotaExhaustedError
from pii_gemini.backends.gemini import GeminiBackend
from pii_gemini.masking import Masker

src, out, vault, url, key, rpm, workers = sys.argv[1:8]
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
backend = GeminiBackend(api_key=key, endpoint=url)
masker = Masker(backend, sys.argv[8], operator="numbered", concurrency=int(workers),
                requests_per_minute=float(rpm))
code = 0
try:
    summary = masker.mask_file(src, out, id_column="id", vault_path=vault, chunk_size=200,
                               progress=False)
    code = 4 if summary.left_failed else 0
except (CircuitOpenError, QuotaExhaustedError):
    summary, code = masker.last_summary, 4
print(json.dumps({"failed": summary.left_failed, "redone": summary.redone,
                  "stopped": summary.stopped, "done": summary.done,
                  "reasons": summary.failure_reasons}))
sys.exit(code)
"""


def make_data(n: int, seed: int) -> tuple[list[dict[str, Any]], list[str], list[list[str]]]:
    """Rows (id, source_text), the gold masked texts and each row's PII values."""
    frame = generate_rows(n, seed=seed)
    rows, targets, values = [], [], []
    for i, (src, tgt, mask) in enumerate(
        zip(frame["source_text"], frame["target_text"], frame["privacy_mask"], strict=True)
    ):
        if i % 100 == 37:  # 1% poison rows
            extra = POISON[(i // 100) % len(POISON)]
            src, tgt = src + extra, tgt + extra
        rows.append({"id": f"r{i}", "source_text": src})
        targets.append(tgt)
        values.append([span["value"] for span in mask])
    return rows, targets, values


def oracle(rows: list[dict[str, Any]], targets: list[str]) -> dict[str, str]:
    """Prompt -> the gold answer, for the prompts the Masker builds (lone surrogates are
    replaced by U+FFFD before the prompt, outer whitespace trimmed)."""
    builder = PromptBuilder()
    answers = {}
    for row, target in zip(rows, targets, strict=True):
        clean = _LONE.sub("\ufffd", row["source_text"]).strip()
        answers[builder.format(clean)] = _LONE.sub("\ufffd", target).strip()
    return answers


def install_oracle(
    emu: Emulator, answers: dict[str, str], calls: list[tuple[float, int]], run: Callable[[], int]
) -> None:
    """Answer like a perfect tuned model; note the time of every call (faults included) and
    the run that made it."""
    real = emu.service.generate_content
    lock = threading.Lock()

    def generate_content(model: str, prompt: str, **kwargs: Any) -> Any:
        with lock:
            calls.append((time.monotonic(), run()))
        record = real(model, prompt, **kwargs)
        gold = answers.get(prompt)
        return record if gold is None or record.text is None else replace(record, text=gold)

    emu.service.generate_content = generate_content  # type: ignore[method-assign]


def complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


class Chaos:
    """Runs the child until the job is done, killing it and breaking the service on cue."""

    def __init__(self, args: argparse.Namespace, emu: Emulator, work: Path, n: int) -> None:
        self.args, self.emu, self.work, self.n = args, emu, work, n
        self.src, self.out = work / "in.jsonl", work / "out" / "masked.jsonl"
        self.vault = work / "secrets" / "vault.jsonl"
        self.kills = self.stops = self.runs = 0
        self.outage_end: float | None = None
        self.outage_done = False
        self.last: dict[str, Any] = {}

    def child(self) -> subprocess.Popen[str]:
        self.runs += 1
        log = (self.work / "logs" / f"run{self.runs}.log").open("w")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        files = [str(self.src), str(self.out), str(self.vault)]
        service = [self.emu.url, self.emu.api_key or ""]
        limits = [str(self.args.rpm), str(self.args.concurrency), MODEL]
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *files, *service, *limits],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        return proc

    def outage(self, now: float) -> bool:
        """Start or end the outage as due; True while it is on."""
        due = self.outage_end is None and not self.outage_done
        if due and complete_lines(self.out) >= OUTAGE_AT * self.n:
            self.emu.service.set_fault_rate(1.0, codes=(503,), seed=2)
            self.outage_end = now + self.args.outage
        if self.outage_end is not None and now >= self.outage_end:
            self.emu.service.set_fault_rate(FAULT_RATE, codes=(429, 503), seed=3)
            self.outage_end, self.outage_done = None, True
        return self.outage_end is not None

    def run(self) -> None:
        """The chaos phase: until a run ends by itself with every row written."""
        due = list(KILL_AT)
        while True:
            proc = self.child()
            while proc.poll() is None:
                self.outage(time.monotonic())
                if due and complete_lines(self.out) >= due[0] * self.n:
                    due.pop(0)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    self.kills += 1
                    break
                time.sleep(0.02)
            else:
                out, _ = proc.communicate()
                self.last = json.loads(out) if out.strip() else {}
                if proc.returncode not in (0, 4):
                    raise SystemExit(f"child failed with {proc.returncode}: see {self.work}/logs")
                if not self.last.get("stopped"):
                    return  # every row has a line (some may have failed: resumed below)
                self.stops += 1
            while self.outage(time.monotonic()):  # restart once the service is back
                time.sleep(0.1)
            if proc.stdout is not None:
                proc.stdout.close()

    def resume_once(self) -> tuple[int, dict[str, Any]]:
        proc = self.child()
        out, _ = proc.communicate()
        return proc.returncode, json.loads(out)


def busiest_minute(times: list[float]) -> int:
    """The most calls in any interval of 60 s, as the service counts them."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


def busiest_within_a_run(calls: list[tuple[float, int]]) -> int:
    """The same, counting each run (process) on its own."""
    runs = {run for _, run in calls}
    return max((busiest_minute([t for t, r in calls if r == run]) for run in runs), default=0)


def pii_on_disk(work: Path, skip: set[Path], values: list[list[str]], targets: list[str]) -> int:
    """Occurrences of gold PII values in any file under ``work`` but the skipped ones.

    A value counts if it is unambiguous: at least 5 characters (7 for digits only, which
    row numbers and ids could match), found as a whole word, and in no gold masked text
    (so it is never legitimately visible). Found through a token index: a file is split into
    whitespace-separated tokens, and a value whose longest token is among them is then
    looked for whole.
    """
    visible = set(" ".join(targets).split())
    by_token: dict[str, set[str]] = {}
    for row in values:
        for value in row:
            token = max(value.split(), key=len, default="")
            short = len(value) < (7 if value.isdigit() else 5)
            if not short and token and token not in visible:
                by_token.setdefault(token, set()).add(value)
    strip = ".,;:!?()[]{}'\"<>"
    found = 0
    for path in work.rglob("*"):
        if not path.is_file() or path in skip:
            continue
        content = path.read_bytes().decode("utf-8", "replace")
        tokens = {t.strip(strip) for t in content.split()} | set(content.split())
        for token in tokens & by_token.keys():
            for value in by_token[token]:
                whole = rf"(?<![^\W_]){re.escape(value)}(?![^\W_])"
                found += len(re.findall(whole, content))
    return found


def unmask_mismatches(out: Path, vault_path: Path, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Rows whose masked text does not unmask (with its tokens) to the source; ok rows."""
    vault = Vault.load(vault_path)
    bad = ok = 0
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["status"] != "ok":
            continue
        ok += 1
        source = _LONE.sub("\ufffd", rows[record["row"]]["source_text"])
        text, tokens = record["masked_text"], record["tokens"]
        if vault.unmask(text, tokens=tokens, vault_id=record["vault"]) != source:
            bad += 1
    return bad, ok


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode)) if path.exists() else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--outage", type=float, default=120.0, help="seconds")
    parser.add_argument("--rpm", type=float, default=3000.0, help="requests per minute limit")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pii-gemini-chaos-"))
    for sub in ("out", "secrets", "logs"):
        (work / sub).mkdir()
    rows, targets, values = make_data(args.rows, args.seed)
    with (work / "in.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")  # ASCII escapes: the lone surrogates survive

    calls: list[tuple[float, int]] = []
    started = time.perf_counter()
    with Emulator() as emu:
        emu.service.set_fault_rate(FAULT_RATE, codes=(429, 503), seed=1)
        chaos = Chaos(args, emu, work, len(rows))
        install_oracle(emu, oracle(rows, targets), calls, lambda: chaos.runs)
        chaos.run()
        after_chaos = chaos.last
        emu.service.set_fault_rate(0.0)
        code, resumed = chaos.resume_once()
        emu.clear_requests()
    elapsed = time.perf_counter() - started

    out = chaos.out
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    seen = [r["row"] for r in lines]
    bad, ok = unmask_mismatches(out, chaos.vault, rows)
    leaked = pii_on_disk(work, {work / "in.jsonl", chaos.vault}, values, targets)
    temps = [p.name for p in work.rglob("*.tmp")]
    print(
        f"chaos run of mask_file: {len(rows)} rows ({len(rows) // 100} poisoned), "
        f"{FAULT_RATE:.0%} faults, a {args.outage:.0f} s outage, {chaos.kills} kill -9s, "
        f"{chaos.stops} breaker stops, {chaos.runs} runs, {elapsed / 60:.1f} min"
    )
    state = out.with_name(out.name + ".state")
    figures = {
        "rows written": f"{len(set(seen))} of {len(rows)}",
        "duplicate lines": len(seen) - len(set(seen)),
        "rows out of order": sum(a >= b for a, b in itertools.pairwise(seen)),
        "rows failed after the chaos": f"{after_chaos.get('failed')} "
        f"({after_chaos.get('reasons')})",
        "rows failed after one resume": f"{resumed['failed']} (exit code {code}, "
        f"{resumed['redone']} redone)",
        "unmask mismatches": f"{bad} of {ok} ok rows",
        "raw PII on disk outside vault/source": leaked,
        "stray temp files": len(temps),
        "modes": f"output {mode(out)}, state {mode(state)}, vault {mode(chaos.vault)}",
        "requests (retries included)": len(calls),
        "most requests in a rolling minute": f"{busiest_minute([t for t, _ in calls])} "
        f"(limit {args.rpm:.0f}); within one run: {busiest_within_a_run(calls)}",
    }
    for name, value in figures.items():
        print(f"{name + ':':37} {value}")
    if not args.keep:
        for path in sorted(work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        work.rmdir()
    else:
        print(f"work folder: {work}")


if __name__ == "__main__":
    main()
