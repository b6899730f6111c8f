"""One BLAS/OpenMP thread for the whole run, unless the caller set these variables.

run.py imports this before NumPy. Every implementation then uses one core: derivgen's
generated code and the hand-written baselines alike (np.dot would otherwise run on several
threads, which on a small shared machine stalls for milliseconds whenever another process holds
a core). The child processes inherit the setting. Export e.g. OPENBLAS_NUM_THREADS=2 to override.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
