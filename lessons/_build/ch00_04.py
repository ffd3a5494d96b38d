"""Builds lessons/00_tour.ipynb ... lessons/04_autograd_from_scratch.ipynb, and runs them.

    .venv/bin/python lessons/_build/ch00_04.py            # write and execute all five
    .venv/bin/python lessons/_build/ch00_04.py 2 3        # only chapters 2 and 3
    .venv/bin/python lessons/_build/ch00_04.py --no-run   # write without executing

The chapters' sources are below (format, execution and writing: ``notebooks.py``).
"""

from __future__ import annotations

import sys

from notebooks import main, setup_cell

PLOTS = """
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6, 3.5), "axes.grid": True, "grid.alpha": 0.3})
rng = np.random.default_rng(0)
"""


def setup(*imports: str, body: str = "") -> str:
    """A chapter's first code cell: NumPy, matplotlib, ``tg`` and ``imports``; plot settings, an RNG."""
    return setup_cell(*imports, body=PLOTS + body)


SOFTMAX = """
def softmax(z):
    # chapter 1's softmax, the library's version, on float64 NumPy arrays
    return F.softmax(tg.Tensor(z)).numpy()
"""


# =========================================================================================
CH00 = r"""
%% md
# Chapter 0 · A tour of `tinygrad_ft`

This course builds a language model out of nothing but NumPy, pre-trains it, and fine-tunes it.
No framework does the hard part for you: every gradient in the library was derived by hand,
written down next to its code, and checked against numbers.

The road has five stages, and the library has a folder for each:

1. **The engine.** A `Tensor` that remembers how it was computed, and runs the chain rule backwards
   to get gradients (reverse-mode automatic differentiation). Chapters 1–4 live here: softmax by
   hand, derivatives and gradient checks, activation functions, autograd from scratch.
2. **Layers.** Dense, embedding, layer norm, attention; the losses; the optimizers. Each layer is
   one op whose backward pass is derived on paper first.
3. **A tiny GPT.** Token and position embeddings, transformer blocks, a head that predicts the next
   character.
4. **Pre-training.** Next-token prediction on the works of Shakespeare, in minutes on a laptop CPU.
5. **Fine-tuning.** A classification head, frozen layers, LoRA, and supervised fine-tuning.

%% code
""" + setup() + r"""
%% md
## Set-up: two commands

The README's "Set-up" section gives the whole set-up as two commands. This cell reads them from
the README itself, so that they are never out of date:

%% code
import re
from pathlib import Path

readme = Path("../README.md").read_text()
setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]      # that section, up to the next heading
commands = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)
for command in commands:
    print(command, end="\n\n")
assert len(commands) == 2
assert "tinygrad-ft pretrain" in commands[0]
assert "pytest" in commands[1]

%% md
The first installs the library with what the lessons need (Jupyter, matplotlib) and pre-trains
the tiny GPT on the bundled Shakespeare, with a progress bar, then prints a sample of its writing.
The second installs the developer tools and runs the tests: `tests/` is the library's
specification, one file per part, and the test run also runs every lesson notebook.

Open the lessons with `.venv/bin/jupyter lab lessons/`. Each notebook runs from the `lessons/`
folder, top to bottom, in a minute or two at most. The test run executes them in a **fast mode**
(`TINYGRAD_FT_FAST=1`: the fine-tuning chapters train on fewer examples for fewer steps); read as a
book, they run at full size.

## The chapters

Sixteen notebooks, each building on the one before. This cell reads their titles from the files:

%% code
import json

chapters = sorted(Path(".").glob("[0-9][0-9]_*.ipynb"))
for path in chapters:
    title = json.loads(path.read_text())["cells"][0]["source"]
    print("".join(title).splitlines()[0].lstrip("# "))
assert [int(path.name[:2]) for path in chapters] == list(range(16))

%% md
## How the library is laid out

The package `tinygrad_ft` is a stack of layers, and each layer imports only the layers below it (a
test reads every import of every module to check this). Read from the bottom up, they follow the
five stages above: devices and the engine, the ops with their hand-derived gradients, layers and
optimizers, the data and the GPT, then training and fine-tuning. The one list of the layers is
`tinygrad_ft.layout`; the README's table and this map are both printed from it, top layer first:

%% code
from IPython.display import Markdown, display

from tinygrad_ft import layout

display(Markdown(layout.table()))

%% md
Each layer is a folder or a module of the package, and every folder and module is on the list:

%% code
PACKAGE = Path(tg.__file__).parent
folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
print(f"{len(layout.LAYERS)} layers, bottom to top:", " → ".join(layout.NAMES))
assert folders | modules == set(layout.NAMES)

%% md
Next to the package: `lessons/` (these notebooks, and `lessons/solutions/` with worked answers to
the exercises), `tests/`, `data/` (the corpora, each with a `SOURCE.md` naming its origin and
licence) and `benchmarks/` (speed against PyTorch).

## A first tensor, and its gradient

A `Tensor` wraps a NumPy array. Ask for `requires_grad=True` and every operation on it is
recorded, so that `backward()` can later compute gradients. A small example:

%% code
x = tg.Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
w = tg.Tensor([[0.5], [-1.0], [0.2]], requires_grad=True)
y = x @ w
loss = y.tanh().sum()
loss

%% md
Python lists of floats become `float32`, the engine's default (a NumPy `float64` array would stay
`float64`). The loss remembers the op that made it, which remembers its inputs, and so on back to
`x` and `w`: a graph. Walking it from the loss:

%% code
node = loss
while node._ctx is not None:
    fn = node._ctx
    print(f"{fn.name:7s} made a tensor of shape {node.shape}")
    node = fn.inputs[0]
print(f"leaf    x, shape {node.shape}")

%% md
`loss.backward()` walks the graph the other way and fills `.grad` of every leaf that asked for one.
For this function we can also get the gradient on paper. With $y = xw$ and $L = \tanh y$:

$$\frac{\partial L}{\partial w} = x^\top (1 - \tanh^2 y), \qquad \frac{\partial L}{\partial x} = (1 - \tanh^2 y)\, w^\top.$$

%% code
loss.backward()
print("w.grad =", w.grad.ravel())

t = np.tanh(x.numpy() @ w.numpy())
assert np.allclose(w.grad, x.numpy().T @ (1 - t**2))
assert np.allclose(x.grad, (1 - t**2) @ w.numpy().T)

%% md
The engine and the pencil agree. The rest of the course is about making that true for every op a
GPT needs, and about checking it.

## Checking your own work

You will write backward passes yourself. Two tools say whether they are right.

**`tg.gradcheck(f, *inputs)`** compares the gradients that `backward()` computes with *numerical*
ones, from central differences in float64 (chapter 2 explains why it works and why it needs a
random cotangent). Here it is on the function above:

%% code
result = tg.gradcheck(lambda x, w: (x @ w).tanh(), x, w)
print(result)
assert result

%% md
A new op is a subclass of `tg.Function` with a `forward` and a `backward`. Here is $y = x^3$
with a classic slip in its backward, $3x$ instead of $3x^2$. `gradcheck` catches it and names
the worst element, with both values:

%% code
class CubeWrong(tg.Function):
    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, g):
        return g * 3 * self.x          # should be 3 x²

class Cube(CubeWrong):
    def backward(self, g):
        return g * 3 * self.x**2

z = rng.standard_normal((2, 3))
print(tg.gradcheck(CubeWrong.apply, z))
print(tg.gradcheck(Cube.apply, z))
assert not tg.gradcheck(CubeWrong.apply, z)
assert tg.gradcheck(Cube.apply, z)

%% md
**`tinygrad_ft.exercises`** holds the exercises of the course: backward passes to write in plain
NumPy. `stub(name)` gives the function to fill in, with the math you need in its docstring, and
`check(fn)` grades it. These are the exercises, by chapter:

%% code
from tinygrad_ft.exercises import EXERCISES, check

by_chapter = {}
for ex in EXERCISES.values():
    for chapter in (ex.chapter, *ex.also_in):
        by_chapter.setdefault(chapter, []).append(ex.name)
for chapter in sorted(by_chapter):
    print(f"chapter {chapter}: {', '.join(by_chapter[chapter])}")

%% md
`check` does more than say *wrong*. It runs your function in float64, in float32 and on large
inputs, and tells you *what* is wrong: a transpose, a missing sum over the batch, a sign, a factor,
a dtype that changed, an overflow. Two attempts at the ReLU of chapter 3, both a little off:

%% code
def relu_backward(x, d_out):
    return (x > 0) * 1.0                       # forgot to multiply by d_out

first = check(relu_backward)

def relu_backward(x, d_out):
    return d_out * (x > 0).astype(np.float64)  # right numbers, but float32 comes back float64

second = check(relu_backward)
assert (first.kind, second.kind) == ("wrong values", "wrong dtype")

%% md
Each exercise also has a worked solution in `lessons/solutions/gradient_exercises.py`, with the
derivation in a comment. Try first; the check tells you what to look at.

## Devices

Everything in these lessons runs on the CPU with NumPy. On a machine with an NVIDIA GPU and
CuPy, the same code runs there with `device="cuda"`:

%% code
print("CUDA available:", tg.cuda_is_available())
print("default dtype: ", tg.get_default_dtype())

%% md
Next, chapter 1: the softmax, the function that turns a model's scores into probabilities.
"""

# =========================================================================================
CH01 = r"""
%% md
# Chapter 1 · Softmax by hand

A language model ends every step with a vector of scores, one per token of its vocabulary: the
**logits**. They can be any real numbers. To sample the next token, or to score the right one,
we need probabilities: positive numbers that add up to 1. The softmax makes them:

$$\operatorname{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}.$$

The exponential makes every entry positive, and dividing by the sum makes them add up to 1.
A larger logit always gets a larger probability.

%% code
""" + setup("from tinygrad_ft import functional as F") + r"""
%% md
## A NumPy version

Straight from the formula:

%% code
def softmax_naive(z):
    e = np.exp(z)
    return e / e.sum()

z = np.array([2.0, 1.0, 0.1])
p = softmax_naive(z)
print(p.round(4))

assert np.all(p > 0)
assert np.isclose(p.sum(), 1)
assert np.array_equal(np.argsort(p), np.argsort(z))   # same order as the logits

%% md
Only the *differences* between logits matter: adding the same constant $c$ to every logit
multiplies numerator and denominator by $e^c$, which cancels:

$$\operatorname{softmax}(z + c)_i = \frac{e^{c} e^{z_i}}{e^{c} \sum_j e^{z_j}} = \operatorname{softmax}(z)_i.$$

%% code
for c in (-5.0, 3.0, 40.0):
    assert np.allclose(softmax_naive(z + c), softmax_naive(z))

%% md
## Overflow, and the max trick

Logits are not always small. `float64` overflows above about $e^{709}$, and `float32` (what
models are trained in) above $e^{88}$. Then the naive softmax returns `inf / inf`, which is `nan`:

%% code
with np.errstate(over="ignore", invalid="ignore"):
    print(np.exp(1000.0))
    print(softmax_naive(np.array([1000.0, 1001.0, 1002.0])))
    print(softmax_naive(np.array([-1000.0, -1000.0])))       # underflow: 0 / 0

%% md
The shift invariance above is the cure: subtract the largest logit first. The largest exponent is
then $e^0 = 1$, so nothing overflows, and the sum is at least 1, so we never divide by 0.

%% code
def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)

print(softmax(np.array([1000.0, 1001.0, 1002.0])).round(4))

assert np.allclose(softmax(z), softmax_naive(z))                              # same function
assert np.allclose(softmax(np.array([1000.0, 1001.0, 1002.0])), softmax_naive(np.array([0.0, 1.0, 2.0])))
assert np.allclose(softmax(np.array([-1000.0, -1000.0])), [0.5, 0.5])

%% md
The `axis` and `keepdims=True` let one call handle a whole batch: each row of a matrix of logits
is one example.

%% code
Z = rng.standard_normal((4, 5)) * 3
P = softmax(Z)
assert P.shape == (4, 5)
assert np.allclose(P.sum(axis=1), 1)

%% md
## Temperature

Dividing the logits by a **temperature** $T > 0$ before the softmax changes how peaked the
distribution is. $T < 1$ stretches the differences between logits, so the largest one wins more
often; $T > 1$ shrinks them, towards the uniform distribution. As $T \to 0$ softmax becomes a
one-hot vector on the largest logit (the arg max); as $T \to \infty$ every class gets $1/C$. This
is the `--temperature` of the course's `tinygrad-ft generate` command.

A distribution's spread is measured by its **entropy**, $H(p) = -\sum_i p_i \log p_i$: 0 for a
one-hot vector, $\log C$ for the uniform one, and increasing with $T$ in between.

%% code
logits = np.array([2.0, 1.0, 0.5, -1.0])
temperatures = [0.25, 0.5, 1.0, 2.0, 4.0]

def entropy(p):
    return -(p * np.log(p)).sum(axis=-1)

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
width = 0.8 / len(temperatures)
for k, T in enumerate(temperatures):
    left.bar(np.arange(4) + (k - 2) * width, softmax(logits / T), width, label=f"T = {T:g}")
left.set(xticks=range(4), xticklabels=[f"z = {v:g}" for v in logits], ylabel="probability", title="softmax(z / T)")
left.legend(fontsize=8)

Ts = np.logspace(-1.5, 2, 200)
H = np.array([entropy(softmax(logits / T)) for T in Ts])
right.semilogx(Ts, H)
right.axhline(np.log(4), ls="--", c="gray")
right.text(0.05, np.log(4) - 0.15, "log 4: uniform", fontsize=9)
right.set(xlabel="temperature T", ylabel="entropy (nats)", title="entropy grows with T")
fig.tight_layout()
plt.show()

assert np.all(np.diff(H) > 0)                                          # entropy increases with T
assert np.allclose(softmax(logits / 0.01), [1, 0, 0, 0], atol=1e-12)   # T → 0: one-hot on the arg max
assert np.allclose(softmax(logits / 1e4), 0.25, atol=1e-3)             # T → ∞: uniform
assert all(np.argmax(softmax(logits / T)) == np.argmax(logits) for T in Ts)   # the winner never changes

%% md
## Softmax and the sigmoid

With two classes the softmax needs only one number, the difference of the two logits. Divide top
and bottom by $e^{a}$:

$$\operatorname{softmax}(a, b)_0 = \frac{e^a}{e^a + e^b} = \frac{1}{1 + e^{-(a-b)}} = \sigma(a - b),$$

the **logistic sigmoid** $\sigma(x) = 1 / (1 + e^{-x})$. A binary classifier with one output and a
sigmoid is a two-class softmax with the other logit fixed at 0.

%% code
def sigmoid(x):
    return 1 / (1 + np.exp(-x))

a, b = np.meshgrid(np.linspace(-6, 6, 25), np.linspace(-6, 6, 25))
two_class = softmax(np.stack([a, b], axis=-1))[..., 0]
assert np.allclose(two_class, sigmoid(a - b))

x = np.linspace(-8, 8, 161)
plt.figure(figsize=(5.5, 3))
plt.plot(x, sigmoid(x), label="σ(x)")
plt.plot(x[::8], softmax(np.stack([x, np.zeros_like(x)], axis=-1))[::8, 0], "o", label="softmax([x, 0])₀")
plt.legend()
plt.title("a two-class softmax is the sigmoid")
plt.show()

%% md
## Where softmax outputs live: the simplex

Three probabilities that add up to 1 are a point of a triangle, the **probability simplex**: each
corner is a one-hot vector, the centre is the uniform distribution, and a point's
probabilities are its barycentric coordinates (how much of each corner it is made of). We draw
softmax outputs of random logits at three scales. Small logits stay near the centre; large ones
push the point towards a corner, but it never reaches the edge, because every $e^{z_i} > 0$.

The curve is one logit vector under temperatures from 100 down to 0.05: it starts at the centre
and ends at the corner of its largest logit.

%% code
corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])   # classes 0, 1, 2

def to_triangle(P):
    return P @ corners          # barycentric coordinates → a point of the plane

fig, ax = plt.subplots(figsize=(7, 4.2))
ax.fill(*corners.T, alpha=0.06, c="k")
for scale, colour in [(0.3, "tab:green"), (1.0, "tab:blue"), (4.0, "tab:red")]:
    P3 = softmax(rng.standard_normal((300, 3)) * scale)
    assert np.all(P3 > 0)                                      # strictly inside the triangle
    assert np.allclose(P3.sum(axis=1), 1)
    ax.scatter(*to_triangle(P3).T, s=5, c=colour, label=f"logits ~ N(0, {scale:g}²)")

one = np.array([1.0, 0.2, -0.5])
path = to_triangle(softmax(one / np.logspace(2, np.log10(0.05), 100)[:, None]))
ax.plot(*path.T, c="k", lw=1.5, label="z / T, T from 100 to 0.05")
for k, (cx, cy) in enumerate(corners):
    ax.text(cx, cy + (0.04 if k == 2 else -0.07), f"class {k}", ha="center")
ax.set(aspect="equal", xlim=(-0.1, 1.1), ylim=(-0.12, 0.95))
ax.axis("off")
ax.set_title("softmax outputs on the probability simplex")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.92, 1.0))
plt.show()

assert np.allclose(path[0], corners.mean(axis=0), atol=1e-2)   # hot: the centre (uniform)
assert np.allclose(path[-1], corners[0], atol=1e-6)            # cold: the corner of the largest logit

%% md
## One more trick: log-softmax

Losses need $\log p_i$, not $p_i$. Taking the log of a softmax that underflowed to 0 gives
$-\infty$. Writing the log out avoids forming the tiny probability at all:

$$\log \operatorname{softmax}(z)_i = z_i - m - \log \sum_j e^{z_j - m}, \qquad m = \max_j z_j.$$

%% code
def log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

extreme = np.array([0.0, -1000.0])
with np.errstate(divide="ignore"):
    print("log(softmax(z)):", np.log(softmax(extreme)))
print("log_softmax(z): ", log_softmax(extreme))

assert np.allclose(log_softmax(Z), np.log(softmax(Z)))   # the same function where both work
assert np.allclose(log_softmax(extreme), [0.0, -1000.0])

%% md
## The library's softmax agrees

`tinygrad_ft.functional` (imported as `F`) has `softmax` and `log_softmax`, written with the same
max trick. They take a `Tensor` and an `axis`. A NumPy `float64` array stays `float64` in a
`Tensor`, so we can compare to the last digit:

%% code
assert np.allclose(F.softmax(tg.Tensor(Z)).numpy(), softmax(Z), rtol=0, atol=1e-15)
assert np.allclose(F.softmax(tg.Tensor(Z), axis=0).numpy(), softmax(Z, axis=0), rtol=0, atol=1e-15)
assert np.allclose(F.log_softmax(tg.Tensor(Z)).numpy(), log_softmax(Z), rtol=0, atol=1e-13)

big = tg.Tensor([[1000.0, 1001.0, 1002.0]])        # a list: float32, where e^89 already overflows
print(F.softmax(big))
assert np.allclose(F.softmax(big).numpy(), softmax(np.array([[0.0, 1.0, 2.0]])))

%% md
What the library adds is the **backward pass**: `F.softmax` is one op of the engine, and its
gradient is derived by hand. That derivation, and how to check it, is chapter 2.
"""

# =========================================================================================
CH02 = r"""
%% md
# Chapter 2 · Derivatives and gradient checks

Training moves every parameter a little against its gradient, so a wrong gradient means a model
that does not learn, or learns slowly, often without any error message. This chapter derives the
gradient of the softmax and of the cross-entropy loss, then builds the tool that catches wrong
gradients: the **gradient check**.

%% code
""" + setup("from tinygrad_ft import functional as F", body=SOFTMAX) + r"""
%% md
## The Jacobian of the softmax

The softmax maps $C$ logits to $C$ probabilities, so its derivative is a $C \times C$ matrix, the
**Jacobian** $J_{ij} = \partial p_i / \partial z_j$. By the quotient rule, with $S = \sum_k e^{z_k}$:

$$\frac{\partial p_i}{\partial z_j} = \frac{\delta_{ij} e^{z_i} S - e^{z_i} e^{z_j}}{S^2} = p_i(\delta_{ij} - p_j),
\qquad J = \operatorname{diag}(p) - p\,p^\top,$$

where $\delta_{ij}$ is 1 if $i = j$ and 0 otherwise. A **finite difference** estimates each column:
nudge one logit by $\pm h$ and see how every probability moves.

%% code
z = rng.standard_normal(4)
p = softmax(z)
J = np.diag(p) - np.outer(p, p)

def jacobian_by_differences(f, z, h=1e-6):
    columns = []
    for j in range(len(z)):
        step = np.zeros_like(z)
        step[j] = h
        columns.append((f(z + step) - f(z - step)) / (2 * h))
    return np.stack(columns, axis=1)

J_numeric = jacobian_by_differences(softmax, z)
print(J.round(4))
assert np.allclose(J, J_numeric, rtol=0, atol=1e-9)

%% md
Two things to see in it. $J$ is symmetric. And each row sums to 0, so $J\mathbf{1} = 0$: moving
every logit by the same amount changes nothing, the shift invariance of chapter 1. The columns sum
to 0 as well, because the probabilities always add up to 1.

%% code
assert np.allclose(J, J.T)
assert np.allclose(J @ np.ones(4), 0)
assert np.allclose(np.ones(4) @ J, 0)

%% md
## Backward never builds the Jacobian

Backward receives $g = \partial L / \partial p$, the gradient of some final scalar loss $L$ with
respect to the softmax's output, and returns $\partial L / \partial z = J^\top g$ (a
**vector–Jacobian product**). Written out, the sum collapses:

$$\frac{\partial L}{\partial z_j} = \sum_i g_i\, p_i (\delta_{ij} - p_j) = p_j \Big(g_j - \sum_i g_i p_i\Big).$$

That costs $O(C)$ instead of the $C^2$ entries of $J$, which matters: with GPT-2's vocabulary of
50,257 tokens, $J$ would take 20 GB in float64, for each position of each sequence.

%% code
g = rng.standard_normal(4)
vjp = p * (g - g @ p)
assert np.allclose(vjp, J.T @ g)
print(f"J for 50,257 classes: {50_257**2 * 8 / 1e9:.0f} GB")

%% md
This is exactly what the library's `Softmax.backward` computes. Seeding `backward` with $g$ gives
$J^\top g$ in `.grad`:

%% code
x = tg.Tensor(z, requires_grad=True)
F.softmax(x).backward(g)
assert np.allclose(x.grad, vjp, rtol=0, atol=1e-15)

%% md
The library also has the softmax built from primitive ops (`exp`, `max`, `sum`, division):
`F.softmax_composed`, beside the op in `tinygrad_ft/functional/` (every op there has such a
`<name>_composed` reference), where autograd chains the gradients of the primitives. The fused,
hand-derived backward and the composed one agree to rounding error:

%% code
x2 = tg.Tensor(z, requires_grad=True)
F.softmax_composed(x2).backward(g)
assert np.allclose(x2.grad, x.grad, rtol=0, atol=1e-15)

%% md
## Cross-entropy: the gradient is $p - y$

The loss of a classifier (and of a language model, whose classes are tokens) is the
**cross-entropy** between a target distribution $y$ and the predicted $p = \operatorname{softmax}(z)$:

$$L = -\sum_i y_i \log p_i .$$

For a single right answer $t$, $y$ is one-hot and $L = -\log p_t$. By the chain rule, with
$\partial L/\partial p_i = -y_i / p_i$ and the softmax's backward:

$$\frac{\partial L}{\partial z_j} = p_j \Big(-\frac{y_j}{p_j} + \sum_i \frac{y_i}{p_i} p_i\Big)
= p_j \sum_i y_i - y_j = p_j - y_j,$$

because $\sum_i y_i = 1$. No division by a tiny $p$ is left: every component lies in $[-1, 1]$. The
gradient pushes the right logit up by $1 - p_t$ and every other logit down by its probability.

%% code
t, C = 2, 4
y = np.eye(C)[t]

def loss(z):
    return -(y * np.log(softmax(z))).sum()

by_chain_rule = J.T @ (-y / p)
numeric = np.array([(loss(z + h) - loss(z - h)) / 2e-6 for h in np.eye(C) * 1e-6])
assert np.allclose(by_chain_rule, p - y)
assert np.allclose(numeric, p - y, rtol=0, atol=1e-9)

%% md
`F.cross_entropy` takes logits of shape (N, C), the class axis last, and integer targets, and
averages over the N rows by default: the gradient of each row is then $(p - y)/N$.

%% code
N = 8
Z = rng.standard_normal((N, C)) * 2
targets = rng.integers(0, C, size=N)
Y = np.eye(C)[targets]

logits = tg.Tensor(Z, requires_grad=True)
F.cross_entropy(logits, targets).backward()
assert np.allclose(logits.grad, (softmax(Z) - Y) / N, rtol=0, atol=1e-15)

%% md
The derivation only used $\sum_i y_i = 1$, so $p - y$ holds for any target distribution. Label
smoothing is one: it trains against $y = (1 - \varepsilon)\,\text{onehot}(t) + \varepsilon / C$.

%% code
eps = 0.1
Y_smooth = (1 - eps) * Y + eps / C
logits = tg.Tensor(Z, requires_grad=True)
F.cross_entropy(logits, targets, label_smoothing=eps).backward()
assert np.allclose(logits.grad, (softmax(Z) - Y_smooth) / N, rtol=0, atol=1e-15)

%% md
## Finite differences, and how accurate they are

Every check above compared a formula with a finite difference. How far can those be trusted?
Taylor's theorem says $f(x \pm h) = f(x) \pm h f'(x) + \tfrac{h^2}{2} f''(x) \pm \tfrac{h^3}{6} f'''(x) + \dots$, so

$$\underbrace{\frac{f(x+h) - f(x)}{h}}_{\text{forward}} = f'(x) + \frac{h}{2} f''(x) + O(h^2), \qquad
\underbrace{\frac{f(x+h) - f(x-h)}{2h}}_{\text{central}} = f'(x) + \frac{h^2}{6} f'''(x) + O(h^4).$$

The forward difference's error shrinks like $h$, the central one's like $h^2$. We check both
error terms on $f = \tanh$ at $x = 0.5$, where $f' = 1 - t^2$, $f'' = -2t(1 - t^2)$ and
$f''' = -2(1 - t^2)(1 - 3t^2)$ with $t = \tanh x$:

%% code
x0 = 0.5
tx = np.tanh(x0)
d1, d2, d3 = 1 - tx**2, -2 * tx * (1 - tx**2), -2 * (1 - tx**2) * (1 - 3 * tx**2)

def forward_diff(f, x, h):
    return (f(x + h) - f(x)) / h

def central_diff(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)

h = 1e-3
assert np.isclose(forward_diff(np.tanh, x0, h) - d1, h / 2 * d2, rtol=1e-2)
assert np.isclose(central_diff(np.tanh, x0, h) - d1, h**2 / 6 * d3, rtol=1e-2)

%% md
So why not take $h$ tiny? Because $f(x + h) - f(x)$ subtracts two nearly equal numbers, each
rounded to about $\epsilon \approx 10^{-16}$ (float64), and dividing by $h$ magnifies that
rounding to about $\epsilon / h$. Too large an $h$, and the Taylor terms dominate; too small, and
rounding does. On a log-log plot, the first is a line of slope 1 (forward) or 2 (central), the
second a line of slope −1:

%% code
hs = np.logspace(-1, -13, 49)
err_forward = np.abs(forward_diff(np.tanh, x0, hs) - d1)
err_central = np.abs(central_diff(np.tanh, x0, hs) - d1)
x32, hs32 = np.float32(x0), hs.astype(np.float32)
with np.errstate(divide="ignore", invalid="ignore"):
    err_central32 = np.abs((np.tanh(x32 + hs32) - np.tanh(x32 - hs32)) / (2 * hs32) - d1)

plt.figure(figsize=(6, 3.8))
plt.loglog(hs, err_forward, "o-", ms=3, label="forward, float64")
plt.loglog(hs, err_central, "o-", ms=3, label="central, float64")
plt.loglog(hs, err_central32, "o-", ms=3, alpha=0.6, label="central, float32")
plt.loglog(hs, 1e-16 / hs, "k:", label="rounding ≈ ε / h")
plt.xlabel("step h")
plt.ylabel("|error|")
plt.ylim(1e-13, 1)
plt.title("finite-difference error on tanh'(0.5)")
plt.legend(fontsize=8)
plt.show()

def slope(err, h1, h2):
    i, j = np.argmin(abs(hs - h1)), np.argmin(abs(hs - h2))
    return np.log10(err[i] / err[j]) / np.log10(hs[i] / hs[j])

assert abs(slope(err_forward, 1e-2, 1e-4) - 1) < 0.05
assert abs(slope(err_central, 1e-2, 1e-4) - 2) < 0.05
assert 1e-9 <= hs[err_forward.argmin()] <= 1e-7    # forward: best h ≈ √ε ≈ 1e-8
assert 1e-7 <= hs[err_central.argmin()] <= 1e-4    # central: best h ≈ ε^(1/3) ≈ 1e-5
assert err_central.min() < err_forward.min() / 100
assert np.nanmin(err_central32) > 1e-7             # float32 never gets close to 1e-7

%% md
Central differences with $h \approx 10^{-6}$ in float64 get within about $10^{-11}$ of the
derivative. In float32, whose $\epsilon \approx 10^{-7}$, the best is around $10^{-6}$: too coarse
to tell a right gradient from a slightly wrong one. That is why gradient checks run in float64,
whatever precision the model trains in.

## The relative error

How close is close enough? A difference of $10^{-6}$ is negligible for a gradient of $10^{4}$ and
everything for a gradient of $10^{-4}$. So we compare the difference with the size of the numbers,
as Stanford's CS231n does:

$$\text{rel}(a, n) = \frac{|a - n|}{\max(10^{-8}, |a| + |n|)}$$

for an analytic value $a$ and a numeric one $n$ (the $10^{-8}$ avoids dividing by zero). In float64
with central differences, a correct gradient typically gives below $10^{-7}$; a wrong one, near 1.

%% code
from tinygrad_ft.autograd.gradcheck import relative_error


def rel(a, n):
    return np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))

a = np.array([1e4, 1e-4])
n = a + 1e-6                      # the same absolute error, twice
print(rel(a, n))
assert rel(a, n)[0] < 1e-9 < 1e-3 < rel(a, n)[1]
assert np.array_equal(relative_error(a, n), rel(a, n))    # the library's, the same formula

%% md
## The library's gradient check

`tg.gradcheck(f, *inputs)` puts it together: float64 copies of the inputs, central differences
with $h = 10^{-6}$ for every element of every floating-point input, and the worst relative error
against a tolerance of $10^{-7}$. Integer inputs, like class targets, are passed through untouched.

%% code
result = tg.gradcheck(F.softmax, Z)
print(result)
assert result
assert tg.gradcheck(lambda z, t: F.cross_entropy(z, t), Z, targets)

%% md
## Why the check needs a random cotangent

`gradcheck` turns the function's output into one number to differentiate. The obvious choice is
the sum of the outputs, which is backward seeded with ones. But $\sum_i \operatorname{softmax}(z)_i = 1$
whatever $z$ is: its true gradient is 0. Any softmax backward that returns 0 for a constant seed
passes that check, however wrong it is.

Here is one, with a sign error, the classic slip. For a constant $g$ the bracket $g_j - \sum_i g_i p_i$
is 0, so the sign does not show:

%% code
class SoftmaxSignError(tg.Function):
    def forward(self, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        self.p = e / e.sum(axis=-1, keepdims=True)
        return self.p

    def backward(self, g):
        return self.p * ((g * self.p).sum(axis=-1, keepdims=True) - g)   # the sign is flipped

%% md
We check both softmaxes by hand, seeding backward with $c$ and comparing with central differences
of $\sum_i f(z)_i c_i$: first with $c$ all ones (the sum), then with a random $c$.

%% code
def check_with_seed(op, z, c, h=1e-6):
    x = tg.Tensor(z, requires_grad=True)
    op(x).backward(c)

    def L(z):
        return (op(tg.Tensor(z)).numpy() * c).sum()

    numeric = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[i] = h
        numeric[i] = (L(z + step) - L(z - step)) / (2 * h)
    return np.allclose(x.grad, numeric, rtol=1e-5, atol=1e-7)

ones, c = np.ones_like(Z), rng.standard_normal(Z.shape)
for name, op in [("right", F.softmax), ("sign error", SoftmaxSignError.apply)]:
    print(f"{name:10s}  sum-based check: {check_with_seed(op, Z, ones)!s:5}   random cotangent: {check_with_seed(op, Z, c)}")

assert check_with_seed(SoftmaxSignError.apply, Z, ones)         # the wrong backward passes the sum check...
assert not check_with_seed(SoftmaxSignError.apply, Z, c)        # ...and fails the random one
assert check_with_seed(F.softmax, Z, ones)
assert check_with_seed(F.softmax, Z, c)

%% md
`tg.gradcheck` always contracts with a fixed random cotangent (seeded, so a check is repeatable),
and it catches the sign:

%% code
print(tg.gradcheck(SoftmaxSignError.apply, Z))
assert not tg.gradcheck(SoftmaxSignError.apply, Z)

%% md
## Exercise: the softmax backward

Now write it yourself, in plain NumPy. `stub` shows what to fill in, with the math:

%% code
from tinygrad_ft.exercises import check, stub

print(stub("softmax_backward"))

%% md
Your turn: replace the `raise` with your code (no loops needed), then run the check.

%% code
def softmax_backward(probs, d_probs):
    raise NotImplementedError("your code here")

%% code
verdict = check(softmax_backward)

%% md
Until you fill it in, the checker says so. Here is the worked solution from
`lessons/solutions/gradient_exercises.py`, graded the same way:

%% code
from solutions.gradient_exercises import softmax_backward

assert check(softmax_backward).ok

%% md
## Exercise: the cross-entropy backward

The mean cross-entropy of a batch, as `F.cross_entropy` computes it. The check also feeds your
function logits of ±3000, so remember chapter 1.

%% code
print(stub("cross_entropy_backward"))

%% code
def cross_entropy_backward(logits, targets):
    raise NotImplementedError("your code here")

%% code
verdict = check(cross_entropy_backward)

%% code
from solutions.gradient_exercises import cross_entropy_backward

assert check(cross_entropy_backward).ok

%% md
Next, chapter 3: the activation functions between the layers of a network, their derivatives,
and what happens to gradients that pass through many of them.
"""

# =========================================================================================
CH03 = r"""
%% md
# Chapter 3 · Activation functions

A stack of linear layers is still one linear map: $W_2(W_1 x) = (W_2 W_1)x$. An **activation
function**, applied element by element between the layers, is what lets a network bend. This
chapter writes the common ones and their derivatives by hand, checks both against the library,
and then follows a gradient back through twenty of them.

%% code
""" + setup("import math", "from tinygrad_ft import functional as F") + r"""

%% md
## Six activations

| name | $f(x)$ | $f'(x)$ |
|---|---|---|
| ReLU | $\max(x, 0)$ | $1$ if $x > 0$, else $0$ |
| LeakyReLU | $x$ if $x > 0$, else $\alpha x$ | $1$ if $x > 0$, else $\alpha$ |
| tanh | $\tanh x$ | $1 - \tanh^2 x$ |
| sigmoid | $\sigma(x) = 1/(1 + e^{-x})$ | $\sigma(x)(1 - \sigma(x))$ |
| GELU (exact) | $x\,\Phi(x)$ | $\Phi(x) + x\,\varphi(x)$ |
| GELU (tanh) | $\tfrac12 x (1 + \tanh u)$ | $\tfrac12(1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\, u'$ |

$\Phi$ is the standard normal's cumulative distribution function, $\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))$,
and $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$ its density. GELU, the activation of GPT-2 and most
transformers since, weighs $x$ by the probability that a standard normal variable is below it.
GPT-2 used the tanh approximation, with $u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)$ and
$u' = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)$.

In NumPy, each as a pair (function, derivative):

%% code
ALPHA = 0.1                      # LeakyReLU's slope for x < 0 (often 0.01; 0.1 is easier to see)
C, K = math.sqrt(2 / math.pi), 0.044715
erf = np.vectorize(math.erf)     # NumPy has no erf; math.erf is exact to float64

def Phi(x): return 0.5 * (1 + erf(x / math.sqrt(2)))
def phi(x): return np.exp(-x**2 / 2) / math.sqrt(2 * math.pi)
def sigmoid(x): return 1 / (1 + np.exp(-x))
def u(x): return C * (x + K * x**3)

ACTIVATIONS = {
    "relu":        (lambda x: np.maximum(x, 0),               lambda x: (x > 0) * 1.0),
    "leaky_relu":  (lambda x: np.where(x > 0, x, ALPHA * x),  lambda x: np.where(x > 0, 1.0, ALPHA)),
    "tanh":        (np.tanh,                                  lambda x: 1 - np.tanh(x)**2),
    "sigmoid":     (sigmoid,                                  lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "gelu (exact)": (lambda x: x * Phi(x),                    lambda x: Phi(x) + x * phi(x)),
    "gelu (tanh)": (lambda x: 0.5 * x * (1 + np.tanh(u(x))),
                    lambda x: 0.5 * (1 + np.tanh(u(x))) + 0.5 * x * (1 - np.tanh(u(x))**2) * C * (1 + 3 * K * x**2)),
}

%% code
x = np.linspace(-4, 4, 801)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
for name, (f, df) in ACTIVATIONS.items():
    style = "--" if name == "gelu (tanh)" else "-"
    left.plot(x, f(x), style, label=name)
    right.plot(x, df(x), style, label=name)
left.set(ylim=(-1.5, 3), title="f(x)")
right.set(ylim=(-0.2, 1.2), title="f′(x)")
right.legend(fontsize=8, loc="upper left")
fig.tight_layout()
plt.show()

%% md
## Each derivative, checked twice

First against central differences of the function itself (chapter 2), away from the kink of ReLU
and LeakyReLU at 0, where the derivative does not exist:

%% code
h = 1e-6
away_from_kink = np.abs(x) > 1e-3
for name, (f, df) in ACTIVATIONS.items():
    numeric = (f(x + h) - f(x - h)) / (2 * h)
    assert np.allclose(df(x)[away_from_kink], numeric[away_from_kink], rtol=0, atol=1e-8), name

%% md
Then against the library. `tinygrad_ft.functional` has each of them as one op with a
hand-derived backward. We compare the forward values, and the backward seeded with a random
$g$: for an element-wise function the Jacobian is diagonal, so backward must return $g \odot f'(x)$.

%% code
LIBRARY = {
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=ALPHA),
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "gelu (exact)": lambda t: F.gelu(t, approximate="none"),
    "gelu (tanh)": lambda t: F.gelu(t, approximate="tanh"),
}
g = rng.standard_normal(x.shape)
print(f"{'':13s} {'forward':>9s} {'backward':>9s}   (largest |difference| from the formulas)")
for name, (f, df) in ACTIVATIONS.items():
    t = tg.Tensor(x, requires_grad=True)
    out = LIBRARY[name](t)
    out.backward(g)
    forward_diff, backward_diff = np.abs(out.numpy() - f(x)).max(), np.abs(t.grad - g * df(x)).max()
    print(f"{name:13s} {forward_diff:9.1e} {backward_diff:9.1e}")
    assert forward_diff < 1e-14, name
    assert backward_diff < 1e-14, name

%% md
At the kink itself, the library follows PyTorch's convention: ReLU's derivative at exactly 0 is 0,
and LeakyReLU's is its slope α. (Any value in between would do; it is a set of measure zero.)

%% code
t = tg.Tensor(np.zeros(1), requires_grad=True)
F.relu(t).backward(np.ones(1))
t2 = tg.Tensor(np.zeros(1), requires_grad=True)
F.leaky_relu(t2, negative_slope=ALPHA).backward(np.ones(1))
assert t.grad[0] == 0.0
assert t2.grad[0] == ALPHA

%% md
## How they relate

tanh is a sigmoid, stretched and shifted: $\tanh x = 2\sigma(2x) - 1$, so
$\tanh'(x) = 4\sigma'(2x)$. Their slopes are largest at 0, where $\sigma'(0) = 1/4$ and
$\tanh'(0) = 1$. And the tanh approximation of GELU stays within $5 \times 10^{-4}$ of the exact
one.

%% code
assert np.allclose(np.tanh(x), 2 * sigmoid(2 * x) - 1)
assert np.allclose(ACTIVATIONS["tanh"][1](x), 4 * ACTIVATIONS["sigmoid"][1](2 * x))
assert np.isclose(ACTIVATIONS["sigmoid"][1](x).max(), 1 / 4)
assert x[ACTIVATIONS["sigmoid"][1](x).argmax()] == 0
assert np.isclose(ACTIVATIONS["tanh"][1](x).max(), 1)

gelu_gap = np.abs(ACTIVATIONS["gelu (exact)"][0](x) - ACTIVATIONS["gelu (tanh)"][0](x))
print(f"largest |exact - tanh approximation| of GELU: {gelu_gap.max():.1e} at x = {x[gelu_gap.argmax()]:.2f}")
assert gelu_gap.max() < 5e-4

%% md
Unlike ReLU, GELU is not monotonic: it dips to about −0.17 near $x \approx -0.75$, where its
derivative crosses 0, so a small negative input still passes a small (negative) signal and a
gradient.

%% code
gelu, dgelu = ACTIVATIONS["gelu (exact)"]
x_min = x[gelu(x).argmin()]
print(f"GELU's minimum: {gelu(x).min():.4f} at x = {x_min:.2f}")
assert np.isclose(gelu(x).min(), -0.17, atol=0.005)
assert np.isclose(x_min, -0.75, atol=0.01)
assert np.all(dgelu(x[x < x_min - 0.01]) < 0)
assert np.all(dgelu(x[x > x_min + 0.01]) > 0)

%% md
## Saturation

Far from 0, tanh and sigmoid flatten out: they **saturate**, and their derivatives are almost 0.
A unit whose input sits there passes almost no gradient back. ReLU never saturates for $x > 0$
(derivative exactly 1), but for $x < 0$ it passes exactly nothing: a unit that is negative for
every input is "dead" and stops learning. LeakyReLU and GELU keep a little slope there.

%% code
sigmoid_slope, tanh_slope = ACTIVATIONS["sigmoid"][1], ACTIVATIONS["tanh"][1]
print(f"σ'(5) = {sigmoid_slope(5.0):.4f}, tanh'(3) = {tanh_slope(3.0):.4f}")
assert np.all(sigmoid_slope(x[np.abs(x) >= 5]) < 0.007)
assert np.all(tanh_slope(x[np.abs(x) >= 3]) < 0.01)

%% md
## A gradient through twenty layers

In a deep network the gradient of the loss reaches the first layer through every layer above it.
Take $h_{l+1} = f(a_{l+1})$ with $a_{l+1} = h_l W_{l+1}$, and $n \times n$ weights drawn from
$\mathcal N(0, \text{gain}^2/n)$. Going back one layer multiplies the gradient by
$\operatorname{diag}(f'(a_{l+1}))$ and then by $W_{l+1}^\top$. For random weights this scales its
norm by about

$$\frac{\lVert \partial L/\partial h_{l} \rVert}{\lVert \partial L/\partial h_{l+1} \rVert}
\approx \text{gain} \cdot \operatorname{rms}\big(f'(a_{l+1})\big),$$

the gain times the root-mean-square slope of the activation at that layer. Over 20 layers these
factors multiply: slightly below 1 and the gradient **vanishes**, slightly above and it
**explodes**.

We build the stack with the library, keep each layer's gradient with `retain_grad()`, and compare
the measured shrinkage from the last layer to the first with the product of the predicted factors.

%% code
SLOPES = {"tanh": ACTIVATIONS["tanh"][1], "sigmoid": ACTIVATIONS["sigmoid"][1], "relu": ACTIVATIONS["relu"][1]}
LAYERS = {"tanh": F.tanh, "sigmoid": F.sigmoid, "relu": F.relu}

def deep_stack(activation, gain, depth=20, width=128, batch=64, seed=0):
    rng = np.random.default_rng(seed)
    h = tg.Tensor(rng.standard_normal((batch, width)), requires_grad=True)
    hidden, slopes = [], []
    for _ in range(depth):
        W = tg.Tensor(rng.standard_normal((width, width)) * gain / np.sqrt(width))
        a = h @ W
        slopes.append(np.sqrt(np.mean(SLOPES[activation](a.numpy()) ** 2)))
        h = LAYERS[activation](a).retain_grad()
        hidden.append(h)
    h.backward(rng.standard_normal(h.shape))        # a random cotangent at the top
    grad_norms = np.array([np.linalg.norm(t.grad) for t in hidden])
    return grad_norms / grad_norms[-1], np.array(slopes)

RUNS = [("sigmoid", 1.0), ("tanh", 1.0), ("relu", 1.0), ("relu", np.sqrt(2)), ("tanh", 3.0)]
results = {}
for activation, gain in RUNS:
    norms, slopes = deep_stack(activation, gain)
    predicted = np.prod(gain * slopes[1:])          # the factors of layers 2..20
    results[activation, gain] = norms, slopes
    print(f"{activation:7s} gain {gain:4.2f}: first/last gradient norm {norms[0]:8.1e}, predicted {predicted:8.1e}")
    assert abs(np.log10(norms[0] / predicted)) < 0.3, (activation, gain)   # within a factor of 2

%% code
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
layers = np.arange(1, 21)
for (activation, gain), (norms, slopes) in results.items():
    label = f"{activation}, gain {gain:.2g}"
    left.semilogy(layers, norms, "o-", ms=3, label=label)
    right.plot(layers, slopes, "o-", ms=3, label=label)
left.set(xlabel="layer", ylabel="‖∂L/∂h‖ (relative to layer 20)", title="gradient norm, by layer")
right.set(xlabel="layer", ylabel="rms f′(a)", title="the activation's slope, by layer", ylim=(0, 1.05))
left.legend(fontsize=7)
fig.tight_layout()
plt.show()

%% md
Read the plot from right (the loss) to left (the input):

- **sigmoid**: its slope is at most 1/4, so each layer multiplies the gradient by about 0.2. After
  20 layers the first one gets $10^{-12}$ of it: it does not learn at all. This is why deep nets
  moved away from sigmoids between layers.
- **tanh, gain 1**: the activations shrink layer by layer into tanh's linear part, where its slope
  is near 1, so the gradient decays only slowly.
- **ReLU, gain 1**: about half of the units are off, so the rms slope is about $\sqrt{1/2}$, and the
  gradient shrinks by about $0.71$ per layer, $10^{-3}$ in all.
- **ReLU, gain $\sqrt 2$** (He initialisation): the gain makes up exactly for the lost half, and the
  gradient keeps its size through all 20 layers.
- **tanh, gain 3**: the units saturate (rms slope about 0.45), yet the weights are so large that
  each layer still multiplies the gradient by 1.3: it **explodes** towards the input.

%% code
sigmoid_norms, sigmoid_slopes = results["sigmoid", 1.0]
relu_norms, relu_slopes = results["relu", 1.0]
assert sigmoid_norms[0] < 1e-10
assert np.all(sigmoid_slopes <= 0.25)
assert abs(relu_slopes.mean() - np.sqrt(0.5)) < 0.02     # about half of the units are on
assert 0.5 < results["relu", np.sqrt(2)][0][0] < 2
assert results["tanh", 3.0][0][0] > 100
assert results["tanh", 3.0][1].mean() < 0.5

%% md
Later chapters keep gradients healthy with the tools of transformers: careful initialisation,
layer norm, and residual connections, which give the gradient a path around each layer.

## Exercises: four backward passes

For each activation: the stub, your attempt (left for you, so the check says "not implemented"),
and the check. The checker runs your function in float64, in float32 (is the dtype kept?), and
for the smooth ones on inputs as large as ±3000 (does anything overflow?).

%% code
from tinygrad_ft.exercises import check, for_chapter, stub

print([exercise.name for exercise in for_chapter(3)])

%% md
### sigmoid

%% code
print(stub("sigmoid_backward"))

%% code
def sigmoid_backward(x, d_out):
    raise NotImplementedError("your code here")

verdict = check(sigmoid_backward)

%% md
### tanh

%% code
print(stub("tanh_backward"))

%% code
def tanh_backward(x, d_out):
    raise NotImplementedError("your code here")

verdict = check(tanh_backward)

%% md
### ReLU

%% code
print(stub("relu_backward"))

%% code
def relu_backward(x, d_out):
    raise NotImplementedError("your code here")

verdict = check(relu_backward)

%% md
### GELU (the tanh approximation)

%% code
print(stub("gelu_backward"))

%% code
def gelu_backward(x, d_out):
    raise NotImplementedError("your code here")

verdict = check(gelu_backward)

%% md
### The worked solutions

From `lessons/solutions/gradient_exercises.py`, each with its derivation in a comment:

%% code
from solutions.gradient_exercises import gelu_backward, relu_backward, sigmoid_backward, tanh_backward

for solution in (sigmoid_backward, tanh_backward, relu_backward, gelu_backward):
    assert check(solution).ok

%% md
Next, chapter 4: how the engine chains all these local derivatives together, built from scratch.
"""

# =========================================================================================
CH04 = r"""
%% md
# Chapter 4 · Autograd from scratch

Chapters 2 and 3 derived one op's backward at a time. A model is thousands of ops, and nobody
differentiates it by hand: the engine records every op as it runs, then applies the chain rule
backwards through that record. This chapter builds such an engine for scalars, in under a
hundred lines, then shows that the library's `Tensor` computes the same gradients, and looks at what a
real engine must also get right.

%% code
""" + setup("import math", "from tinygrad_ft import functional as F") + r"""

%% md
## A value that remembers how it was made

Each `Value` holds a number, the gradient of the final output with respect to it (`grad`), the
values it was computed from, and a function `_backward` that knows the local derivative of the op
that made it. For $y = a \cdot b$, that function adds $b \cdot \bar y$ to `a.grad` and $a \cdot \bar y$
to `b.grad`, where $\bar y$ is `y.grad`.

It *adds*, with `+=`, and never assigns: a value used twice receives gradient along both paths
(we will see what goes wrong without it).

%% code
class Value:
    def __init__(self, data, inputs=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._inputs = inputs
        self._op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")
        def _backward():                     # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")
        def _backward():                     # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):                    # k a constant number
        out = Value(self.data**k, (self,), f"**{k:g}")
        def _backward():                     # d(aᵏ)/da = k aᵏ⁻¹
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")
        def _backward():                     # d tanh(a)/da = 1 - tanh²(a)
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")
        def _backward():                     # d eᵃ/da = eᵃ
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    # the rest, from the ops above
    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * other**-1
    def __radd__(self, other): return self + other
    def __rmul__(self, other): return self * other
    def __rsub__(self, other): return (-self) + other

%% md
## The graph, in topological order

Backward must visit an op only once the gradient of its output is complete, that is, after every
op that *used* that output. Listing the values so that each comes after its inputs (a
**topological order**) and walking the list backwards guarantees it. A depth-first search gives
the order: a value is appended once all of its inputs have been.

%% code
def topological_order(root):
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            for u in v._inputs:
                visit(u)
            order.append(v)
    visit(root)
    return order

def backward(self):
    order = topological_order(self)
    for v in order:
        v.grad = 0.0
    self.grad = 1.0                          # dL/dL
    for v in reversed(order):
        v._backward()                        # pass the gradient on to the inputs

Value.backward = backward

%% md
Our example: $L = (ab + c)\tanh a$, with $a$ used twice.

%% code
a, b, c = Value(1.5, label="a"), Value(-2.0, label="b"), Value(4.0, label="c")
e = a * b
e.label = "e = a·b"
d = e + c
d.label = "d = e + c"
t = a.tanh()
t.label = "t = tanh a"
L = d * t
L.label = "L = d·t"
L.backward()

order = topological_order(L)
print(" → ".join(v.label for v in order))
assert all(order.index(u) < order.index(v) for v in order for u in v._inputs)   # inputs come first

%% md
A picture of the graph, each value with its number and its gradient. Arrows point from the
inputs of an op to its output; backward runs against them, from $L$ (whose gradient is 1) back to
the leaves $a$, $b$ and $c$:

%% code
def draw(root, where):
    fig, ax = plt.subplots(figsize=(7, 3))
    boxes = {}
    for v in topological_order(root):
        boxes[v] = ax.text(*where[v.label], f"{v.label}\n{v.data:.3f}\ngrad {v.grad:.3f}", ha="center", va="center",
                           fontsize=9, bbox=dict(boxstyle="round", fc="lightyellow" if v._inputs else "lightblue"))
    for v, box in boxes.items():
        for u in v._inputs:        # from the right edge of the input's box to the left edge of the output's
            ax.annotate("", xy=(0, 0.5), xycoords=box, xytext=(1, 0.5), textcoords=boxes[u],
                        arrowprops=dict(arrowstyle="-|>", color="gray"))
    ax.set(xlim=(-0.4, 3.4), ylim=(-1.5, 2.1))
    ax.axis("off")
    plt.show()

draw(L, {"c": (1, 1.6), "b": (0, 0.8), "a": (0, -0.4), "e = a·b": (1, 0.3), "t = tanh a": (1, -1.0),
         "d = e + c": (2, 0.8), "L = d·t": (3, 0.0)})

%% md
## The chain rule, checked

Each `_backward` applied one local derivative; walking the graph multiplied them along every path
and added the paths. By hand: $a$ reaches $L$ through $e$ (then $d$) and through $t$, so

$$\frac{\partial L}{\partial a} = \underbrace{t \cdot b}_{\text{via } e} + \underbrace{d\,(1 - t^2)}_{\text{via } t}, \qquad
\frac{\partial L}{\partial b} = t\,a, \qquad \frac{\partial L}{\partial c} = t.$$

%% code
tv, dv = math.tanh(1.5), 1.5 * -2.0 + 4.0
assert math.isclose(a.grad, tv * -2.0 + dv * (1 - tv**2))
assert math.isclose(b.grad, tv * 1.5)
assert math.isclose(c.grad, tv)

def L_of(a_, b_, c_):
    return (a_ * b_ + c_) * math.tanh(a_)

h = 1e-6
assert math.isclose(a.grad, (L_of(1.5 + h, -2, 4) - L_of(1.5 - h, -2, 4)) / (2 * h), rel_tol=1e-8)

%% md
## The library gives the same gradients

The library's `Tensor` does the same on whole arrays: each op is a `Function` whose `backward`
plays the part of `_backward`, and `Tensor.backward` walks the graph in reverse topological order.
On the same expression, in float64:

%% code
A, B, Cc = (tg.Tensor(v, dtype="float64", requires_grad=True) for v in (1.5, -2.0, 4.0))
LT = (A * B + Cc) * A.tanh()
LT.backward()
assert np.isclose(LT.item(), L.data)
assert np.allclose([A.grad, B.grad, Cc.grad], [a.grad, b.grad, c.grad], rtol=1e-14)

%% md
A bigger test: a small two-layer network, $\text{loss} = \sum \tanh(x W_1) W_2$, written once with
scalar `Value`s and loops, once with tensors and `@`. A tensor op is a whole loop of scalar ops
at once, and the gradients of every weight agree:

%% code
from tinygrad_ft import autograd  # the library's engine: Tensor.backward uses autograd.topological_order

x_np, W1_np, W2_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 2))

# scalars and loops
xs = [[Value(v) for v in row] for row in x_np]
W1 = [[Value(v) for v in row] for row in W1_np]
W2 = [[Value(v) for v in row] for row in W2_np]
hidden = [[sum((xs[n][i] * W1[i][j] for i in range(4)), Value(0.0)).tanh() for j in range(5)] for n in range(3)]
out = [[sum((hidden[n][j] * W2[j][k] for j in range(5)), Value(0.0)) for k in range(2)] for n in range(3)]
loss = sum((v for row in out for v in row), Value(0.0))
loss.backward()

# tensors
X, T1, T2 = tg.Tensor(x_np), tg.Tensor(W1_np, requires_grad=True), tg.Tensor(W2_np, requires_grad=True)
loss_t = ((X @ T1).tanh() @ T2).sum()
tensor_ops = [t._ctx.name for t in autograd.topological_order(loss_t) if t._ctx is not None]
loss_t.backward()

assert np.isclose(loss.data, loss_t.item())
assert np.allclose(T1.grad, [[v.grad for v in row] for row in W1], rtol=1e-12)
assert np.allclose(T2.grad, [[v.grad for v in row] for row in W2], rtol=1e-12)
print(f"{len(topological_order(loss))} scalar values against {len(tensor_ops)} tensor ops: {', '.join(tensor_ops)}")

%% md
## A value used twice: gradients add up

Here is what the `+=` is for. A `Value` whose backward *assigns* its gradient instead of adding it
forgets every path but the last one:

%% code
class ForgetfulValue(Value):
    def __add__(self, other):
        out = ForgetfulValue(self.data + other.data, (self, other), "+")
        def _backward():
            self.grad = out.grad             # = instead of +=
            other.grad = out.grad
        out._backward = _backward
        return out

right, forgetful = Value(3.0), ForgetfulValue(3.0)
(right + right).backward()
(forgetful + forgetful).backward()
print(f"d(a + a)/da: {right.grad} with +=, {forgetful.grad} with =")
assert right.grad == 2.0
assert forgetful.grad == 1.0

%% md
The library adds up the gradients of every use too: $\frac{d}{dx}(x \cdot x + x) = 2x + 1$.

%% code
xt = tg.Tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
(xt * xt + xt).sum().backward()
assert np.allclose(xt.grad, 2 * xt.numpy() + 1)

%% md
Gradients also add up *across* calls to `backward`, as in PyTorch: that is how gradients of
several batches are accumulated before one optimizer step. So training loops clear them between
steps, with `zero_grad()`.

%% code
w = tg.Tensor([1.0, 2.0], dtype="float64", requires_grad=True)
for _ in range(3):
    (w * w).sum().backward()                # each call builds a new graph and adds 2w to w.grad
print("after three backward calls:", w.grad)
assert np.allclose(w.grad, 3 * 2 * w.numpy())
w.zero_grad()
assert w.grad is None

%% md
The same graph cannot be walked twice, though: to save memory, backward frees what each op kept
for it (its inputs, its output) as soon as it has used them. A second walk is an error that says
what to do, and `retain_graph=True` keeps the graph alive:

%% code
y = (w * w).sum()
y.backward()
try:
    y.backward()
except RuntimeError as error:
    print("RuntimeError:", error)
else:
    raise AssertionError("a second backward through a freed graph should fail")

w.zero_grad()
y = (w * w).sum()
y.backward(retain_graph=True)
y.backward()
assert np.allclose(w.grad, 2 * 2 * w.numpy())

%% md
## Broadcasting's gradient: sum over the broadcast axes

Adding a bias $b$ of shape (3,) to a batch $X$ of shape (4, 3) uses every $b_j$ four times, once
per row. A value used four times receives four gradients, added up:
$\partial L/\partial b_j = \sum_n G_{nj}$ with $G = \partial L/\partial Y$. In general, the gradient of a
broadcast input is summed over every axis along which it was broadcast, back to its own shape.

%% code
X = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
bias = tg.Tensor(rng.standard_normal(3), requires_grad=True)
scale = tg.Tensor(rng.standard_normal((4, 1)), requires_grad=True)
G = rng.standard_normal((4, 3))

Y = (X + bias) * scale                      # bias: (3,) → (4, 3);  scale: (4, 1) → (4, 3)
Y.backward(G)
Xb = X.numpy() + bias.numpy()

assert bias.grad.shape == (3,)
assert scale.grad.shape == (4, 1)
assert np.allclose(bias.grad, (G * scale.numpy()).sum(axis=0))            # summed over the new leading axis
assert np.allclose(scale.grad, (G * Xb).sum(axis=1, keepdims=True))       # summed over the axis of size 1
assert np.allclose(X.grad, G * scale.numpy())                              # X was not broadcast

%% md
Every op of the library does this with one helper, `unbroadcast` in `tinygrad_ft/autograd/ops.py`:

%% code
from tinygrad_ft.autograd.ops import unbroadcast

assert np.allclose(unbroadcast(G, (3,)), G.sum(axis=0))
assert np.allclose(unbroadcast(G, (4, 1)), G.sum(axis=1, keepdims=True))
assert np.allclose(unbroadcast(G, (1, 1)), G.sum(keepdims=True))

%% md
## Switching the recording off: `no_grad` and `detach`

Recording a graph costs time and memory. When no gradient is needed (evaluating a model,
sampling text, updating the weights in an optimizer step), `tg.no_grad()` switches it off, and the
results of ops do not require gradients:

%% code
w = tg.Tensor([1.0, 2.0], dtype="float64", requires_grad=True)
with tg.no_grad():
    assert not tg.is_grad_enabled()
    y = w * 2
assert tg.is_grad_enabled()
assert not y.requires_grad
assert y.is_leaf

%% md
`detach()` cuts one tensor out of the graph: the same numbers, treated as a constant. In
$y = x \cdot \text{detach}(x)$, the gradient flows only through the first factor, so $dy/dx = x$,
not $2x$:

%% code
xt = tg.Tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
(xt * xt.detach()).sum().backward()
assert np.allclose(xt.grad, xt.numpy())

%% md
A real use: chapter 1's max trick. Softmax does not change when every logit moves by the same
amount, so the gradient through the subtracted maximum adds up to exactly 0, and we may as well
not compute it. Detaching the max gives the same gradient as the library's softmax:

%% code
logits = tg.Tensor(rng.standard_normal((2, 5)), requires_grad=True)
e = (logits - logits.max(axis=-1, keepdims=True).detach()).exp()
g = rng.standard_normal((2, 5))
(e / e.sum(axis=-1, keepdims=True)).backward(g)

reference = tg.Tensor(logits.numpy(), requires_grad=True)
F.softmax(reference).backward(g)
assert np.allclose(logits.grad, reference.grad, rtol=0, atol=1e-15)

%% md
## A chain of 10,000 ops

A transformer's graph is deep: dozens of layers, each of many ops, and a training step can chain
many steps of a recurrence. Our `topological_order` recurses once per link of the chain, and Python
allows about a thousand nested calls. A chain of 10,000 multiplications breaks it:

%% code
import sys

factor, steps = 1.0001, 10_000
v0 = Value(1.0)
v = v0
for _ in range(steps):
    v = v * factor
try:
    v.backward()
except RecursionError:
    print(f"RecursionError (Python's limit is {sys.getrecursionlimit()} nested calls)")
else:
    raise AssertionError("expected the recursive search to fail")

%% md
The fix is the same search with an explicit stack instead of recursion. Each value goes on the
stack twice: once to visit its inputs, once to append it after them.

%% code
def topological_order(root):
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        v, inputs_done = stack.pop()
        if inputs_done:
            order.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            stack.extend((u, False) for u in v._inputs if u not in seen)
    return order

v.backward()                                        # Value.backward looks up topological_order anew
assert math.isclose(v0.grad, factor**steps, rel_tol=1e-9)   # d(x·cⁿ)/dx = cⁿ

L.backward()                                        # the same order rules still hold for the small graph
assert math.isclose(a.grad, tv * -2.0 + dv * (1 - tv**2))

%% md
The library's `Tensor.backward` uses this iterative search (`topological_order` in
`tinygrad_ft/autograd/tensor.py`), so the same chain is no problem there either:

%% code
x0 = tg.Tensor(1.0, dtype="float64", requires_grad=True)
y = x0
for _ in range(steps):
    y = y * factor
y.backward()
print(f"dy/dx = {x0.grad.item():.6f} = {factor}^{steps}")
assert np.isclose(x0.grad, factor**steps, rtol=1e-9)

%% md
That is the whole engine: values that remember their inputs, a local derivative per op,
gradients added up over every use, and a walk in reverse topological order. The next chapters put
it to work on layers, with each op's backward derived by hand like those of chapters 2 and 3.
"""

CHAPTERS = {
    0: ("00_tour.ipynb", CH00),
    1: ("01_softmax_by_hand.ipynb", CH01),
    2: ("02_derivatives_and_gradient_checks.ipynb", CH02),
    3: ("03_activation_functions.ipynb", CH03),
    4: ("04_autograd_from_scratch.ipynb", CH04),
}


if __name__ == "__main__":
    main(sys.argv[1:], CHAPTERS, timeout=120)
