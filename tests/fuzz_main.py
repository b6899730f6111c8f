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
PARTIAL_EVERY = 300.0  # seconds between partial summaries written to --output


def _run_chunk(task):
    seed, start, stop, input_sets, program_timeout = task
    return G.run_programs(seed, range(start, stop), input_sets=input_sets, program_timeout=program_timeout)


def _shrink(task):
    found, budget = task
    try:
        with G.time_limit(3 * budget + 60):  # one check of the shrinker may be the slow program
            return G.shrink_found(found, budget)
    except G.ProgramTimeout:
        return found


def _write(path, text):
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")


def _lost(task, key: str, why: str):
    """A chunk that gave no result, as a failure class of its own."""
    lost = G.Summary(programs=task[2] - task[1])
    lost.found[key] = G.Found(key, None, None, G.Failure(key, f"programs {task[1]}-{task[2] - 1}: {why}"))
    return lost


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="programs to generate (default 1000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--seed", type=int, default=None, help="campaign seed (default: a fresh one)")
    parser.add_argument("--input-sets", type=int, default=2, help="input sets per program (default 2)")
    parser.add_argument("--shrink-budget", type=float, default=30.0,
                        help="seconds to shrink each failure class (default 30; 0: do not shrink)")
    parser.add_argument("--program-timeout", type=float, default=60.0,
                        help="seconds one input set of one program may take (default 60): longer is a "
                             "failure of class timeout, and the run goes on")
    parser.add_argument("--output", help="also write the summary to this file (a partial one every "
                                         f"{PARTIAL_EVERY:.0f} s while the run goes on)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    print(f"fuzzing {args.count} programs, seed {seed}, {args.jobs} jobs", file=sys.stderr, flush=True)
    start = time.monotonic()
    tasks = [(seed, i, min(i + CHUNK, args.count), args.input_sets, args.program_timeout)
             for i in range(0, args.count, CHUNK)]
    # No chunk finished for this long: the oldest ones running are given up (a worker that
    # died loses its chunk; one stuck where the time limit cannot reach it keeps it).
    stall_limit = CHUNK * args.input_sets * args.program_timeout + 60
    summary = G.Summary()
    pool = multiprocessing.Pool(args.jobs)
    interrupted = False
    try:
        pending = {i: (pool.apply_async(_run_chunk, (task,)), task) for i, task in enumerate(tasks)}
        last_progress = last_partial = time.monotonic()
        while pending:
            time.sleep(0.2)
            now = time.monotonic()
            for i, (result, task) in list(pending.items()):
                if result.ready():
                    del pending[i]
                    last_progress = now
                    try:
                        summary.add(result.get())
                    except Exception as exc:  # noqa: BLE001 - a worker's crash is a finding, not the end
                        summary.add(_lost(task, "crash:worker", f"{type(exc).__name__}: {exc}"))
            if pending and now - last_progress > stall_limit:
                for i in sorted(pending)[:args.jobs]:
                    _, task = pending.pop(i)
                    summary.add(_lost(task, "timeout:chunk", f"no result in {stall_limit:g} s"))
                last_progress = now
            print(f"\r{summary.programs}/{args.count} programs, {len(summary.found)} failure classes",
                  end="", file=sys.stderr, flush=True)
            if args.output and now - last_partial > PARTIAL_EVERY:
                summary.seconds = now - start
                _write(args.output, f"seed {seed} (partial: the run goes on)\n{summary.report()}")
                last_partial = now
        print(file=sys.stderr)
        shrinkable = [k for k in summary.found if summary.found[k].program is not None
                      and not k.startswith("timeout:")]
        if shrinkable and args.shrink_budget > 0:
            shrunk = pool.map(_shrink, [(summary.found[k], args.shrink_budget) for k in shrinkable], chunksize=1)
            for key, found in zip(shrinkable, shrunk):
                found.count, found.indices = summary.found[key].count, summary.found[key].indices
                summary.found[key] = found
    except KeyboardInterrupt:
        interrupted = True
    finally:
        pool.terminate()
        pool.join()
    summary.seconds = time.monotonic() - start
    report = f"seed {seed}{' (interrupted)' if interrupted else ''}\n{summary.report()}"
    print(report)
    _write(args.output, report)
    return 1 if summary.found or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
