"""The gradient exercises of the lessons, and ``check`` to grade yours.

    from tinygrad_ft.exercises import check, stub
    print(stub("softmax_backward"))          # the stub to fill in, with the math in its docstring
    check(softmax_backward)                  # ✓ softmax_backward is correct (float64 and float32)

Each exercise draws seeded inputs and computes the correct gradients with the library's own
op and its backward (``tinygrad_ft.functional``), in float64, with a random cotangent
``d_out`` (a random one, not all ones: a plain sum can hide a wrong gradient). The inputs
are plain NumPy arrays: the exercises are host-side NumPy by nature, so NumPy is imported here.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from .checker import Diagnosis
from .runner import Exercise, run_exercise
from .stubs import STUBS


def _grads(op, arrays, d_out=None) -> tuple:
    """The gradients of ``op(*arrays)`` (contracted with ``d_out``; a scalar loss needs none)."""
    tensors = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    op(*tensors).backward(d_out)
    return tuple(t.grad for t in tensors)


def _normal(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


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


def _softmax_probs(case):
    with no_grad():
        return F.softmax(Tensor(case["logits"])).numpy(), case["d_probs"]


def _elementwise(name, chapter, op, large=True, hint=None, scale=2.0):
    def draw(rng, large=False):
        return {"x": _normal(rng, (4, 6), 1000.0 if large else scale), "d_out": _normal(rng, (4, 6))}

    return Exercise(
        name=name, chapter=chapter, stub=STUBS[name], outputs=("d_x",), draw=draw,
        reference=lambda c: _grads(op, [c["x"]], c["d_out"]),
        large="for inputs as large as ±3000" if large else None, stability_hint=hint,
    )


def _draw_cross_entropy(rng, large=False):
    return {"logits": _normal(rng, (8, 5), 1000.0 if large else 1.5), "targets": rng.integers(0, 5, size=8)}


def _draw_linear(rng, large=False):
    return {"x": _normal(rng, (8, 5)), "W": _normal(rng, (5, 3)), "b": _normal(rng, (3,)), "d_out": _normal(rng, (8, 3))}


def _draw_mse(rng, large=False):
    return {"pred": _normal(rng, (8, 3)), "target": _normal(rng, (8, 3))}


def _draw_bce(rng, large=False):
    targets = rng.integers(0, 2, size=(8, 3)).astype(np.float64)
    return {"logits": _normal(rng, (8, 3), 1000.0 if large else 2.0), "targets": targets}


def _draw_attention(rng, large=False, causal=False):
    q, k = _normal(rng, (5, 16), 30.0 if large else 1.0), _normal(rng, (5, 16), 30.0 if large else 1.0)
    return {"q": q, "k": k, "v": _normal(rng, (5, 16)), "d_out": _normal(rng, (5, 16)), "causal": causal}


def _draw_layer_norm(rng, large=False):
    x = _normal(rng, (6, 5)) + (1e6 if large else 0.0)
    return {"x": x, "w": 1 + _normal(rng, (5,), 0.5), "b": _normal(rng, (5,)), "d_out": _normal(rng, (6, 5))}


_LIST = [
    Exercise(
        name="softmax_backward", chapter=2, stub=STUBS["softmax_backward"], outputs=("d_logits",),
        draw=lambda rng, large=False: {"logits": _normal(rng, (4, 6), 2.0), "d_probs": _normal(rng, (4, 6))},
        args=_softmax_probs,
        reference=lambda c: _grads(F.softmax, [c["logits"]], c["d_probs"]),
    ),
    Exercise(
        name="cross_entropy_backward", chapter=6, also_in=(2,), stub=STUBS["cross_entropy_backward"], outputs=("d_logits",),
        draw=_draw_cross_entropy,
        reference=lambda c: _grads(lambda z: F.cross_entropy(z, c["targets"]), [c["logits"]]),
        large="for logits as large as ±3000", stability_hint=SOFTMAX_HINT, batch_size=lambda c: len(c["targets"]),
    ),
    _elementwise("sigmoid_backward", 3, F.sigmoid, hint=SIGMOID_HINT),
    _elementwise("tanh_backward", 3, F.tanh, hint=TANH_HINT),
    _elementwise("relu_backward", 3, F.relu, large=False),
    _elementwise("gelu_backward", 3, lambda x: F.gelu(x, approximate="tanh"), hint=TANH_HINT),
    Exercise(
        name="linear_backward", chapter=5, stub=STUBS["linear_backward"], outputs=("d_x", "d_W", "d_b"),
        draw=_draw_linear,
        reference=lambda c: _grads(F.linear, [c["x"], c["W"], c["b"]], c["d_out"]),
        batch_size=lambda c: len(c["x"]),
    ),
    Exercise(
        name="mse_backward", chapter=6, stub=STUBS["mse_backward"], outputs=("d_pred",),
        draw=_draw_mse,
        reference=lambda c: _grads(lambda p: F.mse_loss(p, c["target"]), [c["pred"]]),
        factors=lambda c: MEAN_FACTORS,
    ),
    Exercise(
        name="binary_cross_entropy_with_logits_backward", chapter=6, stub=STUBS["binary_cross_entropy_with_logits_backward"],
        outputs=("d_logits",), draw=_draw_bce,
        reference=lambda c: _grads(lambda z: F.binary_cross_entropy_with_logits(z, c["targets"]), [c["logits"]]),
        large="for logits as large as ±3000", stability_hint=SIGMOID_HINT, factors=lambda c: MEAN_FACTORS,
    ),
    Exercise(
        name="attention_backward", chapter=8, stub=STUBS["attention_backward"], outputs=("d_q", "d_k", "d_v"),
        draw=_draw_attention, variants=({"causal": False}, {"causal": True}),
        reference=lambda c: _grads(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=c["causal"]), [c["q"], c["k"], c["v"]], c["d_out"]
        ),
        large="for q and k as large as ±100 (scores in the thousands)", stability_hint=SOFTMAX_HINT,
        factors=lambda c: ((4.0, "4 = √D: the scores are q kᵀ / √D, so their gradient carries the 1/√D too"),),
    ),
    Exercise(
        name="layer_norm_backward", chapter=9, stub=STUBS["layer_norm_backward"], outputs=("d_x", "d_w", "d_b"),
        draw=_draw_layer_norm,
        reference=lambda c: _grads(lambda x, w, b: F.layer_norm(x, w, b, eps=1e-5), [c["x"], c["w"], c["b"]], c["d_out"]),
        large="for x = 1,000,000 + noise (a mean far larger than the spread)", stability_hint=LAYER_NORM_HINT,
        batch_size=lambda c: len(c["x"]),
    ),
]

EXERCISES = {exercise.name: exercise for exercise in _LIST}


def exercise(name: str) -> Exercise:
    """The exercise called ``name`` (a ValueError listing them all if there is none)."""
    if name not in EXERCISES:
        raise ValueError(f"no exercise called {name!r}; there are: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def for_chapter(chapter: int) -> list:
    """The exercises of one chapter, in the order they appear."""
    return [e for e in _LIST if e.chapter == chapter or chapter in e.also_in]


def stub(name: str) -> str:
    """The source of the stub to fill in for exercise ``name``."""
    return exercise(name).stub


def check(fn, name: str | None = None, quiet: bool = False) -> Diagnosis:
    """Grade ``fn``, your solution of exercise ``name`` (by default, the function's own name).

    Prints a one- or two-line verdict (unless ``quiet``) and returns the ``Diagnosis``.
    """
    if name is None:
        name = getattr(fn, "__name__", "?")
        if name not in EXERCISES:
            raise ValueError(f"check({name}): name the exercise, as check(fn, 'softmax_backward'); there are: "
                             f"{', '.join(EXERCISES)}")
    ex = exercise(name)
    diagnosis, _ = run_exercise(fn, ex)
    if not quiet:
        print(f"✓ {diagnosis.message}" if diagnosis.ok else f"✗ {ex.name}: {diagnosis.kind} — {diagnosis.message}")
    return diagnosis
