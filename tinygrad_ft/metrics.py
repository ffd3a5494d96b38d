"""Classification metrics: accuracy, precision / recall / F1, the confusion matrix, a report.

All of it runs on the host with plain NumPy: pass labels as lists, NumPy arrays, device
arrays or tensors (the last two are copied to the host explicitly). Labels are integers
``0 .. num_classes - 1``.

For one class ``c``, with TP = predicted c and truly c, FP = predicted c but not c,
FN = truly c but predicted something else:

* precision = TP / (TP + FP): of what we called c, how much was c;
* recall    = TP / (TP + FN): of the real c, how much we found;
* F1        = 2 * precision * recall / (precision + recall), their harmonic mean.

A ratio with a zero denominator (a class never predicted, or never present) is 0.0, without
a warning. The macro average is the plain mean over classes (every class counts the same);
the weighted average weights each class by its support (how many true examples it has).
"""

from __future__ import annotations

import numpy as np  # host-side by design: metrics are computed on small label arrays

from .backend import is_array, to_numpy


def _labels(y) -> np.ndarray:
    if hasattr(y, "numpy") and hasattr(y, "requires_grad"):  # a Tensor
        y = y.numpy()
    elif is_array(y):
        y = to_numpy(y)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D sequence, got shape {y.shape}")
    whole = y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(y == np.round(y)))
    if y.size and not whole:
        raise ValueError(f"labels must be whole numbers, got dtype {y.dtype}")
    return y.astype(np.int64)


def _pair(y_true, y_pred, num_classes=None) -> tuple[np.ndarray, np.ndarray, int]:
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    both = np.concatenate([y_true, y_pred])
    if num_classes is None:
        num_classes = int(both.max()) + 1 if both.size else 0
    bad = both[(both < 0) | (both >= num_classes)]
    if bad.size:
        raise ValueError(f"label {int(bad[0])} is out of range for num_classes={num_classes} (labels 0..{num_classes - 1})")
    return y_true, y_pred, num_classes


def _ratio(num, den) -> np.ndarray:
    """num / den element-wise, 0.0 where den is 0 (no warning)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions that are right (0.0 for no examples)."""
    y_true, y_pred, _ = _pair(y_true, y_pred)
    return float(_ratio((y_true == y_pred).sum(), len(y_true)))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``cm[i, j]`` = how many examples of true class ``i`` were predicted as class ``j``.

    Rows are the truth, columns the prediction; the diagonal holds the correct ones.
    """
    y_true, y_pred, num_classes = _pair(y_true, y_pred, num_classes)
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def precision_recall_f1(y_true, y_pred, num_classes: int | None = None):
    """Per-class ``(precision, recall, f1, support)``, each an array of length num_classes."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support


def classification_dict(y_true, y_pred, class_names=None, num_classes: int | None = None) -> dict:
    """The report as a JSON-able dict: one entry per class name, then ``"accuracy"``,
    ``"macro avg"`` and ``"weighted avg"`` (like scikit-learn's ``output_dict=True``)."""
    if class_names is not None:
        num_classes = len(class_names)
    precision, recall, f1, support = precision_recall_f1(y_true, y_pred, num_classes)
    if class_names is None:
        class_names = [str(c) for c in range(len(support))]
    total = int(support.sum())
    report = {}
    for name, p, r, f, s in zip(class_names, precision, recall, f1, support):
        report[name] = {"precision": float(p), "recall": float(r), "f1-score": float(f), "support": int(s)}
    report["accuracy"] = accuracy(y_true, y_pred)
    scores = {"precision": precision, "recall": recall, "f1-score": f1}
    weights = _ratio(support, total)  # each class's share of the true examples
    report["macro avg"] = {k: float(v.mean()) if v.size else 0.0 for k, v in scores.items()} | {"support": total}
    report["weighted avg"] = {k: float((v * weights).sum()) for k, v in scores.items()} | {"support": total}
    return report


def classification_report(y_true, y_pred, class_names=None, num_classes: int | None = None, digits: int = 2) -> str:
    """A text table of precision, recall, F1 and support per class, laid out like scikit-learn's."""
    report = classification_dict(y_true, y_pred, class_names, num_classes)
    rows = [k for k in report if k not in ("accuracy", "macro avg", "weighted avg")]
    width = max([len(k) for k in rows] + [len("weighted avg"), digits])
    header = " " * (width + 1) + "".join(f"{h:>10}" for h in ("precision", "recall", "f1-score", "support"))
    lines = [header, ""]

    def row(name, d):
        return (
            f"{name:>{width}} "
            + "".join(f"{d[k]:>10.{digits}f}" for k in ("precision", "recall", "f1-score"))
            + f"{d['support']:>10}"
        )

    lines += [row(name, report[name]) for name in rows]
    total = report["macro avg"]["support"]
    lines += ["", f"{'accuracy':>{width}} " + " " * 20 + f"{report['accuracy']:>10.{digits}f}{total:>10}"]
    lines += [row("macro avg", report["macro avg"]), row("weighted avg", report["weighted avg"])]
    return "\n".join(lines) + "\n"


def plot_confusion_matrix(cm, class_names=None, path=None, normalize: bool = False, title: str = "Confusion matrix"):
    """Draw ``cm`` as a heat map with the counts written in; save it to ``path`` if given.

    ``normalize=True`` colours and labels each row as fractions of that true class (so a
    rare class is as visible as a common one). Returns the matplotlib ``Figure``; it is made
    without pyplot, so it works under any backend (Agg included) and is not kept alive by
    pyplot's figure list. In a notebook, show it by leaving it as a cell's last value.
    """
    from matplotlib.figure import Figure

    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    n = cm.shape[0]
    class_names = [str(c) for c in range(n)] if class_names is None else list(class_names)
    if len(class_names) != n:
        raise ValueError(f"{len(class_names)} class names for a {n}x{n} confusion matrix")
    values = _ratio(cm, cm.sum(axis=1, keepdims=True)) if normalize else cm
    fig = Figure(figsize=(1.2 * n + 2.5, 1.2 * n + 2))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax)
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    threshold = values.max() / 2 if values.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
            ax.text(j, i, text, ha="center", va="center", color="white" if values[i, j] > threshold else "black")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
