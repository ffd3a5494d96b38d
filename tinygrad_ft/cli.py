"""The command line: ``tinygrad-ft <command> [flags]``. It only parses arguments.

    tinygrad-ft pretrain                 # the baby GPT on tiny Shakespeare, then a sample
    tinygrad-ft generate --prompt "ROMEO:"
    tinygrad-ft finetune --task spam --method lora
    tinygrad-ft import-hf gpt2/ --out gpt2.npz          # a downloaded Hugging Face GPT-2
    tinygrad-ft export --format hf out/                  # and back

Every flag, its default, its choices and its help text come from the fields of a config
dataclass (``TrainConfig``, ``GenerateConfig``, ``FinetuneConfig``, ``ImportConfig``,
``ExportConfig``); the named model sizes
from ``models.presets``. Mistakes (a bad flag, a missing file, a device this machine lacks)
end in one line that says what is wrong, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from importlib.metadata import version
from pathlib import Path

from .backend import DeviceError, get_backend
from .finetune.classification import FinetuneConfig, train_classifier
from .hf import ExportConfig, ImportConfig, export_checkpoint, from_pretrained, import_hf
from .models.generate import GenerateConfig, generate
from .models.gpt import load_pretrained
from .models.presets import PRESETS, preset
from .options import flag_of
from .paths import BABY_CHECKPOINT, data_path
from .training.pretrain import TrainConfig, pretrain

DEFAULT_PRESET = "baby"


class UsageError(Exception):
    """A mistake on the command line, reported as one line."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def add_config_flags(parser: argparse.ArgumentParser, config_class, skip=()) -> None:
    """One flag per field of ``config_class``, with the field's default, choices and help."""
    hints = typing.get_type_hints(config_class)
    for f in dataclasses.fields(config_class):
        if f.name in skip:
            continue
        flag, help_text = flag_of(config_class, f.name), f.metadata.get("help", "")
        if hints[f.name] is bool:
            action = "store_false" if f.default else "store_true"
            parser.add_argument(flag, dest=f.name, action=action, default=f.default, help=help_text)
            continue
        value_type = next((t for t in typing.get_args(hints[f.name]) if t is not type(None)), hints[f.name])
        shown_default = "" if f.default is None or "default:" in help_text else " (default: %(default)s)"
        choices = f.metadata.get("choices")  # checked by the config, whose message names the flag
        one_of = f": one of {', '.join(choices)}" if choices else ""
        parser.add_argument(flag, dest=f.name, type=value_type, default=f.default, metavar=f.name.upper(),
                            help=help_text + one_of + shown_default)


def config_from(args, config_class, **overrides):
    """A config from the parsed flags of its fields (and ``overrides``)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class) if hasattr(args, f.name)}
    try:
        return config_class(**{**values, **overrides})
    except ValueError as e:  # a value out of range: the config's message names the flag
        raise UsageError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tinygrad-ft",
                    description="Build, pre-train and fine-tune a tiny GPT on an autograd engine written from scratch.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('tinygrad-ft')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = commands.add_parser("pretrain", help="pre-train a GPT on the bundled text, then print a sample")
    p.add_argument("--config", default=DEFAULT_PRESET, metavar="PRESET",
                   help=f"model size: one of {', '.join(PRESETS)} (default: %(default)s)")
    add_config_flags(p, TrainConfig)
    p.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--sample-tokens", type=int, default=GenerateConfig.max_tokens, metavar="N",
                   help="tokens to sample after training (default: %(default)s)")

    g = commands.add_parser("generate", help="sample text from a trained checkpoint")
    add_config_flags(g, GenerateConfig)

    f = commands.add_parser("finetune", help="fine-tune the pre-trained GPT to classify texts")
    add_config_flags(f, FinetuneConfig)

    i = commands.add_parser("import-hf", help="read a Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer) "
                                              "into a checkpoint")
    i.add_argument("folder", metavar="FOLDER", help="the Hugging Face model folder (downloaded beforehand)")
    add_config_flags(i, ImportConfig)

    e = commands.add_parser("export", help="write a checkpoint as a Hugging Face folder (GPT2LMHeadModel, AutoTokenizer, PEFT)")
    e.add_argument("out", metavar="OUT", help="the folder to write")
    add_config_flags(e, ExportConfig)
    parser.commands = {"pretrain": p, "generate": g, "finetune": f, "import-hf": i, "export": e}  # each command's own parser
    return parser


def cmd_pretrain(args) -> int:
    if args.config not in PRESETS:
        raise UsageError(f"unknown --config {args.config!r}; choose one of {', '.join(PRESETS)}")
    config = config_from(args, TrainConfig)
    check_device(config.device)
    result = pretrain(preset(args.config), config, resume=args.resume)
    history = result.history
    print(f"done: {len(history['step'])} steps in {result.seconds:.1f} s; final train loss {history['eval_train'][-1]:.4f}, "
          f"val loss {history['eval_val'][-1]:.4f}")
    curve = f"   loss curve: {result.loss_curve}" if result.loss_curve else "   (no loss curve: matplotlib is not installed)"
    print(f"checkpoint: {result.checkpoint}{curve}")
    print(f"sample from it: tinygrad-ft generate --checkpoint {result.checkpoint}")
    if args.sample_tokens > 0:
        sampling = GenerateConfig(max_tokens=args.sample_tokens, seed=config.seed)
        prompt = result.tokenizer.encode(sampling.prompt)
        ids = generate(result.model, prompt, max_new_tokens=sampling.max_tokens, temperature=sampling.temperature,
                       seed=sampling.seed)
        print("\n--- a sample ---" + result.tokenizer.decode(ids))
    return 0


def cmd_generate(args) -> int:
    config = config_from(args, GenerateConfig)
    check_device(config.device)
    if config.checkpoint and Path(config.checkpoint).is_dir():  # a Hugging Face folder, read as it is
        model, tokenizer = from_pretrained(config.checkpoint, config.device)
        if tokenizer is None:
            raise UsageError(f"{config.checkpoint} has no tokenizer (tokenizer.json, or vocab.json + merges.txt)")
    else:
        model, tokenizer = load_pretrained(config.checkpoint or data_path(BABY_CHECKPOINT), config.device)
    prompt = tokenizer.encode(config.prompt)
    if not prompt:
        raise UsageError("--prompt is empty; give at least one character")
    ids = generate(model, prompt, max_new_tokens=config.max_tokens, temperature=config.temperature, top_k=config.top_k,
                   top_p=config.top_p, seed=config.seed)
    print(tokenizer.decode(ids))
    return 0


def cmd_finetune(args) -> int:
    config = config_from(args, FinetuneConfig)
    config.out_dir = config.out_dir or config.default_out_dir()
    check_device(config.device)
    result = train_classifier(config)
    print(result["text_report"])
    print(f"test accuracy {result['test_accuracy']:.4f}; {result['trainable_parameters']:,} trainable parameters; "
          f"{result['seconds']:.1f} s")
    print(f"saved: {', '.join(str(path) for path in result['saved'])}")
    return 0


def check_device(device: str) -> None:
    get_backend(device)  # raises DeviceError with what is missing and how to install it


def one_line(error: Exception) -> str:
    """An error's message on one line (some list their problems one per line)."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def cmd_import_hf(args) -> int:
    config = config_from(args, ImportConfig)
    path = import_hf(args.folder, config)
    print(f"checkpoint: {path}")
    print(f"sample from it: tinygrad-ft generate --checkpoint {path}")
    return 0


def cmd_export(args) -> int:
    config = config_from(args, ExportConfig)
    written = export_checkpoint(args.out, config)
    for what, path in written.items():
        print(f"{what}: {path}")
    return 0


COMMANDS = {"pretrain": cmd_pretrain, "generate": cmd_generate, "finetune": cmd_finetune, "import-hf": cmd_import_hf,
            "export": cmd_export}


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"tinygrad-ft: error: {one_line(e)}", file=sys.stderr)
        return 2
    except (OSError, ValueError, DeviceError) as e:
        print(f"tinygrad-ft: error: {one_line(e)}", file=sys.stderr)
        return 1
    except MemoryError as e:
        print(f"tinygrad-ft: error: out of memory ({one_line(e) or 'an array did not fit'}); "
              "try a smaller --batch-size or model (--config)", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:  # training says what it saved; elsewhere nothing was being written
        print(f"tinygrad-ft: {e}" if str(e) else "tinygrad-ft: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
