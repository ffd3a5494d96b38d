"""Benchmark: one training step of the tiny GPT, ours (NumPy) against the same model in PyTorch.

    python benchmarks/bench_gpt.py                    # timing: 60 steps each, the baby config
    python benchmarks/bench_gpt.py --iters 2000       # the full baby run, with val losses

Four runs, each in its own process (so peak memory is its own), on the same data, batches,
schedule and number of threads: ``ours`` (the step users run: ``training.train_step``, with the
fused Numba kernels where Numba is installed), ``ours-plain`` (the same with the kernels off:
the plain ops), ``torch`` (the same model in PyTorch, eager), and ``gemm`` (only the step's
matrix products, back to back with our BLAS: the floor our step cannot go below).

Honest numbers: each run records the BLAS library, its kernel (core type) and threads
(threadpoolctl), ``OPENBLAS_CORETYPE``, and how busy the machine was with other work while it
ran (from /proc/stat, minus the run's own CPU time). A run during which other processes kept
more than a quarter of a core busy is marked ``shared`` and its figures are not to be quoted.
Prints ms/step for each, the ratios, peak resident memory and the final val loss; --json
writes them all to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tinygrad_ft.models.presets import PRESETS
from tinygrad_ft.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("ours", "ours-plain", "torch", "gemm")
SHARED_CORES = 0.25  # other processes' average load above which a run is marked shared


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def blas_info() -> list:
    from tinygrad_ft.backend import blas_info as info

    return info()
SHAPE = ("n_layer", "n_head", "n_embd", "block_size")
BABY = {k: PRESETS["baby"][k] for k in SHAPE} | {"batch_size": TrainConfig.batch_size}  # what tinygrad-ft pretrain runs


def data(block_size):
    import numpy as np

    from tinygrad_ft.datasets.text import load_text, train_val_split
    from tinygrad_ft.paths import SHAKESPEARE, data_path
    from tinygrad_ft.tokenizers import build_tokenizer

    text = load_text(data_path(SHAKESPEARE))
    tok = build_tokenizer("char", text)
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    train, val = train_val_split(ids, 0.1)
    return tok.vocab_size, train, val


def train_config(args):
    """The pre-training settings users get (``tinygrad-ft pretrain``), for this many steps."""
    from tinygrad_ft.training import TrainConfig

    return TrainConfig(max_iters=args.iters, batch_size=args.batch_size, device=args.device, progress=False)


def lr_at(step, args):
    """PyTorch's learning rate at ``step``: the same warmup and cosine as ours."""
    from tinygrad_ft.optim import warmup_cosine_lr

    config = train_config(args)
    return warmup_cosine_lr(step, config.lr, config.warmup_iters, config.max_iters, config.min_lr)


def gemm_shapes(args, vocab: int) -> list[tuple]:
    """The (m, k) @ (k, n) products of one training step of the GPT (forward and backward), with
    the batch of attention heads as a leading axis: 18 per block and 3 for the LM head."""
    rows, c, t = args.batch_size * args.block_size, args.n_embd, args.block_size
    heads, d = args.batch_size * args.n_head, args.n_embd // args.n_head
    linear = [(rows, c, 3 * c), (rows, c, c), (rows, c, 4 * c), (rows, 4 * c, c)]  # c_attn, c_proj, c_fc, mlp c_proj
    shapes = []
    for _ in range(args.n_layer):
        for m, k, n in linear:  # forward x W, backward d_y Wᵀ and xᵀ d_y
            shapes += [(1, m, k, n), (1, m, n, k), (1, k, m, n)]
        for m, k, n in ((t, d, t), (t, t, d)):  # scores q kᵀ and probs v, per head, and their two backwards each
            shapes += [(heads, m, k, n), (heads, m, n, k), (heads, k, m, n)]
    shapes += [(1, rows, c, vocab), (1, rows, vocab, c), (1, c, rows, vocab)]  # lm_head
    return shapes


def run_gemm(args) -> dict:
    """Only the step's matrix products, back to back, as float32 NumPy matmuls (our BLAS)."""
    import numpy as np

    vocab, _, _ = data(args.block_size)
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal((b, m, k)).astype(np.float32), rng.standard_normal((b, k, n)).astype(np.float32))
                for b, m, k, n in gemm_shapes(args, vocab)]
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        for a, b in operands:
            np.matmul(a, b)
        times.append(time.perf_counter() - t0)
    steady = sorted(times[min(10, len(times) // 2):])
    return {"framework": "gemm", "matmuls_per_step": len(operands), "ms_per_step_median": 1000 * steady[len(steady) // 2],
            "cpu_ms_per_step_median": float("nan"), "peak_rss_mb": float("nan"), "run_seconds": sum(times)}


def run(framework: str, args) -> dict:
    import resource

    import numpy as np

    from tinygrad_ft.datasets.text import get_batch

    vocab, train, val = data(args.block_size)
    rng = np.random.default_rng(1337)
    if framework in ("ours", "ours-plain"):
        import tinygrad_ft as tg
        from tinygrad_ft.backend import get_backend, keep_freed_memory
        from tinygrad_ft.models.gpt import GPT, GPTConfig
        from tinygrad_ft.training import make_optimizer, next_token_loss, train_step

        keep_freed_memory()
        tg.manual_seed(1337)
        cfg = GPTConfig(vocab_size=vocab, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
                        n_embd=args.n_embd)
        model = GPT(cfg).to(args.device)
        config = train_config(args)
        optimizer, scheduler = make_optimizer(model, config)  # AdamW and its schedule, as pretrain() makes them

        def step(x, y, lr):  # exactly pretrain()'s step; its scheduler sets lr (the same value as lr_at)
            return train_step(model, (x, y), next_token_loss, optimizer, scheduler, config.grad_clip).data

        def evaluate(split):
            erng = np.random.default_rng(0)
            with tg.no_grad():
                batches = [get_batch(split, args.batch_size, args.block_size, erng) for _ in range(args.eval_iters)]
                return float(np.mean([float(model(*b)[1].data) for b in batches]))

        def sync():  # on a GPU, wait for the step's kernels (as torch.cuda.synchronize below)
            if args.device == "cuda":
                get_backend("cuda").xp.cuda.get_current_stream().synchronize()
    else:
        import torch

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from torch_gpt import TorchGPT

        from tinygrad_ft.models.gpt import GPTConfig

        torch.manual_seed(1337)
        cfg = GPTConfig(vocab_size=vocab, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
                        n_embd=args.n_embd)
        model = TorchGPT(cfg).to(args.device)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))

        def step(x, y, lr):
            for g in opt.param_groups:
                g["lr"] = lr
            _, loss = model(torch.from_numpy(x).to(args.device), torch.from_numpy(y).to(args.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss.detach()

        def evaluate(split):
            erng = np.random.default_rng(0)
            with torch.no_grad():
                batches = [get_batch(split, args.batch_size, args.block_size, erng) for _ in range(args.eval_iters)]
                return float(np.mean([model(*[torch.from_numpy(a).to(args.device) for a in b])[1].item() for b in batches]))

        def sync():
            if args.device == "cuda":
                torch.cuda.synchronize()

    times, cpu_times, losses = [], [], []
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_run = time.perf_counter()
    for i in range(args.iters):
        x, y = get_batch(train, args.batch_size, args.block_size, rng)
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step(x, y, lr_at(i, args))
        sync()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        losses.append(loss)
    run_seconds = time.perf_counter() - t_run
    skip = min(10, len(times) // 2)
    steady = sorted(times[skip:])
    steady_cpu = sorted(cpu_times[skip:])
    result = {
        "framework": framework,
        "ms_per_step_median": 1000 * steady[len(steady) // 2],
        "ms_per_step_mean": 1000 * sum(steady) / len(steady),
        "cpu_ms_per_step_median": 1000 * steady_cpu[len(steady_cpu) // 2],
        "run_seconds": run_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_rss) / 1024,
        "final_train_loss": float(losses[-1]),
    }
    if args.eval:
        result["val_loss"] = evaluate(val)
        result["train_loss_estimate"] = evaluate(train)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None)
    p.add_argument("--only", choices=RUNS, default=None, help=argparse.SUPPRESS)
    for k, v in BABY.items():
        p.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    args = p.parse_args()
    args.eval = args.iters >= 500

    if args.only:  # the child process
        if args.only == "torch":
            import torch

            torch.set_num_threads(args.threads)
        result = run_gemm(args) if args.only == "gemm" else run(args.only, args)
        result["blas"] = blas_info()
        print(json.dumps(result))
        return

    threads = str(args.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    results = {}
    for fw in RUNS:
        cmd = [sys.executable, __file__, "--only", fw] + [a for a in sys.argv[1:] if a != "--json" and not a.endswith(".json")]
        run_env = dict(env, TINYGRAD_FT_KERNELS="0") if fw == "ours-plain" else env
        before = machine_busy_seconds(), children_cpu_seconds(), time.perf_counter()
        out = subprocess.run(cmd, env=run_env, capture_output=True, text=True)
        after = machine_busy_seconds(), children_cpu_seconds(), time.perf_counter()
        if out.returncode != 0:
            print(f"{fw} failed:\n{out.stderr}", file=sys.stderr)
            sys.exit(1)
        results[fw] = json.loads(out.stdout.strip().splitlines()[-1])
        other = (after[0] - before[0]) - (after[1] - before[1])  # CPU seconds the rest of the machine used
        results[fw]["other_load_cores"] = max(0.0, other / (after[2] - before[2]))
        results[fw]["shared"] = results[fw]["other_load_cores"] > SHARED_CORES
    ours, plain, torch_, gemm = (results[k] for k in RUNS)
    ratio = ours["ms_per_step_median"] / torch_["ms_per_step_median"]
    config = {k: getattr(args, k) for k in BABY} | {"iters": args.iters, "threads": args.threads, "device": args.device,
                                                     "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
                                                     "cpu": cpu_name(), "cores": os.cpu_count()}
    print(f"config: {config}")
    print(f"BLAS (ours): {ours['blas']}")
    print(f"{'':11} {'ms/step':>9} {'cpu ms/step':>12} {'peak RSS MB':>12} {'run s':>8} {'val loss':>9} {'other load':>11}")
    for name, r in results.items():
        print(f"{name:11} {r['ms_per_step_median']:9.2f} {r['cpu_ms_per_step_median']:12.2f} {r['peak_rss_mb']:12.0f} "
              f"{r['run_seconds']:8.1f} {r.get('val_loss', float('nan')):9.4f} {r['other_load_cores']:8.2f} cores"
              + ("  SHARED: do not quote" if r["shared"] else ""))
    print(f"ratio ours/torch (ms per step): {ratio:.2f}x; plain ops/torch: "
          f"{plain['ms_per_step_median'] / torch_['ms_per_step_median']:.2f}x; "
          f"ours/matrix products alone: {ours['ms_per_step_median'] / gemm['ms_per_step_median']:.2f}x")
    # CPU time counts only the time this process ran, not the time it waited for a core: with
    # --threads 1 it hardly moves when other processes share the machine (wall time does)
    print(f"ratio ours/torch (CPU ms per step): {ours['cpu_ms_per_step_median'] / torch_['cpu_ms_per_step_median']:.2f}x")
    if any(r["shared"] for r in results.values()):
        print("WARNING: other processes shared the machine during a run; rerun on a quiet machine", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config, "results": results, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
