"""GPU benchmark: one training step of the tiny GPT on CUDA, ours (CuPy) against PyTorch CUDA eager.

    python benchmarks/bench_gpu.py                      # baby and large configs, 50 timed steps each
    python benchmarks/bench_gpu.py --config large --iters 100 --json gpu.json
    python benchmarks/bench_gpu.py --plain              # also ours with the fused kernels off

The GPU beside the CPU benchmark (``bench_gpt.py``). Two model sizes:

* ``baby``: 4 layers, 4 heads, 128 dims, block 64, batch 12 (the course's CPU run);
* ``large``: 6 layers, 6 heads, 384 dims, block 256, batch 64.

Both frameworks train the same architecture (``benchmarks/torch_gpt.py`` is ours, parameter for
parameter) in float32, with AdamW (weight decay on matrices only), gradient clipping at 1.0,
no dropout, on the same character-level batches of tiny Shakespeare, each step copying its
batch from the host. PyTorch runs eagerly (no torch.compile) with its defaults on CUDA:
fused scaled-dot-product attention and the foreach AdamW; neither side uses TF32.

Each (framework, config) runs in its own process. After ``--warmup`` steps (CuPy compiles its
kernels on first use), ``--iters`` steps run back to back and the device is synchronised once
at the end: ms/step is that wall time divided by the steps, the throughput a training loop
sees. Prints a table, the ratio ours/torch per config, and (``--json``) writes the numbers.

Needs CuPy and an NVIDIA GPU (``pip install 'tinygrad-ft[gpu]'``) and a CUDA build of
PyTorch for the comparison; without CuPy or a GPU it says so in one line and exits with 1.
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
sys.path.insert(0, str(ROOT))

from tinygrad_ft.models.presets import PRESETS  # noqa: E402  (after the path is set)
from tinygrad_ft.training import TrainConfig  # noqa: E402

SHAPE = ("n_layer", "n_head", "n_embd", "block_size")
CONFIGS = {  # the presets' shapes; "large" is the "small" preset at batch 64
    "baby": {k: PRESETS["baby"][k] for k in SHAPE} | {"batch_size": TrainConfig.batch_size},
    "large": {k: PRESETS["small"][k] for k in SHAPE} | {"batch_size": 64},
}
RUNNERS = ("ours", "ours-plain", "torch")
LABELS = {"ours": "ours (CuPy)", "ours-plain": "ours, no fused kernels", "torch": "PyTorch CUDA eager"}


def gpu_problem() -> str | None:
    """Why ours cannot run on a GPU here (None if it can)."""
    from tinygrad_ft.backend import DeviceError, get_backend

    try:
        get_backend("cuda")
    except DeviceError as e:
        return str(e)
    return None


def torch_problem() -> str | None:
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return f"this PyTorch ({torch.__version__}) has no CUDA device (a CPU-only build, or no driver)"
    return None


def batches(config: dict, count: int, seed: int = 1337):
    """``count`` (x, y) int64 host batches of the character-level corpus, and its vocabulary size."""
    import numpy as np

    from tinygrad_ft.datasets.text import get_batch, load_text, train_val_split
    from tinygrad_ft.paths import SHAKESPEARE, data_path
    from tinygrad_ft.tokenizers import build_tokenizer

    text = load_text(data_path(SHAKESPEARE))
    tokenizer = build_tokenizer("char", text)
    train, _ = train_val_split(np.asarray(tokenizer.encode(text), dtype=np.int64), 0.1)
    rng = np.random.default_rng(seed)
    return tokenizer.vocab_size, [get_batch(train, config["batch_size"], config["block_size"], rng) for _ in range(count)]


def model_config(config: dict, vocab_size: int):
    from tinygrad_ft.models.gpt import GPTConfig

    keys = ("n_layer", "n_head", "n_embd", "block_size")
    return GPTConfig(vocab_size=vocab_size, dropout=0.0, **{k: config[k] for k in keys})


def run_ours(config: dict, warmup: int, iters: int) -> dict:
    import cupy

    import tinygrad_ft as tg
    from tinygrad_ft.backend import kernels
    from tinygrad_ft.models.gpt import GPT
    from tinygrad_ft.training import TrainConfig, make_optimizer, next_token_loss, train_step

    vocab_size, data = batches(config, warmup + iters)
    tg.manual_seed(1337)
    model = GPT(model_config(config, vocab_size)).to("cuda")
    train_config = TrainConfig(max_iters=warmup + iters, batch_size=config["batch_size"], device="cuda", progress=False)
    optimizer, scheduler = make_optimizer(model, train_config)  # AdamW and its schedule, as pretrain() makes them

    def step(x, y):  # exactly pretrain()'s step: host batches, checked there and copied in the model
        return train_step(model, (x, y), next_token_loss, optimizer, scheduler, train_config.grad_clip).data

    def sync():
        cupy.cuda.get_current_stream().synchronize()

    result = _time(step, sync, data, warmup, iters, lambda losses: float(losses[-1]))
    result["gpu_mb"] = cupy.get_default_memory_pool().total_bytes() / 2**20  # held by CuPy's pool: about the peak
    result["fused_kernels"] = kernels.is_enabled() and kernels.cupy_available()
    result["device_name"] = _cupy_device_name(cupy)
    result["parameters"] = model.num_parameters()
    return result


def run_torch(config: dict, warmup: int, iters: int) -> dict:
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from torch_gpt import TorchGPT

    torch.backends.cuda.matmul.allow_tf32 = False  # the default; said out loud, as CuPy does not use TF32 either
    torch.backends.cudnn.allow_tf32 = False
    vocab_size, data = batches(config, warmup + iters)
    torch.manual_seed(1337)
    model = TorchGPT(model_config(config, vocab_size)).to("cuda")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99))

    def step(x, y):
        _, loss = model(torch.from_numpy(x).to("cuda"), torch.from_numpy(y).to("cuda"))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.detach()

    result = _time(step, torch.cuda.synchronize, data, warmup, iters, lambda losses: float(losses[-1]))
    result["gpu_mb"] = torch.cuda.max_memory_reserved() / 2**20
    result["device_name"] = torch.cuda.get_device_name()
    result["parameters"] = sum(p.numel() for p in model.parameters())
    return result


def _time(step, sync, data, warmup: int, iters: int, last_loss) -> dict:
    losses = []
    for x, y in data[:warmup]:
        losses.append(step(x, y))
    sync()
    t0 = time.perf_counter()
    for x, y in data[warmup:]:
        losses.append(step(x, y))  # losses stay on the device: no sync inside the timed loop
    sync()
    seconds = time.perf_counter() - t0
    return {"ms_per_step": 1000 * seconds / iters, "timed_steps": iters, "warmup_steps": warmup,
            "first_loss": float(losses[0]), "final_loss": last_loss(losses)}


def _cupy_device_name(cupy) -> str:
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props.get("name", b"?")
    return name.decode() if isinstance(name, bytes) else str(name)


def child(runner: str, config_name: str, warmup: int, iters: int) -> None:
    config = CONFIGS[config_name]
    result = run_torch(config, warmup, iters) if runner == "torch" else run_ours(config, warmup, iters)
    print(json.dumps(dict(result, runner=runner, config=config_name)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    p.add_argument("--iters", type=int, default=50, help="timed steps (default: 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (default: 10)")
    p.add_argument("--plain", action="store_true", help="also time ours with the fused kernels off (TINYGRAD_FT_KERNELS=0)")
    p.add_argument("--json", default=None, help="write the results to this file")
    p.add_argument("--child", nargs=2, metavar=("RUNNER", "CONFIG"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.iters < 1 or args.warmup < 1:
        p.error("--iters and --warmup must be at least 1")

    if args.child:
        child(args.child[0], args.child[1], args.warmup, args.iters)
        return 0

    problem = gpu_problem()
    if problem is not None:
        print(f"bench_gpu: cannot run: {problem}", file=sys.stderr)
        return 1
    no_torch = torch_problem()
    if no_torch is not None:
        print(f"bench_gpu: PyTorch is not timed ({no_torch}); timing ours only", file=sys.stderr)

    configs = list(CONFIGS) if args.config == "all" else [args.config]
    runners = ["ours"] + (["ours-plain"] if args.plain else []) + ([] if no_torch else ["torch"])
    results = []
    for config_name in configs:
        for runner in runners:
            env = dict(os.environ)
            if runner == "ours-plain":
                env["TINYGRAD_FT_KERNELS"] = "0"
            cmd = [sys.executable, __file__, "--child", runner, config_name,
                   "--iters", str(args.iters), "--warmup", str(args.warmup)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"bench_gpu: {LABELS[runner]} on {config_name} failed:\n{out.stderr}", file=sys.stderr)
                return 1
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))

    device = next((r["device_name"] for r in results), "?")
    print(f"device: {device}; {args.iters} timed steps after {args.warmup} warm-up steps; float32")
    print(f"{'config':7} {'':24} {'ms/step':>9} {'GPU MB':>8} {'params':>10} {'loss first→last':>17}")
    for r in results:
        print(f"{r['config']:7} {LABELS[r['runner']]:24} {r['ms_per_step']:9.2f} {r['gpu_mb']:8.0f} {r['parameters']:10,} "
              f"{r['first_loss']:8.3f}→{r['final_loss']:.3f}")
    ratios = {}
    for config_name in configs:
        by_runner = {r["runner"]: r for r in results if r["config"] == config_name}
        if "torch" in by_runner:
            for runner in ("ours", "ours-plain"):
                if runner in by_runner:
                    ratio = by_runner[runner]["ms_per_step"] / by_runner["torch"]["ms_per_step"]
                    ratios[f"{config_name}/{runner}"] = ratio
                    print(f"ratio {LABELS[runner]} / PyTorch, {config_name}: {ratio:.2f}x (ms per step)")
    if args.json:
        Path(args.json).write_text(json.dumps({"configs": {c: CONFIGS[c] for c in configs}, "iters": args.iters,
                                               "warmup": args.warmup, "results": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
