"""Benchmark at GPT-2 small's shape (12 layers, 12 heads, 768 dims, 50,257 tokens, 1,024 positions,
tied head), random weights built here (nothing is downloaded): ours against PyTorch eager
(Hugging Face's GPT2LMHeadModel, the real implementation) on the CPU.

    python benchmarks/bench_gpt2_small.py                     # everything, 1 BLAS thread (a few minutes)
    python benchmarks/bench_gpt2_small.py --threads 2 --steps 3 --new-tokens 32 --context 512

1. Training: forward + backward of one batch (default 4 x 256 tokens, next-token loss), ms per
   step (median of --steps after a warm-up step), and the process's peak resident memory.
2. Generation, greedy, from a prompt of --context tokens: tokens/s of our generate with the KV
   cache and without it, and of transformers' generate (its own cache), on the same weights.
   "decode" tokens/s leave the prompt's first pass (prefill) out: (N - 1) / (time for N tokens -
   time for 1 token).

Training runs each side in its own process (peak memory is its own), alternating ours and
torch --repeats times; the best median counts. Generation runs both in one process, interleaved
--repeats times; the best time of each counts. Both use the same number of threads
(OPENBLAS/OMP/MKL_NUM_THREADS and torch.set_num_threads). The machine's load average is
recorded before and after each run: on a shared machine the figures move with it. Writes
benchmarks/results/gpt2_small.json (or --json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPT2_SMALL = dict(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def batch(args):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, GPT2_SMALL["vocab_size"], (args.batch, args.block))
    return x, np.roll(x, -1, axis=1)


def our_model():
    import tinygrad_ft as tg
    from tinygrad_ft.models.gpt import GPT, GPTConfig

    tg.manual_seed(0)
    return GPT(GPTConfig(**GPT2_SMALL, tie_weights=True, dropout=0.0))


def their_model(state_from=None):
    import torch
    import transformers

    config = transformers.GPT2Config(n_positions=GPT2_SMALL["block_size"], n_embd=768, n_layer=12, n_head=12,
                                     vocab_size=GPT2_SMALL["vocab_size"], embd_pdrop=0.0, attn_pdrop=0.0, resid_pdrop=0.0)
    torch.manual_seed(0)
    if state_from is not None:
        return transformers.GPT2LMHeadModel.from_pretrained(state_from, dtype=torch.float32)
    return transformers.GPT2LMHeadModel(config)


def train_ours(args) -> dict:
    from tinygrad_ft.backend import keep_freed_memory

    keep_freed_memory()
    model = our_model().train()
    x, y = batch(args)
    times, cpu_times = [], []
    for _ in range(args.steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        model.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return step_times(times, cpu_times) | {"loss": float(loss.data), "peak_rss_mb": peak_mb()}


def train_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    model = their_model().train()
    x, y = (torch.from_numpy(a) for a in batch(args))
    times, cpu_times = [], []
    for _ in range(args.steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        model.zero_grad(set_to_none=True)
        logits = model(x).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return step_times(times, cpu_times) | {"loss": float(loss), "peak_rss_mb": peak_mb(),
                                           "attn_implementation": getattr(model.config, "_attn_implementation", None)}


def step_times(times, cpu_times) -> dict:
    """Wall and CPU milliseconds per step, the warm-up step left out: the median, the best, and all.
    CPU time (the process's, all threads) is less disturbed by other processes than wall time."""
    return {"ms_per_step": 1000 * median(times[1:]), "ms_best": 1000 * min(times[1:]),
            "cpu_ms_per_step": 1000 * median(cpu_times[1:]), "ms_all": [1000 * t for t in times],
            "cpu_ms_all": [1000 * t for t in cpu_times]}


def prompt(args):
    import numpy as np

    return np.random.default_rng(1).integers(0, GPT2_SMALL["vocab_size"], args.context).tolist()


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def generate_both(args) -> dict:
    """Ours (cached and uncached) and transformers' generate on the same weights, in one process,
    interleaved --repeats times (the best time of each counts: on a shared machine a load spike
    then hits both sides alike, and the best is the least disturbed)."""
    import torch

    from tinygrad_ft import hf
    from tinygrad_ft.models.generate import generate

    torch.set_num_threads(args.threads)
    model = our_model().eval()
    hf.save_pretrained(model, None, args.weights)  # the same weights for transformers
    theirs = their_model(state_from=args.weights).eval()
    ids = prompt(args)
    n = args.new_tokens
    their_ids = torch.tensor([ids])

    def run_theirs(tokens):
        with torch.no_grad():
            return theirs.generate(their_ids, attention_mask=torch.ones_like(their_ids), max_new_tokens=tokens,
                                   min_new_tokens=tokens, do_sample=False, pad_token_id=0)
    run_theirs(2)  # warm-up (the first call sets up the generation config)
    generate(model, ids, max_new_tokens=2, temperature=0)
    best = {}
    for _ in range(args.repeats):
        for name, fn in (("ours_1", lambda: generate(model, ids, max_new_tokens=1, temperature=0)),
                         ("ours_n", lambda: generate(model, ids, max_new_tokens=n, temperature=0)),
                         ("theirs_1", lambda: run_theirs(1)), ("theirs_n", lambda: run_theirs(n))):
            seconds, out = timed(fn)
            best[name] = min(best.get(name, seconds), seconds)
            if name == "ours_n":
                ours_ids = out[len(ids):]
            if name == "theirs_n":
                their_new = out[0, len(ids):].tolist()
    uncached_n = args.uncached_tokens
    one_uncached, _ = timed(lambda: generate(model, ids, max_new_tokens=1, temperature=0, use_cache=False))
    uncached_total, uncached = timed(lambda: generate(model, ids, max_new_tokens=uncached_n, temperature=0, use_cache=False))
    return {
        "ours_cached": {"prefill_plus_one_s": best["ours_1"], "total_s": best["ours_n"], "tokens_per_s": n / best["ours_n"],
                        "decode_tokens_per_s": (n - 1) / (best["ours_n"] - best["ours_1"])},
        "ours_uncached": {"prefill_plus_one_s": one_uncached, "total_s": uncached_total,
                          "tokens_per_s": uncached_n / uncached_total,
                          "seconds_per_token_after_the_first": (uncached_total - one_uncached) / max(1, uncached_n - 1)},
        "transformers": {"prefill_plus_one_s": best["theirs_1"], "total_s": best["theirs_n"],
                         "tokens_per_s": n / best["theirs_n"],
                         "decode_tokens_per_s": (n - 1) / (best["theirs_n"] - best["theirs_1"])},
        "cached_equals_uncached_ids": ours_ids[:uncached_n] == uncached[len(ids):],
        "greedy_ids_equal_transformers": ours_ids == their_new, "peak_rss_mb_both": peak_mb(),
    }


SHARED = ("threads", "batch", "block", "steps", "context", "new_tokens", "uncached_tokens", "repeats", "kernels")  # a child's
JOBS = {"train-ours": train_ours, "train-torch": train_torch, "generate": generate_both}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--block", type=int, default=256)
    p.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    p.add_argument("--context", type=int, default=512, help="prompt length for generation")
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--uncached-tokens", type=int, default=3, help="tokens generated without the cache (each reads the context)")
    p.add_argument("--repeats", type=int, default=3, help="training: runs of each side, alternating; generation: interleaved "
                                                          "repeats (the best of each counts)")
    p.add_argument("--kernels", choices=["auto", "off"], default="auto",
                   help="our fused kernels (Numba's on the CPU, where it is installed): as installed, or off (plain NumPy)")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "gpt2_small.json"))
    p.add_argument("--only", choices=list(JOBS), default=None, help=argparse.SUPPRESS)
    p.add_argument("--weights", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.only:  # a child process
        if args.kernels == "off":
            from tinygrad_ft.backend import kernels

            kernels.set_enabled(False)
        print(json.dumps(JOBS[args.only](args)))
        return

    threads = str(args.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    load_before = os.getloadavg()
    results = {}
    runs = [*(["train-ours", "train-torch"] * args.repeats), "generate"]  # alternating: both sides see the same load
    with tempfile.TemporaryDirectory() as weights:
        for job in runs:
            flags = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in SHARED]
            cmd = [sys.executable, __file__, "--only", job, "--weights", weights, *flags]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{job} failed:\n{out.stderr}", file=sys.stderr)
                sys.exit(1)
            result = json.loads(out.stdout.strip().splitlines()[-1]) | {"wall_s": time.perf_counter() - t0,
                                                                        "loadavg_after": os.getloadavg()}
            results.setdefault(job, []).append(result)
            print(f"{job}: done in {result['wall_s']:.0f} s", flush=True)
    load_after = os.getloadavg()

    train = min(results["train-ours"], key=lambda r: r["ms_per_step"])
    torch_train = min(results["train-torch"], key=lambda r: r["ms_per_step"])
    gen = results["generate"][0]
    ours_gen, uncached_gen, torch_gen = gen["ours_cached"], gen["ours_uncached"], gen["transformers"]
    import numpy
    import torch
    import transformers

    summary = {
        "train_ms_per_step_ours": train["ms_per_step"], "train_ms_per_step_torch": torch_train["ms_per_step"],
        "train_step_ratio_ours_over_torch": train["ms_per_step"] / torch_train["ms_per_step"],
        "train_best_ms_ours": min(r["ms_best"] for r in results["train-ours"]),
        "train_best_ms_torch": min(r["ms_best"] for r in results["train-torch"]),
        "train_cpu_ms_per_step_ours": min(r["cpu_ms_per_step"] for r in results["train-ours"]),
        "train_cpu_ms_per_step_torch": min(r["cpu_ms_per_step"] for r in results["train-torch"]),
        "train_peak_rss_mb_ours": train["peak_rss_mb"], "train_peak_rss_mb_torch": torch_train["peak_rss_mb"],
        "cached_tokens_per_s": ours_gen["tokens_per_s"], "cached_decode_tokens_per_s": ours_gen["decode_tokens_per_s"],
        "uncached_tokens_per_s": uncached_gen["tokens_per_s"],
        "transformers_tokens_per_s": torch_gen["tokens_per_s"],
        "transformers_decode_tokens_per_s": torch_gen["decode_tokens_per_s"],
        "cached_over_uncached_speedup": ours_gen["tokens_per_s"] / uncached_gen["tokens_per_s"],
        "cached_decode_over_uncached_speedup": ours_gen["decode_tokens_per_s"]
        * uncached_gen["seconds_per_token_after_the_first"],
        "transformers_over_ours_tokens_per_s": torch_gen["tokens_per_s"] / ours_gen["tokens_per_s"],
        "transformers_over_ours_decode_tokens_per_s": torch_gen["decode_tokens_per_s"] / ours_gen["decode_tokens_per_s"],
        "cached_equals_uncached_ids": gen["cached_equals_uncached_ids"],
        "greedy_ids_equal_transformers": gen["greedy_ids_equal_transformers"],
    }
    record = {
        "shape": GPT2_SMALL | {"tied": True, "dropout": 0.0},
        "conditions": {"threads": args.threads, "OPENBLAS_NUM_THREADS": threads, "cpu_count": os.cpu_count(),
                       "loadavg_before": load_before, "loadavg_after": load_after, "batch": args.batch, "block": args.block,
                       "steps": args.steps, "context": args.context, "new_tokens": args.new_tokens,
                       "uncached_tokens": args.uncached_tokens, "repeats": args.repeats, "numpy": numpy.__version__,
                       "torch": torch.__version__, "numba_kernels": args.kernels == "auto" and _numba_kernels(),
                       "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
                       "transformers": transformers.__version__, "date": time.strftime("%Y-%m-%d %H:%M")},
        "summary": summary, "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(f"training step (batch {args.batch} x {args.block}, forward + backward): ours {train['ms_per_step']:.0f} ms, "
          f"torch eager {torch_train['ms_per_step']:.0f} ms ({summary['train_step_ratio_ours_over_torch']:.2f}x); "
          f"peak memory {train['peak_rss_mb']:.0f} MB vs {torch_train['peak_rss_mb']:.0f} MB")
    print(f"generation at context {args.context}: cached {ours_gen['tokens_per_s']:.2f} tok/s "
          f"(decode {ours_gen['decode_tokens_per_s']:.2f}), uncached {uncached_gen['tokens_per_s']:.3f} tok/s, "
          f"transformers {torch_gen['tokens_per_s']:.2f} tok/s (decode {torch_gen['decode_tokens_per_s']:.2f})")
    print(f"best step: ours {summary['train_best_ms_ours']:.0f} ms, torch {summary['train_best_ms_torch']:.0f} ms; CPU time "
          f"per step: ours {summary['train_cpu_ms_per_step_ours']:.0f} ms, torch {summary['train_cpu_ms_per_step_torch']:.0f} ms")
    print(json.dumps(summary, indent=1))
    print(f"load average before {load_before}, after {load_after}; written to {args.json}")


def _numba_kernels() -> bool:
    """Whether our ops ran Numba's fused CPU kernels (where Numba is installed) or plain NumPy."""
    from tinygrad_ft.backend import kernels

    return bool(kernels.is_enabled() and getattr(kernels, "numba_available", lambda: False)())


if __name__ == "__main__":
    main()
