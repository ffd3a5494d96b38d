"""Builds lessons/11_pretraining_the_tiny_gpt.ipynb ... lessons/15_the_same_code_on_a_gpu.ipynb, and runs them.

    .venv/bin/python lessons/_build/ch11_15.py            # write and execute all five
    .venv/bin/python lessons/_build/ch11_15.py 12 13      # only chapters 12 and 13
    .venv/bin/python lessons/_build/ch11_15.py --no-run   # write without executing

The chapters' sources are below (format, execution and writing: ``notebooks.py``).
"""

from __future__ import annotations

import sys

from notebooks import main, setup_cell

PLOTS = """
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6, 3.5), "axes.grid": True, "grid.alpha": 0.3})
rng = np.random.default_rng(0)
"""
QUIET = """

def quiet(*args):
    # pass as log= to the library's training functions: no output
    pass
"""
F = "from tinygrad_ft import functional as F"
BUDGET = "from tinygrad_ft.course import budget  # fast mode (TINYGRAD_FT_FAST=1): smaller budgets"


def setup(*imports: str, quiet: bool = True) -> str:
    """A chapter's first code cell: NumPy, matplotlib, ``tg`` and ``imports``; plot settings, an RNG,
    and (``quiet``) a log function that prints nothing."""
    return setup_cell(*imports, body=PLOTS + (QUIET if quiet else ""))


# =========================================================================================
CH11 = r"""
%% md
# Chapter 11 · Pre-training the tiny GPT

The GPT of the previous chapters is a function with 800,000 numbers in it, all random. Pre-training
sets them by one game, played millions of times: *read some text, guess the next character*. The
loss is the cross-entropy of the guess, the mean of $-\log p(\text{the true next token})$, and
AdamW nudges every weight to make it smaller.

Training the course's "baby" model takes about two minutes on a laptop CPU, so the repository ships
the result: `data/checkpoints/baby-char.npz`. This chapter loads it, reads its loss curve, turns
the loss into a number with a meaning (perplexity), and makes the model write, with the two knobs
that shape its writing: temperature and top-k. At the end, `pretrain()` itself, on a toy budget.

%% code
""" + setup(F, BUDGET, quiet=False) + r"""
%% md
## Loading the shipped model

A checkpoint is one `.npz` file: the weights, and a JSON header with the model's config, the
tokenizer and the history of the run. `load_pretrained` rebuilds the model and the tokenizer from it;
`load_checkpoint` gives the raw contents, header included.

%% code
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.nn.checkpoint import load_checkpoint
from tinygrad_ft.paths import BABY_CHECKPOINT, data_path
from tinygrad_ft.training import TrainConfig, pretrain

CHECKPOINT = data_path(BABY_CHECKPOINT)                              # data/checkpoints/baby-char.npz
model, tokenizer = load_pretrained(CHECKPOINT)
meta = load_checkpoint(CHECKPOINT).meta

print(model.config)
print(f"{model.num_parameters():,} parameters; {tokenizer}")
print("trained with:", {k: meta["train_config"][k] for k in ("max_iters", "batch_size", "lr", "min_lr", "warmup_iters", "seed")})

%% md
The header also records *how* it was trained. Those settings are `TrainConfig`'s defaults (only
the output folder differs), so `pretrain()` with no arguments reproduces this model. Two of them
`TrainConfig` derives from the others when they are not given: the learning rate at the end of the
cosine, `min_lr` (a tenth of `lr`), and the warmup, `warmup_iters` (a tenth of the steps, at most 100):

%% code
from dataclasses import asdict

defaults = asdict(TrainConfig())
differs = {k for k in defaults if defaults[k] != meta["train_config"][k]}
print("settings that differ from the defaults:", differs)
assert differs <= {"out_dir", "progress"}
assert defaults["min_lr"] == defaults["lr"] / 10
assert defaults["warmup_iters"] == min(100, defaults["max_iters"] // 10)

%% md
## The loss curve

`meta["history"]` holds the training loss of every one of the 2,000 steps (one random batch each,
so it is noisy), and every 250 steps a steadier estimate on 20 batches of the training text and 20
of the held-out validation text (the last 10% of the corpus, never trained on).

%% code
from tinygrad_ft.optim import warmup_cosine_lr

h = meta["history"]
smooth = np.convolve(h["train_loss"], np.ones(50) / 50, mode="valid")
cfg = meta["train_config"]
lrs = [warmup_cosine_lr(s, cfg["lr"], cfg["warmup_iters"], cfg["max_iters"], cfg["min_lr"]) for s in h["step"]]

fig, (ax, ax_lr) = plt.subplots(1, 2, figsize=(10, 3.5), gridspec_kw={"width_ratios": [2, 1]})
ax.plot(h["step"], h["train_loss"], color="tab:blue", alpha=0.2, lw=0.8, label="train, one batch")
ax.plot(h["step"][25:25 + len(smooth)], smooth, color="tab:blue", label="train, mean of 50 steps")
ax.plot(h["eval_step"], h["eval_val"], "o-", color="tab:orange", label="validation estimate")
ax.axhline(np.log(tokenizer.vocab_size), color="gray", ls=":", label="ln(vocab size): a uniform guess")
ax.set(xlabel="step", ylabel="cross-entropy (nats per character)", ylim=(1.5, 4.5), title="baby-char: loss")
ax.legend(fontsize=8)
ax_lr.plot(h["step"], lrs)
ax_lr.set(xlabel="step", title="learning rate: warmup, then cosine")
fig.tight_layout()

%% md
Three things to read from it:

* **The start.** A model with small random weights gives every character about the same score, so
  its loss is the loss of a uniform guess over the vocabulary, $\ln V$ with $V = 67$ (65 characters,
  "unknown" and "pad"). The first step's loss is right there:

%% code
V = tokenizer.vocab_size
print(f"first step loss {h['train_loss'][0]:.4f}, ln V = {np.log(V):.4f}")
assert abs(h["train_loss"][0] - np.log(V)) < 0.05

%% md
* **The gap.** The validation loss sits a little above the training loss and the gap widens slowly:
  the model begins to remember its training text. With one pass over about a quarter of the corpus
  (2,000 steps × 12 windows × 64 characters = 1.5 M characters seen, from 1 M distinct ones), it is
  small.
* **The schedule.** The learning rate climbs for 100 steps (Adam's first moment estimates are poor),
  then decays along a cosine to a tenth; the loss keeps falling as the steps get smaller.

%% code
print(f"final: train {h['eval_train'][-1]:.4f}, validation {h['eval_val'][-1]:.4f}")
assert h["eval_val"][-1] > h["eval_train"][-1]
assert abs(h["eval_val"][-1] - 1.8889) < 1e-4

%% md
## Perplexity: the loss as a number of choices

A loss of 1.89 nats is hard to picture. Its exponential is not:

$$\text{perplexity} = \exp\Big(\frac{1}{N}\sum_{t=1}^{N} -\log p(x_t \mid x_{<t})\Big)
= \Big(\prod_{t=1}^{N} \frac{1}{p(x_t \mid x_{<t})}\Big)^{1/N},$$

the geometric mean of $1/p$ over the text. A model that picks uniformly among $k$ tokens gives each
true token $p = 1/k$, and its perplexity is exactly $k$; so perplexity reads as "as unsure as a
uniform choice among this many characters".

Both forms, on one validation window of 64 characters, and the library's loss beside them:

%% code
from tinygrad_ft.datasets.text import get_batch, load_text, train_val_split

ids = np.asarray(tokenizer.encode(load_text()), dtype=np.int64)
train_ids, val_ids = train_val_split(ids, val_fraction=0.1)

x, y = get_batch(val_ids, 1, model.config.block_size, np.random.default_rng(0))
with tg.no_grad():
    logits, loss = model(x, y)
z = logits.numpy()[0].astype(np.float64)                             # (64, V)
log_p = z - z.max(-1, keepdims=True)
log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))                # log-softmax by hand
p_true = np.exp(log_p[np.arange(len(y[0])), y[0]])                   # p of each true next character

ppl_exp = np.exp(-np.log(p_true).mean())
ppl_geo = np.prod(1 / p_true) ** (1 / len(p_true))
print(f"loss {loss.item():.4f}  exp(mean -log p) {ppl_exp:.3f}  geometric mean of 1/p {ppl_geo:.3f}")
assert np.isclose(-np.log(p_true).mean(), loss.item(), rtol=1e-5)
assert np.isclose(ppl_exp, ppl_geo)
assert np.isclose(ppl_exp, np.exp(loss.item()), rtol=1e-5)

%% md
And the uniform guess: all-zero logits give loss $\ln V$ and perplexity exactly $V$.

%% code
uniform_loss = F.cross_entropy(tg.zeros((5, V)), [0, 3, 17, 42, 66]).item()
print(f"uniform guess: loss {uniform_loss:.4f}, perplexity {np.exp(uniform_loss):.2f}")
assert np.isclose(np.exp(uniform_loss), V, rtol=1e-5)

%% md
One window is a noisy measure. Over 20 batches of 12 windows (the estimate training made) the
validation loss comes out near the 1.89 of the checkpoint, not equal: these are other random windows.

%% code
eval_rng = np.random.default_rng(1)
with tg.no_grad():
    losses = [model(*get_batch(val_ids, 12, model.config.block_size, eval_rng))[1].item() for _ in range(20)]
val_loss = float(np.mean(losses))
print(f"validation loss {val_loss:.3f} ± {np.std(losses) / np.sqrt(len(losses)):.3f} → perplexity {np.exp(val_loss):.2f}")
assert abs(val_loss - h["eval_val"][-1]) < 0.1

%% md
From 67 equally likely characters at step 0 to about 6.5: the model has learned spelling, spacing,
the shape of a play. It is far from knowing what comes next, as its writing will show.

## Sampling: temperature and top-k

To write, the model scores the next character, we turn the scores into probabilities and draw one,
append it, and repeat (`tinygrad_ft.models.generate`). Two knobs change the draw:

* **Temperature** $T$ divides the logits before the softmax, $p_i = \operatorname{softmax}(z / T)_i$.
  $T < 1$ sharpens the distribution (the favourite gains), $T > 1$ flattens it, and $T \to 0$ is
  greedy decoding: always the most likely character.
* **Top-k** keeps only the $k$ highest logits and renormalises: the long tail of unlikely
  characters, each rare but many together, can no longer be drawn.

Here is what the model expects after a prompt, at three temperatures:

%% code
from tinygrad_ft.models import generate, sample_next

prompt = "ROMEO:\nI will "
with tg.no_grad():
    z = model(np.asarray([tokenizer.encode(prompt)]))[0].numpy()[0, -1].astype(np.float64)

def softmax_T(z, T):
    e = np.exp((z - z.max()) / T)
    return e / e.sum()

top = np.argsort(z)[::-1][:12]
names = [repr(tokenizer.decode([i]))[1:-1] or "␣" for i in top]
fig, ax = plt.subplots(figsize=(8, 3))
for k, T in enumerate((0.5, 1.0, 2.0)):
    ax.bar(np.arange(12) + (k - 1) * 0.27, softmax_T(z, T)[top], width=0.27, label=f"T = {T}")
ax.set_xticks(range(12), [n.replace(" ", "␣") for n in names])
ax.set(ylabel="probability", title=f"next character after {prompt!r}")
ax.legend()
fig.tight_layout()

%% md
The library's sampler, `sample_next`, should draw from exactly these distributions. Drawing 5,000
characters at $T = 0.8$, and 5,000 more with top-5, the frequencies match the formula to within
sampling noise, and top-5 never draws a sixth character:

%% code
draw_rng = np.random.default_rng(0)
n = 5000
freq = np.bincount([sample_next(z, 0.8, None, draw_rng) for _ in range(n)], minlength=V) / n
p = softmax_T(z, 0.8)
print(f"T = 0.8: largest |frequency − p| = {np.abs(freq - p).max():.4f}")
assert np.abs(freq - p).max() < 4 * np.sqrt(0.25 / n)

freq5 = np.bincount([sample_next(z, 0.8, 5, draw_rng) for _ in range(n)], minlength=V) / n
p5 = np.where(np.isin(np.arange(V), top[:5]), p, 0.0)
p5 /= p5.sum()
outside = freq5[top[5:]].sum() + freq5[np.setdiff1d(np.arange(V), top)].sum()
print(f"top-5:   largest |frequency − p| = {np.abs(freq5 - p5).max():.4f}; drawn outside the top 5: {outside:.0f} times")
assert np.abs(freq5 - p5).max() < 4 * np.sqrt(0.25 / n)
assert set(np.flatnonzero(freq5)) <= set(top[:5])
assert sample_next(z, 0.0, None, draw_rng) == z.argmax()           # T = 0: greedy

%% md
How spread out is the distribution? Its *entropy* $H = -\sum_i p_i \log p_i$ has the same
exponential reading as the loss: $e^H$ is the number of equally likely characters it is worth.
Raising $T$ can only raise it (the curve is monotone, checked below). After `I will ` a new word
begins, so even at $T = 1$ some twenty characters are in play; at large $T$ it drifts towards all 67.

%% code
temps = np.linspace(0.1, 4, 60)
effective = np.array([np.exp(-(softmax_T(z, T) * np.log(softmax_T(z, T) + 1e-300)).sum()) for T in temps])
assert np.all(np.diff(effective) >= -1e-9)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(temps, effective)
ax.axhline(V, color="gray", ls=":")
ax.set(xlabel="temperature T", ylabel="exp(entropy)", title="effective number of choices for the next character")
fig.tight_layout()
print(f"at T = 1: {effective[np.argmin(abs(temps - 1))]:.1f} effective choices")

%% md
Now the model writes. Each call of `generate` takes a `seed`, so a text can be reproduced:

%% code
def write(T, top_k=None, seed=0, n=160):
    out = generate(model, tokenizer.encode(prompt), max_new_tokens=n, temperature=T, top_k=top_k, seed=seed)
    return tokenizer.decode(out)

for T in (0.0, 0.5, 1.0, 1.5):
    print(f"──── T = {T} ────\n{write(T)}\n")

%% md
Greedy decoding ($T = 0$) falls into a loop: the most likely next character, again and again, soon
repeats a phrase that makes itself most likely. $T = 0.5$ is cautious and plausible; $T = 1$ is the
model's own distribution, more varied, more misspelled; at $T = 1.5$ the tail of unlikely characters
takes over. Top-k cuts that tail off, and the same hot temperature becomes readable again:

%% code
print(write(1.5, top_k=5))

%% md
A seed fixes the text, another seed gives another one, and greedy decoding needs no seed at all:

%% code
assert write(0.8, seed=1) == write(0.8, seed=1)
assert write(0.8, seed=1) != write(0.8, seed=2)
assert write(0.0, seed=1) == write(0.0, seed=2)
print(write(0.8, seed=1, n=100))

%% md
## Pre-training it yourself

`pretrain(model_config, train_config)` is the whole loop of the first paragraph: draw 12 random
windows of 64 characters, predict every next character, backpropagate the mean cross-entropy, clip
the gradient norm to 1, let AdamW step with the scheduled learning rate (`optim.WarmupCosine`). Every
`eval_interval` steps it estimates the train and validation losses and writes a checkpoint, from which
an interrupted run resumes (`resume=path`).

Its step is the library's one training step, `train_step`: the same function that classification
fine-tuning (chapter 12) and SFT (chapter 14) call, and that the benchmarks time. A loop only decides
how it draws its batches, which loss it takes, when it evaluates and what it saves. Here it is, with
the loss pre-training gives it:

%% code
import inspect

from tinygrad_ft.training import next_token_loss, train_step

print(inspect.getsource(train_step))
print(inspect.getsource(next_token_loss))

%% md
Called by hand, three times on one batch of the training text, it makes a small fresh GPT's loss on
that batch fall:

%% code
from tinygrad_ft.models import GPT, preset
from tinygrad_ft.optim import AdamW

tg.manual_seed(0)
small = GPT(preset("tiny", vocab_size=V))
optimizer = AdamW(small.parameters(), lr=1e-2)
batch = get_batch(train_ids, 16, small.config.block_size, np.random.default_rng(0))
step_losses = [train_step(small, batch, next_token_loss, optimizer, grad_clip=1.0).item() for _ in range(3)]
print("loss at each step:", np.round(step_losses, 4))
assert step_losses[2] < step_losses[0]

%% md
Set `RETRAIN = True` to train the baby model again, with a progress bar (about two minutes on two
cores; the command line does the same with `tinygrad-ft pretrain`). It replaces `model` and
`tokenizer` above with the new ones.

%% code
RETRAIN = False

if RETRAIN:
    result = pretrain(preset("baby"), TrainConfig(out_dir="runs/baby-char"))
    model, tokenizer = result.model, result.tokenizer
    print(f"val loss {result.history['eval_val'][-1]:.4f} (the shipped model: {h['eval_val'][-1]:.4f})")
else:
    print("using the shipped checkpoint; set RETRAIN = True to train it again")

%% md
Here, instead, the same function on a toy budget: the `tiny` model (one block, 16 dimensions, a
context of 16 characters) for 200 steps (20 in fast mode, the mode of the test run), with two
validation estimates; the warmup (a tenth of the steps) and `min_lr` are derived as above. It prints
its one-line summary and its two validation estimates; the losses are in the returned history.

%% code
import tempfile

ITERS = budget(full=200, fast=20)
toy = pretrain(
    preset("tiny"),
    TrainConfig(max_iters=ITERS, batch_size=16, eval_interval=ITERS // 2, eval_iters=5, out_dir=tempfile.mkdtemp(),
                progress=False),
)
th = toy.history
for s in range(0, ITERS, ITERS // 4):
    print(f"step {th['step'][s]:3d}: train loss {th['train_loss'][s]:.4f}")
print("validation estimates:", {s: round(v, 4) for s, v in zip(th["eval_step"], th["eval_val"])})
print(f"{toy.seconds:.2f} s; checkpoint written to {toy.checkpoint.name}")

%% md
It starts, as it must, at $\ln 67 \approx 4.20$ and has already begun to fall: the first things a
model learns are which characters are common (spaces, `e`, `t`) and which never occur.

%% code
assert abs(th["train_loss"][0] - np.log(V)) < 0.05
assert np.mean(th["train_loss"][-5:]) < th["train_loss"][0] - 0.05
assert load_checkpoint(toy.checkpoint).meta["step"] == ITERS

%% md
What next? The baby model writes Shakespeare-shaped text, and that is all it does. The next
chapters make a pre-trained model *useful* for a task of our choosing, with far fewer labelled
examples than pre-training used characters: chapter 12 puts a classifier on top of it.
"""

# =========================================================================================
CH12 = r"""
%% md
# Chapter 12 · Fine-tuning for classification

Pre-training taught a GPT what text looks like. Most uses of a model are narrower: is this review
positive, is this message spam? This chapter turns the pre-trained GPT into a **classifier**: read
a text, keep one vector that sums it up, and put one new linear layer on top that scores the
classes. Then: how to choose which weights train, how to measure a classifier honestly (accuracy can
lie), and a short fine-tuning run on SMS spam.

The starting point is `data/checkpoints/bpe-pretrained.npz`: the same GPT shape as the baby model,
but reading BPE tokens (pieces of words, 512 of them) with a context of 128, pre-trained on the same
Shakespeare. It is the fine-tuning track's default.

%% code
""" + setup(F, BUDGET) + r"""
%% code
from tinygrad_ft import metrics
from tinygrad_ft.finetune import FinetuneConfig, GPTClassifier, predict, set_trainable, train_classifier
from tinygrad_ft.finetune.data import encode_texts, pad_batch
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.paths import BPE_CHECKPOINT, data_path

CHECKPOINT = data_path(BPE_CHECKPOINT)                               # data/checkpoints/bpe-pretrained.npz
gpt, tokenizer = load_pretrained(CHECKPOINT)
print(CHECKPOINT.name, "·", gpt.config)
print(f"{gpt.num_parameters():,} parameters; {tokenizer}")
print([tokenizer.decode([i]) for i in tokenizer.encode("Free entry! Win a prize, text WIN now")])

%% md
## A head on pooled hidden states

The GPT's `hidden_states(ids)` is the last layer's output before the language-model head: one
vector of 128 numbers for every position, `(B, T, C)`. A classifier needs one vector per *text*,
`(B, C)`, so we **pool** over positions, then apply a `Linear(C, K)` head for $K$ classes:

* **last**: the hidden state of the last real token. In a causal model it is the only position that
  has attended to the whole text, so it is the natural summary.
* **mean**: the average over the real tokens.

Texts in a batch have different lengths, so they are padded on the right to the longest one, with an
`attention_mask` that is True on real tokens. Both poolings must read only real tokens. By hand, for
a batch of two texts:

%% code
texts = ["Free entry! Win a prize, text WIN now to 80086", "ok see you at lunch"]
ids, mask = pad_batch(encode_texts(tokenizer, texts, gpt.config.block_size), tokenizer.pad_id)
print("ids shape", ids.shape, "; real tokens per text", mask.sum(axis=1))
print(mask.astype(int))

tg.manual_seed(0)
classifier = GPTClassifier(gpt, num_classes=2, pooling="last")
with tg.no_grad():
    hidden = gpt.hidden_states(ids, attention_mask=mask).numpy()          # (B, T, C)
    pooled = classifier.pool(tg.Tensor(hidden), mask).numpy()             # (B, C)

last = mask.sum(axis=1) - 1                                               # index of each text's last real token
by_hand_last = hidden[np.arange(len(texts)), last]
by_hand_mean = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
assert np.allclose(pooled, by_hand_last)
classifier.pooling = "mean"
assert np.allclose(classifier.pool(tg.Tensor(hidden), mask).numpy(), by_hand_mean, atol=1e-6)
classifier.pooling = "last"
print("pooled:", pooled.shape, "= hidden states at positions", last)

%% md
Padding must not change a prediction. With right padding it cannot: a real token attends only to
tokens before it (causal attention), so the pads after it are invisible to it, and the pooling skips
them. The short text alone, and padded to the length of the long one, gives the same scores, with
either pooling:

%% code
short = encode_texts(tokenizer, texts[1:], gpt.config.block_size)
for pooling in ("last", "mean"):
    classifier.pooling = pooling
    with tg.no_grad():
        alone = classifier(*pad_batch(short, tokenizer.pad_id)).numpy()[0]
        padded = classifier(ids, mask).numpy()[1]
    print(f"{pooling:4s}: alone {alone}, padded in the batch {padded}")
    assert np.allclose(alone, padded, atol=1e-5)
classifier.pooling = "last"

%% md
The head is new and random, so these scores mean nothing yet. Training will fix that.

## What trains: freezing

A pre-trained model already computes useful features, so we need not train all of it. `set_trainable`
picks, in one line, which parameters receive gradients (the others are *frozen*: `requires_grad` is
off, the optimizer never sees them):

* `"head"`: only the new head, a **linear probe**: how far do the frozen features get us?
* `"last-block"`: the last transformer block, the final LayerNorm and the head;
* `"full"`: everything;
* `"lora"`: low-rank adapters, the subject of chapter 13.

The head has $C \cdot K + K = 128 \cdot 2 + 2$ parameters. The counts, checked against a count by name:

%% code
def fresh_classifier():
    g, _ = load_pretrained(CHECKPOINT)
    tg.manual_seed(0)
    return GPTClassifier(g, num_classes=2)

counts = {}
for method in ("head", "last-block", "full"):
    model = fresh_classifier()
    counts[method] = set_trainable(model, method)
    trainable = {n: p.size for n, p in model.named_parameters() if p.requires_grad}
    assert counts[method]["trainable"] == sum(trainable.values())
    prefixes = sorted({".".join(n.split(".")[:3]) if n.startswith("gpt.blocks") else n.rsplit(".", 1)[0] for n in trainable})
    shown = ", ".join(prefixes[:5]) + (" ..." if len(prefixes) > 5 else "")
    print(f"{method:10s} {counts[method]['trainable']:>8,} of {counts[method]['total']:,} "
          f"({100 * counts[method]['fraction']:5.2f}%)  {shown}")

C, K = gpt.config.n_embd, 2
block = fresh_classifier().gpt.blocks[-1]
assert counts["head"]["trainable"] == C * K + K
assert counts["last-block"]["trainable"] == block.num_parameters() + 2 * C + C * K + K    # block, ln_f, head
assert counts["full"]["trainable"] == counts["full"]["total"]

%% md
Fewer trainable parameters means less to compute (no weight gradients for frozen layers), less
optimizer state, and less room to overfit a small labelled set; more means more room to adapt.
Which wins depends on the task and on how much labelled data there is.

## Measuring a classifier

For one class $c$, count the true positives (predicted $c$, truly $c$), false positives (predicted
$c$, truly not) and false negatives (truly $c$, predicted otherwise):

$$\text{precision} = \frac{TP}{TP + FP}, \qquad \text{recall} = \frac{TP}{TP + FN}, \qquad
F_1 = \frac{2 \cdot \text{precision} \cdot \text{recall}}{\text{precision} + \text{recall}}.$$

Precision: of what we *called* spam, how much was spam. Recall: of the real spam, how much we
*found*. $F_1$, their harmonic mean, is high only when both are. On ten messages, by hand, and checked
against `tinygrad_ft.metrics`:

%% code
y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])     # 1 = spam
y_pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])

TP = np.sum((y_pred == 1) & (y_true == 1))
FP = np.sum((y_pred == 1) & (y_true == 0))
FN = np.sum((y_pred == 0) & (y_true == 1))
TN = np.sum((y_pred == 0) & (y_true == 0))
acc = (TP + TN) / len(y_true)
prec, rec = TP / (TP + FP), TP / (TP + FN)
f1 = 2 * prec * rec / (prec + rec)
print(f"TP {TP}  FP {FP}  FN {FN}  TN {TN}")
print(f"accuracy {acc:.3f}  precision {prec:.3f}  recall {rec:.3f}  F1 {f1:.3f}")

P, R, F1, support = metrics.precision_recall_f1(y_true, y_pred)
assert np.isclose(acc, metrics.accuracy(y_true, y_pred))
assert np.isclose(prec, P[1])
assert np.isclose(rec, R[1])
assert np.isclose(f1, F1[1])
assert (TP, FP, FN) == (3, 2, 1)
assert np.isclose(f1, 2 / 3)

%% md
The **confusion matrix** holds all four counts: row = the truth, column = the prediction, so the
diagonal is what went right. Precision and recall of a class are its diagonal entry over its column
and over its row:

%% code
cm = metrics.confusion_matrix(y_true, y_pred)
print(cm)
assert np.array_equal(cm, [[TN, FP], [FN, TP]])
assert np.isclose(cm[1, 1] / cm[:, 1].sum(), prec)
assert np.isclose(cm[1, 1] / cm[1, :].sum(), rec)
with plt.rc_context({"axes.grid": False}):
    fig = metrics.plot_confusion_matrix(cm, ["ham", "spam"], title="ten messages")
fig

%% md
## Why accuracy misleads: the spam set

The SMS spam collection is imbalanced: about one message in eight is spam.

%% code
from tinygrad_ft.datasets.labeled import load_task

task = load_task("spam")
for name, split in (("train", task.train), ("val", task.val), ("test", task.test)):
    print(f"{name:5s} {len(split):5d} messages, {100 * np.mean(split.labels):.1f}% spam")
print("\nexample:", task.train.texts[np.flatnonzero(np.asarray(task.train.labels) == 1)[0]])

%% md
So a "model" that ignores its input and always answers *ham* is right 87% of the time. Its
accuracy looks respectable; its recall of spam is zero, and so is its $F_1$ for spam. The macro
average (the plain mean over classes) exposes it:

%% code
y_test = np.asarray(task.test.labels)
always_ham = np.zeros_like(y_test)
print(metrics.classification_report(y_test, always_ham, class_names=task.class_names))
baseline = metrics.classification_dict(y_test, always_ham, class_names=task.class_names)
assert 0.86 < baseline["accuracy"] < 0.88
assert baseline["spam"]["recall"] == 0
assert baseline["spam"]["f1-score"] == 0
assert np.isclose(baseline["accuracy"], 1 - y_test.mean())

%% md
On an imbalanced task, report precision, recall and $F_1$ per class (or at least the macro $F_1$),
and always compare with the majority-class baseline.

## Fine-tuning on spam

`train_classifier(FinetuneConfig(...))` does the whole job: load the pre-trained GPT, add the head,
apply `set_trainable`, and train with AdamW on shuffled, padded mini-batches (cross-entropy on the
head's scores, gradient clipping, warmup and cosine decay). Each step is chapter 11's `train_step`,
with the classifier's loss in place of the next-token loss. After each epoch it measures the
validation accuracy and keeps the best epoch's weights, then reports on the test split.

A run that trains the last block and the head: on the whole training set for three epochs (about a
minute), or in fast mode on 1,000 labelled messages (a quarter of the training set, with the same
share of spam) for two.

%% code
LIMIT, EPOCHS = budget(full=None, fast=1000), budget(full=3, fast=2)   # None: every training example
config = FinetuneConfig(task="spam", method="last-block", train_limit=LIMIT, epochs=EPOCHS, progress=False)
result = train_classifier(config, log=quiet)
per_epoch = [round(h["val_accuracy"], 3) for h in result["history"]]
print(f"{result['train_examples']} examples, {result['config']['pooling']} pooling, "
      f"{result['trainable_parameters']:,} trainable parameters, {result['seconds']:.0f} s; "
      f"validation accuracy per epoch: {per_epoch}\n")
print(result["text_report"])

%% md
Its confusion matrix on the 517 test messages:

%% code
model, max_len = result["model"], result["config"]["max_len"]     # texts were cut to their last max_len tokens
y_pred = predict(model, tokenizer, task.test.texts, "cpu", max_len=max_len)
cm = metrics.confusion_matrix(y_test, y_pred, num_classes=2)
assert np.isclose(metrics.accuracy(y_test, y_pred), result["test_accuracy"])
with plt.rc_context({"axes.grid": False}):
    title = f"spam, last-block, {result['train_examples']:,} examples"
    fig = metrics.plot_confusion_matrix(cm, task.class_names, title=title)
fig

%% md
The accuracy gained a few points over "always ham"; what matters is the spam row, which went from
all wrong to mostly right:

%% code
report = result["report"]
print(f"{'':16s} {'accuracy':>9s} {'spam recall':>12s} {'spam F1':>8s} {'macro F1':>9s}")
for name, r in (("always ham", baseline), ("fine-tuned", report)):
    print(f"{name:16s} {r['accuracy']:9.3f} {r['spam']['recall']:12.3f} {r['spam']['f1-score']:8.3f} "
          f"{r['macro avg']['f1-score']:9.3f}")
assert report["spam"]["f1-score"] > 0.5
assert report["macro avg"]["f1-score"] > baseline["macro avg"]["f1-score"] + 0.2

%% md
## Scores, probabilities and a threshold

`predict` answers with the class of the larger score. Under it is a probability: the softmax of the
head's two scores gives $p(\text{spam})$, and "the larger score" means $p(\text{spam}) > 0.5$. That
0.5 is a choice. A spam filter that must never hide a real message wants high precision (a high
threshold); one that must catch every scam wants high recall (a low threshold).

%% code
def spam_probability(texts, batch_size=64):
    encoded = encode_texts(tokenizer, texts, max_len)
    out = []
    with tg.no_grad():
        for i in range(0, len(encoded), batch_size):
            ids, mask = pad_batch(encoded[i : i + batch_size], tokenizer.pad_id)
            out.append(F.softmax(model(ids, mask)).numpy()[:, 1])
    return np.concatenate(out)

p_spam = spam_probability(task.test.texts)
agree = ((p_spam > 0.5) == (y_pred == 1)) | (abs(p_spam - 0.5) < 1e-4)
assert agree.all()                                                   # threshold 0.5 = the larger score

thresholds = np.linspace(0.05, 0.95, 19)
curves = np.array([[v[1] for v in metrics.precision_recall_f1(y_test, (p_spam > t).astype(int), num_classes=2)[:3]]
                   for t in thresholds])                             # spam's precision, recall, F1
fig, ax = plt.subplots(figsize=(6, 3))
for k, name in enumerate(("precision", "recall", "F1")):
    ax.plot(thresholds, curves[:, k], "o-" if name == "F1" else "-", ms=3, label=f"spam {name}")
ax.axvline(0.5, color="gray", ls=":")
ax.set(xlabel="threshold on p(spam)", ylim=(0, 1.05), title="the same model, other thresholds")
ax.legend()
fig.tight_layout()
best = thresholds[curves[:, 2].argmax()]
print(f"best spam F1 {curves[:, 2].max():.3f} at threshold {best:.2f}; at 0.5: {curves[np.argmin(abs(thresholds - 0.5)), 2]:.3f}")

%% md
Lowering the threshold finds more spam and lets more ham through by mistake: recall up, precision
down. (Choose the threshold on the *validation* split, not the test split, or the test score is no
longer an honest estimate.)

Messages it has never seen, with their probability of spam:

%% code
mine = ["FREE entry into our weekly competition! Text WIN to 80086 now. 18+ T&Cs apply",
        "URGENT! You have won a 1 week FREE membership. Call 09061701461 to claim now",
        "Txt STOP to end. Get the latest ringtones for just 50p, reply YES",
        "Are you coming home for dinner tonight?",
        "Sorry, I'll call you later"]
for text, p in zip(mine, spam_probability(mine)):
    print(f"p(spam) = {p:.2f}  {text}")

%% md
A few epochs on a few thousand labels took a GPT that had only ever read Shakespeare to a usable
spam filter. Other methods do better still: the command line runs
any of them (`tinygrad-ft finetune --task spam --method full`), and `benchmarks/finetune_experiments.py`
compares them all.

%% code
from pathlib import Path

table = Path("../benchmarks/results/finetune.md")
if table.exists():
    print(table.read_text().split("\n\n")[0])
else:
    print("(benchmarks/results/finetune.md is not there yet: run python benchmarks/finetune_experiments.py)")

%% md
Training only the last block moved a fifth of the weights. Chapter 13 trains far fewer, with a trick
that leaves every pre-trained weight frozen: LoRA.
"""

# =========================================================================================
CH13 = r"""
%% md
# Chapter 13 · LoRA: fine-tuning a few numbers

Full fine-tuning changes every weight. For a model of billions of weights that means a full copy of
the model per task, plus the optimizer's two moments for each weight while training. Yet the
*change* that fine-tuning makes to a weight matrix tends to be simple: it can be written, to good
approximation, as the product of two thin matrices.

**LoRA** (low-rank adaptation, Hu et al., 2021) freezes every pre-trained weight and learns only that
product. This chapter derives it, checks its gradients, builds it into the GPT, trains it on spam, and
saves the result: a file of about a hundred kilobytes, beside a model of almost four megabytes.

%% code
""" + setup(BUDGET) + r"""
%% md
## The idea

A `Linear` layer computes $y = xW + b$, with $W$ of shape $(\text{in}, \text{out})$. LoRA keeps $W$
and $b$ frozen and adds a low-rank path beside them:

$$y = xW + b + (xA)B \cdot \frac{\alpha}{r}, \qquad A: (\text{in}, r), \quad B: (r, \text{out}),$$

with a rank $r$ much smaller than in and out. It is the same as using the weight
$W + \Delta W$ with $\Delta W = \frac{\alpha}{r} AB$, a matrix of rank at most $r$. The scale
$s = \alpha / r$ keeps the size of the update about the same when you try another rank, so the
learning rate need not change with it.

`LoRALinear` wraps a `Linear` this way. Its forward, by hand (with $B$ made non-zero, as training
would make it):

%% code
from tinygrad_ft import nn
from tinygrad_ft.finetune import LoRALinear

tg.manual_seed(0)
base = nn.Linear(6, 5)
lora = LoRALinear(base, rank=2, alpha=4.0)
lora.lora_B.data = rng.standard_normal((2, 5)).astype(np.float32)     # as if training had moved B

x = rng.standard_normal((4, 6)).astype(np.float32)
y = lora(tg.Tensor(x))
W, b = base.weight.numpy(), base.bias.numpy()
A, Bm, s = lora.lora_A.numpy(), lora.lora_B.numpy(), lora.alpha / lora.rank
assert np.allclose(y.numpy(), x @ W + b + (x @ A) @ Bm * s, atol=1e-6)
assert np.linalg.matrix_rank(s * A @ Bm) == 2
print(lora, "; trainable:", [n for n, p in lora.named_parameters() if p.requires_grad])

%% md
## Its gradients

Let $G = \partial L / \partial y$, the gradient arriving from above, shape $(N, \text{out})$. The
LoRA path is two matrix products in a row, $h = xA$ then $y_{\text{lora}} = s\,hB$, and a matrix
product $y = hB$ has gradients $\partial L/\partial B = h^\top G$ and $\partial L/\partial h = G B^\top$
(chapter 5). Chaining them:

$$\frac{\partial L}{\partial B} = s\,(xA)^\top G, \qquad \frac{\partial L}{\partial A} = s\,x^\top (G B^\top), \qquad
\frac{\partial L}{\partial x} = GW^\top + s\,G B^\top A^\top.$$

$W$ and $b$ are frozen: they get no gradient at all, and the optimizer never sees them. The engine's
gradients against the formulas:

%% code
G = rng.standard_normal((4, 5)).astype(np.float32)
xt = tg.Tensor(x, requires_grad=True)
lora(xt).backward(G)

assert np.allclose(lora.lora_B.grad, s * (x @ A).T @ G, atol=1e-5)
assert np.allclose(lora.lora_A.grad, s * x.T @ (G @ Bm.T), atol=1e-5)
assert np.allclose(xt.grad, G @ W.T + s * G @ Bm.T @ A.T, atol=1e-5)
assert base.weight.grad is None
assert base.bias.grad is None
print("dL/dA, dL/dB and dL/dx match the formulas; W and b have no gradient")

%% md
## Why $B$ starts at zero

LoRA initialises $A$ at random and $B = 0$. Then $\Delta W = 0$: the adapted layer starts *exactly*
as the pre-trained one, and fine-tuning begins from the model we trust. And it can still learn:
with $B = 0$ the formulas give $\partial L/\partial A = 0$ but $\partial L/\partial B = s\,(xA)^\top G \neq 0$,
so the first step moves $B$, after which both move. (Both zero would be stuck: each gradient needs
the other matrix to be non-zero.)

%% code
tg.manual_seed(0)
fresh = LoRALinear(nn.Linear(6, 5), rank=2, alpha=4.0)
plain = fresh.base(tg.Tensor(x)).numpy()
out = fresh(tg.Tensor(x))
assert np.array_equal(out.numpy(), plain)                      # exactly the frozen layer
out.backward(G)
print(f"at the start: |dL/dA| = {np.abs(fresh.lora_A.grad).max():.1f}, |dL/dB| = {np.abs(fresh.lora_B.grad).max():.2f}")
assert not fresh.lora_A.grad.any()
assert fresh.lora_B.grad.any()

%% md
## How many numbers?

A full update of $W$ has $\text{in} \cdot \text{out}$ numbers; LoRA's has $r(\text{in} + \text{out})$.
For the GPT's attention projection `c_attn` (128 → 384):

%% code
n_in, n_out = 128, 384
print(f"{'rank':>4}  {'LoRA r(in+out)':>14}  {'full in·out':>11}  {'share':>6}")
for r in (1, 2, 4, 8, 16):
    layer = LoRALinear(nn.Linear(n_in, n_out), rank=r)
    lora_count = layer.num_parameters(trainable_only=True)
    assert lora_count == r * (n_in + n_out)
    print(f"{r:4d}  {lora_count:14,}  {n_in * n_out:11,}  {lora_count / (n_in * n_out):6.1%}")

%% md
`set_trainable(model, "lora")` wraps four Linears in every block (attention's `c_attn` and `c_proj`,
the feed-forward's `c_fc` and `c_proj`) with rank 4, freezes everything else, and leaves the
classification head trainable. Each wrapped layer adds $r(\text{in}+\text{out})$:

%% code
from tinygrad_ft.finetune import FinetuneConfig, GPTClassifier, predict, set_trainable, train_classifier
from tinygrad_ft.finetune.lora import lora_layers
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.paths import BPE_CHECKPOINT, data_path

CHECKPOINT = data_path(BPE_CHECKPOINT)
gpt, tokenizer = load_pretrained(CHECKPOINT)
ids = np.asarray([tokenizer.encode("Free entry! Text WIN to 80086 now")])
with tg.no_grad():
    before = gpt(ids)[0].numpy()                                  # the pre-trained model's logits

tg.manual_seed(0)
classifier = GPTClassifier(gpt, num_classes=2)
counts = set_trainable(classifier, "lora")
layers = lora_layers(classifier)
expected = sum(layer.rank * sum(layer.base.weight.shape) for layer in layers) + classifier.head.num_parameters()
print(f"{len(layers)} LoRA layers; {counts['trainable']:,} of {counts['total']:,} parameters train ({counts['fraction']:.1%})")
assert counts["trainable"] == expected

%% md
And with $B = 0$ everywhere, the wrapped GPT computes *exactly* what it computed before, to the last
bit:

%% code
with tg.no_grad():
    after = gpt(ids)[0].numpy()
print("largest difference in the logits:", np.abs(after - before).max())
assert np.array_equal(after, before)

%% md
## LoRA against a linear probe

Two ways to train a tiny fraction of the model, on the spam task of chapter 12 (the whole training
set for three epochs; 1,000 messages for two in fast mode): the head alone, and LoRA adapters plus
the head.

%% code
runs = {}
for method in ("head", "lora"):
    config = FinetuneConfig(task="spam", method=method, train_limit=budget(full=None, fast=1000),
                            epochs=budget(full=3, fast=2), progress=False)
    runs[method] = train_classifier(config, log=quiet)

print(f"{'method':7s} {'trainable':>10s} {'time (s)':>9s} {'accuracy':>9s} {'spam F1':>8s} {'macro F1':>9s}")
for method, r in runs.items():
    print(f"{method:7s} {r['trainable_parameters']:10,} {r['seconds']:9.1f} {r['test_accuracy']:9.3f} "
          f"{r['report']['spam']['f1-score']:8.3f} {r['test_macro_f1']:9.3f}")
assert runs["lora"]["trainable_parameters"] == counts["trainable"]
assert all(r["report"]["spam"]["f1-score"] > 0.5 for r in runs.values())   # both far above "always ham" (0.0)

%% md
The probe trains 258 numbers on frozen features; LoRA trains 33,026 that reach into every block,
so the features themselves can adapt to SMS language that Shakespeare never used. It costs more
time per step than the probe (a backward pass through the whole network, to reach the adapters), but
far less memory for optimizer state than full fine-tuning, and what it learns is small enough to
keep one copy per task.

## What LoRA learned

Each adapted layer's change $\Delta W = s\,AB$ is a full-size matrix (128 × 384 for `c_attn`), but of
rank at most 4. Its singular values say so: four are non-zero and the rest are zero up to float32
rounding (about $10^{-8}$), where the pre-trained $W$ uses all 128 directions.

%% code
from tinygrad_ft.backend import to_numpy

layer = lora_layers(runs["lora"]["model"])[0]                      # block 0's c_attn
dW = to_numpy(layer.delta_weight()).astype(np.float64)
sv_dW = np.linalg.svd(dW, compute_uv=False)
sv_W = np.linalg.svd(layer.base.weight.numpy().astype(np.float64), compute_uv=False)
assert (sv_dW > 1e-6 * sv_dW[0]).sum() == layer.rank

fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(sv_W, ".", label="pre-trained W")
ax.semilogy(np.maximum(sv_dW, 1e-12), ".", label="LoRA's ΔW = s·AB")
n_in, n_out = layer.base.weight.shape
ax.set(xlabel="index", ylabel="singular value", ylim=(1e-10, 10), title=f"{n_in}×{n_out} weights of block 0's c_attn")
ax.legend()
fig.tight_layout()
print(f"|ΔW| / |W| = {np.linalg.norm(dW) / np.linalg.norm(sv_W):.3f}: a small change, in four directions")

%% md
## Merging: LoRA for free at inference

After training, $\Delta W = s\,AB$ can be folded into the weight once, $W' = W + s\,AB$, and the layer
is a plain `Linear` again: no extra matrix products at inference. `merge_lora` does it for every
layer, `unmerge_lora` subtracts it again. The outputs must not change either way:

%% code
from tinygrad_ft.finetune import merge_lora, unmerge_lora
from tinygrad_ft.finetune.data import encode_texts, pad_batch

model = runs["lora"]["model"]
max_len = runs["lora"]["config"]["max_len"]
texts = ["WINNER! Claim your prize now", "see you at 6", "Call 0800 for FREE ringtones"]
batch = pad_batch(encode_texts(tokenizer, texts, max_len), tokenizer.pad_id)
layer = lora_layers(model)[0]
W0 = layer.base.weight.numpy()
with tg.no_grad():
    unmerged = model(*batch).numpy()
    merge_lora(model)
    merged = model(*batch).numpy()
    W_merged = layer.base.weight.numpy()
    unmerge_lora(model)
    again = model(*batch).numpy()

assert np.allclose(W_merged, W0 + layer.scaling * layer.lora_A.numpy() @ layer.lora_B.numpy(), atol=1e-6)
assert np.allclose(merged, unmerged, atol=1e-4)
assert np.allclose(again, unmerged, atol=1e-5)
assert np.allclose(layer.base.weight.numpy(), W0, atol=1e-6)
print(f"merged vs adapters: largest difference {np.abs(merged - unmerged).max():.1e}; "
      f"after unmerge {np.abs(again - unmerged).max():.1e}")

%% md
Equal up to float32 rounding: $x(W + sAB)$ and $xW + s(xA)B$ are the same number computed in a
different order.

## Saving only the adapters

The pre-trained GPT is shared by every task. What a task adds is its adapters and its head:
`lora_state_dict` picks out the adapters, and the head's two arrays go beside them.

%% code
import os
import tempfile

from tinygrad_ft.finetune import load_lora_state_dict, lora_state_dict
from tinygrad_ft.nn.checkpoint import save_checkpoint

folder = tempfile.mkdtemp()
state = model.state_dict()
task_part = {**lora_state_dict(model), "head.weight": state["head.weight"], "head.bias": state["head.bias"]}
np.savez(os.path.join(folder, "spam-lora.npz"), **task_part)
save_checkpoint(os.path.join(folder, "spam-full.npz"), state, {"note": "every weight"})

kb = {name: os.path.getsize(os.path.join(folder, name)) / 1024 for name in ("spam-lora.npz", "spam-full.npz")}
n_saved = sum(v.size for v in task_part.values())
print(f"adapters + head: {n_saved:,} numbers, {kb['spam-lora.npz']:.0f} KB;  the whole model: {kb['spam-full.npz']:.0f} KB")
assert n_saved == counts["trainable"]
assert kb["spam-lora.npz"] < kb["spam-full.npz"] / 10

%% md
To use it: load the shared pre-trained GPT, add adapters of the same shape, and load the task's part
into them. The rebuilt classifier predicts exactly as the trained one:

%% code
from tinygrad_ft.datasets.labeled import load_task

gpt2, _ = load_pretrained(CHECKPOINT)
rebuilt = GPTClassifier(gpt2, num_classes=2, pooling=runs["lora"]["config"]["pooling"])
set_trainable(rebuilt, "lora")                                     # adapters with random A, B = 0 ...
with np.load(os.path.join(folder, "spam-lora.npz")) as saved:
    saved = dict(saved)
load_lora_state_dict(rebuilt, {k: v for k, v in saved.items() if "lora_" in k})   # ... now the trained ones
rebuilt.head.weight.data[...] = saved["head.weight"]
rebuilt.head.bias.data[...] = saved["head.bias"]

texts = load_task("spam").test.texts
assert np.array_equal(predict(rebuilt, tokenizer, texts, "cpu", max_len=max_len),
                      predict(model, tokenizer, texts, "cpu", max_len=max_len))
print(f"the rebuilt model agrees with the trained one on all {len(texts)} test messages")

%% md
A hundred tasks on one pre-trained model cost a hundred small files, not a hundred models. Chapter 14
fine-tunes the language model itself, so that it *writes* its answer instead of scoring classes.
"""

# =========================================================================================
CH14 = r"""
%% md
# Chapter 14 · Supervised fine-tuning: teaching the model to answer

Chapters 12 and 13 bolted a new head onto the GPT. There is another way, the one behind chat
assistants: keep the language model as it is, head and all, and teach it to **write** the answer.
Every labelled example becomes a short document,

```
Text: WINNER!! Claim your prize, call 09061701461 now
Label: spam<|endoftext|>
```

and the model is trained on such documents with the same next-token loss as in pre-training, with
one change: the loss counts only the answer. This is supervised fine-tuning (SFT) with **loss
masking**. Evaluation is by generation: give the prompt, let the model write, read what it wrote.

%% code
""" + setup() + r"""
%% code
from tinygrad_ft import metrics
from tinygrad_ft.datasets.labeled import load_task
from tinygrad_ft.finetune.data import IGNORE_INDEX, sft_batch, sft_example, sft_prompt
from tinygrad_ft.finetune.sft import TASK_WORD, answer_of, sft
from tinygrad_ft.models import generate, load_pretrained
from tinygrad_ft.paths import BPE_CHECKPOINT, data_path

gpt, tokenizer = load_pretrained(data_path(BPE_CHECKPOINT))
task = load_task("spam")
WORD = TASK_WORD["spam"]                                           # the prompt's last word: "Label"
print(sft_prompt("Sorry, I'll call you later", WORD) + " ham" + "<|endoftext|>")

%% md
## Prompt, answer, and targets of -100

`sft_example` turns one labelled text into the model's input ids and its targets. As in
pre-training, the targets are the inputs shifted by one token (position $t$ predicts token $t+1$).
Every target that falls on the prompt is set to **-100**, the `ignore_index` of the cross-entropy:
those positions add nothing to the loss. The last prompt position's target is the first token of the
answer, then the answer's tokens, then the end-of-text token, so the model also learns to *stop*.

%% code
text = "Sorry, I'll call you later"
inputs, targets = sft_example(tokenizer, text, "ham", gpt.config.block_size, WORD)


def show(i):
    return repr(tokenizer.decode([i]))

print(f"{len(inputs)} positions; the last eight:")
print(f"{'position':>8}  {'input':>8}  target")
for t in range(len(inputs) - 8, len(inputs)):
    print(f"{t:8d}  {show(inputs[t]):>8}  {'-100 (prompt: ignored)' if targets[t] == IGNORE_INDEX else show(targets[t])}")

answer_ids = tokenizer.encode(" ham") + [tokenizer.eot_id]
sequence = inputs + [targets[-1]]                                  # prompt + answer, whole
assert [t for t in targets if t != IGNORE_INDEX] == answer_ids     # only the answer is scored
assert all(targets[t] in (IGNORE_INDEX, sequence[t + 1]) for t in range(len(inputs)))   # each target: the next token

%% md
Why mask the prompt? Without the mask, the loss would be an average over every token, and a text of
forty tokens and an answer of three would make the loss almost all about predicting the *message*:
the model would spend its training on writing SMS messages, not on labelling them.

## The masked loss, checked

`GPT.forward(ids, targets)` takes the mean cross-entropy over the positions whose target is not
-100. In a batch of two examples (padded: pads get -100 too), it must equal the mean of
$-\log p(\text{target})$ over the answer tokens only, which we compute by hand:

$$L = \frac{1}{|\mathcal{A}|} \sum_{(b,t) \in \mathcal{A}} -\log \operatorname{softmax}(z_{b,t})_{y_{b,t}}, \qquad
\mathcal{A} = \{(b,t) : y_{b,t} \neq -100\}.$$

%% code
examples = [sft_example(tokenizer, t, task.class_names[y], gpt.config.block_size, WORD)
            for t, y in zip(task.train.texts[:2], task.train.labels[:2])]
ids, targets, mask = sft_batch(examples, tokenizer.pad_id)
with tg.no_grad():
    logits, loss = gpt(ids, targets)

z = logits.numpy().astype(np.float64)
log_p = z - z.max(-1, keepdims=True)
log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
answer = targets != IGNORE_INDEX
by_hand = -log_p[answer, targets[answer]].mean()
print(f"positions: {mask.sum()} real, {answer.sum()} in the answers")
print(f"library loss {loss.item():.4f}; by hand over the answer tokens {by_hand:.4f}")
assert np.isclose(loss.item(), by_hand, rtol=1e-5)

%% md
Without the mask, every real position would count: the loss would be mostly about the messages.

%% code
unmasked = np.full(targets.shape, IGNORE_INDEX)
for b, (inp, tgt) in enumerate(examples):
    unmasked[b, : len(inp)] = (inp + [tgt[-1]])[1:]                 # every next token, prompt included
scored = unmasked != IGNORE_INDEX
with tg.no_grad():
    loss_all = gpt(ids, unmasked)[1].item()
print(f"unmasked: {scored.sum()} positions scored, loss {loss_all:.4f}")
assert np.isclose(loss_all, -log_p[scored, unmasked[scored]].mean(), rtol=1e-5)
assert scored.sum() > 10 * answer.sum()

%% md
Before fine-tuning, the pre-trained model is bad at the answers: it has never seen "Label: ham".
Its loss on the answer tokens is worse than a uniform guess over its 512 tokens ($\ln 512 \approx 6.2$
nats): it is confidently expecting something else, more Shakespeare.

%% code
print(f"loss on the answers {by_hand:.2f} nats per token; "
      f"a uniform guess: ln {tokenizer.vocab_size} = {np.log(tokenizer.vocab_size):.2f}")
assert by_hand > np.log(tokenizer.vocab_size)

%% md
## A short SFT run

`sft(...)` does it all: build an example per labelled text, shuffle into mini-batches, AdamW on the
masked loss, every weight of the GPT training (the language-model head included: the answer is
written with the model's own vocabulary). Its step is chapter 11's `train_step` with the same
`next_token_loss` as pre-training: only the -100 targets differ. A small run: 160 labelled messages, two epochs of
mini-batches of 16, 20 steps.

`sft` can also evaluate on the test split; we keep that to one text (`eval_limit=1`) and evaluate by
hand below, to see how evaluation by generation works.

%% code
SFT_ARGS = dict(lr=2e-3, batch_size=16, eval_limit=1, log=quiet)
run = sft("spam", train_limit=160, epochs=2, **SFT_ARGS)
model = run["model"]
print(f"{run['train_examples']} examples, {run['seconds']:.1f} s")

%% md
## Evaluation by generation

For each test message: encode the prompt (keeping its end, if it is too long for the context), let
the model write greedily ($T = 0$) until it writes end-of-text, and read the first word. An answer
that names no class counts as wrong.

%% code
def answer_by_generation(model, text, max_new_tokens=8):
    block = model.config.block_size
    prompt = tokenizer.encode(sft_prompt(text, WORD))[-(block - max_new_tokens):]
    out = generate(model, prompt, max_new_tokens=max_new_tokens, temperature=0, stop_id=tokenizer.eot_id)
    written = [i for i in out[len(prompt):] if i != tokenizer.eot_id]
    return tokenizer.decode(written)

for text in task.test.texts[:3]:
    print(f"{text[:70]!r:74s} → {answer_by_generation(model, text)!r}")

%% md
On the first 100 test messages (a fixed subset, so that every run below is scored on the same ones):

%% code
N_EVAL = 100
y_eval = np.asarray(task.test.labels[:N_EVAL])

def evaluate(model):
    labels = [answer_of(answer_by_generation(model, t), task.class_names) for t in task.test.texts[:N_EVAL]]
    answered = np.array([label is not None for label in labels])
    y_hat = np.array([label if label is not None else 1 - y for label, y in zip(labels, y_eval)])   # no class named: wrong
    report = metrics.classification_dict(y_eval, y_hat, class_names=task.class_names)
    return {"accuracy": report["accuracy"], "spam recall": report["spam"]["recall"],
            "macro F1": report["macro avg"]["f1-score"], "answered": float(answered.mean())}

scores = evaluate(model)
print({k: round(v, 3) for k, v in scores.items()})
print(f"{y_eval.sum()} of the {N_EVAL} are spam; always 'ham' would score accuracy {1 - y_eval.mean():.3f}, spam recall 0")
assert scores["answered"] > 0.9
assert scores["spam recall"] > 0

%% md
After 20 steps the model answers in the format nearly every time, and it catches spam: not with a
classification head, but by writing the word.

## Pre-trained or from scratch?

What did pre-training on Shakespeare buy? The same SFT, started from the same architecture with
random weights (`from_scratch=True`), with 40 and with 160 labelled messages. The number of steps is
the same for both budgets (20: 8 epochs of the 40 examples, 2 of the 160):

%% code
budgets = {40: 8, 160: 2}                                          # labelled examples: epochs
results = {("pre-trained", 160): scores}
for n, epochs in budgets.items():
    for init, scratch in (("pre-trained", False), ("from scratch", True)):
        if (init, n) not in results:
            r = sft("spam", train_limit=n, epochs=epochs, from_scratch=scratch, **SFT_ARGS)
            results[(init, n)] = evaluate(r["model"])

print(f"{'':13s} {'examples':>8s} {'accuracy':>9s} {'spam recall':>12s} {'macro F1':>9s} {'answered':>9s}")
for (init, n), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{init:13s} {n:8d} {r['accuracy']:9.3f} {r['spam recall']:12.3f} {r['macro F1']:9.3f} {r['answered']:9.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
for k, init in enumerate(("pre-trained", "from scratch")):
    ax.bar(np.arange(len(budgets)) + (k - 0.5) * 0.35, [results[(init, n)]["macro F1"] for n in budgets], width=0.35, label=init)
ax.axhline(metrics.classification_dict(y_eval, np.zeros_like(y_eval))["macro avg"]["f1-score"], color="gray", ls=":",
           label='always "ham"')
ax.set_xticks(range(len(budgets)), [f"{n} examples" for n in budgets])
ax.set(ylabel="macro F1", ylim=(0, 1), title="SFT on spam, 20 steps")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
assert all(results[("pre-trained", n)]["macro F1"] > results[("from scratch", n)]["macro F1"] for n in budgets)

%% md
With so little training the model from scratch has not learned to tell spam from ham: it has
learned the format and the majority answer, and writes "ham" (nearly) every time: the dotted line. The
pre-trained model already reads text: its hidden states separate messages usefully, and 20 steps
are enough to tie them to the answer. That is the promise of pre-training: fewer labels and fewer
steps for the same result.

How far the head start carries depends on how many labels there are, how long we train, and how
close the pre-training text is to the task: Shakespeare and text messages have little in common
("txt", "ur", "£1000", phone numbers), so with more labels or more steps a model from scratch
catches up. Try it: four times the steps (`budgets = {40: 32, 160: 8, 640: 2}` above, and
`N_EVAL = 300`), and the random model learns the spam words by itself and draws level or passes the
pre-trained one, which, shown the same 40 messages 32 times, over-fits them. A head start is not a
guarantee.

The full experiments (all of the data, several epochs, the sentiment task) are in
`benchmarks/results/`, written by `python benchmarks/finetune_experiments.py`:

%% code
from pathlib import Path

from IPython.display import Image, Markdown, display

results_dir = Path("../benchmarks/results")
if (results_dir / "finetune.md").exists():
    display(Markdown((results_dir / "finetune.md").read_text()))
else:
    print("benchmarks/results/finetune.md is not there yet: python benchmarks/finetune_experiments.py writes it")
if (results_dir / "learning_curve.png").exists():
    display(Image(filename=str(results_dir / "learning_curve.png"), width=480))

%% md
SFT is how a pre-trained language model becomes an assistant: the same loss as pre-training, on
prompt-and-answer documents, with the prompt masked out. Chapter 15 moves all of this onto a GPU
without changing a line of it.
"""

# =========================================================================================
CH15 = r"""
%% md
# Chapter 15 · The same code on a GPU

Every op in `tinygrad_ft` does its arithmetic through an *array module*, `xp`: `xp.exp`,
`xp.matmul`, `xp.zeros`. On the CPU `xp` is NumPy. On an NVIDIA GPU it is
[CuPy](https://cupy.dev), a library that copies NumPy's interface function for function but keeps
its arrays in GPU memory and runs each call as GPU kernels. So the engine, the GPT, pre-training and
fine-tuning run on a GPU without a line changed: pass `device="cuda"`.

That is the promise. This chapter shows the few rules that keep it, and the tool that checks them on
a laptop without a GPU: the **strict** device.

%% code
""" + setup(F) + r"""
%% md
## Is there a GPU here?

`tg.cuda_is_available()` answers without failing: it is `True` only if CuPy is installed *and* CUDA
finds a GPU. This notebook runs either way; everything that needs a GPU is skipped, visibly, where
there is none. Where there is no GPU, the second device of this chapter is the strict stand-in.

%% code
from tinygrad_ft.backend import asarray, get_backend, to_numpy

HAS_GPU = tg.cuda_is_available()
DEVICE = "cuda" if HAS_GPU else "strict"

if HAS_GPU:
    print("a GPU is here: the comparisons below run on 'cuda'")
else:
    try:
        get_backend("cuda")
    except tg.DeviceError as e:
        print("no GPU here, so this notebook runs on the CPU. Asking for 'cuda' says why:\n ", e)
print(f"\nthe second device of this chapter: {DEVICE!r}")

%% md
## The device API

A tensor lives on one device. `tensor.to(device)` gives a copy on another one, and
`tg.get_array_module(x)` (or `tensor.xp`) the array module to compute with:

%% code
t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
u = t.to(DEVICE)
for name, x in (("t", t), ("u", u)):
    print(f"{name}: device {x.device!r:9} data {type(x.data).__name__:11} xp {tg.get_array_module(x)}")

assert t.device == "cpu"
assert u.device == DEVICE
assert tg.get_array_module(t) is np
assert u.xp is get_backend(DEVICE).xp

%% md
`.to` is an op like any other, so gradients flow back through it, to the device the leaf lives on:

%% code
x = tg.Tensor([1.0, -2.0, 3.0], requires_grad=True)            # on the CPU
y = (x.to(DEVICE) * x.to(DEVICE)).sum()                         # x², summed, on the other device
y.backward()
print(f"y on {y.device!r}; dy/dx = {x.grad} (2x) on the CPU")
assert np.allclose(x.grad, 2 * x.numpy())

%% md
Two devices never mix silently. Adding a CPU tensor to a device tensor is an error that says what to
do, where NumPy alone would have carried on:

%% code
try:
    t + u
except tg.DeviceError as e:
    print("DeviceError:", e)

%% md
A whole model moves with `model.to(device)`: every parameter's array is replaced by a copy on the
device, and the `Parameter` objects themselves stay the same.

%% code
from tinygrad_ft.models.gpt import GPT, GPTConfig

config = GPTConfig(vocab_size=67, block_size=32, n_layer=2, n_head=2, n_embd=32)
tg.manual_seed(0)
gpt = GPT(config)
first = next(iter(gpt.parameters()))
gpt.to(DEVICE)
print({p.device for p in gpt.parameters()}, "; same Parameter object:", first is next(iter(gpt.parameters())))
assert all(p.device == DEVICE for p in gpt.parameters())

%% md
And the way back to the host is always explicit: `tensor.numpy()`, `tensor.item()`, or
`to_numpy(array)`. On a GPU each of these is a copy across the PCIe bus and a wait for the GPU to
finish, so the training loop asks for its losses ten steps at a time, not after every step.

## Why the CPU cannot be trusted to test GPU code

Here is a small op with a bug that NumPy hides. It masks the upper triangle of a square of scores,
as causal attention does, but it builds the mask with `np.triu` (a NumPy array, on the host) instead
of `self.xp.triu`:

%% code
class LeakyCausalMask(tg.Function):
    def forward(self, scores):
        T = scores.shape[-1]
        self.future = np.triu(np.ones((T, T), dtype=bool), k=1)         # the leak: a host array
        return np.where(self.future, -np.inf, scores)

    def backward(self, d_out):
        return np.where(self.future, 0.0, d_out)

class CausalMask(tg.Function):
    def forward(self, scores):
        T = scores.shape[-1]
        self.future = self.xp.triu(self.xp.ones((T, T), dtype=bool), k=1)   # on the scores' device
        return self.xp.where(self.future, -np.inf, scores)

    def backward(self, d_out):
        return self.xp.where(self.future, 0.0, d_out)

scores = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
print(F.softmax(LeakyCausalMask.apply(scores)))
assert np.array_equal(LeakyCausalMask.apply(scores).numpy(), CausalMask.apply(scores).numpy())

%% md
On the CPU both are right, and every test written on a laptop passes. On a GPU, `scores` is a CuPy
array, and `np.where(host_mask, ..., gpu_scores)` raises a `TypeError`: CuPy refuses to mix host and
device arrays, and to turn a GPU array into a NumPy one behind your back. The first person to find
the bug would be whoever first runs it on a GPU.

## The strict device: CuPy's border rules, on the CPU

`"strict"` is a third device, in `tinygrad_ft.backend.strict`, built for exactly this. Its arrays
are NumPy arrays inside a wrapper that behaves like CuPy at the border with the host: mixing with a
NumPy array, or converting to one implicitly, is a `TypeError`. The arithmetic underneath is NumPy's,
so it runs anywhere. The library's tests run every op on it.

The leaky op, on the strict device, is caught at once:

%% code
s = scores.to("strict")
try:
    LeakyCausalMask.apply(s)
except TypeError as e:
    print("caught: TypeError:", str(e)[:150], "...")
else:
    raise AssertionError("the strict device should have refused the host array")

fixed = CausalMask.apply(s)
print("the fixed op runs on", fixed.device)
assert np.array_equal(fixed.numpy(), CausalMask.apply(scores).numpy())

%% md
The other border crossings it refuses, each as CuPy does:

%% code
a = s.data                                   # a StrictArray, as a CuPy array would be a cupy.ndarray
crossings = {
    "np.asarray(device_array)": lambda: np.asarray(a),
    "device_array + host_array": lambda: a + np.ones(3),
    "device_array[host_index]": lambda: a[np.array([0, 2])],
}
for what, attempt in crossings.items():
    try:
        attempt()
        print(f"{what:28s} allowed?!")
    except TypeError:
        print(f"{what:28s} TypeError")
    else:
        raise AssertionError(f"{what} should be refused")

print("explicit ways out are fine:", a.get()[0], to_numpy(a)[0], float(a.sum()))

%% md
What it cannot catch: differences in CuPy's numbers (it computes with NumPy), a NumPy function CuPy
lacks, and anything about speed. Those need a real GPU, and the library's GPU tests
(`pytest -m gpu`) run there.

## A training step on two devices

The real test of "the same code": one AdamW step of the GPT above, on the CPU and on the second
device, from the same weights and the same batch. The loss before the step, and the weights after
it, must agree.

%% code
from tinygrad_ft.optim import AdamW
from tinygrad_ft.training import next_token_loss, train_step


def one_step(device):
    tg.manual_seed(0)
    model = GPT(config).to(device)                       # built on the CPU with the same seed, then moved
    optimizer = AdamW(model.parameters(), lr=1e-3)
    batch = np.random.default_rng(0).integers(0, config.vocab_size, size=(8, config.block_size + 1))
    x, y = (asarray(batch[:, :-1], device), asarray(batch[:, 1:], device))
    loss = train_step(model, (x, y), next_token_loss, optimizer)   # the library's one step: forward, backward, update
    with tg.no_grad():
        _, after = model(x, y)
    return loss.item(), after.item(), to_numpy(model.lm_head.weight.data)

cpu, dev = one_step("cpu"), one_step(DEVICE)
print(f"{'':8s} {'loss':>10s} {'loss after 1 step':>18s}")
for name, r in (("cpu", cpu), (DEVICE, dev)):
    print(f"{name:8s} {r[0]:10.6f} {r[1]:18.6f}")
print(f"largest weight difference after the step: {np.abs(cpu[2] - dev[2]).max():.1e}")
assert np.isclose(cpu[0], dev[0], rtol=1e-5)
assert np.isclose(cpu[1], dev[1], rtol=1e-5)
assert np.allclose(cpu[2], dev[2], atol=1e-5)

%% md
Equal to float32 rounding: the two devices may add the same numbers in a different order (the
embedding's backward sums repeated token ids by sorting on the CPU, with `add.at` elsewhere), and
float addition is not associative, so the last digit can differ.

The whole pre-training loop is device code too: batches are built on the host and moved in one
place, losses come back ten at a time. Ten steps of `pretrain()` on both devices give the same loss
curve:

%% code
import tempfile

from tinygrad_ft.training import TrainConfig, pretrain


def ten_steps(device):
    cfg = TrainConfig(max_iters=10, batch_size=8, warmup_iters=2, eval_iters=2, device=device, out_dir=tempfile.mkdtemp(),
                      progress=False)                    # eval_interval: at most max_iters, so one estimate at the end
    return np.array(pretrain(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32), cfg, log=quiet).history["train_loss"])

curves = {device: ten_steps(device) for device in ("cpu", DEVICE)}
print("cpu:   ", np.round(curves["cpu"], 4))
print(f"{DEVICE}:".ljust(7), np.round(curves[DEVICE], 4))
assert np.allclose(curves["cpu"], curves[DEVICE], atol=1e-5)

%% md
## Fused kernels: one pass instead of twelve

On a GPU every NumPy-style line of an op (`t = x * x`, `t *= c`, `xp.tanh(t, out=t)`, ...) is a
separate kernel launch that reads and writes the whole array: the plain GELU is about a dozen
passes over memory. `tinygrad_ft.backend.kernels` holds fused CUDA kernels that compute a whole
formula in one pass, for the ops where this matters most: GELU, softmax, layer norm, cross-entropy
and Adam's update. An op asks `kernels.fused(name, array)`: it gets the kernel for a CuPy array, and `None`
for anything else, and then runs its plain lines, which stay the reference the kernels are tested
against.

%% code
from tinygrad_ft.backend import kernels

probe = asarray(np.ones((4, 8)), DEVICE)
chosen = {name: kernels.fused(name, probe) is not None for name in kernels.KERNELS}
print(f"on {DEVICE}:", ", ".join(f"{name} {'fused' if on else 'plain'}" for name, on in chosen.items()))
assert all(chosen.values()) == (HAS_GPU and kernels.is_enabled())

%% md
Without a GPU the fused path of every op can still be walked, which is what the CPU test run does:
plain stand-ins with the kernels' signatures take the kernels' place. What is checked is everything
around the kernel (what the op keeps for its backward, how it reshapes and scales). GELU through its
fused path, against its plain path, value and gradient:

%% code
from tinygrad_ft.backend.kernels.stand_ins import STAND_INS


def gelu_value_and_gradient(fused_path):
    x = tg.Tensor(np.linspace(-4, 4, 9), requires_grad=True)         # float64
    with kernels.use_stand_ins(STAND_INS if fused_path else {}):
        y = F.gelu(x)
    y.backward(np.cos(np.arange(9.0)))                                # a random-ish cotangent, not a plain sum
    return y.numpy(), x.grad

(y_fused, g_fused), (y_plain, g_plain) = gelu_value_and_gradient(True), gelu_value_and_gradient(False)
print(f"largest difference: value {np.abs(y_fused - y_plain).max():.1e}, gradient {np.abs(g_fused - g_plain).max():.1e}")
assert np.abs(y_fused - y_plain).max() < 1e-12
assert np.abs(g_fused - g_plain).max() < 1e-12

%% md
## How much faster?

Only a GPU can answer. Where there is one, this cell times training steps of the baby model with a
batch of 64 on both devices (the GPU's first steps compile its kernels, so they are not counted).
A GPU wins by doing the thousands of multiply-adds of a matrix product at once; a model this small
leaves most of it idle, and the gap grows with the batch and the width.

%% code
import time

from tinygrad_ft.models import preset


def steps_per_second(device, n=10, batch=64):
    tg.manual_seed(0)
    model = GPT(preset("baby", vocab_size=67)).to(device)
    optimizer = AdamW(model.parameters(), lr=1e-3)
    ids = np.random.default_rng(0).integers(0, 67, size=(batch, 65))
    x, y = asarray(ids[:, :-1], device), asarray(ids[:, 1:], device)

    def step():
        return train_step(model, (x, y), next_token_loss, optimizer)

    step().item()                                         # warm-up (and, on a GPU, kernel compilation)
    start = time.perf_counter()
    for _ in range(n):
        loss = step()
    loss.item()                                           # wait for the GPU to finish
    return n / (time.perf_counter() - start)

if HAS_GPU:
    cpu_rate, gpu_rate = steps_per_second("cpu", n=3), steps_per_second("cuda", n=30)
    print(f"cpu {cpu_rate:.1f} steps/s, cuda {gpu_rate:.1f} steps/s: {gpu_rate / cpu_rate:.1f}× faster")
else:
    print("no GPU here: timing skipped. On a machine with one: pip install -e '.[lessons,gpu]', then re-run this notebook")

%% md
To use a GPU in your own runs, install the `gpu` extra and pass the device:

```bash
.venv/bin/pip install -e ".[lessons,gpu]"
.venv/bin/tinygrad-ft pretrain --device cuda
.venv/bin/tinygrad-ft finetune --task spam --method lora --device cuda
```

In Python, `TrainConfig(device="cuda")`, `FinetuneConfig(device="cuda")` and `sft(..., device="cuda")`
do the same. Everything else in the course stays as it was: that is the point of writing the engine
against `xp` from the first chapter on.
"""

CHAPTERS = {
    11: ("11_pretraining_the_tiny_gpt.ipynb", CH11),
    12: ("12_finetuning_for_classification.ipynb", CH12),
    13: ("13_lora.ipynb", CH13),
    14: ("14_supervised_finetuning.ipynb", CH14),
    15: ("15_the_same_code_on_a_gpu.ipynb", CH15),
}


if __name__ == "__main__":
    main(sys.argv[1:], CHAPTERS, timeout=300)
