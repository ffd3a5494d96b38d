"""Micro-benchmarks behind the speed choices that the ops' docstrings mention.

    python benchmarks/design_choices.py

Each line times one choice against the plain alternative on arrays of the baby GPT's sizes
(batch 12, block 64, 128 dims, 4 heads), in this process, with the BLAS threads this shell
gives (set OPENBLAS_NUM_THREADS to change them). The results go to benchmarks/README.md.
"""

from __future__ import annotations

import os
import time

import numpy as np


def best_ms(fn, repeat: int = 50) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    rows, dims, heads, block = 12 * 64, 128, 4, 64
    grad_out = rng.standard_normal((rows, 4 * dims)).astype(np.float32)
    scores = rng.standard_normal((12, heads, block, block)).astype(np.float32)
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, load before {os.getloadavg()[0]:.2f}")

    ones = np.ones(rows, dtype=np.float32)
    print(f"bias gradient, 1ᵀ G (BLAS) vs G.sum(0): {best_ms(lambda: ones @ grad_out):.3f} "
          f"vs {best_ms(lambda: grad_out.sum(0)):.3f} ms")
    transposed = np.ascontiguousarray(scores.swapaxes(-1, -2))
    print(f"softmax's row sums, over axis -2 (keys down the rows) vs axis -1: "
          f"{best_ms(lambda: transposed.sum(axis=-2)):.3f} vs {best_ms(lambda: scores.sum(axis=-1)):.3f} ms")
    print(f"load after {os.getloadavg()[0]:.2f} (1-minute average; above about 0.5 the machine was shared)")


if __name__ == "__main__":
    main()
