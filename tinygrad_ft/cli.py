"""The command line: ``tinygrad-ft <command> [flags]``.

    tinygrad-ft pretrain                 # the baby GPT on tiny Shakespeare, then a sample
    tinygrad-ft generate --prompt "ROMEO:"
    tinygrad-ft finetune --task spam --method lora

Mistakes (a bad flag, a missing file, a device this machine lacks) end in one line that says
what is wrong, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_CHECKPOINT = REPO_DATA / "checkpoints" / "baby-char.npz"

# Named model sizes for --config. "baby" is the course's default run.
CONFIGS = {
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0),
    "tiny": dict(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0),  # for tests and smoke runs
    "bpe": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, dropout=0.0),  # the fine-tuning track's base
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2),
}


class UsageError(Exception):
    """A mistake on the command line, reported as one line."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tinygrad-ft",
        description="Build, pre-train and fine-tune a tiny GPT on an autograd engine written from scratch.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = commands.add_parser("pretrain", help="pre-train a GPT on the bundled text, then print a sample")
    p.add_argument("--config", default="baby", help=f"model size: one of {', '.join(CONFIGS)} (default: baby)")
    p.add_argument("--iters", type=int, default=2000, help="training steps (default: 2000)")
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    p.add_argument("--bpe-vocab-size", type=int, default=512)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--data", default=None, help="a UTF-8 text file (default: data/tinyshakespeare/input.txt)")
    p.add_argument("--out", default="runs/pretrain", help="folder for the checkpoint and loss curve (default: runs/pretrain)")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--sample-tokens", type=int, default=300, help="tokens to sample after training (default: 300)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    g = commands.add_parser("generate", help="sample text from a trained checkpoint")
    g.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="default: the shipped baby model")
    g.add_argument("--prompt", default="\n")
    g.add_argument("--max-tokens", type=int, default=300)
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")

    f = commands.add_parser("finetune", help="fine-tune the pre-trained GPT to classify texts")
    f.add_argument("--task", default="sentiment", help="sentiment or spam (default: sentiment)")
    f.add_argument("--method", default="full", help="head, last-block, full or lora (default: full)")
    f.add_argument("--checkpoint", default=None, help="pre-trained GPT (default: data/checkpoints/bpe-pretrained.npz)")
    f.add_argument("--from-scratch", action="store_true", help="same architecture, random weights (the baseline)")
    f.add_argument("--epochs", type=int, default=4)
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--lr", type=float, default=None, help="default depends on the method")
    f.add_argument("--train-limit", type=int, default=None, help="use only this many labelled examples")
    f.add_argument("--last-n", type=int, default=1, help="blocks trained by --method last-block (default: 1)")
    f.add_argument("--pooling", default="mean", help="mean or last (default: mean)")
    f.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out", default=None, help="folder for model.npz, metrics.json and plots (default: runs/finetune/TASK-METHOD)")
    f.add_argument("--no-progress", action="store_true")
    return parser


def cmd_pretrain(args) -> int:
    from .models.gpt import GPTConfig
    from .training.generate import generate
    from .training.pretrain import TrainConfig, pretrain

    if args.config not in CONFIGS:
        raise UsageError(f"unknown --config {args.config!r}; choose one of {', '.join(CONFIGS)}")
    config = TrainConfig(
        max_iters=args.iters, batch_size=args.batch_size, lr=args.lr, min_lr=args.lr / 10, tokenizer=args.tokenizer,
        bpe_vocab_size=args.bpe_vocab_size, device=args.device, data_path=args.data, out_dir=args.out,
        eval_interval=min(args.eval_interval, args.iters), eval_iters=args.eval_iters, seed=args.seed,
        progress=not args.no_progress, warmup_iters=min(100, args.iters // 10),
    )
    _check_device(args.device)
    result = pretrain(GPTConfig(**CONFIGS[args.config]), config, resume=args.resume)
    h = result.history
    print(f"done: {len(h['step'])} steps in {result.seconds:.1f} s; final train loss {h['eval_train'][-1]:.4f}, "
          f"val loss {h['eval_val'][-1]:.4f}")
    print(f"checkpoint: {result.checkpoint}   loss curve: {Path(args.out) / 'loss.png'}")
    if args.sample_tokens > 0:
        prompt = result.tokenizer.encode("\n")
        ids = generate(result.model, prompt, max_new_tokens=args.sample_tokens, temperature=0.8, seed=args.seed)
        print("\n--- a sample ---" + result.tokenizer.decode(ids))
    return 0


def cmd_generate(args) -> int:
    from .training.generate import generate
    from .training.pretrain import load_pretrained

    _check_device(args.device)
    model, tokenizer = load_pretrained(args.checkpoint, args.device)
    prompt = tokenizer.encode(args.prompt)
    if not prompt:
        raise UsageError("--prompt is empty; give at least one character")
    ids = generate(model, prompt, max_new_tokens=args.max_tokens, temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    print(tokenizer.decode(ids))
    return 0


def cmd_finetune(args) -> int:
    from .finetune.classifier import METHODS, POOLINGS
    from .finetune.train import FinetuneConfig, finetune

    tasks = ("sentiment", "spam")
    if args.task not in tasks:
        raise UsageError(f"unknown --task {args.task!r}; choose one of {', '.join(tasks)}")
    if args.method not in METHODS:
        raise UsageError(f"unknown --method {args.method!r}; choose one of {', '.join(METHODS)}")
    if args.pooling not in POOLINGS:
        raise UsageError(f"unknown --pooling {args.pooling!r}; choose one of {', '.join(POOLINGS)}")
    _check_device(args.device)
    out = args.out or f"runs/finetune/{args.task}-{args.method}{'-scratch' if args.from_scratch else ''}"
    config = FinetuneConfig(
        task=args.task, method=args.method, checkpoint=args.checkpoint, from_scratch=args.from_scratch, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, train_limit=args.train_limit, last_n=args.last_n, pooling=args.pooling,
        device=args.device, seed=args.seed, out_dir=out, progress=not args.no_progress,
    )
    result = finetune(config)
    print(result["text_report"])
    print(f"test accuracy {result['test_accuracy']:.4f}; {result['trainable_parameters']:,} trainable parameters; "
          f"{result['seconds']:.1f} s")
    print(f"saved: {out}/model.npz, {out}/metrics.json, {out}/confusion_matrix.png")
    return 0


def _check_device(device: str) -> None:
    from . import backend

    backend.get_backend(device)  # raises DeviceError with what is missing and how to install it


COMMANDS = {"pretrain": cmd_pretrain, "generate": cmd_generate, "finetune": cmd_finetune}


def main(argv=None) -> int:
    from .backend import DeviceError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"tinygrad-ft: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError, DeviceError) as e:
        print(f"tinygrad-ft: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinygrad-ft: interrupted (the last checkpoint is intact)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
