"""Interleaved timing and result checks.

Each implementation of a workload is timed in batches of calls long enough to read the clock
reliably. Rounds go round-robin over the implementations (the order rotated each round, so none
always runs first), and the statistic is the median over rounds of the time per call. Noise from
other processes on the machine then hits every implementation alike instead of whichever one
happened to be running.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np


def _loop(fn: Callable, args: tuple, number: int) -> float:
    """Seconds for `number` calls of fn(*args); the arguments are spelled out for the common
    arities so that argument unpacking does not add to small scalar timings."""
    clock = time.perf_counter
    if len(args) == 1:
        (a,) = args
        start = clock()
        for _ in range(number):
            fn(a)
        return clock() - start
    if len(args) == 2:
        a, b = args
        start = clock()
        for _ in range(number):
            fn(a, b)
        return clock() - start
    if len(args) == 4:
        a, b, c, d = args
        start = clock()
        for _ in range(number):
            fn(a, b, c, d)
        return clock() - start
    start = clock()
    for _ in range(number):
        fn(*args)
    return clock() - start


def time_batch(fn: Callable, args: tuple, number: int) -> float:
    """Seconds per call, averaged over one batch of `number` calls, with the GC paused (as timeit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _loop(fn, args, number) / number
    finally:
        if enabled:
            gc.enable()


def calibrate(fn: Callable, args: tuple, batch_seconds: float) -> int:
    """The number of calls per batch that takes at least batch_seconds (at least 1)."""
    number = 1
    while True:
        per_call = time_batch(fn, args, number)
        if per_call * number >= batch_seconds or number >= 10**7:
            return number
        # Aim a little past the target from the latest estimate, at most 100x per step.
        number = max(number + 1, min(number * 100, int(batch_seconds * 1.2 / max(per_call, 1e-9))))


def interleaved(impls: dict[str, Callable], args: tuple, rounds: int,
                batch_seconds: float) -> dict[str, list[float]]:
    """{name: per-call seconds of each round}, the implementations run round-robin."""
    names = list(impls)
    numbers = {name: calibrate(impls[name], args, batch_seconds) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(time_batch(impls[name], args, numbers[name]))
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of numerator / denominator, each pair timed in the same round.

    Load from other processes drifts over seconds; a ratio of two neighbouring batches mostly
    cancels it, so this is steadier than the ratio of the two medians."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def spread(samples: Sequence[float]) -> float | None:
    """Interquartile range relative to the median: how noisy the measurement was."""
    if len(samples) < 4:
        return None
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / statistics.median(samples)


def flatten(result) -> list:
    """A result's numbers in order: (value, Gradients(g1, g2)) -> [value, g1, g2]."""
    if isinstance(result, (tuple, list)):
        out = []
        for item in result:
            out.extend(flatten(item))
        return out
    return [result]


class Mismatch(AssertionError):
    """A baseline (or framework) disagrees with derivgen: nothing is timed."""


def check_same(workload: str, reference_name: str, reference, name: str, result,
               rtol: float = 1e-8, atol: float = 1e-11) -> None:
    """Raise Mismatch unless `result` has the same numbers and shapes as `reference`."""
    want, got = flatten(reference), flatten(result)
    if len(want) != len(got):
        raise Mismatch(f"{workload}: {name} returns {len(got)} numbers/arrays, "
                       f"{reference_name} {len(want)}")
    for i, (a, b) in enumerate(zip(want, got)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise Mismatch(f"{workload}: output {i} of {name} has shape {b.shape}, "
                           f"{reference_name} {a.shape}")
        if not np.allclose(b, a, rtol=rtol, atol=atol):
            worst = float(np.max(np.abs(b - a)))
            raise Mismatch(f"{workload}: output {i} of {name} differs from {reference_name} "
                           f"(max abs difference {worst:.3g}); {name}={_preview(b)}, "
                           f"{reference_name}={_preview(a)}")


def _preview(a: np.ndarray) -> str:
    return repr(a.item()) if a.size == 1 else np.array2string(a.ravel()[:4], precision=6) + "..."
