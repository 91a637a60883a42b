"""How much of what real Llama 3 outputs leaked does the deterministic safety net catch?

Reads ../shared/data/ai4privacy-200k-en-dev.jsonl at run time (never copied): 1,000 real
ai4privacy-200k rows with a real zero-shot Llama 3 answer each. A gold PII value
(``privacy_mask_derived``) "leaked" when it is still verbatim in the answer. The safety net
runs over the answer; a leak is caught when a detector span covers one occurrence of it.

Compared, in the same process, with a naive baseline: every detector's regex without any
validation (no checksums, ranges, calendars or cue words; a loose phone regex).

    python benchmarks/bench_safety_net.py [path/to/ai4privacy-200k-en-dev.jsonl]
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from pii_gemini._types import Span
from pii_gemini.detectors import SafetyNet, resolve_overlaps

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ai4privacy-200k-en-dev.jsonl"
COVERED = {  # gold labels some detector is meant to find
    "EMAIL", "URL", "IP", "IPV4", "IPV6", "MAC", "IBAN", "CREDITCARDNUMBER", "PHONENUMBER",
    "BITCOINADDRESS", "ETHEREUMADDRESS", "VEHICLEVIN", "SSN", "DOB",
}  # fmt: skip
REPEATS = 3  # timing: best of N passes


def load(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out, pos = [], text.find(value)
    while pos >= 0:
        out.append((pos, pos + len(value)))
        pos = text.find(value, pos + 1)
    return out


def covered(spans: Iterable[Span], occ: list[tuple[int, int]]) -> bool:
    return any(s.start <= a and b <= s.end for s in spans for a, b in occ)


def naive_scan(net: SafetyNet) -> Callable[[str], tuple[Span, ...]]:
    def scan(text: str) -> tuple[Span, ...]:
        return resolve_overlaps(s for d in net.detectors for s in d.candidates(text))

    return scan


def evaluate(
    rows: list[dict[str, object]], scan: Callable[[str], tuple[Span, ...]], field: str
) -> tuple[Counter[str], Counter[str], int, int]:
    """(values per label, caught per label, spans found, spans touching no gold value)."""
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    n_spans = stray = 0
    for row in rows:
        text = str(row[field] or "")
        spans = scan(text)
        golds = {(str(g["label"]), str(g["value"])) for g in row["privacy_mask_derived"]}  # type: ignore[attr-defined]
        gold_occ = []
        for label, value in sorted(golds):
            occ = occurrences(text, value) if value else []
            if not occ:
                continue  # not leaked (output) / not present (source)
            gold_occ += occ
            total[label] += 1
            caught[label] += covered(spans, occ)
        n_spans += len(spans)
        stray += sum(not any(s.start < b and a < s.end for a, b in gold_occ) for s in spans)
    return total, caught, n_spans, stray


def share(c: int, t: int) -> str:
    return f"{c:>4}/{t:<4} {100 * c / t:5.1f}%" if t else f"{c:>4}/{t:<4}   n/a"


def report(title: str, rows: list[dict[str, object]], field: str, net: SafetyNet) -> None:
    t_net, c_net, n_net, s_net = evaluate(rows, net.scan, field)
    t_nv, c_nv, n_nv, s_nv = evaluate(rows, naive_scan(net), field)
    print(f"\n## {title}")
    print(f"{'label':<18} {'safety net':>16} {'naive regex':>16}")
    for label in sorted(COVERED):
        if t_net[label]:
            print(f"{label:<18} {share(c_net[label], t_net[label]):>16} "
                  f"{share(c_nv[label], t_nv[label]):>16}")  # fmt: skip
    cov_t = sum(t_net[lb] for lb in COVERED)
    print(f"{'covered labels':<18} {share(sum(c_net[lb] for lb in COVERED), cov_t):>16} "
          f"{share(sum(c_nv[lb] for lb in COVERED), cov_t):>16}")  # fmt: skip
    print(f"{'all labels':<18} {share(sum(c_net.values()), sum(t_net.values())):>16} "
          f"{share(sum(c_nv.values()), sum(t_nv.values())):>16}")  # fmt: skip
    print(
        f"spans reported: net {n_net} ({s_net} touch no gold value), "
        f"naive {n_nv} ({s_nv} touch no gold value)"
    )


def throughput(rows: list[dict[str, object]], scan: Callable[[str], object]) -> float:
    texts = [str(r["llama3_t0001_response"] or "") for r in rows]
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for text in texts:
            scan(text)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DATA
    if not path.exists():
        print(f"data file not found: {path}", file=sys.stderr)
        return 1
    rows = load(path)
    net = SafetyNet()
    print(f"# safety net on {len(rows)} real ai4privacy-200k rows ({path.name})")
    report("leaked by Llama 3 (gold value verbatim in its answer), caught in the answer",
           rows, "llama3_t0001_response", net)  # fmt: skip
    report("context: gold values found in the source text itself", rows, "source_text", net)
    fast = SafetyNet([d for d in net.detectors if d.name != "phone"])
    print("\n## throughput over the Llama 3 answers (best of 3)")
    r_net, r_naive, r_fast = throughput(rows, net.scan), throughput(rows, naive_scan(net)), 0.0
    r_fast = throughput(rows, fast.scan)
    print(f"safety net (13 detectors): {r_net:8.0f} rows/s")
    print(f"  without phone detector:  {r_fast:8.0f} rows/s")
    print(f"naive regex baseline:      {r_naive:8.0f} rows/s")
    print(f"ratio safety net / naive:  {r_net / r_naive:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
