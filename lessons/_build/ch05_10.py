"""Builds lessons/05_dense_layers_and_a_first_network.ipynb ... lessons/10_tokenization_and_data.ipynb, and runs them.

    .venv/bin/python lessons/_build/ch05_10.py            # write and execute all six
    .venv/bin/python lessons/_build/ch05_10.py 6 8        # only chapters 6 and 8
    .venv/bin/python lessons/_build/ch05_10.py --no-run   # write without executing

The chapters' sources are below (format, execution and writing: ``notebooks.py``).
"""

from __future__ import annotations

import sys

from notebooks import main, setup_cell

PLOTS = """
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6, 3.5), "axes.grid": True, "grid.alpha": 0.3})
tg.manual_seed(0)
rng = np.random.default_rng(0)
"""
F = "from tinygrad_ft import functional as F"
NN = "from tinygrad_ft import nn"


def setup(*imports: str) -> str:
    """A chapter's first code cell: NumPy, matplotlib, ``tg`` and ``imports``; plot settings, seeds."""
    return setup_cell(*imports, body=PLOTS)


# =========================================================================================
CH05 = r"""
%% md
# Chapter 5 · Dense layers and a first network

Chapters 1–4 built the engine: tensors that remember how they were made, and backward passes
checked against finite differences. Now the first real layer. A **dense** (fully connected, or
linear) layer maps each input vector to an output vector with a matrix and a bias:

$$Y = X W + b, \qquad X \in \mathbb{R}^{N \times \text{in}},\;
W \in \mathbb{R}^{\text{in} \times \text{out}},\; b \in \mathbb{R}^{\text{out}}.$$

Each of the $N$ rows of $X$ is one example; the same $W$ and $b$ serve them all. Stack a few
such layers with a nonlinearity between them and you have a network that can learn curved
decision boundaries. By the end of this chapter one will separate three interleaved spirals.

%% code
""" + setup(F, NN) + r"""
%% md
## The forward pass

`F.linear(x, w, b)` is the dense layer as one op. Note the weight's shape, `(in, out)`: the
forward is `x @ w`, with no transpose (PyTorch stores the transpose, `(out, in)`).

%% code
N, n_in, n_out = 5, 4, 3
X = rng.standard_normal((N, n_in))
W = rng.standard_normal((n_in, n_out))
b = rng.standard_normal(n_out)

Y = F.linear(tg.Tensor(X), tg.Tensor(W), tg.Tensor(b))
print(Y.shape)
assert np.allclose(Y.numpy(), X @ W + b)        # b is broadcast to every row

%% md
## The backward pass, derived

Let $L$ be whatever scalar comes later (a loss), and $G = \partial L / \partial Y$, the
gradient arriving from above, shaped like $Y$: $(N, \text{out})$. Write the forward one
element at a time,

$$Y_{no} = \sum_i X_{ni} W_{io} + b_o,$$

and apply the chain rule. $X_{ni}$ appears in every output of row $n$, with coefficient
$W_{io}$; $W_{io}$ appears in output $o$ of every row, with coefficient $X_{ni}$; $b_o$ appears
in output $o$ of every row, with coefficient 1:

$$\frac{\partial L}{\partial X_{ni}} = \sum_o G_{no} W_{io}, \qquad
\frac{\partial L}{\partial W_{io}} = \sum_n X_{ni} G_{no}, \qquad
\frac{\partial L}{\partial b_o} = \sum_n G_{no}.$$

As matrices:

$$\boxed{\;dX = G\,W^\top, \qquad dW = X^\top G, \qquad db = \textstyle\sum_{\text{rows}} G\;}$$

A way to remember them: each gradient has the shape of what it differentiates, and only one
order of the matmul gives that shape. $dX$ is $(N, \text{in})$ = $(N, \text{out}) \cdot (\text{out}, \text{in})$;
$dW$ is $(\text{in}, \text{out})$ = $(\text{in}, N) \cdot (N, \text{out})$.

The library's `Linear.backward` (in `tinygrad_ft/functional/linear.py`) is those three lines.
We seed `backward` with a random $G$ and compare:

%% code
G = rng.standard_normal((N, n_out))
x, w, bias = (tg.Tensor(a, requires_grad=True) for a in (X, W, b))
F.linear(x, w, bias).backward(G)

assert np.allclose(x.grad, G @ W.T)             # dX = G Wᵀ
assert np.allclose(w.grad, X.T @ G)             # dW = Xᵀ G
assert np.allclose(bias.grad, G.sum(axis=0))    # db = Σ_rows G
print("dX", x.grad.shape, " dW", w.grad.shape, " db", bias.grad.shape)

%% md
$dW = X^\top G$ hides a sum over the batch: it is the sum, over the $N$ examples, of the outer
product of each example's input with its output gradient. One matmul does the whole sum.

%% code
outer_sum = sum(np.outer(X[n], G[n]) for n in range(N))
assert np.allclose(w.grad, outer_sum)

%% md
In a transformer the input has more leading axes, `(batch, time, in)`. `F.linear` folds them
into one axis of $N$ = batch × time rows, so $dW$ sums over every position of every sequence:

%% code
X3 = rng.standard_normal((2, 7, n_in))
G3 = rng.standard_normal((2, 7, n_out))
x3, w3 = tg.Tensor(X3, requires_grad=True), tg.Tensor(W, requires_grad=True)
F.linear(x3, w3).backward(G3)

assert np.allclose(w3.grad, np.einsum("bti,bto->io", X3, G3))   # Σ over batch and time
assert np.allclose(x3.grad, G3 @ W.T)

%% md
And, as for every op of the library, the hand-derived backward agrees with central
differences (`tg.gradcheck`) and with the same function composed from primitive ops, whose
gradient autograd derives op by op (`F.linear_composed`, beside the op in `tinygrad_ft/functional/`):

%% code
from tinygrad_ft.autograd import max_difference

print(tg.gradcheck(F.linear, X, W, b))
value_diff, grad_diff = max_difference(F.linear, F.linear_composed, X, W, b)
print(f"fused vs composed: values differ by {value_diff:.1e}, gradients by {grad_diff:.1e}")
assert tg.gradcheck(F.linear, X, W, b)
assert max(value_diff, grad_diff) < 1e-12

%% md
## `nn.Linear`: the layer that owns its parameters

`nn.Linear(in, out)` holds $W$ and $b$ as `Parameter`s and calls `F.linear`. It initialises
both uniformly in $\pm 1/\sqrt{\text{in}}$, as PyTorch does. Why that bound? A uniform number
in $\pm a$ has variance $a^2/3$, so each weight has variance $1/(3\,\text{in})$. An output is
a sum of $\text{in}$ products, so for inputs of variance 1

$$\operatorname{Var}(y) = \text{in} \cdot 1 \cdot \frac{1}{3\,\text{in}} + \operatorname{Var}(b)
= \frac13 + \frac{1}{3\,\text{in}},$$

whatever the width: the scale of the signal does not grow or shrink with the layer's size.

%% code
layer = nn.Linear(256, 256)
print(layer, [p.shape for p in layer.parameters()])

bound = 1 / np.sqrt(256)
assert np.abs(layer.weight.numpy()).max() <= bound
assert np.abs(layer.bias.numpy()).max() <= bound

with tg.no_grad():
    out = layer(tg.Tensor(rng.standard_normal((20_000, 256)).astype(np.float32)))
print(f"Var(y) = {out.numpy().var():.4f}, predicted {1/3 + 1/(3*256):.4f}")
assert abs(out.numpy().var() - (1/3 + 1/(3*256))) < 0.02

%% md
## A toy problem: three spirals

Two numbers in, one of three classes out. The classes are spiral arms wound around each other,
so no straight line separates them. The data is drawn with NumPy from a seeded generator;
a second draw is held out to test on.

%% code
def spirals(n_per_class, rng, classes=3, noise=0.2):
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n_per_class)                         # radius grows along the arm
        angle = 2 * np.pi * c / classes + 4 * r + noise * rng.standard_normal(n_per_class)
        X.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)

X_train, y_train = spirals(100, np.random.default_rng(0))
X_test, y_test = spirals(100, np.random.default_rng(1))
print(X_train.shape, y_train.shape, np.bincount(y_train))

plt.figure(figsize=(3.8, 3.5))
plt.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap="brg", s=10)
plt.gca().set_aspect("equal")
plt.title("three spirals (training set)")
plt.show()

%% md
## From logits to a loss

A classifier outputs one **logit** per class; the softmax turns them into probabilities
(chapter 1), and the loss is the mean negative log-probability of the right class, the
**cross-entropy**:

$$L = -\frac1N \sum_n \log \operatorname{softmax}(z_n)_{y_n}.$$

`F.cross_entropy(logits, targets)` computes it in one fused op (chapter 6 takes it apart).
Here it is against the formula, on the untrained logits of a single linear layer:

%% code
tg.manual_seed(0)
linear_model = nn.Linear(2, 3)
logits = linear_model(tg.Tensor(X_train))
probs = F.softmax(logits).numpy()

by_hand = -np.log(probs[np.arange(len(y_train)), y_train]).mean()
loss = F.cross_entropy(logits, y_train)
print(f"cross-entropy {loss.item():.4f}  (log 3 = {np.log(3):.4f}: a model that knows nothing)")
assert np.isclose(loss.item(), by_hand, rtol=1e-5)

%% md
## Training: gradient descent, written out

The whole training loop: forward, loss, backward, and a small step against every gradient,
$\theta \leftarrow \theta - \eta\, \partial L/\partial \theta$. We write the step by hand here;
chapter 7 turns it into an optimizer object and improves on it. `model.zero_grad()` matters:
gradients *add up* across `backward()` calls.

%% code
def train(model, steps, lr):
    X, losses = tg.Tensor(X_train), []
    for step in range(steps):
        loss = F.cross_entropy(model(X), y_train)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad          # in place: the model keeps the same arrays
        losses.append(loss.item())
    return losses

def accuracy(model, X, y):
    with tg.no_grad():
        return (model(tg.Tensor(X)).numpy().argmax(axis=1) == y).mean()

linear_losses = train(linear_model, steps=300, lr=1.0)
print(f"linear model: loss {linear_losses[-1]:.3f}, train accuracy {accuracy(linear_model, X_train, y_train):.2f}")

%% md
A single linear layer draws straight boundaries between the classes (each class wins where its
logit, a linear function of the input, is largest), so it gets little more than half of the
points right. The picture shows it: each colour of the background is the class the model
predicts there.

%% code
def plot_boundary(model, ax, title):
    grid = np.linspace(-1.2, 1.2, 200, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)
    with tg.no_grad():
        pred = model(tg.Tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))).numpy().argmax(axis=1)
    ax.contourf(gx, gy, pred.reshape(gx.shape), levels=[-0.5, 0.5, 1.5, 2.5], cmap="brg", alpha=0.25)
    ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap="brg", s=8)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.grid(False)

fig, ax = plt.subplots(figsize=(3.8, 3.5))
plot_boundary(linear_model, ax, "one linear layer")
plt.show()
assert accuracy(linear_model, X_train, y_train) < 0.7

%% md
## A multi-layer perceptron

Put a nonlinearity between linear layers and the model can bend its boundaries. `nn.Sequential`
chains modules; this MLP has two hidden layers of 64 units with ReLU between them:

%% code
tg.manual_seed(0)
mlp = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
print(mlp)
print("parameters:", mlp.num_parameters())
assert mlp.num_parameters() == (2 * 64 + 64) + (64 * 64 + 64) + (64 * 3 + 3)

%% code
mlp_losses = train(mlp, steps=600, lr=1.0)
train_acc, test_acc = accuracy(mlp, X_train, y_train), accuracy(mlp, X_test, y_test)
print(f"MLP: loss {mlp_losses[-1]:.3f}, train accuracy {train_acc:.2f}, test accuracy {test_acc:.2f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.5))
ax1.plot(linear_losses, label="linear")
ax1.plot(mlp_losses, label="MLP")
ax1.set_yscale("log")
ax1.set_xlabel("step")
ax1.set_ylabel("cross-entropy")
ax1.legend()
plot_boundary(mlp, ax2, "MLP, 2 hidden layers")
plt.tight_layout()
plt.show()
assert train_acc > 0.97
assert test_acc > 0.9

%% md
Every gradient that trained it came from two hand-derived backwards: `F.linear`'s three
formulas above, and the ReLU's of chapter 3 (and cross-entropy's, next chapter). The same
`Linear` layer, with the same backward, makes up most of a GPT's parameters.

## Exercise: the dense layer's backward

Write the three gradients yourself in plain NumPy. The checker also tries a float32 input (is
the dtype kept?) and names the usual mistakes: a transposed matmul, a bias gradient that was
never summed over the batch, or an extra division by $N$.

%% code
from tinygrad_ft.exercises import check, for_chapter, stub

print([exercise.name for exercise in for_chapter(5)])
print(stub("linear_backward"))

%% code
def linear_backward(x, W, b, d_out):
    raise NotImplementedError("your code here")

verdict = check(linear_backward)
assert verdict.kind == "not implemented"

%% md
Until you fill it in, the checker says so. Here is the worked solution from
`lessons/solutions/gradient_exercises.py`, graded the same way:

%% code
from solutions.gradient_exercises import linear_backward

assert check(linear_backward).ok

%% md
Next, chapter 6: the loss functions, cross-entropy among them, and their gradients.
"""

# =========================================================================================
CH06 = r"""
%% md
# Chapter 6 · Loss functions

A loss turns the model's prediction and the right answer into one number, and its gradient is
where every backward pass starts. Three losses cover most of deep learning:

| loss | predicts | used for |
|---|---|---|
| cross-entropy | one class out of $C$ | next-token prediction, classification |
| binary cross-entropy | yes or no, per output | spam or not, multi-label tags |
| mean squared error | a real number | regression |

For each we derive the gradient, check it against the library, and look at what can go wrong
in floating point.

%% code
""" + setup(F) + r"""
%% md
## Cross-entropy

For one example with logits $z \in \mathbb{R}^C$ and correct class $t$, the loss is the
negative log-probability that the softmax gives the right class:

$$\ell = -\log \operatorname{softmax}(z)_t = -\log \frac{e^{z_t}}{\sum_j e^{z_j}}
= \underbrace{\log \sum_j e^{z_j}}_{\operatorname{lse}(z)} - z_t .$$

The right-hand form never computes a probability, so it cannot take the log of one that
underflowed to 0; the log-sum-exp is computed stably by pulling out the maximum,
$\operatorname{lse}(z) = m + \log \sum_j e^{z_j - m}$ (chapter 1's trick). A batch takes the mean
over its $N$ rows.

%% code
def logsumexp(z):
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]

N, C = 8, 5
Z = rng.standard_normal((N, C)) * 2
t = rng.integers(0, C, size=N)

by_hand = (logsumexp(Z) - Z[np.arange(N), t]).mean()
z = tg.Tensor(Z, requires_grad=True)
loss = F.cross_entropy(z, t)
print(f"cross-entropy {loss.item():.6f}")
assert np.isclose(loss.item(), by_hand)

%% md
**The gradient.** The derivative of the log-sum-exp is the softmax,
$\partial \operatorname{lse}/\partial z_j = e^{z_j} / \sum_k e^{z_k} = p_j$, and
$\partial z_t / \partial z_j$ is 1 for $j = t$ and 0 otherwise. So, with the mean's $1/N$:

$$\frac{\partial L}{\partial z_{nj}} = \frac{1}{N}\Big(p_{nj} - [\,j = t_n\,]\Big).$$

Predicted probabilities minus the one-hot target: push the right class up, every other class
down in proportion to how much probability it took.

%% code
loss.backward()
P = np.exp(Z - logsumexp(Z)[:, None])
onehot = np.eye(C)[t]
assert np.allclose(z.grad, (P - onehot) / N)
assert np.allclose(z.grad.sum(axis=1), 0)     # each row: Σ p - 1 = 0, so adding a constant to z changes nothing

%% md
Two values to remember. A model that knows nothing (all logits equal) has loss $\log C$, the
loss at the start of training. And the loss is 0 only in the limit of infinite confidence in
the right class; it grows without bound for confident mistakes.

%% code
print(f"uniform prediction: {F.cross_entropy(tg.Tensor(np.zeros((N, C))), t).item():.4f} = log {C} = {np.log(C):.4f}")
assert np.isclose(F.cross_entropy(tg.Tensor(np.zeros((N, C))), t).item(), np.log(C))

confident_wrong = np.full((1, C), 0.0)
confident_wrong[0, 0] = 50.0                                           # sure of class 0; the answer is 1
assert np.isclose(F.cross_entropy(tg.Tensor(confident_wrong), [1]).item(), 50.0, rtol=1e-6)

%% md
Because the fused op works from $\operatorname{lse}(z) - z_t$, huge logits are no problem, in
float32 too, where the naive route (exponentiate, normalise, take the log) overflows.
`F.log_softmax` is stable as well, for the same reason:

%% code
Z_big = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
two_step = -F.log_softmax(tg.Tensor(Z_big))[0, 1].item()
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    naive = -np.log(np.exp(Z_big) / np.exp(Z_big).sum())[0, 1]
fused = F.cross_entropy(tg.Tensor(Z_big), [1]).item()
print(f"naive: {naive},  log_softmax: {two_step},  cross_entropy: {fused}")
assert not np.isfinite(naive)
assert fused == two_step == 2000.0

%% md
### Ignored positions and label smoothing

Two options of `F.cross_entropy` that later chapters use:

* `ignore_index` (default $-100$): targets equal to it add nothing, and the mean is over the
  others only. Supervised fine-tuning uses it to skip the prompt, so the model learns only the
  answer. An ignored row's gradient is exactly 0.
* `label_smoothing` $\varepsilon$: train against $(1-\varepsilon)\,\text{onehot}(t) + \varepsilon/C$
  instead of the one-hot, which keeps the model from becoming infinitely sure. The gradient
  becomes $p - (1-\varepsilon)\,\text{onehot}(t) - \varepsilon/C$ (per row, before the mean).

%% code
t_masked = t.copy()
t_masked[:3] = -100                                       # ignore the first three rows
z = tg.Tensor(Z, requires_grad=True)
F.cross_entropy(z, t_masked).backward()
kept = t_masked != -100
assert np.allclose(z.grad[~kept], 0)
assert np.allclose(z.grad[kept], (P - onehot)[kept] / kept.sum())   # the mean is over the 5 kept rows

eps = 0.1
z = tg.Tensor(Z, requires_grad=True)
F.cross_entropy(z, t, label_smoothing=eps).backward()
assert np.allclose(z.grad, (P - (1 - eps) * onehot - eps / C) / N)

%% md
## Binary cross-entropy

For a yes/no question the model outputs one number per question. As a probability $p$ of
"yes", with target $t \in \{0, 1\}$:

$$\ell = -\big(t \log p + (1 - t)\log(1 - p)\big), \qquad
\frac{\partial \ell}{\partial p} = -\frac{t}{p} + \frac{1-t}{1-p} = \frac{p - t}{p\,(1-p)} .$$

`F.binary_cross_entropy` takes probabilities and averages over all $M$ elements:

%% code
probs = 1 / (1 + np.exp(-rng.standard_normal((4, 3)) * 2))
targets = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
M = probs.size

p = tg.Tensor(probs, requires_grad=True)
loss = F.binary_cross_entropy(p, targets)
loss.backward()
assert np.isclose(loss.item(), -(targets * np.log(probs) + (1 - targets) * np.log(1 - probs)).mean())
assert np.allclose(p.grad, (probs - targets) / (probs * (1 - probs)) / M)

%% md
**Through the sigmoid.** The probability usually comes from a logit, $p = \sigma(x)$, and
$\sigma'(x) = p(1-p)$ (chapter 3). The chain rule multiplies by exactly the denominator above,
which cancels:

$$\frac{\partial \ell}{\partial x} = \frac{p - t}{p(1-p)} \cdot p(1-p) = \sigma(x) - t .$$

The same shape as cross-entropy's $p - \text{onehot}$. The loss itself has a stable form in the
logit: $-\log\sigma(x) = \log(1 + e^{-x})$ and $-\log(1-\sigma(x)) = \log(1+e^{x})$, so

$$\ell = \operatorname{softplus}(x) - t\,x, \qquad
\operatorname{softplus}(x) = \log(1 + e^x) = \max(x, 0) + \log\!\big(1 + e^{-|x|}\big),$$

where the last form never exponentiates a positive number. `F.binary_cross_entropy_with_logits`
computes exactly that:

%% code
logits = rng.standard_normal((4, 3)) * 3
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
sigma = 1 / (1 + np.exp(-logits))

x = tg.Tensor(logits, requires_grad=True)
loss = F.binary_cross_entropy_with_logits(x, targets)
loss.backward()
assert np.isclose(loss.item(), (softplus - targets * logits).mean())
assert np.isclose(loss.item(), F.binary_cross_entropy(F.sigmoid(tg.Tensor(logits)), targets).item())  # same loss
assert np.allclose(x.grad, (sigma - targets) / M)                                                      # σ(x) - t

%% md
Binary cross-entropy is cross-entropy with two classes: the softmax of the logits $(0, x)$
gives class 1 the probability $e^x/(1 + e^x) = \sigma(x)$.

%% code
two_class = np.stack([np.zeros_like(logits), logits], axis=-1)        # (4, 3, 2): logits 0 and x
assert np.isclose(F.cross_entropy(tg.Tensor(two_class), targets.astype(int)).item(), loss.item())

%% md
## Why "with logits": confident mistakes

Take a target of 0 and let the model become more and more sure of the wrong answer, in float32.
The exact loss is $\operatorname{softplus}(x) \approx x$, and its gradient $\sigma(x) \to 1$:
a confident mistake should be corrected hard. Going through the probability instead, $\sigma(x)$
rounds to exactly 1 once $x > 17$ or so: $\log(1 - p)$ is $\log 0$, which
`F.binary_cross_entropy` clamps at $-100$ (as PyTorch does), and the sigmoid's derivative
$p(1-p)$ is 0. The loss jumps to 100 and the gradient *vanishes*: the worst examples stop
teaching. The mean squared error on the probability (next section) has the same problem for a
different reason: its gradient $2(p-t)\,p(1-p)$ fades as $p(1-p) \to 0$.

%% code
xs = np.linspace(-10, 40, 501, dtype=np.float32)
zeros = np.zeros_like(xs)

def loss_and_grad(loss_fn):
    x = tg.Tensor(xs, requires_grad=True)
    loss = loss_fn(x)
    loss.sum().backward()
    return loss.numpy(), x.grad

with_logits = loss_and_grad(lambda x: F.binary_cross_entropy_with_logits(x, zeros, reduction="none"))
with np.errstate(divide="ignore"):   # log(1 - p) of p = 1 is log 0 = -inf inside, clamped to -100
    via_probs = loss_and_grad(lambda x: F.binary_cross_entropy(F.sigmoid(x), zeros, reduction="none"))
mse_probs = loss_and_grad(lambda x: F.mse_loss(F.sigmoid(x), zeros, reduction="none"))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(xs, with_logits[0], lw=3, label="BCE with logits")
ax1.plot(xs, via_probs[0], "--", label="BCE of σ(x), float32")
ax1.annotate("jumps to 100\n(log 0, clamped)", xy=(17, 40), xytext=(21, 36), arrowprops={"arrowstyle": "->"})
ax1.set_ylim(-2, 45)
ax1.set_xlabel("logit x (target 0)")
ax1.set_title("loss")
ax1.legend()
ax2.plot(xs, with_logits[1], lw=3, label="BCE with logits: σ(x) - t")
ax2.plot(xs, via_probs[1], "--", label="BCE of σ(x), float32")
ax2.plot(xs, mse_probs[1], ":", label="MSE of σ(x)")
ax2.set_xlabel("logit x (target 0)")
ax2.set_title("gradient d loss / dx")
ax2.legend(fontsize=8)
plt.tight_layout()
plt.show()

at_30 = np.argmin(np.abs(xs - 30))
assert np.isclose(with_logits[0][at_30], 30, rtol=1e-6)
assert np.isclose(with_logits[1][at_30], 1)
assert via_probs[0][at_30] == 100
assert via_probs[1][at_30] == 0
sigma_xs = 1 / (1 + np.exp(-xs.astype(np.float64)))
assert np.allclose(mse_probs[1], 2 * sigma_xs * sigma_xs * (1 - sigma_xs), atol=1e-6)   # d(σ - 0)²/dx = 2σ · σ(1 - σ)

%% md
The rule: give the loss the logits, never the probabilities. `F.cross_entropy` has no other
way to be called, and `F.binary_cross_entropy_with_logits` is the one to use for yes/no outputs.

## Mean squared error

For a real-valued prediction $\hat y$ and target $y$, averaged over all $M$ elements:

$$L = \frac1M \sum_i (\hat y_i - y_i)^2, \qquad \frac{\partial L}{\partial \hat y_i} = \frac{2}{M}(\hat y_i - y_i).$$

%% code
pred, target = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
p = tg.Tensor(pred, requires_grad=True)
loss = F.mse_loss(p, target)
loss.backward()
assert np.isclose(loss.item(), ((pred - target) ** 2).mean())
assert np.allclose(p.grad, 2 * (pred - target) / pred.size)

%% md
What does MSE ask for? The best single number $c$ for a set of targets minimises
$\frac1M\sum_i (c - y_i)^2$; its gradient $\frac2M \sum_i (c - y_i)$ is zero at the **mean**.
(The absolute error would ask for the median; cross-entropy asks for the whole distribution.)

%% code
ys = rng.exponential(size=1000)                      # a skewed set of targets
c = tg.Tensor(np.array([ys.mean()]), requires_grad=True)
F.mse_loss(c, ys).backward()                         # c broadcasts against the 1000 targets
print(f"gradient at the mean: {c.grad[0]:.1e}")
assert abs(c.grad[0]) < 1e-12

%% md
## Every loss, checked numerically

The fused ops against central differences (chapter 2), in float64. A loss is one number of
order 1, rounded at about $10^{-16}$, while the mean makes each gradient small; a step of
$h = 10^{-5}$ rather than the default $10^{-6}$ keeps that rounding well below the tolerance
(chapter 2's trade-off between truncation and rounding).

%% code
checks = {
    "cross_entropy": tg.gradcheck(lambda z: F.cross_entropy(z, t), Z, eps=1e-5),
    "binary_cross_entropy": tg.gradcheck(lambda p: F.binary_cross_entropy(p, targets), probs, eps=1e-5),
    "binary_cross_entropy_with_logits": tg.gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, targets), logits, eps=1e-5),
    "mse_loss": tg.gradcheck(lambda p: F.mse_loss(p, target), pred, eps=1e-5),
}
for name, result in checks.items():
    print(f"{name:34s} max relative error {result.max_rel_error:.1e}")
assert all(checks.values())

%% md
## Exercises: three loss gradients

Write each gradient in plain NumPy. Each loss is a **mean**, so remember what you divide by.
The checker also feeds the two logit losses inputs of ±3000.

%% code
from tinygrad_ft.exercises import check, for_chapter, stub

print([exercise.name for exercise in for_chapter(6)])

%% md
### cross-entropy

%% code
print(stub("cross_entropy_backward"))

%% code
def cross_entropy_backward(logits, targets):
    raise NotImplementedError("your code here")

verdict = check(cross_entropy_backward)

%% md
### mean squared error

%% code
print(stub("mse_backward"))

%% code
def mse_backward(pred, target):
    raise NotImplementedError("your code here")

verdict = check(mse_backward)

%% md
### binary cross-entropy with logits

%% code
print(stub("binary_cross_entropy_with_logits_backward"))

%% code
def binary_cross_entropy_with_logits_backward(logits, targets):
    raise NotImplementedError("your code here")

verdict = check(binary_cross_entropy_with_logits_backward)
assert verdict.kind == "not implemented"

%% md
### The worked solutions

From `lessons/solutions/gradient_exercises.py`, each with its derivation in a comment:

%% code
from solutions.gradient_exercises import binary_cross_entropy_with_logits_backward, cross_entropy_backward, mse_backward

for solution in (cross_entropy_backward, mse_backward, binary_cross_entropy_with_logits_backward):
    assert check(solution).ok

%% md
Next, chapter 7: what to do with a gradient once you have it. Optimizers, learning-rate
schedules, and the regularisers that keep a model from memorising its training set.
"""

# =========================================================================================
CH07 = r"""
%% md
# Chapter 7 · Optimisation and regularisation

Backward gives the gradient; the **optimizer** decides what step to take with it. Chapter 5
used the plainest rule, $\theta \leftarrow \theta - \eta\,g$. This chapter builds up to the one
every GPT is trained with: AdamW, with a warmup-then-cosine learning rate and gradient clipping.
Then **regularisation**: weight decay and dropout, which keep a model from memorising its
training set.

Each optimizer in `tinygrad_ft.optim` reads each parameter's `.grad` and writes the new value
into `.data`, in place. Every update rule below is first computed by hand and checked against it.

%% code
""" + setup(F, "from tinygrad_ft import nn, optim") + r"""

%% md
## A hard little valley

An ill-conditioned quadratic: steep in one direction, shallow in the other,

$$f(x, y) = \tfrac12\,(x^2 + 20\,y^2), \qquad \nabla f = (x,\; 20\,y).$$

The curvature is 1 along $x$ and 20 along $y$. Real loss surfaces have such directions by the
million; this one fits on a page. `descend` runs any optimizer on it from $(-4, 1.5)$:

%% code
def valley(p):
    return 0.5 * (p[0] * p[0] + 20 * p[1] * p[1])

def descend(make_optimizer, steps, start=(-4.0, 1.5)):
    p = tg.Tensor(np.array(start), requires_grad=True)         # float64
    optimizer = make_optimizer([p])
    path = [p.numpy().copy()]
    for _ in range(steps):
        loss = valley(p)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(p.numpy().copy())
    return np.array(path)

%% md
## SGD

$\theta \leftarrow \theta - \eta\, g$. On the valley each coordinate is on its own:
$x \leftarrow (1 - \eta)\,x$ and $y \leftarrow (1 - 20\eta)\,y$, so after $t$ steps

$$x_t = (1-\eta)^t\,x_0, \qquad y_t = (1 - 20\eta)^t\,y_0 .$$

The steep direction limits the step: $|1 - 20\eta| < 1$ needs $\eta < 2/20 = 0.1$. Any
larger and $y$ grows every step; just below, $y$ flips sign every step (a zigzag) while $x$
crawls, shrinking by only $1 - \eta$ per step.

%% code
eta = 0.09
sgd_path = descend(lambda ps: optim.SGD(ps, lr=eta), steps=60)
t = np.arange(61)
assert np.allclose(sgd_path[:, 0], (1 - eta) ** t * -4.0)
assert np.allclose(sgd_path[:, 1], (1 - 20 * eta) ** t * 1.5)

too_big = descend(lambda ps: optim.SGD(ps, lr=0.11), steps=60)
print(f"η = 0.09: |y| after 60 steps {abs(sgd_path[-1, 1]):.1e};   η = 0.11: {abs(too_big[-1, 1]):.1e}")
assert abs(too_big[-1, 1]) > 1.5 > abs(sgd_path[-1, 1])

%% md
## Momentum

Keep a running sum of past gradients, a velocity $b$, and step along it:

$$b \leftarrow \mu\, b + g, \qquad \theta \leftarrow \theta - \eta\, b \qquad (b = g \text{ on the first step}).$$

Along $y$ the gradients alternate in sign and cancel in $b$; along $x$ they agree and add up,
so the crawl speeds up by up to $1/(1-\mu)$. Three steps by hand against `optim.SGD(momentum=...)`:

%% code
eta, mu = 0.02, 0.8
theta, b = np.array([-4.0, 1.5]), None
for _ in range(3):
    g = np.array([1.0, 20.0]) * theta                           # ∇f
    b = g if b is None else mu * b + g
    theta = theta - eta * b

momentum_path = descend(lambda ps: optim.SGD(ps, lr=eta, momentum=mu), steps=60)
assert np.allclose(momentum_path[3], theta)

%% md
Where the gradient stays the same, $b$ sums the geometric series $g\,(1 + \mu + \mu^2 + \dots) 	o g/(1-\mu)$:
steps five times longer than SGD's for $\mu = 0.8$.

%% code
p = tg.Tensor(np.zeros(1), requires_grad=True)
sgd_momentum = optim.SGD([p], lr=1.0, momentum=mu)
for _ in range(100):
    before = p.numpy().copy()
    p.grad = np.array([1.0])                           # the same gradient every step
    sgd_momentum.step()
assert np.isclose(before[0] - p.numpy()[0], 1 / (1 - mu))

%% md
## Adam

Adam keeps two running averages per parameter, of the gradient and of its square, and scales
each parameter's step by its own gradient size. At step $t = 1, 2, \ldots$, with $m_0 = v_0 = 0$:

$$m \leftarrow \beta_1 m + (1-\beta_1)\,g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\,g^2,$$
$$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1-\beta_2^t}, \qquad
\theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$

* $m$ is momentum: a running average of recent gradients.
* $\sqrt{v}$ is the typical size of the gradient, averaged over a longer window ($\beta_2 = 0.999$
  forgets more slowly than $\beta_1 = 0.9$). Dividing by it makes the step size about $\eta$ in
  every coordinate, steep or shallow.
* $\hat m$, $\hat v$ are the **bias corrections**: $m$ and $v$ start at 0, so early on they are
  too small by the factors $1 - \beta^t$; dividing by those factors undoes it.

Two steps by hand, with gradients we make up, against `optim.Adam`:

%% code
lr, (beta1, beta2), eps = 0.1, (0.9, 0.999), 1e-8
theta0 = rng.standard_normal(4)
grads = [rng.standard_normal(4), rng.standard_normal(4)]

theta, m, v = theta0.copy(), np.zeros(4), np.zeros(4)
for step, g in enumerate(grads, start=1):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    if step == 1:
        first_step = theta - theta0

p = tg.Tensor(theta0.copy(), requires_grad=True)
adam = optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
for g in grads:
    p.grad = g                       # an optimizer only reads .grad: set it by hand
    adam.step()
assert np.allclose(p.numpy(), theta, rtol=1e-10, atol=1e-14)
assert np.allclose(adam.state[p]["exp_avg"], m)
assert np.allclose(adam.state[p]["exp_avg_sq"], v)

%% md
The first step shows what the bias correction buys: $\hat m_1 = g$ and $\hat v_1 = g^2$, so
the first step is $-\eta\, g/|g| = -\eta\,\operatorname{sign}(g)$, exactly $\eta$ in every
coordinate, whatever the gradient's size.

%% code
print("first step:", first_step.round(6))
assert np.allclose(first_step, -lr * np.sign(grads[0]), atol=1e-6)

%% md
The same holds at every step for a constant gradient: $m_t = (1-\beta_1^t)\,g$ and
$v_t = (1-\beta_2^t)\,g^2$, so $\hat m_t/\sqrt{\hat v_t} = \operatorname{sign}(g)$ exactly.
Without the correction the ratio is $(1-\beta_1^t)/\sqrt{1-\beta_2^t}$, which starts at
$0.1/\sqrt{0.001} \approx 3.2$, climbs, and takes thousands of steps to settle at 1: the first
steps of training would be several times too large. The library's steps, for a gradient held at
$g = 0.5$:

%% code
p = tg.Tensor(np.zeros(1), requires_grad=True)
adam = optim.Adam([p], lr=1.0)
positions = []
for _ in range(3000):
    p.grad = np.array([0.5])
    adam.step()
    positions.append(p.numpy()[0])
library_steps = -np.diff(np.concatenate([[0.0], positions]))
steps = np.arange(1, 3001)
uncorrected = (1 - 0.9**steps) / np.sqrt(1 - 0.999**steps)

plt.plot(steps, library_steps, lw=3, label=r"optim.Adam: $\hat m / \sqrt{\hat v}$")
plt.plot(steps, uncorrected, label=r"no bias correction: $m / \sqrt{v}$")
plt.xscale("log")
plt.xlabel("step")
plt.ylabel("step size / η")
plt.legend()
plt.show()
assert np.allclose(library_steps, 1.0, atol=1e-7)
assert np.isclose(uncorrected[0], 0.1 / np.sqrt(0.001))
assert uncorrected.max() > 6

%% md
## Three optimizers in the valley

SGD zigzags across the steep direction and crawls along the shallow one. Momentum damps the
zigzag and builds up speed along the valley. Adam takes steps of about $\eta$ in both
coordinates at first, heading diagonally, whatever the curvature.

%% code
paths = {
    "SGD, η=0.09": sgd_path,
    "momentum, η=0.02, μ=0.8": momentum_path,
    "Adam, η=0.3": descend(lambda ps: optim.Adam(ps, lr=0.3), steps=60),
}
gx, gy = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-2, 2, 200))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), gridspec_kw={"width_ratios": [1.4, 1]})
ax1.contour(gx, gy, 0.5 * (gx**2 + 20 * gy**2), levels=np.geomspace(0.05, 60, 12), colors="gray", linewidths=0.5)
for (name, path) in paths.items():
    ax1.plot(path[:, 0], path[:, 1], lw=1.2, label=name)
    ax2.plot([0.5 * (x * x + 20 * y * y) for x, y in path], label=name)
ax1.plot(0, 0, "k*")
ax1.set_title("paths from (-4, 1.5)")
ax1.legend(fontsize=8)
ax2.set_yscale("log")
ax2.set_xlabel("step")
ax2.set_title("f")
plt.tight_layout()
plt.show()

final = {name: 0.5 * (path[-1] ** 2 * [1, 20]).sum() for name, path in paths.items()}
assert final["momentum, η=0.02, μ=0.8"] < final["SGD, η=0.09"]

%% md
## The MLP of chapter 5, with each optimizer

The same network, the same spirals, the same initialisation (`tg.manual_seed` before building
it), 200 full-batch steps with each optimizer:

%% code
def spirals(n_per_class, rng, classes=3, noise=0.2):
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n_per_class)
        angle = 2 * np.pi * c / classes + 4 * r + noise * rng.standard_normal(n_per_class)
        X.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)

X_train, y_train = spirals(100, np.random.default_rng(0))

def make_mlp():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))

optimizers = {
    "SGD, η=0.3": lambda ps: optim.SGD(ps, lr=0.3),
    "momentum, η=0.3, μ=0.9": lambda ps: optim.SGD(ps, lr=0.3, momentum=0.9),
    "Adam, η=0.01": lambda ps: optim.Adam(ps, lr=0.01),
    "AdamW, η=0.01, λ=0.01": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.01),
}
curves = {}
for name, make_optimizer in optimizers.items():
    model = make_mlp()
    optimizer = make_optimizer(model.parameters())
    X, curves[name] = tg.Tensor(X_train), []
    for step in range(200):
        loss = F.cross_entropy(model(X), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curves[name].append(loss.item())

for name, curve in curves.items():
    plt.plot(curve, label=name)
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("training loss")
plt.legend(fontsize=8)
plt.show()
assert max(curves["momentum, η=0.3, μ=0.9"][-1], curves["Adam, η=0.01"][-1]) < curves["SGD, η=0.3"][-1] / 10

%% md
Adam and AdamW trace almost the same curve here: with $\lambda = 0.01$ the decay is tiny over
200 steps. What the difference between them is, is the next section.

## Weight decay: L2 is not the same as decoupled decay

Weight decay pulls every weight towards 0 a little at each step, so the model uses no more
weight than the data asks for. There are two ways to write it:

* **L2 penalty**: add $\frac\lambda2\|\theta\|^2$ to the loss, so $g \leftarrow g + \lambda\theta$.
  For plain SGD that is the same as shrinking the weights. `Adam(weight_decay=λ)` does this,
  but then the penalty's gradient goes through $m$ and $v$ and is divided by $\sqrt{\hat v}$
  like the rest of the gradient.
* **Decoupled decay** (AdamW): shrink the weights directly, $\theta \leftarrow \theta - \eta\lambda\theta$,
  apart from the Adam step.

The difference is stark for a weight with no gradient from the loss at all. AdamW shrinks it
geometrically, $\theta_t = (1 - \eta\lambda)^t\,\theta_0$. Adam's L2 feeds it the gradient
$\lambda\theta$, which Adam normalises to a step of about $\eta$: every weight moves by $\eta$ per
step, large or small, *whatever $\lambda$ is*.

%% code
theta0, lr = np.array([3.0, -0.5, 0.01]), 0.01

def decay_only(optimizer_class, weight_decay, steps):
    p = tg.Tensor(theta0.copy(), requires_grad=True)
    optimizer = optimizer_class([p], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        p.grad = np.zeros(3)          # the loss says nothing about this weight
        optimizer.step()
    return p.numpy()

assert np.allclose(decay_only(optim.AdamW, 0.1, 100), (1 - lr * 0.1) ** 100 * theta0)
for weight_decay in (0.1, 0.001):
    first_step = decay_only(optim.Adam, weight_decay, 1) - theta0
    print(f"Adam, L2 λ={weight_decay}: first step {first_step.round(6)}")
    assert np.allclose(first_step, -lr * np.sign(theta0), atol=1e-5)

%% md
AdamW's decay is the one GPT training uses (with $\lambda \approx 0.1$), and only on the weight
matrices: biases and LayerNorm gains are few, and pulling them to 0 only hurts.
`optim.weight_decay_groups` makes the two parameter groups:

%% code
model = make_mlp()
groups = optim.weight_decay_groups(model, 0.1)
for group in groups:
    print(f"weight_decay={group['weight_decay']}: shapes {[p.shape for p in group['params']]}")
assert all(p.ndim == 2 for p in groups[0]["params"])
assert all(p.ndim == 1 for p in groups[1]["params"])

%% md
## Dropout

During training, zero each activation with probability $p$ and scale the survivors by
$1/(1-p)$; at evaluation, do nothing. The scaling keeps the expected value unchanged,
$\mathbb E[y] = (1-p)\cdot\frac{x}{1-p} + p \cdot 0 = x$, so the next layer sees inputs of the
same size in both modes. Each unit must learn to be useful without relying on any particular
other unit being there.

%% code
x = tg.ones((100_000,), requires_grad=True)
y = F.dropout(x, p=0.3)
kept = y.numpy() != 0
print(f"dropped {1 - kept.mean():.4f} (p = 0.3), survivors {np.unique(y.numpy()[kept])} = 1/0.7, mean {y.numpy().mean():.4f}")
assert abs((1 - kept.mean()) - 0.3) < 0.01
assert abs(y.numpy().mean() - 1) < 0.02
assert np.allclose(y.numpy()[kept], 1 / 0.7)

y.backward(np.full(100_000, 2.0, dtype=np.float32))
assert np.allclose(x.grad, 2.0 * kept / 0.7)        # the same mask, in the backward
assert F.dropout(x, p=0.3, training=False) is x      # evaluation: the input itself

%% md
`nn.Dropout` reads the module's mode: `model.train()` (the default) drops, `model.eval()`
passes through. Forgetting `model.eval()` before evaluating is a classic bug: the predictions
come out noisy.

%% code
tg.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
inputs = tg.Tensor(rng.standard_normal((3, 4)).astype(np.float32))
with tg.no_grad():
    a, b = net(inputs).numpy(), net(inputs).numpy()
    net.eval()
    c, d = net(inputs).numpy(), net(inputs).numpy()
assert not np.allclose(a, b)
assert np.array_equal(c, d)

%% md
## Gradient clipping

One unlucky batch can produce a huge gradient and throw the weights far away. Clipping by the
**global norm** treats all gradients as one long vector and shrinks it if it is too long:

$$\|g\| = \sqrt{\textstyle\sum_{\text{params}} \sum_{\text{elements}} g^2}, \qquad
c = \min\!\Big(1, \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\Big), \qquad g \leftarrow c\,g .$$

The direction of the update is kept; only its length changes.

%% code
model = make_mlp()
F.cross_entropy(model(tg.Tensor(X_train * 50)), y_train).backward()      # inputs ×50: a big gradient
before = [p.grad.copy() for p in model.parameters()]
norm_by_hand = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in before))

norm = optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
after = [p.grad for p in model.parameters()]
c = 1.0 / (norm_by_hand + 1e-6)
print(f"global norm {float(norm):.2f} → {np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in after)):.4f}")
assert np.isclose(float(norm), norm_by_hand, rtol=1e-5)
assert all(np.allclose(g1, c * g0, rtol=1e-5) for g0, g1 in zip(before, after))

%% md
## Learning-rate schedule: warmup, then cosine

The learning rate need not be constant. GPT training uses a linear **warmup** from 0 (Adam's
first moment estimates are poor, so the first steps should be small), then a **cosine** decay to a
minimum (large steps while the loss falls fast, small ones to settle):

$$\eta(s) = \begin{cases} \eta_{\max}\, s / W & s < W \\
\eta_{\min} + (\eta_{\max} - \eta_{\min})\,\tfrac12\big(1 + \cos(\pi\,\tfrac{s - W}{S - W})\big) & W \le s < S \\
\eta_{\min} & s \ge S \end{cases}$$

%% code
base, low, warmup, total = 1e-3, 1e-4, 100, 1000
s = np.arange(1200)
lrs = np.array([optim.warmup_cosine_lr(i, base, warmup, total, min_lr=low) for i in s])

plt.plot(s, lrs)
plt.axvline(warmup, color="gray", ls=":")
plt.axvline(total, color="gray", ls=":")
plt.xlabel("step")
plt.ylabel("learning rate")
plt.title("warmup_cosine_lr(step, 1e-3, 100, 1000, min_lr=1e-4)")
plt.show()

assert lrs[0] == 0
assert np.isclose(lrs[50], base / 2)
assert np.isclose(lrs[warmup], base)
assert np.isclose(lrs[(warmup + total) // 2], (base + low) / 2)       # halfway down the cosine
assert np.allclose(lrs[total:], low)

%% md
`optim.WarmupCosine` applies the same function to an optimizer's groups; call its `step()` after
each `optimizer.step()`:

%% code
p = tg.Tensor(np.zeros(1), requires_grad=True)
optimizer = optim.AdamW([p], lr=base)
scheduler = optim.WarmupCosine(optimizer, warmup_steps=warmup, total_steps=total, min_lr=low)
seen = []
for step in range(300):
    seen.append(optimizer.param_groups[0]["lr"])
    optimizer.step()
    scheduler.step()
assert np.allclose(seen, lrs[:300])

%% md
## Regularisation at work

Twenty noisy samples of $\sin x$, and a network far bigger than twenty points need (two hidden
layers of 128 units, 17,000 parameters). Trained long enough, the plain network threads its
curve through every noisy point. The same network with dropout, or with weight decay, cannot
afford that, and stays closer to the truth. We measure the error against the true $\sin x$
on a fine grid: the error that matters, on inputs the model never saw.

%% code
data_rng = np.random.default_rng(0)
x_few = np.sort(data_rng.uniform(-3, 3, 20)).astype(np.float32)[:, None]
y_few = (np.sin(x_few) + 0.3 * data_rng.standard_normal(x_few.shape)).astype(np.float32)
x_grid = np.linspace(-3, 3, 400, dtype=np.float32)[:, None]

def fit(dropout=0.0, weight_decay=0.0, steps=1200):
    tg.manual_seed(0)
    maybe_dropout = [nn.Dropout(dropout)] if dropout else []
    model = nn.Sequential(nn.Linear(1, 128), nn.Tanh(), *maybe_dropout,
                          nn.Linear(128, 128), nn.Tanh(), *maybe_dropout, nn.Linear(128, 1))
    optimizer = optim.AdamW(optim.weight_decay_groups(model, weight_decay), lr=0.01)
    X = tg.Tensor(x_few)
    for step in range(steps):
        loss = F.mse_loss(model(X), y_few)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with tg.no_grad():
        train_error = F.mse_loss(model(X), y_few).item()
        curve = model(tg.Tensor(x_grid)).numpy()
    return train_error, curve

fits = {"plain": fit(), "dropout 0.2": fit(dropout=0.2), "weight decay 1.0": fit(weight_decay=1.0)}

plt.scatter(x_few, y_few, s=12, color="k", zorder=3, label="20 noisy samples")
plt.plot(x_grid, np.sin(x_grid), "k:", label="sin x")
test_error = {}
for name, (train_error, curve) in fits.items():
    test_error[name] = ((curve - np.sin(x_grid)) ** 2).mean()
    plt.plot(x_grid, curve, label=f"{name}: train {train_error:.3f}, true {test_error[name]:.3f}")
plt.legend(fontsize=7)
plt.title("mean squared error on the samples, and against sin x")
plt.show()
assert max(test_error["dropout 0.2"], test_error["weight decay 1.0"]) < test_error["plain"]
assert fits["plain"][0] < min(fits["dropout 0.2"][0], fits["weight decay 1.0"][0])

%% md
The plain network has the lowest error on its own training points and the highest against the
truth: it has memorised the noise. That is overfitting, and the regularisers trade a little
training error for a better fit to what the data is about.

Next, chapter 8: attention, the layer that lets each token look at the others.
"""

# =========================================================================================
CH08 = r"""
%% md
# Chapter 8 · Attention

The layers so far transform each input on its own. Language needs more: what "it" means depends
on the words before it. **Attention** lets every position gather information from the others.
Each position emits three vectors:

* a **query** $q$: what am I looking for?
* a **key** $k$: what do I contain?
* a **value** $v$: what do I hand over if I am chosen?

Position $i$ scores every key against its query, turns the scores into weights with a softmax,
and takes the weighted average of the values:

$$S = \frac{Q K^\top}{\sqrt D}, \qquad P = \operatorname{softmax}_{\text{rows}}(S), \qquad O = P\,V .$$

A soft dictionary lookup, differentiable end to end. This chapter takes it apart: why the
$\sqrt D$, how the causal mask keeps a language model from reading ahead, the backward pass,
and several heads side by side.

%% code
""" + setup(F, NN) + r"""
%% md
## Scaled dot-product attention, by hand

$T$ positions, vectors of size $D$. In NumPy, the three lines of the formula:

%% code
def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

T, D = 5, 8
Q, K, V = (rng.standard_normal((T, D)) for _ in range(3))

S = Q @ K.T / np.sqrt(D)          # (T, T): query i against key j
P = softmax(S)                    # each row: weights over the keys, summing to 1
Out = P @ V                       # (T, D): each row a weighted average of the values (O in the formula)

out = F.scaled_dot_product_attention(tg.Tensor(Q), tg.Tensor(K), tg.Tensor(V))
assert np.allclose(out.numpy(), Out)
assert np.allclose(P.sum(axis=1), 1)
assert (P > 0).all()
assert ((Out >= V.min(axis=0)) & (Out <= V.max(axis=0))).all()    # averages stay within the values' range

%% md
## Why divide by $\sqrt D$

A score is a dot product, $q \cdot k = \sum_{d=1}^{D} q_d k_d$. If the entries are independent
with mean 0 and variance 1, each product has variance 1 and the sum has variance $D$: the
scores spread out as the vectors get longer. Wide scores make the softmax **saturate**: one key
takes almost all the weight, and the softmax's gradient $P \odot (dP - \text{rowsum}(dP \odot P))$
goes to 0 with it (a one-hot $P$ has a zero Jacobian). Dividing by $\sqrt D$ brings the
variance back to 1, whatever $D$ is.

%% code
dims = [4, 16, 64, 256, 1024]
stats = {"raw": [], "scaled": []}
for dim in dims:
    q = rng.standard_normal((500, 1, dim))                # 500 queries
    k = rng.standard_normal((500, 16, dim))               # 16 keys each
    raw = (q @ k.swapaxes(1, 2))[:, 0, :]                 # (500, 16) scores
    for name, scores in (("raw", raw), ("scaled", raw / np.sqrt(dim))):
        s = tg.Tensor(scores, requires_grad=True)
        p = F.softmax(s)
        p.backward(rng.standard_normal(scores.shape))      # some gradient from above
        stats[name].append((scores.var(), p.numpy().max(axis=1).mean(), np.linalg.norm(s.grad, axis=1).mean()))

fig, axes = plt.subplots(1, 3, figsize=(10, 3))
for name, rows in stats.items():
    for ax, values in zip(axes, zip(*rows)):
        ax.plot(dims, values, "o-", label=f"q·k{'' if name == 'raw' else ' / √D'}")
for ax, title in zip(axes, ["variance of the scores", "largest weight in a row", "gradient reaching the scores"]):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("D")
    ax.set_title(title, fontsize=10)
axes[0].set_yscale("log", base=2)
axes[1].axhline(1 / 16, color="gray", ls=":")
axes[0].legend()
plt.tight_layout()
plt.show()

raw_var, scaled_var = (np.array([row[0] for row in stats[n]]) for n in ("raw", "scaled"))
assert np.allclose(raw_var / dims, 1, atol=0.1)                                            # Var = D, then 1
assert np.allclose(scaled_var, 1, atol=0.1)
assert stats["raw"][-1][1] > 0.9                                                           # saturation
assert stats["scaled"][-1][1] < 0.4
assert stats["raw"][-1][2] < stats["scaled"][-1][2] / 4                                    # vanishing gradient

%% md
With $D = 1024$ and no scaling, the largest of 16 weights averages above 0.9: each query sees
one key and learns almost nothing about the others. Scaled, the weights stay spread out
(uniform would be $1/16$, the dotted line) and the gradient keeps its size.

## The causal mask

A language model predicts token $t+1$ from tokens $0..t$. If position $t$ could attend to
position $t+1$, it would just copy the answer. The **causal mask** forbids looking ahead: set
$S_{ij} = -\infty$ for every key $j > i$. Then $e^{-\infty} = 0$, so those weights are exactly 0,
and each row's softmax spreads over the keys it may see.

%% code
future = np.triu(np.ones((T, T), dtype=bool), k=1)          # True above the diagonal: j > i
P_causal = softmax(np.where(future, -np.inf, S))
O_causal = P_causal @ V

out = F.scaled_dot_product_attention(tg.Tensor(Q), tg.Tensor(K), tg.Tensor(V), causal=True)
assert np.allclose(out.numpy(), O_causal)
assert (P_causal[future] == 0).all()
assert np.allclose(P_causal.sum(axis=1), 1)
assert np.allclose(out.numpy()[0], V[0])                    # position 0 sees only itself

%% code
fig, axes = plt.subplots(1, 2, figsize=(7, 3.3))
for ax, probs, title in zip(axes, (P, P_causal), ("no mask", "causal mask")):
    image = ax.imshow(probs, cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("key j")
    ax.set_ylabel("query i")
    ax.set_title(title)
    ax.grid(False)
fig.colorbar(image, ax=axes, shrink=0.8)
plt.show()

%% md
The causal triangle: row $i$ has weight only on columns $0..i$. The gradient respects it too:
position 2's output depends on no key or value after position 2.

%% code
q, k, v = (tg.Tensor(a, requires_grad=True) for a in (Q, K, V))
out = F.scaled_dot_product_attention(q, k, v, causal=True)
seed = np.zeros((T, D))
seed[2] = rng.standard_normal(D)                            # the loss looks at output row 2 only
out.backward(seed)
assert np.allclose(k.grad[3:], 0)
assert np.allclose(v.grad[3:], 0)
assert not np.allclose(k.grad[:3], 0)

%% md
(For fine-tuning on batches of texts of different lengths, `attention_mask` does the same for
padding: a key marked 0 gets $-\infty$ for every query.)

## The backward pass, derived

With $G = \partial L/\partial O$, go back through the three lines one at a time.

1. $O = PV$ is a matmul, as in the dense layer: $\;dV = P^\top G, \quad dP = G\,V^\top$.
2. $P = \operatorname{softmax}(S)$ on each row is chapter 2's softmax backward:
   $\;dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big)$. A masked $P_{ij} = 0$ gives
   $dS_{ij} = 0$: no gradient flows through a forbidden link.
3. $S = QK^\top/\sqrt D$, with $S_{ij} = q_i \cdot k_j / \sqrt D$:
   $\;dQ = dS\,K/\sqrt D, \quad dK = dS^\top Q / \sqrt D$.

One saving, used by the library:
$\operatorname{rowsum}(dP \odot P)_i = \sum_j \sum_d G_{id} V_{jd} P_{ij} = \sum_d G_{id} O_{id}$,
a row sum of $G \odot O$, which needs a $(T, D)$ product instead of a $(T, T)$ one.

%% code
G = rng.standard_normal((T, D))
dV = P_causal.T @ G
dP = G @ V.T
row = (dP * P_causal).sum(axis=1, keepdims=True)
dS = P_causal * (dP - row)
dQ, dK = dS @ K / np.sqrt(D), dS.T @ Q / np.sqrt(D)

assert np.allclose(row, (G * O_causal).sum(axis=1, keepdims=True))     # rowsum(dP ⊙ P) = rowsum(G ⊙ O)
assert (dS[future] == 0).all()

q, k, v = (tg.Tensor(a, requires_grad=True) for a in (Q, K, V))
F.scaled_dot_product_attention(q, k, v, causal=True).backward(G)
assert np.allclose(q.grad, dQ)
assert np.allclose(k.grad, dK)
assert np.allclose(v.grad, dV)

%% md
The library's op works on any leading axes, `(batch, heads, T, D)`. Checked there against the
same function composed from primitive ops (autograd derives its gradient) and against central
differences, with and without the mask:

%% code
from functools import partial

from tinygrad_ft.autograd import max_difference

Qb, Kb, Vb = (rng.standard_normal((2, 3, 4, 5)) for _ in range(3))      # (batch, heads, T, D)
for causal in (False, True):
    fused = partial(F.scaled_dot_product_attention, causal=causal)
    reference = partial(F.scaled_dot_product_attention_composed, causal=causal)
    value_diff, grad_diff = max_difference(fused, reference, Qb, Kb, Vb)
    result = tg.gradcheck(fused, Qb, Kb, Vb, eps=1e-5)      # h = 1e-5, as for the losses in chapter 6
    print(f"causal={causal}: fused vs composed {max(value_diff, grad_diff):.1e}, "
          f"gradcheck max relative error {result.max_rel_error:.1e}")
    assert max(value_diff, grad_diff) < 1e-12
    assert result

%% md
## Multi-head attention

One softmax gives each query one way of weighing the others. A token may need several at once:
the previous character, the start of the word, the speaker's name. **Multi-head** attention
splits the $C$ features into $H$ heads of $D = C/H$ and runs attention in each separately:

```
x (B, T, C) ─► c_attn (C → 3C) ─► q, k, v, each split into H heads: (B, H, T, D)
            ─► attention in each head ─► heads side by side (B, T, C) ─► c_proj (C → C)
```

`nn.MultiHeadAttention` does exactly this (the layer names follow GPT-2). Reproduced by hand
from its weights:

%% code
C, H = 16, 4
tg.manual_seed(0)
mha = nn.MultiHeadAttention(C, H, causal=True)
x = rng.standard_normal((2, 6, C)).astype(np.float32)

def heads_by_hand(mha, x):
    B, T, C = x.shape
    H, D = mha.num_heads, mha.head_dim
    qkv = x @ mha.c_attn.weight.numpy() + mha.c_attn.bias.numpy()         # (B, T, 3C)
    q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B, T, H, D).transpose(0, 2, 1, 3) for i in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D)                      # (B, H, T, T)
    if mha.causal:
        scores = np.where(np.triu(np.ones((T, T), dtype=bool), k=1), -np.inf, scores)
    return softmax(scores), v

probs, v = heads_by_hand(mha, x)
y = (probs @ v).transpose(0, 2, 1, 3).reshape(2, 6, C)                     # heads side by side
y = y @ mha.c_proj.weight.numpy() + mha.c_proj.bias.numpy()

with tg.no_grad():
    assert np.allclose(mha(tg.Tensor(x)).numpy(), y, atol=1e-5)
print(mha, "parameters:", mha.num_parameters())
assert mha.num_parameters() == (C * 3 * C + 3 * C) + (C * C + C) == 4 * C * C + 4 * C

%% md
The heads cost nothing extra: the same $4C^2 + 4C$ parameters whatever $H$ is; $H$ only decides
how the $C$ features are cut up. And the module is causal as a whole: changing the last
position's input leaves every earlier output as it was.

%% code
assert all(nn.MultiHeadAttention(C, h).num_parameters() == 4 * C * C + 4 * C for h in (1, 2, 4, 8, 16))

x_changed = x.copy()
x_changed[:, -1] += 10.0
with tg.no_grad():
    before, after = mha(tg.Tensor(x)).numpy(), mha(tg.Tensor(x_changed)).numpy()
assert np.allclose(before[:, :-1], after[:, :-1])
assert not np.allclose(before[:, -1], after[:, -1])

%% md
## What trained heads look at

A peek ahead. `data/checkpoints/` ships a tiny GPT pre-trained on Shakespeare, one character per
token (chapters 9 to 11 build and train it). Feed it a line and draw the attention weights of
two of its heads, computed with `heads_by_hand` from the first two blocks' weights:

%% code
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.paths import BABY_CHECKPOINT, data_path

gpt, tokenizer = load_pretrained(data_path(BABY_CHECKPOINT))
text = "ROMEO:\nBut soft, what light through"
ids = np.array([tokenizer.encode(text)])

with tg.no_grad():
    h = gpt.wte(ids) + gpt.wpe(np.arange(ids.shape[1]))                   # the input to block 0
    block0, block1 = gpt.blocks[0], gpt.blocks[1]
    probs0, _ = heads_by_hand(block0.attn, block0.ln_1(h).numpy())
    probs1, _ = heads_by_hand(block1.attn, block1.ln_1(block0(h)).numpy())
previous_char, word_start = probs0[0, 3], probs1[0, 0]                   # block 0 head 3, block 1 head 0

labels = [repr(c)[1:-1] for c in text]
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, weights, title in zip(axes, (previous_char, word_start), ("block 0, head 3", "block 1, head 0")):
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(text)), labels, fontsize=7)
    ax.set_yticks(range(len(text)), labels, fontsize=7)
    ax.set_title(title)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.grid(False)
plt.tight_layout()
plt.show()

%% md
Block 0's head 3 looks at the **previous character**: the bright line just below the diagonal.
Block 1's head 0 looks at the **most recent space or line break**, the start of the current word:
the bright vertical streaks. Nobody programmed either; both came out of next-character
prediction. Checked on this line (after the first few characters):

%% code
positions = range(8, len(text))
looks_back_one = np.mean([previous_char[i].argmax() == i - 1 for i in positions])
word_starts = [max(j for j in range(i + 1) if text[j] in " \n") for i in positions]
looks_at_word_start = np.mean([word_start[i].argmax() == j for i, j in zip(positions, word_starts)])
print(f"previous character: {looks_back_one:.0%} of queries;  start of the word: {looks_at_word_start:.0%}")
assert looks_back_one > 0.7
assert looks_at_word_start > 0.7

%% md
## Exercise: the attention backward

Write the three gradients of single-head attention in plain NumPy, causal or not. Recompute $P$
stably (the checker tries scores in the thousands), then go backward one line at a time as
above. Your `softmax_backward` from chapter 2 fits step 2.

%% code
from tinygrad_ft.exercises import check, for_chapter, stub

print([exercise.name for exercise in for_chapter(8)])
print(stub("attention_backward"))

%% code
def attention_backward(q, k, v, d_out, causal):
    raise NotImplementedError("your code here")

verdict = check(attention_backward)
assert verdict.kind == "not implemented"

%% md
The worked solution from `lessons/solutions/gradient_exercises.py`, graded the same way (the
check runs it with and without the causal mask):

%% code
from solutions.gradient_exercises import attention_backward

assert check(attention_backward).ok

%% md
Next, chapter 9: layer normalisation, residual connections, and the transformer block that
puts attention and a feed-forward network together into a GPT.
"""

# =========================================================================================
CH09 = r"""
%% md
# Chapter 9 · Layer norm and the transformer block

Attention (chapter 8) mixes information between positions; a feed-forward network (chapter 5's
MLP) transforms each position on its own. A transformer stacks the two, many times over. Two
more ingredients make a deep stack trainable:

* **layer normalisation** keeps every position's vector at a fixed scale, layer after layer;
* **residual connections** give the gradient a straight road from the loss to the first layer.

With them we assemble `tinygrad_ft.models.gpt.Block` and the whole GPT, and count its parameters.

%% code
""" + setup(F, NN) + r"""
%% md
## Layer normalisation

For each row $x \in \mathbb{R}^C$ (one position's features), subtract the mean, divide by the
standard deviation, then scale and shift by learned $w, b \in \mathbb{R}^C$:

$$\mu = \tfrac1C \textstyle\sum_i x_i, \qquad \sigma = \sqrt{\tfrac1C \textstyle\sum_i (x_i - \mu)^2 + \epsilon}, \qquad
\hat x = \frac{x - \mu}{\sigma}, \qquad y = \hat x \odot w + b .$$

$\epsilon = 10^{-5}$ keeps a constant row from dividing by 0. `nn.LayerNorm` starts with $w = 1$,
$b = 0$, so at first it only normalises.

%% code
N, C, eps = 6, 5, 1e-5
X = rng.standard_normal((N, C)) * 3 + 2
w, b = 1 + 0.5 * rng.standard_normal(C), rng.standard_normal(C)

mu = X.mean(axis=1, keepdims=True)
sigma = np.sqrt(((X - mu) ** 2).mean(axis=1, keepdims=True) + eps)
X_hat = (X - mu) / sigma
Y = X_hat * w + b

assert np.allclose(F.layer_norm(tg.Tensor(X), tg.Tensor(w), tg.Tensor(b)).numpy(), Y)
assert np.allclose(X_hat.mean(axis=1), 0)
assert np.allclose(X_hat.var(axis=1), 1, atol=1e-5)

%% md
The output does not change if a row is shifted or scaled: $\hat x$ of $a x + c$ (for $a > 0$)
is $\hat x$ of $x$, up to the tiny $\epsilon$. Whatever the layers below do to the size of the
signal, the layer above sees the same scale.

%% code
shifted_scaled = F.layer_norm(tg.Tensor(7.0 * X - 4.0)).numpy()
assert np.allclose(shifted_scaled, X_hat, atol=1e-5)

%% md
One numerical point, which the exercise below tests. The variance is computed as the mean of
$(x - \mu)^2$, *after* centring. The textbook shortcut $\overline{x^2} - \mu^2$ subtracts two
nearly equal large numbers when the mean is far larger than the spread, and in float32 loses
every digit:

%% code
row = (10_000 + rng.standard_normal((1, 64))).astype(np.float32)
centred_first = ((row - row.mean()) ** 2).mean()
shortcut = (row**2).mean() - row.mean() ** 2
print(f"true variance ≈ {row.astype(np.float64).var():.4f};  centred first: {centred_first:.4f};  shortcut: {shortcut:.4f}")
assert abs(centred_first - row.astype(np.float64).var()) < 1e-3
assert abs(shortcut - row.astype(np.float64).var()) > 0.1

%% md
## Layer norm's backward, derived

$w$ and $b$ act element-wise on every row, as $b$ did in the dense layer. With $g = \partial L/\partial y$:

$$\frac{\partial L}{\partial b} = \sum_{\text{rows}} g, \qquad
\frac{\partial L}{\partial w} = \sum_{\text{rows}} g \odot \hat x .$$

For $x$, let $\hat g = g \odot w$, the gradient reaching $\hat x$. Each $\hat x_i$ depends on
$x_j$ three ways: directly (if $i = j$), through $\mu$ ($\partial\mu/\partial x_j = 1/C$) and
through $\sigma$ ($\partial\sigma/\partial x_j = (x_j - \mu)/(C\sigma) = \hat x_j / C$). By the
quotient rule,

$$\frac{\partial \hat x_i}{\partial x_j} = \frac{1}{\sigma}\Big(\delta_{ij} - \frac1C - \frac{\hat x_i\,\hat x_j}{C}\Big),$$

and summing $\hat g_i\,\partial \hat x_i / \partial x_j$ over $i$:

$$\boxed{\;\frac{\partial L}{\partial x} = \frac{1}{\sigma}\Big(\hat g - \operatorname{mean}(\hat g) -
\hat x \odot \operatorname{mean}(\hat g \odot \hat x)\Big)\;}$$

(means over the row). First the Jacobian of one row, entry by entry, against the engine's:

%% code
i = 0
jacobian = (np.eye(C) - 1 / C - np.outer(X_hat[i], X_hat[i]) / C) / sigma[i]      # ∂x̂_i/∂x_j, one row

numeric = np.zeros((C, C))
for j in range(C):                                                                 # one column per input
    x_row = tg.Tensor(X[i:i + 1], requires_grad=True)
    seed = np.zeros((1, C))
    seed[0, j] = 1.0
    F.layer_norm(x_row).backward(seed)
    numeric[j] = x_row.grad[0]
assert np.allclose(numeric, jacobian.T)                                            # row j: ∂x̂_j/∂x

%% md
Then the boxed formula against the library's backward, for a whole batch with $w$ and $b$:

%% code
G = rng.standard_normal((N, C))
g_hat = G * w
dX = (g_hat - g_hat.mean(axis=1, keepdims=True) - X_hat * (g_hat * X_hat).mean(axis=1, keepdims=True)) / sigma

x, wt, bt = (tg.Tensor(a, requires_grad=True) for a in (X, w, b))
F.layer_norm(x, wt, bt).backward(G)
assert np.allclose(x.grad, dX)
assert np.allclose(wt.grad, (G * X_hat).sum(axis=0))
assert np.allclose(bt.grad, G.sum(axis=0))

%% md
The two subtracted means have a meaning. Shifting a row, or scaling it, does not change
$\hat x$, so the gradient can have no component along those directions: every row of $dX$ is
orthogonal to the constant vector $\mathbf 1$ and to $\hat x$. (Exactly so with $\epsilon = 0$;
with $\epsilon > 0$ scaling $x$ moves $\hat x$ by a sliver, and the second sum is about
$\epsilon/\sigma^2$ of its terms instead of 0.)

%% code
assert np.allclose(x.grad.sum(axis=1), 0)                   # ⊥ 1: shifting x changes nothing

x0 = tg.Tensor(X, requires_grad=True)
F.layer_norm(x0, tg.Tensor(w), tg.Tensor(b), eps=0.0).backward(G)
X_hat0 = (X - mu) / X.std(axis=1, keepdims=True)
assert np.allclose((x0.grad * X_hat0).sum(axis=1), 0)       # ⊥ x̂: scaling x changes nothing

%% md
And against the composed version and central differences:

%% code
from tinygrad_ft.autograd import max_difference

value_diff, grad_diff = max_difference(F.layer_norm, F.layer_norm_composed, X, w, b)
result = tg.gradcheck(F.layer_norm, X, w, b, eps=1e-5)                           # h = 1e-5, as in chapter 6
print(f"fused vs composed {max(value_diff, grad_diff):.1e}, gradcheck max relative error {result.max_rel_error:.1e}")
assert max(value_diff, grad_diff) < 1e-12
assert result

%% md
## Residual connections

A residual connection adds a layer's input to its output: $y = x + f(x)$. Its backward is
the sum of two paths,

$$\frac{\partial L}{\partial x} = g + J_f^\top g, \qquad g = \frac{\partial L}{\partial y},$$

so whatever $f$ does to the gradient, $g$ itself arrives at $x$ untouched. Checked with a small
$f$: the gradient through $x + f(x)$ is $g$ plus the gradient through $f$ alone.

%% code
tg.manual_seed(0)
f = nn.Sequential(nn.Linear(C, C), nn.GELU())
X0, g = rng.standard_normal((N, C)).astype(np.float32), rng.standard_normal((N, C)).astype(np.float32)

x = tg.Tensor(X0, requires_grad=True)
(x + f(x)).backward(g)
x_f = tg.Tensor(X0, requires_grad=True)
f(x_f).backward(g)
assert np.allclose(x.grad, g + x_f.grad)

%% md
Why that matters: a stack of 30 layers $x \leftarrow \tanh(\text{Linear}(x))$ multiplies the
gradient by 30 Jacobians on its way down, and each one shrinks it. With residual connections,
$x \leftarrow x + \tanh(\text{Linear}(x))$, the identity path carries it through. Here is the size
of the gradient reaching each layer's input:

%% code
depth, width = 30, 32
tg.manual_seed(0)
layers = [nn.Linear(width, width) for _ in range(depth)]
x_in = rng.standard_normal((16, width)).astype(np.float32)

norms = {}
for residual in (False, True):
    h = tg.Tensor(x_in, requires_grad=True)
    inputs = []
    for layer in layers:
        inputs.append(h if h.is_leaf else h.retain_grad())   # keep each layer input's gradient
        h = h + F.tanh(layer(h)) if residual else F.tanh(layer(h))
    h.sum().backward()
    norms[residual] = [np.linalg.norm(t.grad) for t in inputs]

plt.semilogy(norms[False], "o-", ms=3, label="x ← tanh(Linear(x))")
plt.semilogy(norms[True], "o-", ms=3, label="x ← x + tanh(Linear(x))")
plt.xlabel("layer (0 = bottom)")
plt.ylabel("‖dL/d input‖")
plt.legend()
plt.show()
assert norms[False][0] < 1e-5 * norms[False][-1]        # vanished on the way down
assert norms[True][0] > norms[True][-1]                  # arrived intact (here it even grew)

%% md
The plain stack hands its bottom layer a gradient millions of times smaller than its top one:
the bottom would never learn. The residual stack delivers it whole. (It grows a little here;
in a transformer the layer norms and a small initialisation keep it near its size.)

## The transformer block

GPT-2's block is **pre-norm**: each sub-layer reads a layer-normalised copy of the residual
stream and adds its result back:

$$x \leftarrow x + \operatorname{attn}(\operatorname{ln}_1(x)), \qquad
x \leftarrow x + \operatorname{mlp}(\operatorname{ln}_2(x)).$$

The residual stream $x$ itself is never normalised inside the stack, so the identity path of
the previous section runs from the top of the model to the bottom. `mlp` is a `FeedForward`:
`c_fc` ($C \to 4C$), GELU, `c_proj` ($4C \to C$), the same small network at every position.

%% code
from tinygrad_ft.models.gpt import GPT, Block, GPTConfig

config = GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32)
tg.manual_seed(0)
block = Block(config)
print(block)

%% md
Its forward is exactly the two lines above, which we can replay from its parts:

%% code
x = tg.Tensor(rng.standard_normal((2, 10, 32)).astype(np.float32))
with tg.no_grad():
    h = x + block.attn(block.ln_1(x))
    by_hand = h + block.mlp(block.ln_2(h))
    assert np.allclose(block(x).numpy(), by_hand.numpy())

%% md
Its parameters, with $C$ = `n_embd`: two layer norms ($2C$ each), attention ($4C^2 + 4C$,
chapter 8) and the feed-forward network ($C \cdot 4C + 4C$ and $4C \cdot C + C$):

$$\underbrace{2C}_{\operatorname{ln}_1} + \underbrace{4C^2 + 4C}_{\text{attn}} +
\underbrace{2C}_{\operatorname{ln}_2} + \underbrace{8C^2 + 5C}_{\text{mlp}} = 12C^2 + 13C .$$

%% code
C = config.n_embd
parts = {name: sum(p.size for p in part.parameters()) for name, part in block.named_children()}
print(parts)
assert parts == {"ln_1": 2 * C, "attn": 4 * C * C + 4 * C, "ln_2": 2 * C, "mlp": 8 * C * C + 5 * C}
assert block.num_parameters() == 12 * C * C + 13 * C

%% md
The whole block's backward, every op in it, checked against central differences (in float64,
on a tiny block: 2 heads of 4 features, 3 positions):

%% code
tg.manual_seed(0)
tiny = Block(GPTConfig(vocab_size=10, block_size=3, n_layer=1, n_head=2, n_embd=8)).double()
result = tg.gradcheck(lambda x: tiny(x), rng.standard_normal((1, 3, 8)), eps=1e-5)
print(f"gradcheck through a whole block: max relative error {result.max_rel_error:.1e}")
assert result

%% md
## The GPT

The model around the blocks:

```
ids (B, T) ─► wte(ids) + wpe(0..T-1) ─► block × n_layer ─► ln_f ─► lm_head ─► logits (B, T, vocab)
```

`wte` holds one vector per token of the vocabulary, `wpe` one per position (attention itself
has no notion of order), and `lm_head` scores every token of the vocabulary at every position.
With $V$ = `vocab_size`, $T$ = `block_size`, $L$ = `n_layer`, the parameter count is

$$\underbrace{VC}_{\text{wte}} + \underbrace{TC}_{\text{wpe}} + L\,(12C^2 + 13C) +
\underbrace{2C}_{\text{ln\_f}} + \underbrace{CV}_{\text{lm\_head}} .$$

The default configuration is the model of the following chapters: 65 characters, a context of
64, 4 blocks of 4 heads, $C = 128$.

%% code
config = GPTConfig()
tg.manual_seed(0)
model = GPT(config)
V, T, L, C = config.vocab_size, config.block_size, config.n_layer, config.n_embd

def part_of(name):
    if ".attn." in name:
        return "attention"
    if ".mlp." in name:
        return "feed-forward"
    if name.startswith("blocks.") or name.startswith("ln_f"):
        return "layer norms"
    return name.split(".")[0]

per_part = {}
for name, p in model.named_parameters():
    per_part[part_of(name)] = per_part.get(part_of(name), 0) + p.size
print(config)
print(per_part, "total", model.num_parameters())

assert model.num_parameters() == V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + C * V
assert per_part == {"wte": V * C, "wpe": T * C, "layer norms": (2 * L + 1) * 2 * C, "attention": L * (4 * C * C + 4 * C),
                    "feed-forward": L * (8 * C * C + 5 * C), "lm_head": C * V}

%% code
plt.figure(figsize=(6, 2.6))
plt.barh(list(per_part)[::-1], np.array(list(per_part.values())[::-1]) / 1000)
plt.xlabel("thousands of parameters")
plt.title(f"where the {model.num_parameters():,} parameters are")
plt.show()

%% md
Almost all of them are in the blocks' matrices, the $12C^2$ per block, two thirds of that in
the feed-forward networks. The embeddings grow with
the vocabulary: with a BPE vocabulary of 512 (next chapter) `wte` and `lm_head` alone would hold
$2 \cdot 512 \cdot 128 = 131{,}072$. `tie_weights=True` shares one matrix between them (the head
scores a hidden state against every token's embedding), saving $VC$:

%% code
tied = GPT(GPTConfig(tie_weights=True))
assert model.num_parameters() - tied.num_parameters() == V * C
assert 2 * 512 * C == 131_072

%% md
### At initialisation

GPT-2's initialisation draws the weight matrices from $\mathcal N(0, 0.02^2)$, and the two
projections that write into the residual stream (`c_proj`) from $\mathcal N(0, (0.02/\sqrt{2L})^2)$:
the stream receives $2L$ such contributions, and scaling each by $1/\sqrt{2L}$ keeps their
total variance independent of depth.

%% code
c_attn, c_proj = model.blocks[0].attn.c_attn.weight.numpy(), model.blocks[0].attn.c_proj.weight.numpy()
print(f"c_attn std {c_attn.std():.4f} (0.02),  c_proj std {c_proj.std():.5f} (0.02/√{2 * L} = {0.02 / np.sqrt(2 * L):.5f})")
assert abs(c_attn.std() - 0.02) < 0.001
for block in model.blocks:                       # both projections into the stream, in every block
    for weight in (block.attn.c_proj.weight, block.mlp.c_proj.weight):
        assert abs(weight.numpy().std() - 0.02 / np.sqrt(2 * L)) < 0.0005

%% md
So the untrained model's logits are all close to 0, its predictions close to uniform, and its
loss close to $\log V$: the number to expect at step 0 of pre-training.

%% code
ids = rng.integers(0, V, size=(4, T))
targets = rng.integers(0, V, size=(4, T))
logits, loss = model(ids, targets)
print(f"logits {logits.shape}, loss {loss.item():.4f}, log V = {np.log(V):.4f}")
assert logits.shape == (4, T, V)
assert abs(loss.item() - np.log(V)) < 0.05

%% md
And the whole model is causal: the logits at position $t$ depend on tokens $0..t$ only, thanks
to the mask in every block. Changing the last token changes only the last position's logits:

%% code
ids_changed = ids.copy()
ids_changed[:, -1] = (ids[:, -1] + 1) % V
with tg.no_grad():
    before, _ = model(ids)
    after, _ = model(ids_changed)
assert np.allclose(before.numpy()[:, :-1], after.numpy()[:, :-1])
assert not np.allclose(before.numpy()[:, -1], after.numpy()[:, -1])

%% md
One forward pass predicts the next token at all $T$ positions at once, each from its own
prefix: $T$ training examples per sequence. Chapter 10 makes those sequences from text.

## Exercise: layer norm's backward

Write $dx$, $dw$ and $db$ in plain NumPy. The checker also runs your function on rows like
$10^6 + $ noise, so compute the variance after centring.

%% code
from tinygrad_ft.exercises import check, for_chapter, stub

print([exercise.name for exercise in for_chapter(9)])
print(stub("layer_norm_backward"))

%% code
def layer_norm_backward(x, w, b, d_out):
    raise NotImplementedError("your code here")

verdict = check(layer_norm_backward)
assert verdict.kind == "not implemented"

%% md
The worked solution from `lessons/solutions/gradient_exercises.py`:

%% code
from solutions.gradient_exercises import layer_norm_backward

assert check(layer_norm_backward).ok

%% md
Next, chapter 10: turning text into the token ids the model reads, and cutting them into
training batches.
"""

# =========================================================================================
CH10 = r"""
%% md
# Chapter 10 · Tokenization and data

The GPT of chapter 9 reads integers, not text. A **tokenizer** turns text into a list of token
ids and back; the model's embedding table has one row per id, and its head scores every id as
the next token. Then the ids are cut into training examples: windows of text, each with its
next-token targets.

Two tokenizers, two trade-offs:

* **characters**: a tiny vocabulary, and every text is as many tokens as it has characters;
* **byte-pair encoding** (BPE), as GPT-2 uses: frequent character sequences become single
  tokens, so texts get shorter, at the price of a bigger vocabulary.

%% code
""" + setup(
    F,
    "from tinygrad_ft.datasets.text import TextBatches, get_batch, load_text, train_val_split",
    "from tinygrad_ft.tokenizers import BPETokenizer, CharTokenizer",
) + r"""

%% md
## The corpus

Tiny Shakespeare: about a million characters of the plays, one file (`data/tinyshakespeare/`,
its source and licence in `SOURCE.md` beside it). `load_text()` reads it, checking it is UTF-8.
We keep the last 10% aside to measure on text the tokenizers were not trained on.

%% code
text = load_text()
split = int(len(text) * 0.9)
train_text, held_out_text = text[:split], text[split:]
print(f"{len(text):,} characters, {len(set(text))} distinct")
print(text[:160])

%% md
## Characters

The simplest tokenizer: one id per distinct character of the corpus, sorted. Tiny
Shakespeare has 65, so ids 0..64, plus two special ids: `unk_id` for any character the corpus
does not contain, and `pad_id` for padding batches of texts of different lengths.

%% code
chars = CharTokenizer.from_text(text)
print(chars, "  unk_id", chars.unk_id, "  pad_id", chars.pad_id)
print(repr("".join(chars.chars)))

line = "ROMEO: But soft, what light through yonder window breaks?"
ids = chars.encode(line)
print(ids[:12], "...")
assert chars.vocab_size == 65 + 2
assert chars.decode(ids) == line
assert len(ids) == len(line)

%% md
A character the corpus never contained becomes the unknown id, and comes back as `�`
(U+FFFD, the replacement character). Encoding is **lossy** for such text: an SMS with an emoji
or a review with an accent loses those characters.

%% code
foreign = "café 🙂"
print(chars.encode(foreign), "→", repr(chars.decode(chars.encode(foreign))))
assert chars.encode(foreign)[3] == chars.unk_id
assert chars.decode(chars.encode(foreign)) == "caf\ufffd \ufffd"

%% md
## Byte-pair encoding, by hand

BPE starts from the 256 possible bytes of UTF-8 text, so any text at all can be encoded, and
learns **merges**: it finds the most frequent pair of adjacent tokens in the training text,
makes the pair a new token, and repeats until the vocabulary is big enough. Text is first cut
into words, GPT-2 style (a word keeps its leading space), and merges never cross a word
boundary.

The training loop fits in a few lines. On this ASCII corpus a byte is a character, so we count
characters:

%% code
import re
from collections import Counter

# GPT-2's pre-tokenizer pattern, restricted to ASCII letters and digits (all this corpus has)
WORDS = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")
words = Counter(tuple(word) for word in WORDS.findall(train_text))        # word (as symbols) → count

def merge(word, a, b):
    out, i = [], 0
    while i < len(word):
        if word[i:i + 2] == (a, b):
            out.append(a + b)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)

merges_by_hand = []
for _ in range(12):
    pairs = Counter()
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] += count
    (a, b), count = pairs.most_common(1)[0]                               # the most frequent pair
    merges_by_hand.append(a + b)
    words = Counter({merge(word, a, b) if a in word else word: c for word, c in words.items()})
print(merges_by_hand)

%% md
## Byte-pair encoding, by the library

`BPETokenizer.train` trains the same algorithm with HuggingFace's `tokenizers` library (fast,
in Rust), with two special tokens first: `<|endoftext|>` = 0, to separate documents, and
`<|pad|>` = 1. A vocabulary of 512 is then $2 + 256$ bytes $+ 254$ merges. Its first merges are
ours, in the same order. (The library shows a space as `Ġ` and a newline as `Ċ`: byte-level BPE
maps each byte to a printable character.)

%% code
import json

bpe = BPETokenizer.train(train_text, vocab_size=512)
merges = json.loads(bpe.hf.to_str())["model"]["merges"]
print(bpe, "  eot_id", bpe.eot_id, "  pad_id", bpe.pad_id, "  merges", len(merges))
print(merges[:6])

library_merges = ["".join(pair).replace("Ġ", " ").replace("Ċ", "\n") for pair in merges[:12]]
assert library_merges == merges_by_hand
assert (bpe.eot_id, bpe.pad_id) == (0, 1)
assert bpe.vocab_size == 512 == 2 + 256 + len(merges)

%% md
What the 254 merges built: common words with their leading space, and pieces of words.

%% code
def pieces(tokenizer, text):
    return [tokenizer.decode([i]) for i in tokenizer.encode(text)]

longest = sorted(range(2, bpe.vocab_size), key=lambda i: -len(bpe.decode([i])))[:12]
print("longest tokens:", [bpe.decode([i]) for i in longest])
print("|".join(pieces(bpe, line)))
assert "".join(pieces(bpe, line)) == line

%% md
## Shorter sequences

The point of BPE: the same text in fewer tokens. On the held-out 10%, which neither tokenizer
was trained on:

%% code
n_chars = len(held_out_text)
n_char_tokens, n_bpe_tokens = len(chars.encode(held_out_text)), len(bpe.encode(held_out_text))
print(f"characters: {n_char_tokens:,} tokens ({n_chars / n_char_tokens:.2f} characters per token)")
print(f"BPE 512:    {n_bpe_tokens:,} tokens ({n_chars / n_bpe_tokens:.2f} characters per token)")
assert n_char_tokens == n_chars
assert 1.7 < n_chars / n_bpe_tokens < 2.1

%% md
More merges, shorter sequences, with diminishing returns: each new merge is a rarer pair than
the one before. Trained on the first 200,000 characters, for a few vocabulary sizes (258 is
bytes only, no merges):

%% code
sizes = [258, 384, 512, 1024, 2048, 4096]
per_token = [n_chars / len(BPETokenizer.train(train_text[:200_000], vocab_size=v).encode(held_out_text)) for v in sizes]

plt.plot(sizes, per_token, "o-")
plt.xscale("log", base=2)
plt.xlabel("vocabulary size")
plt.ylabel("characters per token")
plt.title("BPE on held-out Shakespeare")
plt.show()
assert np.isclose(per_token[0], 1.0)
assert all(np.diff(per_token) > 0)
assert (2 * chars.vocab_size * 128, 2 * bpe.vocab_size * 128) == (17_152, 131_072)   # wte + lm_head, below

%% md
The trade-off, for the GPT of chapter 9 ($C = 128$, a context of 64 tokens):

* a context of 64 BPE tokens covers about twice as much text as 64 characters, and each
  position predicts more text: fewer steps per sentence;
* the embedding table and the head grow as $V \cdot C$ each: $2 \cdot 67 \cdot 128 = 17{,}152$
  parameters with characters, $2 \cdot 512 \cdot 128 = 131{,}072$ with BPE 512;
* a rarer token is seen less often in training, so its embedding is learned from fewer examples.

GPT-2 uses 50,257 tokens; for a million characters of Shakespeare, 512 is plenty.

%% md
## No unknown characters

Because the base vocabulary is all 256 bytes, BPE has no unknown token: any text encodes, and
decodes back exactly. A character outside ASCII is several bytes, so several tokens (each alone
is half a character, and decodes as `�`):

%% code
for s in ("café", "🙂"):
    print(f"{s!r}: {len(s.encode('utf-8'))} bytes → tokens {bpe.encode(s)} → {pieces(bpe, s)}")
assert bpe.decode(bpe.encode(foreign)) == foreign
assert len(bpe.encode("🙂")) == len("🙂".encode("utf-8")) == 4

%% md
## Training data: windows and their targets

A language model learns to predict the next token. Encode the whole corpus into one long
array of ids, split it (contiguously: neighbouring windows overlap, so shuffling would put
almost the same text on both sides), and cut random **windows** of `block_size` ids. The input
$x$ is a window; the targets $y$ are the same window shifted one place to the right:

$$x = (\text{id}_s, \ldots, \text{id}_{s+T-1}), \qquad y = (\text{id}_{s+1}, \ldots, \text{id}_{s+T}).$$

At every position $t$ the model sees $x_0..x_t$ (the causal mask) and must predict $y_t = x_{t+1}$.
`get_batch` draws `batch_size` such windows from a seeded NumPy generator.

%% code
ids = np.array(chars.encode(text))
train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
assert len(train_ids) == len(ids) - int(0.1 * len(ids))
assert np.array_equal(np.concatenate([train_ids, val_ids]), ids)

B, T = 4, 16
x, y = get_batch(train_ids, batch_size=B, block_size=T, rng=np.random.default_rng(0))
print(x.shape, y.shape, x.dtype)
assert x.shape == y.shape == (B, T)
assert np.array_equal(x[:, 1:], y[:, :-1])        # y is x shifted by one

%% md
Each row is a real stretch of the training ids, and its targets are the ids that follow:

%% code
windows = np.lib.stride_tricks.sliding_window_view(train_ids, T + 1)     # every window of T + 1 ids
for row_x, row_y in zip(x, y):
    start = np.flatnonzero((windows[:, :T] == row_x).all(axis=1))[0]
    assert np.array_equal(train_ids[start:start + T], row_x)
    assert np.array_equal(train_ids[start + 1:start + T + 1], row_y)

print("x:", repr(chars.decode(x[0])))
print("y:", repr(chars.decode(y[0])))
for t in range(6):
    print(f"  sees {chars.decode(x[0, :t + 1])!r:10} → predicts {chars.decode(y[0, t:t + 1])!r}")

%% md
One window is $T$ training examples at once, one per prefix: that is why the GPT's forward
returns logits at every position, and the loss averages over all $B \times T$ of them.

The same seed gives the same batches. `TextBatches` bundles the split and the generator for a
training loop, and saves the generator's state with a checkpoint, so a resumed run draws the
batches an uninterrupted one would have:

%% code
again, _ = get_batch(train_ids, batch_size=B, block_size=T, rng=np.random.default_rng(0))
assert np.array_equal(again, x)

data = TextBatches(ids, block_size=T, batch_size=B, seed=0)
data.get_batch("train")
saved = data.state_dict()
next_x, next_y = data.get_batch("train")
data.load_state_dict(saved)
resumed_x, _ = data.get_batch("train")
assert np.array_equal(resumed_x, next_x)

%% md
## What loss to expect

Two numbers to keep in mind before training anything, in nats per character on the validation
split. A model that knows nothing predicts every one of the $V$ ids with probability $1/V$:
loss $\log V$. A model that knows only how common each character is (a **unigram** model:
the same logits, the log-frequencies, at every position) has a cross-entropy equal to the
entropy of the character distribution, $H = -\sum_c p_c \log p_c$:

%% code
V = chars.vocab_size
counts = np.bincount(train_ids, minlength=V) + 1            # +1: no character has probability 0
p = counts / counts.sum()
entropy = -(p * np.log(p)).sum()

unigram_logits = tg.Tensor(np.broadcast_to(np.log(p), (len(val_ids), V)))
unigram_loss = F.cross_entropy(unigram_logits, val_ids).item()
print(f"uniform: log V = {np.log(V):.3f};  unigram: {unigram_loss:.3f} (entropy of the training characters {entropy:.3f})")
assert np.isclose(F.cross_entropy(tg.Tensor(np.zeros((len(val_ids), V))), val_ids).item(), np.log(V))
assert abs(unigram_loss - entropy) < 0.05

%% md
Everything below that has to come from context, from reading the text before: that is what
the transformer's attention is for. The character model shipped in `data/checkpoints/`, the GPT
of chapter 9 trained for 2000 steps on these batches, records its losses in the checkpoint:

%% code
from tinygrad_ft.nn.checkpoint import load_checkpoint
from tinygrad_ft.paths import BABY_CHECKPOINT, data_path

history = load_checkpoint(data_path(BABY_CHECKPOINT)).meta["history"]
print(f"shipped char model after {history['eval_step'][-1]} steps: validation loss {history['eval_val'][-1]:.3f}")
assert history["eval_val"][-1] < unigram_loss - 1

%% md
Next, chapter 11: pre-training the GPT on these batches.
"""

# ==== CHAPTERS ====

CHAPTERS = {
    5: ("05_dense_layers_and_a_first_network.ipynb", CH05),
    6: ("06_loss_functions.ipynb", CH06),
    7: ("07_optimisation_and_regularisation.ipynb", CH07),
    8: ("08_attention.ipynb", CH08),
    9: ("09_layer_norm_and_the_transformer_block.ipynb", CH09),
    10: ("10_tokenization_and_data.ipynb", CH10),
}


if __name__ == "__main__":
    main(sys.argv[1:], CHAPTERS, timeout=300)
