"""Measurements that need a fresh process; run.py starts one per measurement and reads its JSON.

    python benchmarks/child.py memory WORKLOAD IMPL N [MODULE_FILE]
        Peak memory that one value_and_grad call allocates beyond its inputs (tracemalloc,
        which sees NumPy's array buffers), in bytes, and minor page faults per call. IMPL
        "derivgen" loads the generated module from MODULE_FILE, so derivgen itself is not even
        imported.
    python benchmarks/child.py generate DEPTH
        Seconds to import derivgen and then to generate the DEPTH-step chain (wall clock and
        CPU), with the generated module's line count and operation count.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
import tracemalloc

import baselines
import workloads

MEMORY_WORKLOADS = {
    "bce_mean": (workloads.bce_mean_inputs,
                 {"hand fused": baselines.bce_mean_fused, "algebraic": baselines.bce_mean_algebraic}),
    "elementwise": (workloads.elementwise_inputs, {"hand fused": baselines.elementwise_fused}),
}


def load_module(path: str):
    spec = importlib.util.spec_from_file_location("benchmarked_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def memory(workload: str, impl: str, n: int, module_file: str | None) -> dict:
    make_inputs, hand = MEMORY_WORKLOADS[workload]
    fn = load_module(module_file).value_and_grad if impl == "derivgen" else hand[impl]
    args = make_inputs(n)
    fn(*args)  # first call outside the trace: one-time allocations are not the workload's
    faults = page_faults_per_call(fn, args)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = fn(*args)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return {"peak_bytes": peak - base, "result_bytes": current - base, "faults_per_call": faults}


def page_faults_per_call(fn, args, calls: int = 5) -> float | None:
    """Minor page faults per call in steady state: memory the allocator handed back to the
    system after the previous call and that this call touches afresh (None without `resource`)."""
    try:
        import resource
    except ImportError:
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn(*args)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def generate(depth: int) -> dict:
    start = time.perf_counter()
    import derivgen
    imported = time.perf_counter()
    source = workloads.chain_source(depth)
    begin, begin_cpu = time.perf_counter(), time.process_time()
    text = derivgen.generate(source, function="chain", wrt=["x", "w"])
    done, done_cpu = time.perf_counter(), time.process_time()
    ops = sum(int(m) for m in re.findall(r"Cost: (\d+) operations\.", text))
    return {"import_s": imported - start, "generate_s": done - begin,
            "generate_cpu_s": done_cpu - begin_cpu, "lines": len(text.splitlines()), "ops": ops}


def main(argv: list[str]) -> int:
    if argv[:1] == ["memory"] and len(argv) in (4, 5):
        out = memory(argv[1], argv[2], int(argv[3]), argv[4] if len(argv) == 5 else None)
    elif argv[:1] == ["generate"] and len(argv) == 2:
        out = generate(int(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
