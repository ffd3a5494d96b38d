"""Fine-tuning a pre-trained GPT to classify texts (sentiment, spam).

Start from the shipped BPE checkpoint (or, as the baseline, the same architecture with
random weights), put a classification head on it, choose what trains (``set_trainable``),
and train with AdamW on mini-batches of padded texts. After each epoch the validation
accuracy is measured; the best epoch's weights are kept and evaluated on the test split.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy  # host-side: batches and metrics

from .. import functional as F
from .. import metrics
from ..autograd import no_grad
from ..backend import keep_freed_memory, manual_seed, set_threads, to_numpy
from ..datasets.labeled import TASKS, load_task, stratified_subset
from ..models.gpt import GPT, GPTConfig, load_pretrained
from ..nn.checkpoint import check_output_folder, save_checkpoint
from ..optim import AdamW, WarmupCosine, weight_decay_groups
from ..options import check_at_least, check_choice, check_range, named, option
from ..paths import BPE_CHECKPOINT, data_path, shown
from ..training.progress import Progress
from ..training.step import TrainingInterrupted, check_finite, train_step
from .classifier import LORA_TARGETS, METHODS, POOLINGS, GPTClassifier, set_trainable
from .data import bucketed_minibatches, encode_texts, pad_batch
from .lora import lora_state_dict

DEFAULT_LR = {"head": 2e-2, "last-block": 1e-3, "full": 5e-4, "lora": 3e-3}  # per method: what trains sets the scale


@dataclass
class FinetuneConfig:
    """How to fine-tune a classifier. The defaults are the runs of the README's table."""

    task: str = option("sentiment", "the labelled task", choices=TASKS)
    method: str = option("full", "what trains: the head, the last block(s), everything, or LoRA adapters", choices=METHODS)
    checkpoint: str | None = option(None, f"pre-trained GPT (default: {shown(BPE_CHECKPOINT)})")
    from_scratch: bool = option(False, "same architecture, random weights (the baseline)")
    epochs: int = option(3, "passes over the training split")
    batch_size: int = option(32, "texts per step")
    max_len: int = option(64, "tokens kept per text (its last ones); 90%% of the sentences fit")
    lr: float | None = option(None, "peak learning rate (default: per method, " +
                              ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    weight_decay: float = option(0.01, "AdamW's decoupled weight decay (matrices only)")
    pooling: str = option("mean", "the text's summary: the mean over real tokens, or the last token", choices=POOLINGS)
    last_n: int = option(1, "blocks trained by --method last-block")
    lora_rank: int = option(4, "rank r of the LoRA adapters (--method lora)")
    lora_alpha: float = option(8.0, "LoRA's alpha: the update is scaled by alpha / r (--method lora)")
    lora_targets: str = option(",".join(LORA_TARGETS), "comma-separated name patterns of the Linears that get adapters "
                               "(--method lora)")
    train_limit: int | None = option(None, "use only this many labelled training examples")
    seed: int = option(0, "random seed (head, adapters, batches)")
    device: str = option("cpu", "cpu or cuda")
    threads: int | None = option(None, "CPU threads for matrix products and fused kernels (default: OPENBLAS_NUM_THREADS "
                                 "if set, else every core)")
    out_dir: str | None = option(None, "folder for model.npz, metrics.json and plots (default: runs/finetune/TASK-METHOD)",
                                 flag="--out")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self):
        check_choice(self, "task")
        check_choice(self, "method")
        check_choice(self, "pooling")
        check_at_least(self, 1, "epochs", "batch_size", "max_len", "last_n", "lora_rank")
        check_at_least(self, 0, "seed")
        check_at_least(self, 1, "threads")
        if self.train_limit is not None and self.train_limit < 2:
            raise ValueError(f"{named(self, 'train_limit')} must be at least 2, one example per class, got {self.train_limit}")
        if self.lr is not None and not 0 < self.lr < float("inf"):
            raise ValueError(f"{named(self, 'lr')} must be a positive number, got {self.lr}")
        check_range(self, "weight_decay", 0)
        if not self.lora_alpha > 0:
            raise ValueError(f"{named(self, 'lora_alpha')} must be a positive number, got {self.lora_alpha}")
        if not [p for p in self.lora_targets.split(",") if p.strip()]:
            raise ValueError(f"{named(self, 'lora_targets')} names no layer; give patterns such as '*.attn.c_attn'")

    def default_out_dir(self) -> str:
        """Where the CLI saves a run when ``--out`` is not given."""
        return f"runs/finetune/{self.task}-{self.method}{'-scratch' if self.from_scratch else ''}"


def classification_loss(model, ids, mask, labels):
    """The mean cross-entropy of the classifier's logits against the labels."""
    return F.cross_entropy(model(ids, mask), labels)


def predict(model: GPTClassifier, tokenizer, texts, device: str, batch_size: int = 64,
            max_len: int | None = None) -> numpy.ndarray:
    """Class predictions for texts, in batches of similar length (less padding)."""
    encoded = encode_texts(tokenizer, texts, min(max_len or model.gpt.config.block_size, model.gpt.config.block_size))
    order = numpy.argsort([len(e) for e in encoded], kind="stable")
    predictions = numpy.zeros(len(texts), dtype=numpy.int64)
    model.eval()
    with no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = pad_batch([encoded[i] for i in idx], tokenizer.pad_id or 0)
            logits = model(ids, mask)  # host arrays: the ids are checked there, both are copied to the device
            predictions[idx] = to_numpy(logits.data.argmax(axis=-1))
    return predictions


def build_classifier(config: FinetuneConfig, num_classes: int):
    """The GPT (pre-trained, or randomly initialised with the same config) with a head, on the
    CPU. ``finetune`` adds the adapters (``set_trainable``) there too and only then moves the
    model to ``config.device``: every random number of the set-up (head, LoRA's A) comes from
    the CPU generator, so a seed gives the same starting model on every device."""
    path = config.checkpoint or data_path(BPE_CHECKPOINT)
    gpt, tokenizer = load_pretrained(path, "cpu")
    if config.from_scratch:
        manual_seed(config.seed + 1)
        gpt = GPT(GPTConfig.from_dict(gpt.config.to_dict()))
    manual_seed(config.seed)
    return GPTClassifier(gpt, num_classes, pooling=config.pooling), tokenizer


def train_classifier(config: FinetuneConfig, log=print) -> dict:
    """Fine-tune, evaluate on the test split, save; returns the metrics dict (also as JSON)."""
    keep_freed_memory()
    set_threads(config.threads)
    if config.out_dir:
        check_output_folder(config.out_dir, named(config, "out_dir"))  # before training: no result is lost to it
    task = load_task(config.task)
    model, tokenizer = build_classifier(config, task.num_classes)
    targets = [pattern.strip() for pattern in config.lora_targets.split(",") if pattern.strip()]
    trainable = set_trainable(model, config.method, config.last_n, config.lora_rank, config.lora_alpha, targets)
    model.to(config.device)  # after set_trainable: the adapters were drawn on the CPU (see build_classifier)
    rng = numpy.random.default_rng(config.seed)
    texts, labels = list(task.train.texts), numpy.asarray(task.train.labels)
    if config.train_limit is not None and config.train_limit < len(texts):
        keep = stratified_subset(labels, config.train_limit, rng)
        texts, labels = [texts[i] for i in keep], labels[keep]
    max_len = min(config.max_len, model.gpt.config.block_size)
    encoded = encode_texts(tokenizer, texts, max_len)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.method]
    steps_per_epoch = -(-len(texts) // config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer = AdamW(weight_decay_groups(model, config.weight_decay), lr=lr, weight_decay=config.weight_decay)
    scheduler = WarmupCosine(optimizer, warmup_steps=max(1, total // 10), total_steps=total, min_lr=lr / 10)
    log(f"{config.task} / {config.method}{' (from scratch)' if config.from_scratch else ''}: "
        f"{trainable['trainable']:,} of {trainable['total']:,} parameters train ({100 * trainable['fraction']:.2f}%); "
        f"{len(texts)} training examples")

    t0 = time.perf_counter()
    progress = Progress(total, f"{config.task}/{config.method}", config.progress, log=log)
    best_accuracy, best_state, history, step = -1.0, None, [], 0
    nothing_saved = "nothing is saved: fine-tuning writes its files at the end of the run"
    for epoch in range(config.epochs):
        model.train()
        try:
            for idx in bucketed_minibatches([len(e) for e in encoded], config.batch_size, rng):
                ids, mask = pad_batch([encoded[i] for i in idx], tokenizer.pad_id or 0)
                batch = (ids, mask, labels[idx])  # host arrays: checked there, then copied to the device
                loss = train_step(model, batch, classification_loss, optimizer, scheduler, grad_clip=1.0)
                step += 1
                if step % 10 == 0 or step == total:  # a host sync: not every step
                    check_finite([float(loss.data)], step - 1, lr, nothing_saved)
                    progress.update(10 if step % 10 == 0 else step % 10, loss=f"{float(loss.data):.4f}")
        except KeyboardInterrupt:
            progress.close()
            raise TrainingInterrupted(f"interrupted in epoch {epoch + 1}, step {step}; {nothing_saved}") from None
        val_predictions = predict(model, tokenizer, task.val.texts, config.device, max_len=max_len)
        val_accuracy = metrics.accuracy(task.val.labels, val_predictions)
        history.append({"epoch": epoch + 1, "val_accuracy": val_accuracy})
        progress.write(f"epoch {epoch + 1}: validation accuracy {val_accuracy:.4f}")
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            best_state = {k: v.copy() for k, v in model.state_dict().items()}
    progress.close()
    model.load_state_dict(best_state)
    seconds = time.perf_counter() - t0

    y_pred = predict(model, tokenizer, task.test.texts, config.device, max_len=max_len)
    report = metrics.classification_dict(task.test.labels, y_pred, class_names=task.class_names)
    result = {
        "task": config.task, "method": config.method, "from_scratch": config.from_scratch,
        "train_examples": len(texts), "trainable_parameters": trainable["trainable"],
        "total_parameters": trainable["total"], "seconds": seconds, "best_val_accuracy": best_accuracy,
        "test_accuracy": metrics.accuracy(task.test.labels, y_pred),
        "test_macro_f1": report["macro avg"]["f1-score"] if "macro avg" in report else None,
        "report": report, "history": history, "config": asdict(config),
    }
    result["text_report"] = metrics.classification_report(task.test.labels, y_pred, class_names=task.class_names)
    result["saved"] = save_run(config, model, tokenizer, task, y_pred, result) if config.out_dir else []
    result["model"], result["tokenizer"] = model, tokenizer
    return result


def save_run(config, model, tokenizer, task, y_pred, result) -> list[Path]:
    """Write the run's files into ``config.out_dir``; returns the paths written.

    ``model.npz``: the whole classifier (``load_checkpoint`` reads it). ``adapters.npz`` (LoRA
    only): just the adapters and the head, a few percent of the model, with the base checkpoint
    named in its metadata. ``metrics.json``; ``confusion_matrix.png`` where matplotlib is installed.
    """
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "classifier", "model_config": model.gpt.config.to_dict(), "tokenizer": tokenizer.to_json(),
            "class_names": task.class_names, "finetune_config": asdict(config)}
    written = [save_checkpoint(out / "model.npz", model.state_dict(), meta)]
    if config.method == "lora":
        adapters = {**lora_state_dict(model), **{f"head.{name}": p.data for name, p in model.head.named_parameters()}}
        adapter_meta = {**meta, "kind": "lora-adapters", "base_checkpoint": str(config.checkpoint or data_path(BPE_CHECKPOINT))}
        written.append(save_checkpoint(out / "adapters.npz", adapters, adapter_meta))
    summary = {k: v for k, v in result.items() if k not in ("model", "tokenizer", "saved")}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    written.append(out / "metrics.json")
    cm = metrics.confusion_matrix(task.test.labels, y_pred, num_classes=task.num_classes)
    fig = metrics.plot_confusion_matrix(cm, task.class_names, path=out / "confusion_matrix.png",
                                        title=f"{config.task} / {config.method}: test split")
    if fig is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)
        written.append(out / "confusion_matrix.png")
    return written
