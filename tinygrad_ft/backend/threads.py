"""CPU threads: how many the BLAS library (matrix products) and the Numba kernels use.

A lone training run should use every core. ``set_threads(None)`` picks the count from the
environment when it names one (``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS``: the test run
and CI set 1), else the cores this process may run on. The CLI's ``--threads`` sets it
explicitly. BLAS is limited through ``threadpoolctl`` and the kernels through Numba, where
they are installed (the ``fast`` extra); without them this does nothing and says so.
"""

from __future__ import annotations

import os

ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container or with taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """The environment's thread count if it names one, else every available core."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return available_cores()


def set_threads(count: int | None = None) -> dict:
    """Use ``count`` threads (``default_threads()`` when None) for BLAS and the Numba kernels;
    returns what was set: {"blas": n or None, "kernels": n or None} (None: library absent)."""
    count = default_threads() if count is None else count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"threads must be a positive integer, got {count!r}")
    applied = {"blas": None, "kernels": None}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=count, user_api="blas")  # process-wide, until set again
        applied["blas"] = count
    try:
        import numba
    except ImportError:
        pass
    else:
        applied["kernels"] = min(count, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(applied["kernels"])
    return applied


def blas_info() -> list[dict]:
    """What threadpoolctl reports of each BLAS library loaded: name, version, kernel (core type),
    threads; empty without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: info.get(k) for k in keys} for info in threadpool_info() if info.get("user_api") == "blas"]
