"""Check the aligner's value shapes against the value forms of real ai4privacy rows.

A shape (``pii_gemini._shapes``) decides where adjacent placeholders split, and a split is
reported as certain when only one cut fits every shape: a shape that rejects a real value
form makes a wrong split look certain (issue 15: ``\\d{1,3}`` for AGE, whose real values are
mostly "88 years" or "34 years old"). This script runs every shape over every value of the
rows whose spans are known exactly and exits 1 on a single rejection.

Reads ../shared/data/ai4privacy-200k-en-dev.jsonl at run time (never copied; pass another
path as the first argument): ``privacy_mask_derived`` of the rows whose ``derivation`` is
"exact" (their spans follow from the masked text with no choice left).

Run: python benchmarks/check_shapes.py [path/to/ai4privacy-200k-en-dev.jsonl]
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
try:
    import pii_gemini
except ImportError:  # not installed: the checkout's sources
    sys.path.insert(0, str(ROOT))
    import pii_gemini

from pii_gemini._shapes import SHAPED_LABELS, shape_ok

DEFAULT = ROOT.parent / "shared" / "data" / "ai4privacy-200k-en-dev.jsonl"


def main(path: Path) -> int:
    df = pd.read_json(path, lines=True)
    exact = df[df["derivation"] == "exact"]
    values: defaultdict[str, list[str]] = defaultdict(list)
    for spans in exact["privacy_mask_derived"]:
        for span in spans:
            values[span["label"]].append(span["value"])
    print(f"pii_gemini {pii_gemini.__version__}: {len(exact)} exact rows of {len(df)} "
          f"({path.name}), {sum(map(len, values.values()))} values")  # fmt: skip
    print(f"\n{'label':22} {'values':>6} {'distinct':>8} {'rejected':>8}")
    failures = 0
    for label in sorted(SHAPED_LABELS & set(values)):
        vals = values[label]
        rejected = Counter(v for v in vals if not shape_ok(label, v))
        failures += sum(rejected.values())
        print(f"{label:22} {len(vals):6} {len(set(vals)):8} {sum(rejected.values()):8}")
        for value, count in rejected.most_common(5):  # value forms, for the maintainer
            print(f"    rejects {value!r} (x{count})")
    unshaped = sorted(set(values) - SHAPED_LABELS)
    untested = sorted(SHAPED_LABELS - set(values))
    print(f"\nlabels without a shape (any value fits): {', '.join(unshaped)}")
    print(f"shaped labels with no value in these rows: {', '.join(untested)}")
    print(f"\n{'FAIL' if failures else 'OK'}: {failures} real values rejected by their shape")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
