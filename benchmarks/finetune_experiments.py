"""What does pre-training buy, and what does each fine-tuning method cost and give?

    python benchmarks/finetune_experiments.py             # everything (about 45 min on 2 busy cores)
    python benchmarks/finetune_experiments.py --quick     # 1 epoch, smaller budgets: a smoke run

1. For each task (sentiment, spam) and method (head, last-block, full, lora): trainable
   parameters, wall time, test accuracy and F1, for the shipped pre-trained GPT and for the
   same architecture trained from random initialisation.
2. A learning curve on sentiment: test accuracy against the number of labelled training
   examples (50, 100, 200, 500, all), pre-trained vs from scratch, full fine-tuning.
3. Supervised fine-tuning (SFT) of the language model, evaluated by generation, beside the
   classification head.

Writes benchmarks/results/finetune.json, finetune.md (the tables) and learning_curve.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinygrad_ft.finetune.classification import FinetuneConfig, train_classifier
from tinygrad_ft.finetune.sft import sft

OUT = Path(__file__).resolve().parent / "results"
METHODS = ("head", "last-block", "full", "lora")
BUDGETS = (50, 100, 200, 500, None)


def run(task, method, scratch, epochs, limit=None, seed=0):
    r = train_classifier(FinetuneConfig(task=task, method=method, from_scratch=scratch, epochs=epochs, train_limit=limit,
                                seed=seed, progress=False), log=lambda *a: None)
    f1 = {name: r["report"][name]["f1-score"] for name in r["report"] if name not in ("accuracy", "macro avg", "weighted avg")}
    row = {"task": task, "method": method, "init": "scratch" if scratch else "pretrained", "train_examples": r["train_examples"],
           "trainable": r["trainable_parameters"], "total": r["total_parameters"], "seconds": round(r["seconds"], 1),
           "test_accuracy": r["test_accuracy"], "macro_f1": r["test_macro_f1"], "f1": f1}
    print(json.dumps(row))
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--skip-methods", action="store_true")
    p.add_argument("--skip-curve", action="store_true")
    p.add_argument("--skip-sft", action="store_true")
    p.add_argument("--resume", action="store_true", help="keep the runs already in finetune.json, run only the missing ones")
    args = p.parse_args()
    epochs = 1 if args.quick else args.epochs
    budgets = (50, 100) if args.quick else BUDGETS
    OUT.mkdir(exist_ok=True)
    results = json.loads((OUT / "finetune.json").read_text()) if (OUT / "finetune.json").exists() else {}

    done = json.loads(json.dumps(results)) if args.resume else {}  # a copy: results is rewritten below

    def save():  # after every run, so an interrupted sweep keeps what it measured (see --resume)
        (OUT / "finetune.json").write_text(json.dumps(results, indent=2))

    def cached(section, task, method, init, n):
        return [r for r in done.get(section, []) if (r["task"], r["method"], r["init"]) == (task, method, init)
                and (n is None or r["train_examples"] == n)]

    if not args.skip_methods:
        results["methods"] = [r for r in done.get("methods", [])]
        for task in ("sentiment", "spam"):
            for m in METHODS:
                for scratch in (False, True):
                    if not cached("methods", task, m, "scratch" if scratch else "pretrained", None):
                        results["methods"].append(run(task, m, scratch, epochs))
                        save()
    if not args.skip_curve:
        curve = results["curve"] = []
        for n in budgets:
            for scratch in (False, True):
                reuse = [r for r in results.get("methods", []) if n is None and r["task"] == "sentiment" and r["method"] == "full"
                         and r["init"] == ("scratch" if scratch else "pretrained")]
                # small budgets get more epochs (few steps otherwise); "all" reuses the methods table's run
                reuse = reuse or (cached("curve", "sentiment", "full", "scratch" if scratch else "pretrained", n) if n else [])
                budget = epochs if n is None or n > 200 else 3 * epochs
                curve.append(reuse[0] if reuse else run("sentiment", "full", scratch, budget, n))
                save()
    if not args.skip_sft:
        results["sft"] = []
        for scratch in (False, True):
            r = sft("sentiment", from_scratch=scratch, epochs=epochs, log=lambda *a: None)
            row = {k: r[k] for k in ("task", "from_scratch", "train_examples", "seconds", "test_accuracy", "answered_a_class")}
            print(json.dumps(row))
            results["sft"].append(row)
            save()
    save()
    (OUT / "finetune.md").write_text(tables(results))
    if "curve" in results:
        plot_curve(results["curve"], OUT / "learning_curve.png")
    print(tables(results))


def tables(results) -> str:
    lines = []
    if "methods" in results:
        lines += ["| task | method | init | trainable params | % | time (s) | test acc | macro F1 | F1 of class 1 |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in results["methods"]:
            f1_pos = list(r["f1"].values())[-1]
            lines.append(f"| {r['task']} | {r['method']} | {r['init']} | {r['trainable']:,} | "
                         f"{100 * r['trainable'] / r['total']:.1f} "
                         f"| {r['seconds']} | {r['test_accuracy']:.3f} | {r['macro_f1']:.3f} | {f1_pos:.3f} |")
        lines.append("")
    if "curve" in results:
        lines += ["| labelled examples | pre-trained acc | from-scratch acc |", "|---:|---:|---:|"]
        by_n = {}
        for r in results["curve"]:
            by_n.setdefault(r["train_examples"], {})[r["init"]] = r["test_accuracy"]
        for n, d in sorted(by_n.items()):
            lines.append(f"| {n} | {d.get('pretrained', float('nan')):.3f} | {d.get('scratch', float('nan')):.3f} |")
        lines.append("")
    if "sft" in results:
        lines += ["| SFT (sentiment) | examples | time (s) | test acc | answers naming a class |", "|---|---:|---:|---:|---:|"]
        for r in results["sft"]:
            lines.append(f"| {'scratch' if r['from_scratch'] else 'pretrained'} | {r['train_examples']} | {r['seconds']:.1f} "
                         f"| {r['test_accuracy']:.3f} | {r['answered_a_class']:.3f} |")
    return "\n".join(lines) + "\n"


def plot_curve(curve, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for init, style in (("pretrained", "o-"), ("scratch", "s--")):
        pts = sorted((r["train_examples"], r["test_accuracy"]) for r in curve if r["init"] == init)
        ax.plot([n for n, _ in pts], [a for _, a in pts], style, label=init)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training examples")
    ax.set_ylabel("test accuracy (sentiment)")
    ax.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
