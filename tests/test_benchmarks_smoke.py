"""The benchmark suite runs end to end at tiny sizes.

No time is asserted: timings depend on the machine and its load. The run itself checks every
hand-written baseline against derivgen before timing, so a wrong baseline (or a derivgen
regression on a benchmark program) fails here too. --no-frameworks keeps PyTorch and JAX out of
the test even where they are installed.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROWS = ("1a", "1b", "1c", "2a", "2b", "3", "4", "5a", "5b", "6a", "6b")


def test_smoke_run_exits_0_and_prints_every_workload_row():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--smoke", "--no-frameworks"],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for key in ROWS:
        assert re.search(rf"^\| {key} \S", out, re.MULTILINE), f"no row {key} in:\n{out}"
    assert re.search(r"^- CPU: .+ cores", out, re.MULTILINE)
    assert "NumPy" in out and "Python" in out
    # Rows with a target say whether it is met.
    assert len(re.findall(r"\| +(?:met|NOT MET)\b", out)) >= 4
