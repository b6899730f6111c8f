"""Long differential fuzzing runs of derivgen, in parallel.

    python tests/fuzz_main.py --count 20000 --jobs 2 --seed 7

generates ``--count`` random programs (tests/fuzzgen.py), checks each generated module against
the reference evaluator on every code path, shrinks the first program of each failure class and
prints a summary: programs run, checks, skipped samples by reason, failure classes with their
counts, and for each class the shrunk program, its inputs and a regression test to paste into
the suite. The exit status is 1 when anything failed. The same campaign (seed and count) gives
the same programs whatever ``--jobs`` is.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzzgen as G  # after the path to this directory

CHUNK = 25  # programs per task


def _run_chunk(task):
    seed, start, stop, input_sets = task
    return G.run_programs(seed, range(start, stop), input_sets=input_sets)


def _shrink(task):
    found, budget = task
    return G.shrink_found(found, budget)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="programs to generate (default 1000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--seed", type=int, default=None, help="campaign seed (default: a fresh one)")
    parser.add_argument("--input-sets", type=int, default=2, help="input sets per program (default 2)")
    parser.add_argument("--shrink-budget", type=float, default=30.0,
                        help="seconds to shrink each failure class (default 30; 0: do not shrink)")
    parser.add_argument("--output", help="also write the summary to this file")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    print(f"fuzzing {args.count} programs, seed {seed}, {args.jobs} jobs", file=sys.stderr, flush=True)
    start = time.monotonic()
    tasks = [(seed, i, min(i + CHUNK, args.count), args.input_sets) for i in range(0, args.count, CHUNK)]
    summary = G.Summary()
    with multiprocessing.Pool(args.jobs) as pool:
        for part in pool.imap_unordered(_run_chunk, tasks):
            summary.add(part)
            print(f"\r{summary.programs}/{args.count} programs, {len(summary.found)} failure classes",
                  end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if summary.found and args.shrink_budget > 0:
            keys = list(summary.found)
            shrunk = pool.map(_shrink, [(summary.found[k], args.shrink_budget) for k in keys], chunksize=1)
            for key, found in zip(keys, shrunk):
                found.count = summary.found[key].count
                summary.found[key] = found
    summary.seconds = time.monotonic() - start
    report = f"seed {seed}\n{summary.report()}"
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report + "\n")
    return 1 if summary.found else 0


if __name__ == "__main__":
    sys.exit(main())
