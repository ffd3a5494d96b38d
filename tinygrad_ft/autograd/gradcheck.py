"""Gradient checking: compare backward's gradients with central differences, in float64.

For a function f of tensors, contract its output with a random cotangent c (a fixed random
array of the output's shape) to get a scalar L = Σ f(x) * c. Then for every input element

    numeric  dL/dx_i ≈ (L(x + h e_i) - L(x - h e_i)) / 2h      (error O(h²))
    analytic dL/dx_i from backward()

and the relative error, as CS231n defines it, is

    max_i |a_i - n_i| / max(1e-8, |a_i| + |n_i|).

Why a random cotangent and not a plain sum: Σ softmax(x) is 1 whatever x is, so its gradient
is 0 and a sum-based check passes any softmax backward, however wrong.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..backend import asarray, backend_of, get_array_module, get_backend, is_array, is_floating, to_numpy
from .tensor import Tensor, no_grad


@dataclass
class GradcheckResult:
    """The outcome of a gradient check; ``bool(result)`` says whether it passed."""

    ok: bool
    max_rel_error: float
    tolerance: float
    input_index: int | None = None
    element: tuple | None = None
    analytic: float | None = None
    numeric: float | None = None
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        if self.problem:
            return f"gradcheck {verdict}: {self.problem}"
        where = f"input {self.input_index}, element {self.element}"
        return (
            f"gradcheck {verdict}: max relative error {self.max_rel_error:.3g} "
            f"({'<=' if self.ok else '>'} tolerance {self.tolerance:g}) at {where}: "
            f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}"
        )


def relative_error(a, n):
    """Element-wise |a - n| / max(1e-8, |a| + |n|), CS231n's relative error."""
    xp = get_array_module(a)
    return xp.abs(a - n) / xp.maximum(1e-8, xp.abs(a) + xp.abs(n))


def _as_input(x, device):
    """Floating inputs become float64 leaf tensors; anything else (indices, masks) passes as is."""
    if isinstance(x, Tensor):
        x = x.data
    if is_array(x) and is_floating(x.dtype) or isinstance(x, float):
        return Tensor(asarray(x, device, "float64").copy(), requires_grad=True)
    return x


def numerical_gradient(loss_fn, x: Tensor, eps: float = 1e-6):
    """Central differences of the scalar ``loss_fn()`` with respect to each element of ``x``."""
    xp = x.xp
    grad = xp.zeros(x.shape, dtype="float64")
    with no_grad():
        for element in itertools.product(*map(range, x.shape)):
            original = float(x.data[element])
            x.data[element] = original + eps
            plus = loss_fn()
            x.data[element] = original - eps
            minus = loss_fn()
            x.data[element] = original
            grad[element] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(f, *inputs, eps: float = 1e-6, tol: float = 1e-7, seed: int = 0, device: str | None = None) -> GradcheckResult:
    """Check ``f``'s backward against central differences at ``inputs``, in float64.

    ``f`` takes tensors and returns a tensor. Floating-point inputs (arrays, tensors, lists)
    are checked; others (integer targets, boolean masks) are passed to ``f`` unchanged.
    Returns a ``GradcheckResult`` naming the worst element and both of its values.
    """
    if device is None:
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        device = next((backend_of(a).name for a in arrays if is_array(a)), "cpu")
    xs = [_as_input(x, device) for x in inputs]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor)]
    if not checked:
        raise ValueError("gradcheck: no floating-point input to check")

    out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    rng = get_backend("cpu").xp.random.default_rng(seed)
    cotangent = asarray(rng.standard_normal(out.shape), device, "float64")

    def loss() -> float:
        return float((f(*xs).data * cotangent).sum())

    out.backward(cotangent)
    worst = GradcheckResult(ok=True, max_rel_error=0.0, tolerance=tol)
    for i in checked:
        x = xs[i]
        if x.grad is None:
            problem = f"input {i} got no gradient (is it used, and does every op on its path have a backward?)"
            return GradcheckResult(ok=False, max_rel_error=float("inf"), tolerance=tol, input_index=i, problem=problem)
        analytic = x.grad
        numeric = numerical_gradient(loss, x, eps)
        rel = relative_error(analytic, numeric)
        flat = int(rel.argmax()) if rel.size else 0
        error = float(rel.reshape(-1)[flat]) if rel.size else 0.0
        if error >= worst.max_rel_error:
            element = _unravel(flat, x.shape)
            worst = GradcheckResult(
                ok=True,
                max_rel_error=error,
                tolerance=tol,
                input_index=i,
                element=element,
                analytic=float(analytic[element]),
                numeric=float(numeric[element]),
            )
    worst.ok = worst.max_rel_error <= tol
    return worst


def assert_gradcheck(f, *inputs, **kwargs) -> GradcheckResult:
    """``gradcheck`` that raises AssertionError with the full report when the check fails."""
    result = gradcheck(f, *inputs, **kwargs)
    if not result.ok:
        raise AssertionError(str(result))
    return result


def _unravel(flat: int, shape) -> tuple:
    element = []
    for n in reversed(shape):
        element.append(flat % n)
        flat //= n
    return tuple(reversed(element))


def max_difference(fused, composed, *inputs, seed: int = 0) -> tuple[float, float]:
    """The largest |difference| between ``fused(*inputs)`` and ``composed(*inputs)``, in their
    values and in the gradients of every floating-point input, both in float64.

    Floating-point inputs (arrays) become float64 tensors that need gradients; others
    (indices, masks) are passed as they are. Both outputs are contracted with the same random
    cotangent c (L = Σ out ⊙ c), never a plain sum: Σ softmax(x) is 1 whatever x, so its
    gradient is 0 and would hide any softmax error.
    """
    results = []
    for fn in (fused, composed):
        xs = [_as_leaf(x) for x in inputs]
        out = fn(*xs)
        rng = get_backend("cpu").xp.random.default_rng(seed)
        cotangent = asarray(rng.standard_normal(out.shape), out.device, "float64")
        out.backward(cotangent)
        grads = [to_numpy(x.grad) for x in xs if isinstance(x, Tensor)]
        results.append((out.numpy(), grads))
    (value_a, grads_a), (value_b, grads_b) = results
    value_diff = float(abs(value_a - value_b).max()) if value_a.size else 0.0
    grad_diff = max((float(abs(a - b).max()) for a, b in zip(grads_a, grads_b) if a.size), default=0.0)
    return value_diff, grad_diff


def _as_leaf(x):
    data = x.data if isinstance(x, Tensor) else x
    if is_array(data) and is_floating(data.dtype):
        return Tensor(asarray(data, backend_of(data).name, "float64").copy(), requires_grad=True)
    return x
