"""What the stability rewrites cost on ordinary inputs.

For each rewrite family, the same program is compiled twice: as derivgen ships it, and
with the rewrites switched off (the formula computed exactly as written). Both run
value_and_grad on N ordinary inputs (standard normal), interleaved round by round; the
table shows the median per-round ratio, rewritten / as written (above 1: the rewrite costs).

    python benchmarks/rewrites.py            # N = 1,000,000
    python benchmarks/rewrites.py --quick    # N = 100,000, fewer rounds
    python benchmarks/rewrites.py --only exp # the programs containing "exp"
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

import derivgen
from derivgen import compiler

FAMILIES = [
    "log(sigmoid(z))",
    "log(1 - sigmoid(z))",
    "log(1 + exp(z))",
    "log(exp(z) + exp(y))",
    "log(sum(exp(z)))",
    "1 / (1 + exp(-z))",
    "exp(z) / (exp(z) + exp(y))",
    "exp(z) / sum(exp(z))",
    "log(1 + z**2)",
    "exp(z) - 1",
    "sigmoid(z)",
    "tanh(z)",
    "-(y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))",
    "where(z > 0, sqrt(z), 0)",
]


@contextlib.contextmanager
def rewrites_off():
    """Compile without derivgen.optimize (for this comparison only)."""
    original = compiler.optimize
    compiler.optimize = lambda program: program
    try:
        yield
    finally:
        compiler.optimize = original


def timed(fn, args, min_seconds=0.02):
    calls, start = 0, time.perf_counter()
    while True:
        fn(*args)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 100,000 and 9 rounds")
    parser.add_argument("--only", metavar="TEXT", help="only the programs containing TEXT")
    options = parser.parse_args(argv)
    n, rounds = (100_000, 9) if options.quick else (1_000_000, 21)
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=n), rng.uniform(size=n)
    print(f"N = {n:,}, {rounds} interleaved rounds; ratio = rewritten / as written (median per round)")
    print(f"| {'program':58} | rewritten | as written | ratio |")
    print(f"|{'-' * 60}|----------:|-----------:|------:|")
    worst = 0.0
    for source in (f for f in FAMILIES if options.only is None or options.only in f):
        stable = derivgen.compile(source)
        with rewrites_off():
            naive = derivgen.compile(source)
        args = [z if name == "z" else y for name in stable.INPUTS]
        ratios, times_stable, times_naive = [], [], []
        with np.errstate(all="ignore"):
            for _ in range(rounds):
                a = timed(stable.value_and_grad, args)
                b = timed(naive.value_and_grad, args)
                times_stable.append(a)
                times_naive.append(b)
                ratios.append(a / b)
        ratio = statistics.median(ratios)
        worst = max(worst, ratio)
        print(f"| {source:58} | {statistics.median(times_stable) * 1e3:6.2f} ms | "
              f"{statistics.median(times_naive) * 1e3:7.2f} ms | {ratio:5.2f} |")
    print(f"worst ratio {worst:.2f} (target: at most 1.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
