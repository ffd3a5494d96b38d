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

ROOT = Path(__file__).resolve().parents[1]
BABY = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12)


def data(block_size):
    import numpy as np

    from tinygrad_ft.datasets.text import default_corpus_path, load_text, train_val_split
    from tinygrad_ft.tokenizers import build_tokenizer

    text = load_text(default_corpus_path())
    tok = build_tokenizer("char", text)
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    train, val = train_val_split(ids, 0.1)
    return tok.vocab_size, train, val


def lr_at(step, args):
    from tinygrad_ft.optim import warmup_cosine_lr

    return warmup_cosine_lr(step, 1e-3, min(100, args.iters // 10), args.iters, 1e-4)


def run(framework: str, args) -> dict:
    import resource

    import numpy as np

    from tinygrad_ft.datasets.text import get_batch

    vocab, train, val = data(args.block_size)
    rng = np.random.default_rng(1337)
    if framework == "ours":
        import tinygrad_ft as tg
        from tinygrad_ft import backend as B
        from tinygrad_ft.models.gpt import GPT, GPTConfig
        from tinygrad_ft.optim import AdamW, clip_grad_norm_, weight_decay_groups

        B.keep_freed_memory()
        tg.manual_seed(1337)
        cfg = GPTConfig(vocab_size=vocab, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd)
        model = GPT(cfg).to(args.device)
        opt = AdamW(weight_decay_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

        def step(x, y, lr):
            for g in opt.param_groups:
                g["lr"] = lr
            _, loss = model(x, y)  # host batches, as pretrain() passes them
            opt.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss.data

        def evaluate(split):
            erng = np.random.default_rng(0)
            with tg.no_grad():
                return float(np.mean([float(model(*get_batch(split, args.batch_size, args.block_size, erng))[1].data) for _ in range(args.eval_iters)]))

        def sync():  # on a GPU, wait for the step's kernels (as torch.cuda.synchronize below)
            if args.device == "cuda":
                B.get_backend("cuda").xp.cuda.get_current_stream().synchronize()
    else:
        import torch

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from torch_gpt import TorchGPT

        from tinygrad_ft.models.gpt import GPTConfig

        torch.manual_seed(1337)
        cfg = GPTConfig(vocab_size=vocab, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd)
        model = TorchGPT(cfg).to(args.device)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))

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
                return float(np.mean([model(*[torch.from_numpy(a).to(args.device) for a in get_batch(split, args.batch_size, args.block_size, erng)])[1].item() for _ in range(args.eval_iters)]))

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

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
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
        print(f"{name:10} {r['ms_per_step_median']:9.2f} {r['cpu_ms_per_step_median']:12.2f} {r['peak_rss_mb']:12.0f} {r['run_seconds']:8.1f} {r.get('val_loss', float('nan')):9.4f}")
    print(f"ratio ours/torch (ms per step): {ratio:.2f}x")
    # CPU time counts only the time this process ran, not the time it waited for a core: with
    # --threads 1 it hardly moves when other processes share the machine (wall time does)
    print(f"ratio ours/torch (CPU ms per step): {ours['cpu_ms_per_step_median'] / torch_['cpu_ms_per_step_median']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config, "results": results, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
