"""Pre-training the tiny GPT on a text corpus: next-token prediction.

One step: draw a batch of random windows of the text, predict every next token, take the
mean cross-entropy, backpropagate, clip the global gradient norm, let AdamW update the
weights with a learning rate that warms up linearly and then decays along a cosine.

Every ``eval_interval`` steps the mean loss on a few train and validation batches is
estimated and a checkpoint is written (weights, optimizer state, config, tokenizer, step and
RNG states), so an interrupted run resumes onto exactly the same loss curve.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy  # host-side: the token stream and the batch sampler live on the host

from ..autograd import no_grad
from ..backend import get_backend, keep_freed_memory, manual_seed, set_threads, to_numpy
from ..datasets.text import get_batch, load_text, train_val_split
from ..models.gpt import GPT, GPTConfig
from ..nn.checkpoint import (
    CheckpointError,
    check_output_folder,
    load_checkpoint,
    remove_stale_temporary,
    save_checkpoint,
)
from ..optim import AdamW, WarmupCosine, weight_decay_groups
from ..options import check_at_least, check_choice, check_range, named, option
from ..paths import SHAKESPEARE, shown
from ..tokenizers import KINDS, Tokenizer, build_tokenizer
from ..tokenizers.bpe import MIN_VOCAB_SIZE
from .progress import Progress
from .step import TrainingInterrupted, check_finite, next_token_loss, train_step


@dataclass
class TrainConfig:
    """How to pre-train. The defaults are the course's 'baby' run: 2,000 steps on a laptop CPU."""

    max_iters: int = option(2000, "training steps", flag="--iters")
    batch_size: int = option(12, "sequences per step")
    lr: float = option(1e-3, "peak learning rate")
    min_lr: float | None = option(None, "learning rate at the end of the cosine (default: lr / 10)")
    warmup_iters: int | None = option(None, "steps of linear warmup from 0 (default: min(100, iters / 10))")
    beta1: float = option(0.9, "AdamW's beta1")
    beta2: float = option(0.99, "AdamW's beta2")
    weight_decay: float = option(0.1, "AdamW's decoupled weight decay (matrices only)")
    grad_clip: float = option(1.0, "clip the global gradient norm to this (0: no clipping)")
    eval_interval: int = option(250, "steps between loss estimates and checkpoints (at most --iters)")
    eval_iters: int = option(20, "batches per loss estimate")
    seed: int = option(1337, "random seed (weights, batches, dropout)")
    device: str = option("cpu", "cpu or cuda")
    threads: int | None = option(None, "CPU threads for matrix products and fused kernels (default: OPENBLAS_NUM_THREADS "
                                 "if set, else every core)")
    tokenizer: str = option("char", "character-level or byte-pair tokens", choices=KINDS)
    bpe_vocab_size: int = option(512, "vocabulary size of the BPE tokenizer")
    data_path: str | None = option(None, f"a UTF-8 text file (default: {shown(SHAKESPEARE)})", flag="--data")
    out_dir: str = option("runs/pretrain", "folder for the checkpoint and the loss curve", flag="--out")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self):
        check_choice(self, "tokenizer")
        check_at_least(self, 1, "max_iters", "batch_size", "eval_interval", "eval_iters", "bpe_vocab_size")
        check_at_least(self, 0, "warmup_iters", "seed")
        check_at_least(self, 1, "threads")
        if self.tokenizer == "bpe":
            check_at_least(self, MIN_VOCAB_SIZE, "bpe_vocab_size")  # the specials and one token per byte
        if not 0 < self.lr < float("inf"):
            raise ValueError(f"{named(self, 'lr')} must be a positive number, got {self.lr}")
        check_range(self, "min_lr", 0, self.lr)
        check_range(self, "beta1", 0, 1, high_open=True)
        check_range(self, "beta2", 0, 1, high_open=True)
        check_range(self, "weight_decay", 0)
        check_range(self, "grad_clip", 0)
        if self.min_lr is None:
            self.min_lr = self.lr / 10
        if self.warmup_iters is None:
            self.warmup_iters = min(100, self.max_iters // 10)
        self.eval_interval = min(self.eval_interval, self.max_iters)


@dataclass
class TrainResult:
    model: GPT
    tokenizer: Tokenizer
    checkpoint: Path
    history: dict = field(default_factory=dict)  # step, train_loss per step; evals
    seconds: float = 0.0
    loss_curve: Path | None = None  # the plot, where matplotlib is installed


def estimate_loss(model, data, config: TrainConfig, block_size: int, seed: int) -> float:
    """Mean loss over ``eval_iters`` random batches (a fixed seed per call: no effect on training)."""
    rng = numpy.random.default_rng(seed)
    model.eval()
    losses = []
    with no_grad():
        for _ in range(config.eval_iters):
            x, y = get_batch(data, config.batch_size, block_size, rng)
            _, loss = model(x, y)  # host batches: their ids are checked on the host, then copied
            losses.append(loss.data)
    model.train()
    xp = get_backend(config.device).xp
    return float(xp.stack(losses).mean())  # one trip to the host for all of them


def make_optimizer(model, config: TrainConfig):
    """AdamW over the model's parameters, weight decay on the matrices only, and its schedule:
    linear warmup to ``lr``, then a cosine down to ``min_lr`` at ``max_iters``."""
    groups = weight_decay_groups(model, config.weight_decay)
    optimizer = AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), weight_decay=config.weight_decay)
    scheduler = WarmupCosine(optimizer, warmup_steps=config.warmup_iters, total_steps=config.max_iters, min_lr=config.min_lr)
    return optimizer, scheduler


def pretrain(model_config: GPTConfig | None = None, config: TrainConfig | None = None, resume: str | None = None,
             log=print) -> TrainResult:
    """Train a GPT on the corpus and return it with its tokenizer, checkpoint and loss history.

    ``resume``: a checkpoint written by an earlier run; training continues from its step with
    its weights, optimizer state, tokenizer and RNG states (its model config wins).
    """
    config = config or TrainConfig()
    model_config = model_config or GPTConfig()
    keep_freed_memory()
    set_threads(config.threads)
    out_dir = check_output_folder(config.out_dir, named(config, "out_dir"))  # before any work: none is lost to it
    checkpoint_path = out_dir / "checkpoint.npz"
    stale = remove_stale_temporary(checkpoint_path)
    if stale is not None:
        log(f"removed {stale}, left by a save that was interrupted (the checkpoint beside it is whole)")
    text = load_text(config.data_path)

    state = None
    if resume:
        state = load_checkpoint(resume, config.device)
        if state.meta.get("kind") != "pretrain":
            raise CheckpointError(f"{resume} is not a pre-training checkpoint (kind {state.meta.get('kind')!r})")
        if state.optimizer_state is None:
            raise CheckpointError(f"{resume} holds no optimizer state (exported weights?): it can be loaded, not resumed")
        tokenizer = Tokenizer.from_json(state.meta["tokenizer"])
        model_config = GPTConfig.from_dict(state.meta["model_config"])
    else:
        tokenizer = build_tokenizer(config.tokenizer, text, vocab_size=config.bpe_vocab_size)
        model_config.vocab_size = tokenizer.vocab_size

    ids = numpy.asarray(tokenizer.encode(text), dtype=numpy.int64)
    needed = 10 * (model_config.block_size + 1)  # the validation tenth must hold one window of block_size + 1
    if len(ids) < needed:
        raise ValueError(f"{named(config, 'data_path')}: the text {config.data_path or shown(SHAKESPEARE)} is {len(ids)} "
                         f"tokens long; a model with block_size {model_config.block_size} needs at least {needed} "
                         "(a tenth of them for validation)")
    train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
    manual_seed(config.seed)
    model = GPT(model_config).to(config.device)
    optimizer, scheduler = make_optimizer(model, config)
    batch_rng = numpy.random.default_rng(config.seed)
    history = {"step": [], "train_loss": [], "eval_step": [], "eval_train": [], "eval_val": []}
    start = 0
    if state is not None:
        model.load_state_dict(state.model_state)
        optimizer.load_state_dict(state.optimizer_state)
        scheduler.load_state_dict({"last_step": state.meta["step"], "base_lrs": scheduler.base_lrs})
        batch_rng.bit_generator.state = state.meta["batch_rng"]
        _set_device_rng_state(config.device, state.meta.get("device_rng"))
        history = state.meta["history"]
        start = state.meta["step"]
    log(f"model: {model.num_parameters():,} parameters, {model_config}; tokenizer: {tokenizer}; "
        f"{len(train_ids):,} train / {len(val_ids):,} val tokens; device {config.device}")

    saved_step = None  # the step of the last checkpoint this run wrote

    def where_saved() -> str:
        if saved_step is None:
            return f"no checkpoint was written yet (the first is written at step {config.eval_interval})"
        return f"the last good checkpoint is {checkpoint_path} (step {saved_step})"

    def save(step: int) -> None:
        nonlocal saved_step
        device_rng = _device_rng_state(config.device)
        meta = {
            "kind": "pretrain",
            "model_config": model_config.to_dict(),
            "train_config": asdict(config),
            "tokenizer": tokenizer.to_json(),
            "step": step,
            "batch_rng": batch_rng.bit_generator.state,
            "device_rng": device_rng,
            "history": history,
        }
        save_checkpoint(checkpoint_path, model.state_dict(), meta, optimizer.state_dict())
        saved_step = step

    def evaluate(step: int) -> None:
        seed = config.seed + 1 + step
        history["eval_step"].append(step)
        history["eval_train"].append(estimate_loss(model, train_ids, config, model_config.block_size, seed))
        history["eval_val"].append(estimate_loss(model, val_ids, config, model_config.block_size, seed))
        check_finite([history["eval_train"][-1], history["eval_val"][-1]], step - 1, config.lr, where_saved())

    progress = Progress(config.max_iters, "pretrain", config.progress, initial=start, log=log)
    pending = []  # device scalars, brought to the host together (one sync per log interval)
    t0 = time.perf_counter()
    model.train()
    step = start
    try:
        for step in range(start, config.max_iters):
            lr = scheduler.get_last_lr()[0]
            batch = get_batch(train_ids, config.batch_size, model_config.block_size, batch_rng)  # host arrays: checked there
            loss = train_step(model, batch, next_token_loss, optimizer, scheduler, config.grad_clip)
            pending.append(loss.data)
            last = step + 1 == config.max_iters
            if len(pending) == 10 or last or (step + 1) % config.eval_interval == 0:
                losses = to_numpy(get_backend(config.device).xp.stack(pending)).tolist()
                check_finite(losses, step + 1 - len(losses), config.lr, where_saved())  # before anything is saved
                history["step"].extend(range(step + 1 - len(losses), step + 1))
                history["train_loss"].extend(losses)
                progress.update(len(losses), loss=f"{losses[-1]:.4f}", lr=f"{lr:.2e}")
                pending = []
            if (step + 1) % config.eval_interval == 0 or last:
                evaluate(step + 1)
                progress.write(f"step {step + 1}: train loss {history['eval_train'][-1]:.4f}, "
                               f"val loss {history['eval_val'][-1]:.4f}")
                save(step + 1)
    except KeyboardInterrupt:
        resume_hint = f"; continue with --resume {checkpoint_path}" if saved_step is not None else ""
        raise TrainingInterrupted(f"interrupted at step {step + 1}; {where_saved()}{resume_hint}") from None
    finally:
        progress.close()
    seconds = time.perf_counter() - t0
    if start >= config.max_iters:
        save(start)
    loss_curve = plot_loss_curve(history, out_dir / "loss.png")
    return TrainResult(model, tokenizer, checkpoint_path, history, seconds, loss_curve)


def _device_rng_state(device: str) -> dict | None:
    """The device generator's state as JSON (NumPy's, and the strict device's, which is NumPy's),
    or None where there is none to save: CuPy's generator keeps its state on the GPU
    (``bit_generator.state`` is a method there, not a dict)."""
    generator = get_backend(device).generator
    state = getattr(getattr(generator, "bit_generator", None), "state", None)
    return state if isinstance(state, dict) else None


def _set_device_rng_state(device: str, saved: dict | None) -> None:
    """Restore a state saved by ``_device_rng_state`` where the generator is of the same kind
    (a checkpoint moves between "cpu" and "strict" with its dropout masks); on CuPy, or from a
    CuPy run, the device generator keeps its seed and later dropout masks differ from an
    uninterrupted run (nothing else does: the batches come from the host generator)."""
    if not isinstance(saved, dict):
        return
    bit_generator = getattr(get_backend(device).generator, "bit_generator", None)
    current = getattr(bit_generator, "state", None)
    if isinstance(current, dict) and current.get("bit_generator") == saved.get("bit_generator"):
        bit_generator.state = saved


def plot_loss_curve(history: dict, path) -> Path | None:
    """Train loss per step (light), and the periodic train/val estimates, saved as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history["step"], history["train_loss"], color="tab:blue", alpha=0.3, label="train (per step)")
    ax.plot(history["eval_step"], history["eval_train"], "o-", color="tab:blue", label="train (estimate)")
    ax.plot(history["eval_step"], history["eval_val"], "o-", color="tab:orange", label="val (estimate)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
