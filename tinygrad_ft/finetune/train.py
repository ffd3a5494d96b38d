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

from .. import backend as B
from .. import functional as F
from .. import metrics
from ..datasets.labeled import load_task, stratified_subset
from ..models.gpt import GPT, GPTConfig
from ..optim import AdamW, clip_grad_norm_, warmup_cosine_lr, weight_decay_groups
from ..tensor import no_grad
from ..training.checkpoint import save_checkpoint
from ..training.pretrain import load_pretrained
from .classifier import METHODS, GPTClassifier, set_trainable
from .data import bucketed_minibatches, encode_texts, pad_batch

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "checkpoints" / "bpe-pretrained.npz"
DEFAULT_LR = {"head": 2e-2, "last-block": 1e-3, "full": 5e-4, "lora": 3e-3}


@dataclass
class FinetuneConfig:
    task: str = "sentiment"  # "sentiment" or "spam"
    method: str = "full"  # "head", "last-block", "full" or "lora"
    checkpoint: str | None = None  # default: data/checkpoints/bpe-pretrained.npz
    from_scratch: bool = False  # same architecture, random weights: the baseline
    epochs: int = 3
    batch_size: int = 32
    max_len: int = 64  # tokens kept per text (its last ones); 90% of the sentences fit
    lr: float | None = None  # default per method (DEFAULT_LR)
    weight_decay: float = 0.01
    pooling: str = "mean"  # "mean" over real tokens: a stronger signal than the last token for this small model
    last_n: int = 1  # blocks trained by "last-block"
    train_limit: int | None = None  # use only this many labelled training examples
    seed: int = 0
    device: str = "cpu"
    out_dir: str | None = None
    progress: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.task not in ("sentiment", "spam"):
            raise ValueError(f"unknown task {self.task!r}; choose one of sentiment, spam")
        for name in ("epochs", "batch_size", "max_len", "last_n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} (--{name.replace('_', '-')}) must be at least 1, got {getattr(self, name)}")
        if self.train_limit is not None and self.train_limit < 2:
            raise ValueError(f"train_limit (--train-limit) must be at least 2, one example per class, got {self.train_limit}")


def predict(model: GPTClassifier, tokenizer, texts, device: str, batch_size: int = 64, max_len: int | None = None) -> numpy.ndarray:
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
            predictions[idx] = B.to_numpy(logits.data.argmax(axis=-1))
    return predictions


def build_classifier(config: FinetuneConfig, num_classes: int):
    """The GPT (pre-trained, or randomly initialised with the same config) with a head, on the
    CPU. ``finetune`` adds the adapters (``set_trainable``) there too and only then moves the
    model to ``config.device``: every random number of the set-up (head, LoRA's A) comes from
    the CPU generator, so a seed gives the same starting model on every device."""
    path = config.checkpoint or DEFAULT_CHECKPOINT
    gpt, tokenizer = load_pretrained(path, "cpu")
    if config.from_scratch:
        B.manual_seed(config.seed + 1)
        gpt = GPT(GPTConfig.from_dict(gpt.config.to_dict()))
    B.manual_seed(config.seed)
    return GPTClassifier(gpt, num_classes, pooling=config.pooling), tokenizer


def finetune(config: FinetuneConfig, log=print) -> dict:
    """Fine-tune, evaluate on the test split, save; returns the metrics dict (also as JSON)."""
    B.keep_freed_memory()
    task = load_task(config.task)
    model, tokenizer = build_classifier(config, task.num_classes)
    trainable = set_trainable(model, config.method, config.last_n)
    model.to(config.device)  # after set_trainable: the adapters were drawn on the CPU (see build_classifier)
    rng = numpy.random.default_rng(config.seed)
    texts, labels = list(task.train.texts), numpy.asarray(task.train.labels)
    if config.train_limit is not None and config.train_limit < len(texts):
        keep = stratified_subset(labels, config.train_limit, rng)
        texts, labels = [texts[i] for i in keep], labels[keep]
    max_len = min(config.max_len, model.gpt.config.block_size)
    encoded = encode_texts(tokenizer, texts, max_len)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.method]
    optimizer = AdamW(weight_decay_groups(model, config.weight_decay), lr=lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(texts) // config.batch_size)
    total = steps_per_epoch * config.epochs
    log(f"{config.task} / {config.method}{' (from scratch)' if config.from_scratch else ''}: "
        f"{trainable['trainable']:,} of {trainable['total']:,} parameters train ({100 * trainable['fraction']:.2f}%); "
        f"{len(texts)} training examples")

    t0 = time.perf_counter()
    bar = _progress(total, config.progress, f"{config.task}/{config.method}")
    best_accuracy, best_state, history, step = -1.0, None, [], 0
    for epoch in range(config.epochs):
        model.train()
        for idx in bucketed_minibatches([len(e) for e in encoded], config.batch_size, rng):
            for group in optimizer.param_groups:
                group["lr"] = warmup_cosine_lr(step, lr, max(1, total // 10), total, lr / 10)
            ids, mask = pad_batch([encoded[i] for i in idx], tokenizer.pad_id or 0)
            logits = model(ids, mask)  # ids, mask and labels: host arrays, checked there, then copied
            loss = F.cross_entropy(logits, labels[idx])
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{float(loss.data):.4f}")
        val_accuracy = metrics.accuracy(task.val.labels, predict(model, tokenizer, task.val.texts, config.device, max_len=max_len))
        history.append({"epoch": epoch + 1, "val_accuracy": val_accuracy})
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            best_state = {k: v.copy() for k, v in model.state_dict().items()}
    if bar is not None:
        bar.close()
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
    if config.out_dir:
        _save(config, model, tokenizer, task, y_pred, result)
    result["model"], result["tokenizer"] = model, tokenizer
    return result


def _save(config, model, tokenizer, task, y_pred, result) -> None:
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "classifier", "model_config": model.gpt.config.to_dict(), "tokenizer": tokenizer.to_json(),
            "class_names": task.class_names, "finetune_config": asdict(config)}
    save_checkpoint(out / "model.npz", model.state_dict(), meta)
    summary = {k: v for k, v in result.items() if k not in ("model", "tokenizer")}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    cm = metrics.confusion_matrix(task.test.labels, y_pred, num_classes=task.num_classes)
    fig = metrics.plot_confusion_matrix(cm, task.class_names, path=out / "confusion_matrix.png",
                                        title=f"{config.task} / {config.method}: test split")
    if fig is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="step")
