"""Benchmark: one training step of the tiny GPT, ours (NumPy) against the same model in PyTorch.

    python benchmarks/bench_gpt.py                    # timing: 60 steps each, the baby config
    python benchmarks/bench_gpt.py --iters 2000       # the full baby run, with val losses

Each framework runs in its own process (so peak memory is its own), on the same data, the
same batches, the same schedule and the same number of threads. Prints ms/step for each,
their ratio, peak resident memory and the final val loss; --json writes them to a file.
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


def run(framework: str, args) -> dict:
    import resource

    import numpy as np

    from tinygrad_ft.datasets.text import get_batch

    vocab, train, val = data(args.block_size)
    rng = np.random.default_rng(1337)
    if framework == "ours":
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
    p.add_argument("--only", choices=["ours", "torch"], default=None, help=argparse.SUPPRESS)
    for k, v in BABY.items():
        p.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    args = p.parse_args()
    args.eval = args.iters >= 500

    if args.only:  # the child process
        if args.only == "torch":
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(run(args.only, args)))
        return

    threads = str(args.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    results = {}
    for fw in ("ours", "torch"):
        cmd = [sys.executable, __file__, "--only", fw] + [a for a in sys.argv[1:] if a != "--json" and not a.endswith(".json")]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{fw} failed:\n{out.stderr}", file=sys.stderr)
            sys.exit(1)
        results[fw] = json.loads(out.stdout.strip().splitlines()[-1])
    ours, torch_ = results["ours"], results["torch"]
    ratio = ours["ms_per_step_median"] / torch_["ms_per_step_median"]
    config = {k: getattr(args, k) for k in BABY} | {"iters": args.iters, "threads": args.threads, "device": args.device}
    print(f"config: {config}")
    print(f"{'':10} {'ms/step':>9} {'cpu ms/step':>12} {'peak RSS MB':>12} {'run s':>8} {'val loss':>9}")
    for name, r in results.items():
        print(f"{name:10} {r['ms_per_step_median']:9.2f} {r['cpu_ms_per_step_median']:12.2f} {r['peak_rss_mb']:12.0f} "
              f"{r['run_seconds']:8.1f} {r.get('val_loss', float('nan')):9.4f}")
    print(f"ratio ours/torch (ms per step): {ratio:.2f}x")
    # CPU time counts only the time this process ran, not the time it waited for a core: with
    # --threads 1 it hardly moves when other processes share the machine (wall time does)
    print(f"ratio ours/torch (CPU ms per step): {ours['cpu_ms_per_step_median'] / torch_['cpu_ms_per_step_median']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config, "results": results, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
