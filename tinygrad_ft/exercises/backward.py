"""The backward-pass exercises (chapters 2, 3, 5, 6, 8, 9), with the structure of each derivation.

Each exercise draws seeded inputs and computes the correct gradients with the library's own
op and its backward (``tinygrad_ft.functional``), in float64, with a random cotangent
``d_out`` (a random one, not all ones: a plain sum can hide a wrong gradient). The inputs hit
the edge cases a formula gets wrong: ReLU inputs exactly 0, a softmax row of large logits, a
layer-norm row whose spread is so small that eps matters.

For the structural diagnosis (``structure.py``) each derivation is written out as its terms
(softmax's diagonal and coupling terms, layer norm's three paths, GELU's product rule), the
nearby functions a student may have differentiated instead (the gradient with respect to the
probabilities, the softmax backward skipped, a mask one position off, the variance over C - 1),
and the regions with an edge case (x exactly 0). The inputs are plain NumPy arrays: the
exercises are host-side NumPy by nature, so NumPy is imported here.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend.kernels import set_enabled
from .runner import Exercise
from .structure import Nearby, Probe, Region, Term, jacobians
from .stubs import STUBS


@contextlib.contextmanager
def plain_ops():
    """The library's ops on their plain NumPy lines, not a fused kernel: the plain lines are
    the reference the kernels are tested against, and they need no compilation."""
    previous = set_enabled(False)
    try:
        yield
    finally:
        set_enabled(previous)


def grads(op, arrays, d_out=None) -> tuple:
    """The gradients of ``op(*arrays)`` (contracted with ``d_out``; a scalar loss needs none)."""
    with plain_ops():
        tensors = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        op(*tensors).backward(d_out)
        return tuple(t.grad for t in tensors)


def normal(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def softmax_rows(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


SOFTMAX_HINT = ("If you exponentiate, subtract each row's maximum first: softmax(z) = softmax(z - max z), "
                "so the largest exponent is e⁰ = 1 and nothing overflows.")
SIGMOID_HINT = ("e⁻ˣ overflows for x ≪ 0: compute σ from e^{-|x|}, which never overflows "
                "(σ(x) = 1/(1 + e^{-|x|}) for x ≥ 0, e^{-|x|}/(1 + e^{-|x|}) for x < 0), then use σ (1 - σ).")
TANH_HINT = "eˣ overflows for large |x|: use np.tanh, and write the derivative with tanh itself (1 - t²)."
LAYER_NORM_HINT = ("Compute the variance as mean((x - μ)²), not mean(x²) - μ²: when |μ| ≫ σ the subtraction "
                   "cancels almost every digit (and can even go negative).")
ELEMENTS = 8 * 3  # the losses below average over an (8, 3) array
MEAN_FACTORS = (
    (ELEMENTS, f"the mean is over all 8 × 3 = {ELEMENTS} elements: divide by that count exactly once"),
    (3, f"the mean is over all 8 × 3 = {ELEMENTS} elements: did you divide by the 8 rows only?"),
)
GELU_C, GELU_K = math.sqrt(2 / math.pi), 0.044715


# ---- chapter 2: softmax ------------------------------------------------------------------


def _probs_of(case):
    with no_grad(), plain_ops():
        return F.softmax(Tensor(case["logits"])).numpy()


def _softmax_args(case):
    return _probs_of(case).astype(case["logits"].dtype), case["d_probs"]


def _draw_softmax(rng, large=False):
    logits = normal(rng, (4, 6), 2.0)
    logits[-1] *= 20  # a row of large logits: its probabilities are almost one-hot
    return {"logits": logits, "d_probs": normal(rng, (4, 6))}


def _softmax_terms(case):
    p, g = _probs_of(case), case["d_probs"]
    factor = (("p", p, "dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ): after the sum over i, dL/dzⱼ = pⱼ (gⱼ - Σᵢ gᵢ pᵢ), a factor pⱼ "
                       "outside the parentheses"),)
    return [
        Term("d_logits", "the diagonal term p ⊙ d_probs", p * g,
             "the pᵢ δᵢⱼ part of dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ)", factors=factor, role="diagonal"),
        Term("d_logits", "the coupling term -p ⊙ Σⱼ (d_probs ⊙ p)ⱼ", -p * (g * p).sum(-1, keepdims=True),
             "the -pᵢ pⱼ part of dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ): every probability of a row depends on every logit of the "
             "row, through the normalisation; summed over i it is -pⱼ Σᵢ gᵢ pᵢ", factors=factor, role="coupling"),
    ]


def _softmax_nearby(case):
    p, g = _probs_of(case), case["d_probs"]
    return [
        Nearby("wrong variable", "is d_probs passed straight through: that is dL/dp, the gradient with respect to the "
                                 "probabilities. The exercise asks for dL/dz: push it through the softmax's Jacobian, "
                                 "dL/dz = p ⊙ (d_probs - Σ d_probs ⊙ p)", {"d_logits": g}),
        Nearby("wrong variable", "is d_probs times the probabilities, p ⊙ d_probs: only the diagonal term of the "
                                 "softmax's Jacobian. Subtract the coupling term p ⊙ Σⱼ(d_probs ⊙ p)ⱼ (from the -pᵢ pⱼ of "
                                 "dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ))", {"d_logits": p * g}),
    ]


# ---- chapters 2 and 6: cross-entropy -----------------------------------------------------


def _draw_cross_entropy(rng, large=False):
    return {"logits": normal(rng, (8, 5), 1000.0 if large else 1.5), "targets": rng.integers(0, 5, size=8)}


def _one_hot(targets, classes):
    return np.eye(classes)[targets]


def _cross_entropy_terms(case):
    z, t = case["logits"], case["targets"]
    n = len(t)
    return [
        Term("d_logits", "the softmax term p/N", softmax_rows(z) / n,
             "the derivative of log Σⱼ e^{zⱼ} is softmax(z)"),
        Term("d_logits", "the one-hot term -onehot(target)/N", -_one_hot(t, z.shape[1]) / n,
             "the derivative of -z_target: -1 at the target class, 0 elsewhere (subtract 1 at each row's target)"),
    ]


def _cross_entropy_nearby(case):
    z, t = case["logits"], case["targets"]
    n, p = len(t), softmax_rows(case["logits"])
    onehot = _one_hot(t, z.shape[1])
    wrong_class = _one_hot(p.argmax(axis=1), z.shape[1])
    return [
        Nearby("wrong variable", "is the gradient with respect to the probabilities, -1/(N p_target) at each target: "
                                 "the exercise asks for the logits z. Through the softmax it simplifies to "
                                 "(softmax(z) - onehot(target)) / N",
               {"d_logits": -onehot / (n * np.where(onehot > 0, p, 1))}),
        Nearby("wrong class", "subtracts the one-hot of the predicted class (argmax) instead of the target's: the -1 "
                              "goes at targets[n], the correct class of row n", {"d_logits": (p - wrong_class) / n}),
        Nearby("log-softmax instead of softmax", "uses log-softmax where the derivative of log Σ e^z is softmax(z) "
                                                 "itself: d_logits = (softmax(z) - onehot) / N",
               {"d_logits": (np.log(p) - onehot) / n}),
    ]


# ---- chapter 3: activations (element-wise) -----------------------------------------------


def _elementwise(name, chapter, op, large=True, hint=None, scale=2.0, zeros=False, terms=None, nearby=None,
                 regions=None):
    def draw(rng, large=False):
        x = normal(rng, (4, 6), 1000.0 if large else scale)
        if zeros:
            x.flat[[2, 9, 13, 22]] = 0.0  # the kink: the edge case of the formula
        return {"x": x, "d_out": normal(rng, (4, 6))}

    return Exercise(
        name=name, chapter=chapter, stub=STUBS[name], outputs=("d_x",), draw=draw,
        reference=lambda c: grads(op, [c["x"]], c["d_out"]),
        large="for inputs as large as ±3000" if large else None, stability_hint=hint,
        cotangent="d_out", terms=terms, nearby=nearby, regions=regions,
    )


def _sigmoid_terms(case):
    s, g = sigmoid(case["x"]), case["d_out"]
    return [Term("d_x", "σ(x) (1 - σ(x)) d_out", s * (1 - s) * g, "dσ/dx = σ(x) (1 - σ(x))",
                 factors=(("(1 - σ(x))", 1 - s, "dσ/dx = σ (1 - σ): both factors"),
                          ("σ(x)", s, "dσ/dx = σ (1 - σ): both factors")))]


def _sigmoid_nearby(case):
    x, g = case["x"], case["d_out"]
    return [
        Nearby("derivative at the wrong point", "is x (1 - x) d_out: the formula σ (1 - σ) needs σ(x), not x itself",
               {"d_x": x * (1 - x) * g}),
        Nearby("forward instead of derivative", "is σ(x) d_out, the sigmoid itself: the derivative is σ(x) (1 - σ(x))",
               {"d_x": sigmoid(x) * g}),
    ]


def _tanh_nearby(case):
    x, g = case["x"], case["d_out"]
    return [
        Nearby("derivative at the wrong point", "is (1 - x²) d_out: the derivative is 1 - tanh(x)², with tanh(x), not x",
               {"d_x": (1 - x * x) * g}),
        Nearby("forward instead of derivative", "is tanh(x) d_out, the function itself: its derivative is 1 - tanh(x)²",
               {"d_x": np.tanh(x) * g}),
    ]


def _relu_regions(case):
    x = case["x"]
    return [
        Region("d_x", x == 0, "edge case", "where x is exactly 0: max(x, 0) has a kink there, and the convention (PyTorch's) "
                                          "is derivative 0 at x = 0: use (x > 0), not (x >= 0)"),
        Region("d_x", x < 0, "negative inputs", "where x < 0: max(x, 0) is flat there, so its derivative is 0"),
        Region("d_x", x > 0, "positive inputs", "where x > 0: max(x, 0) = x there, so d_x = d_out"),
    ]


def _gelu_parts(x):
    u = GELU_C * (x + GELU_K * x**3)
    t = np.tanh(u)
    return t, 1 - t * t, GELU_C * (1 + 3 * GELU_K * x * x)


def _gelu_nearby(case):
    x, g = case["x"], case["d_out"]
    cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return [Nearby("exact GELU", "is the derivative of the exact GELU, x Φ(x) (with erf): the exercise is GPT-2's tanh "
                                 "approximation, y = ½ x (1 + tanh(c (x + k x³)))", {"d_x": (cdf + x * pdf) * g})]


def _gelu_terms(case):
    x, g = case["x"], case["d_out"]
    t, dt_du, du_dx = _gelu_parts(x)
    return [
        Term("d_x", "the first product-rule term ½ (1 + t) d_out", 0.5 * (1 + t) * g,
             "product rule on ½x · (1 + t): d(½x)/dx times (1 + t)"),
        Term("d_x", "the second product-rule term ½ x (1 - t²) du/dx d_out", 0.5 * x * dt_du * du_dx * g,
             "product rule on ½x · (1 + t): ½x times d(1 + t)/dx = (1 - t²) du/dx, by the chain rule through t = tanh(u)",
             factors=(("du/dx = c (1 + 3k x²)", du_dx, "the inner chain factor: u = c (x + k x³), so du/dx = c (1 + 3k x²)"),
                      ("dt/du = 1 - t²", dt_du, "the chain factor of tanh: d tanh(u)/du = 1 - tanh(u)²"),
                      ("(1 + 3k x²)", 1 + 3 * GELU_K * x * x, "the derivative of x + k x³ is 1 + 3k x²"),
                      ("c", GELU_C, "u = c (x + k x³): c = √(2/π) is part of du/dx"))),
    ]


# ---- chapter 5: the dense layer, chapter 6: losses ---------------------------------------


def _draw_linear(rng, large=False):
    return {"x": normal(rng, (8, 5)), "W": normal(rng, (5, 3)), "b": normal(rng, (3,)), "d_out": normal(rng, (8, 3))}


def _draw_mse(rng, large=False):
    return {"pred": normal(rng, (8, 3)), "target": normal(rng, (8, 3))}


def _draw_bce(rng, large=False):
    targets = rng.integers(0, 2, size=(8, 3)).astype(np.float64)
    return {"logits": normal(rng, (8, 3), 1000.0 if large else 2.0), "targets": targets}


def _bce_terms(case):
    x, t = case["logits"], case["targets"]
    m = x.size
    return [
        Term("d_logits", "the softplus term σ(x)/M", sigmoid(x) / m, "d softplus(x)/dx = σ(x)"),
        Term("d_logits", "the target term -t/M", -t / m, "the derivative of -t x is -t"),
    ]


def _bce_nearby(case):
    x, t = case["logits"], case["targets"]
    s, m = sigmoid(x), x.size
    return [
        Nearby("wrong variable", "is the gradient with respect to the probability σ(x), (σ - t) / (σ (1 - σ) M): the "
                                 "exercise asks for the logits; through σ the σ (1 - σ) cancels: (σ(x) - t) / M",
               {"d_logits": (s - t) / (s * (1 - s) * m)}),
        Nearby("derivative of the wrong function", "is σ(x)(1 - σ(x))-shaped: that is the derivative of σ, but the loss "
                                                   "is softplus(x) - t x, whose derivative is σ(x) - t",
               {"d_logits": (s * (1 - s) - t) / m}),
    ]


# ---- chapter 8: attention ----------------------------------------------------------------


def _draw_attention(rng, large=False, causal=False):
    q, k = normal(rng, (5, 16), 30.0 if large else 1.0), normal(rng, (5, 16), 30.0 if large else 1.0)
    return {"q": q, "k": k, "v": normal(rng, (5, 16)), "d_out": normal(rng, (5, 16)), "causal": causal}


def attention_parts(q, k, v, g, causal, band=1, scale=None, axis=-1):
    """P, dP and the right dS of single-head attention, with the causal mask hiding keys j ≥ i + band."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.T * scale
    if causal:
        s = np.where(np.triu(np.ones(s.shape, dtype=bool), k=band), -np.inf, s)
    with np.errstate(all="ignore"):
        s = s - s.max(axis=axis, keepdims=True)
        p = np.exp(s)
        p = p / p.sum(axis=axis, keepdims=True)
    d_p = g @ v.T
    d_s = p * (d_p - (d_p * p).sum(-1, keepdims=True))
    return p, d_p, d_s, scale


def _attention_grads(q, k, v, g, p, d_s, scale):
    return {"d_q": d_s @ k * scale, "d_k": d_s.T @ q * scale, "d_v": p.T @ g}


def _attention_nearby(case):
    q, k, v, g, causal = case["q"], case["k"], case["v"], case["d_out"], case["causal"]
    p, d_p, d_s, scale = attention_parts(q, k, v, g, causal)
    near = [
        Nearby("softmax backward skipped", "matches the gradient with the softmax's backward skipped (dS = dP): "
                                           "P = softmax(S) has its own Jacobian, so dS = P ⊙ (dP - rowsum(dP ⊙ P)) "
                                           "(your softmax_backward of chapter 2)",
               {"d_q": d_p @ k * scale, "d_k": d_p.T @ q * scale}),
        Nearby("softmax backward skipped", "matches the gradient with the softmax's backward skipped (dS = dP, masked): "
                                           "P = softmax(S) has its own Jacobian, so dS = P ⊙ (dP - rowsum(dP ⊙ P))",
               {"d_q": np.where(p > 0, d_p, 0) @ k * scale, "d_k": np.where(p > 0, d_p, 0).T @ q * scale}),
        Nearby("diagonal only", "uses only the diagonal of the softmax's Jacobian (dS = P (1 - P) dP): the coupling term "
                                "-P ⊙ rowsum(dP ⊙ P) is missing", {"d_q": p * (1 - p) * d_p @ k * scale,
                                                                   "d_k": (p * (1 - p) * d_p).T @ q * scale}),
        Nearby("transpose", "is dS q / √D: since S[i, j] = q_i · k_j / √D, key j collects Σᵢ dS[i, j] q_i, so "
                            "d_k = dSᵀ q / √D (transpose dS)", {"d_k": d_s @ q * scale}),
        Nearby("transpose", "is dSᵀ k / √D: query i collects Σⱼ dS[i, j] k_j, so d_q = dS k / √D (no transpose)",
               {"d_q": d_s.T @ k * scale}),
        Nearby("transpose", "is P d_out: value j is used by every query i with weight P[i, j], so d_v = Pᵀ d_out "
                            "(transpose P)", {"d_v": p @ g}),
        Nearby("scale", "misses the 1/√D inside the softmax: the scores are S = q kᵀ / √D before the softmax, so P, and "
                        "every gradient, depends on it", _attention_grads(q, k, v, g, *_parts_rest(q, k, v, g, causal,
                                                                                                    scale=1.0))),
    ]
    if causal:
        near += [
            Nearby("mask ignored", "is the gradient without the causal mask: with causal=True, query i may only see keys "
                                   "j ≤ i: set S[i, j] = -inf for j > i before the softmax",
                   _attention_grads(q, k, v, g, *_parts_rest(q, k, v, g, False))),
            Nearby("mask off by one", "is the gradient with the mask one position too late: query i also sees key i + 1. "
                                      "Hide j > i: np.triu(np.ones((T, T), dtype=bool), k=1)",
                   _attention_grads(q, k, v, g, *_parts_rest(q, k, v, g, True, band=2))),
            Nearby("mask off by one", "is the gradient with the diagonal masked too (j ≥ i): query 0 then sees no key at "
                                      "all and its softmax is 0/0 = NaN. A query must see itself: hide j > i, "
                                      "np.triu(..., k=1), not k=0",
                   _attention_grads(q, k, v, g, *_parts_rest(q, k, v, g, True, band=0))),
            Nearby("mask on the wrong side", "is the gradient with the mask on the wrong side (np.tril): it hides the "
                                             "past instead of the future. Hide j > i: np.triu(..., k=1)",
                   _attention_grads(q, k, v, g, *_parts_tril(q, k, v, g))),
        ]
    return near


def _parts_rest(q, k, v, g, causal, band=1, scale=None):
    p, _, d_s, used_scale = attention_parts(q, k, v, g, causal, band=band, scale=scale)
    return p, d_s, used_scale


def _parts_tril(q, k, v, g):
    scale = 1 / math.sqrt(q.shape[-1])
    s = q @ k.T * scale
    s = np.where(np.tril(np.ones(s.shape, dtype=bool), k=-1), -np.inf, s)
    p = softmax_rows(s)
    d_p = g @ v.T
    return p, p * (d_p - (d_p * p).sum(-1, keepdims=True)), scale


def _attention_explain(probe: Probe):
    """Read the student's attention weights P from d_v: with d_out = a one-hot e_(i, d),
    d_v = Pᵀ d_out has column d equal to row i of P. Then compare the mask with the right one."""
    if not probe.case.get("causal") or "d_v" not in probe.names:
        return None
    found = jacobians(probe, output=probe.names.index("d_v"))
    if found is None:
        return None
    mine, _ = found
    t, d = probe.case["q"].shape[0], probe.case["v"].shape[1]
    p_mine = np.stack([mine[i * d].reshape(t, d)[:, 0] for i in range(t)])  # row i: P[i, :]
    if not np.isfinite(p_mine).all():
        return None
    seen = np.abs(p_mine) > 1e-12
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    if (seen & future).any():
        i, j = (int(a) for a in np.argwhere(seen & future)[0])
        one_late = not (seen & np.triu(np.ones((t, t), dtype=bool), k=2)).any()  # nothing seen at j ≥ i + 2
        return probe.verdict("mask off by one" if one_late else "mask ignored",
                             f"your attention weights (read from d_v) let query {i} see key {j}, in its future"
                             f"{' (one position past the diagonal: the mask is off by one)' if one_late else ''}: with "
                             "causal=True, query i sees keys j ≤ i only; hide j > i with np.triu(np.ones((T, T), "
                             "dtype=bool), k=1) before the softmax")
    if not seen[np.eye(t, dtype=bool)].all():
        i = int(np.flatnonzero(~seen[np.eye(t, dtype=bool)])[0])
        return probe.verdict("mask off by one", f"your attention weights (read from d_v) hide key {i} from query {i}: a "
                                                "query must see itself; hide j > i (np.triu(..., k=1)), not j ≥ i")
    return None


# ---- chapter 9: layer norm ---------------------------------------------------------------

EPS = 1e-5


def _draw_layer_norm(rng, large=False):
    x = normal(rng, (6, 5)) + (1e6 if large else 0.0)
    if not large:
        x[2] = 3.0 + normal(rng, (5,), 0.01)  # a row with a tiny spread: its variance is close to eps
    return {"x": x, "w": 1 + normal(rng, (5,), 0.5), "b": normal(rng, (5,)), "d_out": normal(rng, (6, 5))}


def layer_norm_parts(x, w, g, var_divisor=None, eps_inside=True):
    c = x.shape[-1]
    centred = x - x.mean(-1, keepdims=True)
    var = (centred**2).sum(-1, keepdims=True) / (var_divisor or c)
    sigma = np.sqrt(var + EPS) if eps_inside else np.sqrt(var) + EPS
    x_hat = centred / sigma
    g_hat = g * w
    return x_hat, g_hat, sigma


def _layer_norm_terms(case):
    x_hat, g_hat, sigma = layer_norm_parts(case["x"], case["w"], case["d_out"])
    g = case["d_out"]
    factors = (("1/σ", 1 / sigma, "x̂ = (x - μ)/σ: every path through x̂ carries 1/σ"),)
    return [
        Term("d_x", "the direct path ĝ/σ", g_hat / sigma, "x̂ᵢ = (xᵢ - μ)/σ depends on xᵢ directly, with factor 1/σ",
             factors=factors, role="diagonal"),
        Term("d_x", "the mean path -mean(ĝ)/σ", -g_hat.mean(-1, keepdims=True) / sigma * np.ones_like(g_hat),
             "x̂ depends on every xᵢ through μ: dμ/dxᵢ = 1/C", factors=factors, role="coupling"),
        Term("d_x", "the variance path -x̂ mean(ĝ ⊙ x̂)/σ", -x_hat * (g_hat * x_hat).mean(-1, keepdims=True) / sigma,
             "x̂ depends on every xᵢ through σ: dσ/dxᵢ = (xᵢ - μ)/(C σ) = x̂ᵢ/C", factors=factors),
        Term("d_w", "Σ_rows d_out ⊙ x̂", (g * x_hat).sum(0), "y = x̂ w + b, w used by every row"),
        Term("d_b", "Σ_rows d_out", g.sum(0), "y = x̂ w + b, b used by every row"),
    ]


def _layer_norm_dx(x_hat, g_hat, sigma, c_mean=None):
    mean = (lambda a: a.mean(-1, keepdims=True)) if c_mean is None else (lambda a: a.sum(-1, keepdims=True) / c_mean)
    return (g_hat - g_hat.mean(-1, keepdims=True) - x_hat * mean(g_hat * x_hat)) / sigma


def _layer_norm_nearby(case):
    x, w, g = case["x"], case["w"], case["d_out"]
    c = x.shape[-1]
    right = layer_norm_parts(x, w, g)
    outside = layer_norm_parts(x, w, g, eps_inside=False)
    unbiased = layer_norm_parts(x, w, g, var_divisor=c - 1)
    return [
        Nearby("eps outside the square root", "is the gradient with σ = √var + eps: eps goes inside the square root, "
                                              "σ = √(mean((x - μ)²) + eps)",
               {"d_x": _layer_norm_dx(*outside), "d_w": (g * outside[0]).sum(0)}),
        Nearby("variance over C - 1", f"is the gradient with the variance divided by C - 1 = {c - 1}: layer norm uses the "
                                      f"biased variance, mean((x - μ)²), a division by C = {c}",
               {"d_x": _layer_norm_dx(*unbiased), "d_w": (g * unbiased[0]).sum(0)}),
        Nearby("variance over C - 1", f"is the gradient with the variance divided by C - 1 = {c - 1}: layer norm uses the "
                                      f"biased variance, mean((x - μ)²), a division by C = {c}",
               {"d_x": _layer_norm_dx(*unbiased, c_mean=c - 1)}),
        Nearby("missing factor", "lacks the factor w: y = x̂ w + b, so the gradient reaching x̂ is ĝ = d_out ⊙ w, and "
                                 "every path starts from ĝ", {"d_x": _layer_norm_dx(right[0], g, right[2])}),
        Nearby("wrong variable", "is Σ_rows d_out ⊙ x: y = x̂ w + b, so w's gradient is d_out times x̂, the normalised "
                                 "input, not x", {"d_w": (g * x).sum(0)}),
    ]


BACKWARD = [
    Exercise(
        name="softmax_backward", chapter=2, stub=STUBS["softmax_backward"], outputs=("d_logits",),
        draw=_draw_softmax, args=_softmax_args,
        reference=lambda c: grads(F.softmax, [c["logits"]], c["d_probs"]),
        cotangent="d_probs", terms=_softmax_terms, nearby=_softmax_nearby,
    ),
    Exercise(
        name="cross_entropy_backward", chapter=2, stub=STUBS["cross_entropy_backward"], outputs=("d_logits",),
        draw=_draw_cross_entropy,
        reference=lambda c: grads(lambda z: F.cross_entropy(z, c["targets"]), [c["logits"]]),
        large="for logits as large as ±3000", stability_hint=SOFTMAX_HINT, batch_size=lambda c: len(c["targets"]),
        terms=_cross_entropy_terms, nearby=_cross_entropy_nearby,
    ),
    _elementwise("sigmoid_backward", 3, F.sigmoid, hint=SIGMOID_HINT, terms=_sigmoid_terms, nearby=_sigmoid_nearby),
    _elementwise("tanh_backward", 3, F.tanh, hint=TANH_HINT, nearby=_tanh_nearby),
    _elementwise("relu_backward", 3, F.relu, large=False, zeros=True, regions=_relu_regions),
    _elementwise("gelu_backward", 3, lambda x: F.gelu(x, approximate="tanh"), hint=TANH_HINT, zeros=True,
                 terms=_gelu_terms, nearby=_gelu_nearby),
    Exercise(
        name="linear_backward", chapter=5, stub=STUBS["linear_backward"], outputs=("d_x", "d_W", "d_b"),
        draw=_draw_linear,
        reference=lambda c: grads(F.linear, [c["x"], c["W"], c["b"]], c["d_out"]),
        batch_size=lambda c: len(c["x"]), cotangent="d_out",
    ),
    Exercise(
        name="mse_backward", chapter=6, stub=STUBS["mse_backward"], outputs=("d_pred",),
        draw=_draw_mse,
        reference=lambda c: grads(lambda p: F.mse_loss(p, c["target"]), [c["pred"]]),
        factors=lambda c: MEAN_FACTORS,
    ),
    Exercise(
        name="binary_cross_entropy_with_logits_backward", chapter=6, stub=STUBS["binary_cross_entropy_with_logits_backward"],
        outputs=("d_logits",), draw=_draw_bce,
        reference=lambda c: grads(lambda z: F.binary_cross_entropy_with_logits(z, c["targets"]), [c["logits"]]),
        large="for logits as large as ±3000", stability_hint=SIGMOID_HINT, factors=lambda c: MEAN_FACTORS,
        terms=_bce_terms, nearby=_bce_nearby,
    ),
    Exercise(
        name="attention_backward", chapter=8, stub=STUBS["attention_backward"], outputs=("d_q", "d_k", "d_v"),
        draw=_draw_attention, variants=({"causal": False}, {"causal": True}),
        reference=lambda c: grads(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=c["causal"]), [c["q"], c["k"], c["v"]], c["d_out"]
        ),
        large="for q and k as large as ±100 (scores in the thousands)", stability_hint=SOFTMAX_HINT,
        factors=lambda c: ((4.0, "4 = √D: the scores are q kᵀ / √D, so their gradient carries the 1/√D too"),),
        cotangent="d_out", nearby=_attention_nearby, explain=_attention_explain,
    ),
    Exercise(
        name="layer_norm_backward", chapter=9, stub=STUBS["layer_norm_backward"], outputs=("d_x", "d_w", "d_b"),
        draw=_draw_layer_norm,
        reference=lambda c: grads(lambda x, w, b: F.layer_norm(x, w, b, eps=EPS), [c["x"], c["w"], c["b"]], c["d_out"]),
        large="for x = 1,000,000 + noise (a mean far larger than the spread)", stability_hint=LAYER_NORM_HINT,
        batch_size=lambda c: len(c["x"]), cotangent="d_out", terms=_layer_norm_terms, nearby=_layer_norm_nearby,
    ),
]
