"""derivgen benchmark suite: generated modules against hand-written NumPy and math.

    python benchmarks/run.py            # full sizes (N = 1,000,000; chains of 1,000 and 5,000 steps)
    python benchmarks/run.py --quick    # smaller sizes, fewer rounds (under half a minute)
    python benchmarks/run.py --smoke    # tiny sizes, a few seconds: checks that everything runs

Prints the machine, then Markdown tables:

1-4. Time per call of derivgen's generated function and of hand-written baselines (in
     baselines.py) for the same workload, with ratios. Implementations are timed in interleaved
     rounds (round-robin, many repeats) and the median is reported. Before anything is timed,
     every baseline's value and gradients are checked against derivgen's (allclose): a wrong
     baseline stops the run. PyTorch and JAX columns appear when those packages import.
     "one pass" is the same generated module with its blocks switched off (3 and 4).
5.   Peak memory one value_and_grad call allocates beyond its inputs, in arrays of N float64,
     measured with tracemalloc in a fresh process per implementation.
6.   Time to generate a D-step chain, in a fresh process, with derivgen's import time apart.

Each row names its target and whether it is met. Targets are for the full sizes; with --quick
or --smoke the statuses are only indicative. The exit status is 0 whether or not targets are met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import _blas_threads  # noqa: F401  (first: sets the BLAS thread count before NumPy loads)
import baselines
import frameworks
import harness
import numpy as np
import workloads

HERE = Path(__file__).resolve().parent
COLUMNS = ("derivgen", "one pass", "hand math", "hand NumPy", "hand fused", "algebraic", "PyTorch", "JAX")
GENERATION_TARGETS = {1000: 2.0, 5000: 10.0}  # chain depth: seconds


@dataclass(frozen=True)
class Mode:
    name: str
    n: int                   # array size of workloads 2b, 3, 4 and 5
    rounds: int              # interleaved rounds per timed workload
    batch_seconds: float     # minimum length of one timed batch of calls
    depths: tuple[int, ...]  # chain depths of workload 6
    generation_repeats: int  # fresh processes per depth (median)


MODES = {
    "full": Mode("full", 1_000_000, 41, 0.02, (1000, 5000), 3),
    "quick": Mode("quick", 100_000, 11, 0.005, (200, 1000), 1),
    "smoke": Mode("smoke", 1_000, 3, 0.0005, (10, 20), 1),
}


@dataclass
class Timed:
    key: str
    label: str
    impls: dict[str, Callable]
    args: tuple
    target: tuple[str, float] | None = None  # (baseline column, largest ratio derivgen / it)
    samples: dict[str, list[float]] = field(default_factory=dict)


# --- machine ----------------------------------------------------------------------------

def machine_lines(mode: Mode, available: dict[str, str]) -> list[str]:
    import derivgen

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2**20:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"BLAS {blas.get('name', '?')} {blas.get('version', '')}".rstrip()
    except (KeyError, TypeError, AttributeError, ValueError):
        blas = "BLAS unknown"
    lines = [
        f"- CPU: {cpu}, {cores} cores ({usable} usable){memory}",
        f"- Load average at start: {load_average()}",
        (f"- Python {platform.python_version()} ({platform.python_implementation()}, "
         f"{platform.system()} {platform.release()}), NumPy {np.__version__} ({blas})"),
        f"- derivgen {derivgen.__version__}{git_description()}",
    ]
    threads = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                 "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                                                 "OPENBLAS_L2_SIZE") if k in os.environ]
    lines.append(f"- Threads: {' '.join(threads)} (one core per implementation unless overridden)")
    for name in ("PyTorch", "JAX"):
        lines.append(f"- {name}: {available[name]}" if name in available
                     else f"- {name}: not used (not installed, or --no-frameworks)")
    lines.append(f"- Mode: {mode.name} (N = {mode.n:,}, {mode.rounds} interleaved rounds per "
                 f"timed workload, batches of at least {mode.batch_seconds * 1000:g} ms)")
    return lines


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def git_description() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=workloads.REPO, check=False,
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "derivgen", "templates"],
                               cwd=workloads.REPO, capture_output=True, text=True, timeout=10,
                               check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    if head.returncode != 0:
        return ""
    note = ", with uncommitted compiler changes" if dirty.stdout.strip() else ""
    return f" (git {head.stdout.strip()}{note})"


# --- workloads 1-4: time per call --------------------------------------------------------

def timed_workloads(mode: Mode, only: set[str], available: dict[str, str]) -> list[Timed]:
    import derivgen

    fw = {name: frameworks.implementations(name) for name in available}

    def add_frameworks(row: Timed, key: str) -> Timed:
        for name, impls in fw.items():
            row.impls[name] = impls[key]
        return row

    rows: list[Timed] = []
    if "1" in only:
        square = derivgen.compile(workloads.SQUARE, wrt=["x"])
        for name, fn in (("hand math", baselines.square_value_math),
                         ("hand NumPy", baselines.square_value_numpy)):
            harness.check_same("x**2 forward", "derivgen", square.forward(3.0), name, fn(3.0))
        rows.append(add_frameworks(Timed(
            "1a", "x**2 backward, x = 3.0 (float)",
            {"derivgen": square.backward, "hand math": baselines.square_backward_math,
             "hand NumPy": baselines.square_backward_numpy}, (3.0,)), "square"))

        sin_square = derivgen.compile(workloads.SIN_SQUARE, wrt=["x"])
        for name, fn in (("hand math", baselines.sin_square_value_math),
                         ("hand NumPy", baselines.sin_square_value_numpy)):
            harness.check_same("sin(x**2) forward", "derivgen", sin_square.forward(4.0), name, fn(4.0))
        rows.append(add_frameworks(Timed(
            "1b", "sin(x**2) backward, x = 4.0 (float)",
            {"derivgen": sin_square.backward, "hand math": baselines.sin_square_backward_math,
             "hand NumPy": baselines.sin_square_backward_numpy}, (4.0,)), "sin_square"))

        seed = derivgen.compile(workloads.SEED_BCE_PATH.read_text(), function="loss", wrt=["w", "b"],
                                filename="examples/bce.py")
        rows.append(add_frameworks(Timed(
            "1c", "seed BCE value_and_grad, x = 6.7, y = 0, w = 1, b = 0 (floats)",
            {"derivgen": seed.value_and_grad, "hand math": baselines.bce_value_and_grad_math,
             "hand NumPy": baselines.bce_value_and_grad_numpy}, workloads.SEED_BCE_POINT,
            target=("hand math", 1.5)), "seed_bce"))
    if "2" in only:
        mean_square = derivgen.compile(workloads.MEAN_SQUARE, wrt=["x"])
        for key, n in (("2a", 3), ("2b", mode.n)):
            rows.append(add_frameworks(Timed(
                key, f"mean(x**2) value_and_grad, N = {n:,}",
                {"derivgen": mean_square.value_and_grad,
                 "hand NumPy": baselines.mean_square_value_and_grad},
                workloads.mean_square_inputs(n)), "mean_square"))
    if "3" in only:
        bce_mean = derivgen.compile(workloads.BCE_MEAN, function="loss", wrt=["w", "b"])
        rows.append(add_frameworks(Timed(
            "3", f"BCE mean value_and_grad, N = {mode.n:,}, grads w, b",
            {"derivgen": bce_mean.value_and_grad,
             "one pass": one_pass(derivgen.compile(workloads.BCE_MEAN, function="loss", wrt=["w", "b"])),
             "hand fused": baselines.bce_mean_fused, "algebraic": baselines.bce_mean_algebraic},
            # At most 1x the hand-fused version is required and 0.8x the goal: the row judges the goal.
            workloads.bce_mean_inputs(mode.n), target=("hand fused", 0.8)), "bce_mean"))
        small = min(mode.n, 1000)  # a mini-batch: where the cost of calls, not of arithmetic, shows
        rows.append(add_frameworks(Timed(
            "3s", f"BCE mean value_and_grad, N = {small:,}, grads w, b",
            {"derivgen": bce_mean.value_and_grad, "hand fused": baselines.bce_mean_fused,
             "algebraic": baselines.bce_mean_algebraic},
            workloads.bce_mean_inputs(small)), "bce_mean"))
    if "4" in only:
        elementwise = derivgen.compile(workloads.ELEMENTWISE, wrt=["a", "b"])
        rows.append(add_frameworks(Timed(
            "4", f"sum(sin(a)*exp(-b**2) + log1p(a**2)*b) value_and_grad, N = {mode.n:,}",
            {"derivgen": elementwise.value_and_grad,
             "one pass": one_pass(derivgen.compile(workloads.ELEMENTWISE, wrt=["a", "b"])),
             "hand fused": baselines.elementwise_fused},
            workloads.elementwise_inputs(mode.n), target=("hand fused", 1.0)), "elementwise"))
    return rows


def one_pass(module) -> Callable:
    """The module's value_and_grad with blocks switched off (one pass over the whole arrays):
    the "one pass" column shows what computing in blocks gains."""
    module._Blocks.size = 2**62
    return module.value_and_grad


def run_timed(rows: list[Timed], mode: Mode) -> None:
    for row in rows:
        reference = row.impls["derivgen"](*row.args)
        for name, fn in row.impls.items():
            if name != "derivgen":
                harness.check_same(f"workload {row.key}", "derivgen", reference, name, fn(*row.args))
        row.samples = harness.interleaved(row.impls, row.args, mode.rounds, mode.batch_seconds)
        print(f"  timed {row.key}", file=sys.stderr, flush=True)


def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def timed_table(rows: list[Timed]) -> list[list[str]]:
    columns = [c for c in COLUMNS if any(c in row.impls for row in rows)]
    table = [["Workload", *columns, "target", "status", "noise"]]
    for row in rows:
        med = {name: harness.median(s) for name, s in row.samples.items()}
        ratio = {name: harness.paired_ratio(row.samples["derivgen"], s) for name, s in row.samples.items()}
        cells = [f"{row.key} {row.label}"]
        for column in columns:
            if column not in med:
                cells.append("—")
            elif column == "derivgen":
                cells.append(format_time(med[column]))
            else:
                cells.append(f"{format_time(med[column])} ({format_ratio(ratio[column])})")
        if row.target:
            baseline, limit = row.target
            r = ratio[baseline]
            cells += [f"≤ {limit:g}x {baseline}", f"{verdict(r <= limit)} ({format_ratio(r)})"]
        else:
            cells += ["—", "—"]
        spreads = [harness.spread(s) for s in row.samples.values()]
        cells.append("—" if None in spreads else f"±{max(spreads) * 50:.0f}%")
        table.append(cells)
    return table


def format_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# --- workload 5: peak memory ---------------------------------------------------------------

def memory_rows(mode: Mode) -> tuple[list[list[str]], list[list[str]]]:
    """Peak memory per implementation, and page faults per call."""
    import derivgen

    programs = {
        "bce_mean": ("5a", f"BCE mean value_and_grad, N = {mode.n:,}",
                     derivgen.generate(workloads.BCE_MEAN, function="loss", wrt=["w", "b"]),
                     ("hand fused", "algebraic"), True),
        "elementwise": ("5b", f"sum(sin(a)*exp(-b**2) + log1p(a**2)*b) value_and_grad, N = {mode.n:,}",
                        derivgen.generate(workloads.ELEMENTWISE, wrt=["a", "b"]), ("hand fused",), False),
    }
    impls = ("derivgen", "hand fused", "algebraic")
    table = [["Workload", *impls, "target", "status"]]
    faults_table = [["Workload", *impls]]
    with tempfile.TemporaryDirectory() as tmp:
        for workload, (key, label, text, hands, has_target) in programs.items():
            module_file = Path(tmp) / f"{workload}.py"
            module_file.write_text(text)
            arrays, faults = {}, {}
            for impl in ("derivgen", *hands):
                extra = [str(module_file)] if impl == "derivgen" else []
                out = child("memory", workload, impl, str(mode.n), *extra)
                arrays[impl] = out["peak_bytes"] / (mode.n * 8)
                faults[impl] = out["faults_per_call"]
            cells = [f"{key} {label}"]
            cells += [f"{arrays[c]:.2f}" if c in arrays else "—" for c in impls]
            faults_table.append([f"{key} {label}"] + [
                "—" if faults.get(c) is None else f"{faults[c]:,.0f}" for c in impls])
            if has_target:
                cells += ["≤ hand fused + 1", verdict(arrays["derivgen"] <= arrays["hand fused"] + 1)]
            else:
                cells += ["—", "—"]
            table.append(cells)
            print(f"  measured {key}", file=sys.stderr, flush=True)
    return table, faults_table


# --- workload 6: generation time ------------------------------------------------------------

def generation_rows(mode: Mode) -> tuple[list[list[str]], str]:
    """The table, and a sentence on how lines, ops and time grow from the first depth to the last."""
    measured = []
    table = [["Workload", "generate", "(CPU)", "import derivgen", "lines", "lines / D", "ops", "ops / D",
              "target", "status"]]
    for key, depth in zip("abcdefgh", mode.depths):
        runs = [child("generate", str(depth)) for _ in range(mode.generation_repeats)]
        seconds = statistics.median(r["generate_s"] for r in runs)
        cpu = statistics.median(r["generate_cpu_s"] for r in runs)
        imported = statistics.median(r["import_s"] for r in runs)
        lines, ops = runs[0]["lines"], runs[0]["ops"]
        measured.append((depth, lines, ops, seconds))
        cells = [f"6{key} chain of D = {depth:,} steps", f"{seconds:.2f} s", f"{cpu:.2f} s",
                 f"{imported:.2f} s", f"{lines:,}", f"{lines / depth:.1f}", f"{ops:,}",
                 f"{ops / depth:.1f}"]
        limit = GENERATION_TARGETS.get(depth)
        if limit is None:
            cells += ["— (full sizes only)", "—"]
        else:
            cells += [f"< {limit:g} s", verdict(seconds < limit)]
        table.append(cells)
        print(f"  generated 6{key}", file=sys.stderr, flush=True)
    (d0, l0, o0, s0), (d1, l1, o1, s1) = measured[0], measured[-1]
    growth = (f"From D = {d0:,} to D = {d1:,} (x{d1 / d0:g}): lines x{l1 / l0:.2f}, ops x{o1 / o0:.2f}, "
              f"generation time x{s1 / s0:.2f}.")
    return table, growth


def child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "child.py"), *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child.py {' '.join(args)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- output ----------------------------------------------------------------------------------

def markdown(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2)
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(table[0]), rule, *(line(r) for r in table[1:])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds")
    size.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds, for the test suite")
    parser.add_argument("--no-frameworks", action="store_true",
                        help="leave out the PyTorch and JAX columns even when those packages import")
    parser.add_argument("--only", default="1,2,3,4,5,6",
                        help="comma-separated workload numbers to run (default: all)")
    args = parser.parse_args(argv)
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    only = set(args.only.replace(" ", "").split(","))

    started = time.perf_counter()
    available = {} if args.no_frameworks else frameworks.available()
    print(f"# derivgen benchmarks ({mode.name} run)\n")
    print("\n".join(machine_lines(mode, available)))
    if mode.name != "full":
        print(f"\nReduced sizes ({mode.name}): the targets are set for the full run, so these "
              "statuses are only indicative.")
    sys.stdout.flush()

    rows = timed_workloads(mode, only, available)
    if rows:
        run_timed(rows, mode)
        print("\n## Time per call (workloads 1-4)\n")
        print(markdown(timed_table(rows)))
        print("\nTimes: median over interleaved rounds. `(r x)`: derivgen's time divided by that "
              "implementation's (median of the per-round ratios), so above 1 derivgen is slower. "
              "noise: half the largest interquartile range in the row, relative to its median. "
              "1a-1c take Python floats (derivgen's scalar path), the others NumPy arrays.")
    if "5" in only:
        table, faults = memory_rows(mode)
        print("\n## Peak extra memory of one value_and_grad call (workload 5)\n")
        print(markdown(table))
        print(f"\nIn arrays of N float64 (N * 8 = {mode.n * 8:,} bytes), inputs excluded, outputs "
              "included; tracemalloc in a fresh process per implementation. PyTorch and JAX "
              "allocate outside tracemalloc's view and are not measured.")
        print("\nMinor page faults per call, steady state (same processes, 5 calls after a "
              "warm-up): memory the allocator returned to the system after one call and the next "
              "call touches afresh. Each costs time on top of the arithmetic.\n")
        print(markdown(faults))
    if "6" in only:
        table, growth = generation_rows(mode)
        print("\n## Generation time (workload 6)\n")
        print(markdown(table))
        print(f"\n{growth}")
        repeats = f"median of {mode.generation_repeats} fresh processes" \
            if mode.generation_repeats > 1 else "one fresh process"
        print(f"\n`derivgen.generate` of `x = sin(x) * x + cos(w * x)` repeated D times, wrt x, w; "
              f"{repeats}, derivgen's import timed apart. generate: wall-clock time, which the "
              "target is judged on; (CPU): the process's CPU time, less sensitive to other load. "
              "ops: the sum of the generated docstrings' `Cost: N operations.`")
    print(f"\nLoad average at end: {load_average()}; total {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
