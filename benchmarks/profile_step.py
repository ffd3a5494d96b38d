"""Where a training step's time goes: per op (forward and backward), the engine, the optimizer.

    python benchmarks/profile_step.py                  # the baby config, 2 threads, 30 steps
    python benchmarks/profile_step.py --threads 1      # steadier on a busy machine
    python benchmarks/profile_step.py --clock cpu      # CPU time of this process, not wall time

Every ``Function`` subclass gets its ``forward`` and ``backward`` wrapped with a timer, so
the table is "ms per step spent inside that op". ``engine`` is the rest of ``backward()``
(graph walk, gradient accumulation); ``forward (other)`` is Python around the ops (module
calls, shape checks). The wrappers cost a little themselves (~1 µs per call).

With ``--clock cpu`` and ``--threads 1`` the numbers hardly move when other processes share
the machine (wall time does: it counts the time we wait for a core).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--vocab-size", type=int, default=67)
    args = p.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy loads its BLAS
    sys.path.insert(0, str(ROOT))

    import numpy as np

    import tinygrad_ft as tg
    import tinygrad_ft.autograd.ops  # noqa: F401
    import tinygrad_ft.functional  # noqa: F401  (every Function subclass is defined)
    from tinygrad_ft.autograd.tensor import Function
    from tinygrad_ft.backend import keep_freed_memory
    from tinygrad_ft.models.gpt import GPT, GPTConfig
    from tinygrad_ft.optim import clip_grad_norm_
    from tinygrad_ft.training import TrainConfig, make_optimizer

    clock = time.perf_counter if args.clock == "wall" else time.process_time
    keep_freed_memory()
    tg.manual_seed(0)
    cfg = GPTConfig(vocab_size=args.vocab_size, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
                    n_embd=args.n_embd)
    model = GPT(cfg)
    opt, _ = make_optimizer(model, TrainConfig(progress=False))  # AdamW as pretrain() makes it
    rng = np.random.default_rng(0)
    x = rng.integers(0, args.vocab_size, (args.batch_size, args.block_size))
    y = rng.integers(0, args.vocab_size, (args.batch_size, args.block_size))

    fwd, bwd, calls = Counter(), Counter(), Counter()

    def wrap(cls):
        forward, backward = cls.__dict__.get("forward"), cls.__dict__.get("backward")
        name = cls.__name__
        if forward is not None:
            def timed_forward(self, *a, **k):
                t = clock()
                r = forward(self, *a, **k)
                fwd[name] += clock() - t
                calls[name] += 1
                return r
            cls.forward = timed_forward
        if backward is not None:
            def timed_backward(self, *a, **k):
                t = clock()
                r = backward(self, *a, **k)
                bwd[name] += clock() - t
                return r
            cls.backward = timed_backward

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    for c in set(subclasses(Function)):
        wrap(c)

    phases = Counter()

    def step(record):  # training.train_step, cut into its phases to time each
        t0 = clock()
        _, loss = model(x, y)
        t1 = clock()
        opt.zero_grad()
        loss.backward()
        t2 = clock()
        clip_grad_norm_(model.parameters(), 1.0)
        t3 = clock()
        opt.step()
        t4 = clock()
        if record:
            phases["forward"] += t1 - t0
            phases["backward"] += t2 - t1
            phases["clip"] += t3 - t2
            phases["adamw"] += t4 - t3

    for _ in range(args.warmup):
        step(False)
    fwd.clear(), bwd.clear(), calls.clear()
    totals = []
    for _ in range(args.steps):
        t = clock()
        step(True)
        totals.append(clock() - t)
    n = args.steps
    ms = lambda s: 1000 * s / n  # noqa: E731
    totals.sort()
    print(f"threads {args.threads}, clock {args.clock}, {n} steps: median {1000 * totals[n // 2]:.1f} ms/step, mean "
          f"{ms(sum(totals)):.1f}")
    print("  " + ", ".join(f"{k} {ms(v):.1f}" for k, v in phases.items()))
    print(f"{'op':28s} {'calls':>6s} {'fwd ms':>8s} {'bwd ms':>8s} {'total':>8s}")
    for name in sorted(set(fwd) | set(bwd), key=lambda k: -(fwd[k] + bwd[k])):
        print(f"{name:28s} {calls[name] // n:6d} {ms(fwd[name]):8.2f} {ms(bwd[name]):8.2f} {ms(fwd[name] + bwd[name]):8.2f}")
    f_ops, b_ops = sum(fwd.values()), sum(bwd.values())
    print(f"{'forward (other)':28s} {'':6s} {ms(phases['forward'] - f_ops):8.2f}")
    print(f"{'engine (backward other)':28s} {'':6s} {'':8s} {ms(phases['backward'] - b_ops):8.2f}")
    print(f"{'clip_grad_norm_':28s} {'':6s} {ms(phases['clip']):8.2f}")
    print(f"{'AdamW.step':28s} {'':6s} {ms(phases['adamw']):8.2f}")


if __name__ == "__main__":
    main()
