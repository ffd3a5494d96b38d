"""Diagnosing a gradient: not only *whether* it is wrong, but *what* is wrong with it.

``diagnose(got, expected, name)`` compares the gradient you computed with the correct one and
returns a ``Diagnosis``: ``ok``, a ``kind`` (one of ``KINDS``) and a ``message`` for you. The
checks go from the coarsest to the finest:

1. is it an array at all (not None, not a list)?
2. does it have the right shape? If not, is it the transpose, or the gradient of a broadcast
   parameter that was never summed over the axis it was broadcast along?
3. does it have the inputs' dtype (no float64 sneaking into a float32 computation)?
4. is every element finite (no NaN, no inf)?
5. its values: right, or right up to a sign, a transposition or a constant factor (say the
   batch size, or the length of an axis), or wrong somewhere (then the worst element is
   named, with both values).

When the values are wrong for a reason this comparison cannot see, the runner asks
``structure.explain`` (which probes the student's function) for the cause: the ``Diagnosis``
keeps its ``kind`` and gains a ``cause`` and a message that names the term to look at.
Integers, masks and token ids are compared entry by entry (``diagnose_exact``); expected
values of -inf (masked logits) must be -inf at the same places.

This is host-side NumPy on purpose: the exercises are plain NumPy functions, so the checker
imports NumPy directly instead of going through ``tinygrad_ft.backend``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import is_array, to_numpy

KINDS = (
    "correct",
    "not an array",
    "wrong number of outputs",
    "wrong shape",
    "transposed",
    "missing sum over a broadcast axis",
    "wrong dtype",
    "not finite",
    "wrong sign",
    "off by a constant factor",
    "wrong values",
    # the kinds below come from running an exercise (``runner.py``), not from one comparison
    "only correct in float64",
    "unstable for large inputs",
    "modified an input",
    "not implemented",
    "raised an error",
    "refused",
    "host code on a device array",
)

# Value kinds: the array is well formed but its numbers are wrong.
VALUE_KINDS = ("wrong sign", "off by a constant factor", "wrong values", "transposed")

TOLERANCES = {  # (rtol, atol as a fraction of the largest |expected|)
    np.dtype("float64"): (1e-6, 1e-9),
    np.dtype("float32"): (1e-4, 1e-5),
    np.dtype("float16"): (1e-2, 1e-3),
}

# A gradient whose largest element is below this is compared as if it were this large: a
# saturated softmax or sigmoid leaves gradients of 1e-40 that are rounding noise, not signal.
ATOL_FLOOR = 1e-3

FINITE_HINT = (
    "Something overflowed or divided by zero (x/0 is inf, 0/0 is NaN): look for an exponential of a large number "
    "(subtract the maximum first: softmax(z) = softmax(z - max z)), a division by a sum or a count that can be 0, "
    "or a square root or logarithm of a negative number."
)


@dataclass(repr=False)
class Diagnosis:
    """The verdict on a gradient: ``ok``, its ``kind`` (see ``KINDS``), a ``message`` for the
    student, ``name``, the gradient it is about (``"d_W"``), when there is one, and ``cause``,
    what the structural diagnosis (``structure.py``) found wrong, when it found something
    ("missing term", "diagonal only", ...: see ``structure.CAUSES``)."""

    ok: bool
    kind: str
    message: str
    name: str | None = None
    cause: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message if self.ok else f"{self.kind} — {self.message}"

    def __repr__(self) -> str:  # short: ``check`` has printed the message already
        cause = f": {self.cause}" if self.cause else ""
        return f"<Diagnosis {'✓' if self.ok else '✗'} {self.kind}{cause}{f' ({self.name})' if self.name else ''}>"


def tolerance(expected, dtype=None, rtol=None, atol=None) -> tuple:
    """``(rtol, atol)`` for comparing with ``expected`` in ``dtype``, ``atol`` made absolute: a
    fraction of the largest finite |expected| (or of ``ATOL_FLOOR``, when that is larger)."""
    expected = np.asarray(expected)
    dtype = np.dtype(dtype) if dtype is not None else expected.dtype
    default_rtol, default_atol = TOLERANCES.get(dtype, TOLERANCES[np.dtype("float64")])
    finite = expected[np.isfinite(expected)] if expected.dtype.kind == "f" else expected
    scale = float(np.abs(finite).max()) if finite.size else 1.0
    rtol = default_rtol if rtol is None else rtol
    return rtol, (default_atol if atol is None else atol) * max(scale, ATOL_FLOOR)


def matches(got, value, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals ``value`` within the tolerance, infinities and NaNs included (a NaN
    matches a NaN, -inf matches -inf): how the checker compares with a nearby function."""
    try:
        got, value = np.asarray(got), np.asarray(value)
    except Exception:  # noqa: BLE001 (ragged lists and odd objects simply do not match)
        return False
    if got.shape != value.shape or got.dtype.kind not in "biuf" or value.dtype.kind not in "biuf":
        return False
    got, value = got.astype(np.float64), value.astype(np.float64)
    finite_g, finite_v = np.isfinite(got), np.isfinite(value)
    if not np.array_equal(finite_g, finite_v):
        return False
    odd = ~finite_v
    if not np.array_equal(np.isnan(got[odd]), np.isnan(value[odd])):
        return False
    both_inf = odd & ~np.isnan(value)
    if not np.array_equal(got[both_inf], value[both_inf]):
        return False
    return _close(got[finite_v], value[finite_v], rtol, atol)


def diagnose(got, expected, name: str = "d_x", *, dtype=None, rtol=None, atol=None,
             batch_size: int | None = None, factors=(), finite_hint: str | None = None,
             exact: bool = False) -> Diagnosis:
    """Compare the gradient ``got`` with the correct ``expected`` and say what is wrong, if anything.

    ``dtype`` is the dtype ``got`` should have (the inputs' dtype; by default ``expected``'s),
    and it picks the tolerance unless ``rtol`` / ``atol`` are given (``atol`` is relative to
    the largest |expected|, or to ``ATOL_FLOOR`` when that is larger). ``batch_size`` and
    ``factors`` (pairs ``(value, why)``) name the constant factors worth recognising, as
    ``(4.0, "4 = √D: ...")``. ``finite_hint`` replaces the default advice for NaN and inf.
    Where ``expected`` itself holds -inf (masked logits), ``got`` must hold it at the same places.
    ``exact``: integers, booleans, token ids: every entry must be equal (``diagnose_exact``).
    """
    expected = np.asarray(expected)
    if exact:
        return diagnose_exact(got, expected, name)
    dtype = np.dtype(dtype) if dtype is not None else expected.dtype
    rtol, atol = tolerance(expected, dtype, rtol, atol)

    got, problem = _as_array(got, expected, name)
    if problem is not None:
        return problem
    if got.dtype.kind not in "biuf":  # objects, strings, complex numbers: no arithmetic on them
        return _check_dtype(got, dtype, name)
    problem = _check_shape(got, expected, name, rtol, atol)
    if problem is not None:
        return problem
    problem = _check_dtype(got, dtype, name)
    if problem is not None:
        return problem
    if not np.isfinite(expected).all():
        return _check_infinities(got.astype(np.float64), expected.astype(np.float64), name, rtol, atol)
    problem = _check_finite(got, name, finite_hint or FINITE_HINT)
    if problem is not None:
        return problem
    got64 = got.astype(np.float64)
    known = _known_factors(batch_size, factors, name, tuple(expected.shape))
    return _check_values(got64, expected.astype(np.float64), name, rtol, atol, known)


def diagnose_exact(got, expected, name: str = "ids") -> Diagnosis:
    """Compare integers, booleans or token ids: the shape, the kind of number, then every entry."""
    expected = np.asarray(expected)
    if got is None:
        return Diagnosis(False, "not an array", f"{name} is None: did you forget to `return` it?", name)
    try:
        array = np.asarray(got)
    except Exception:  # noqa: BLE001 (ragged lists: a verdict, not a crash)
        return Diagnosis(False, "wrong shape", f"{name} is a ragged {type(got).__name__}: its rows differ in length; "
                                               f"it should have shape {tuple(expected.shape)}", name)
    if array.size == 0 and expected.size == 0 and array.shape == expected.shape:
        return Diagnosis(True, "correct", f"{name} is correct", name)
    if array.dtype.kind not in "biuf" or (array.size == 0 and expected.size != 0):
        return Diagnosis(False, "not an array", f"{name} is {_describe(got)}; it should hold "
                                                f"{'True/False' if expected.dtype.kind == 'b' else 'integers'}, shape "
                                                f"{tuple(expected.shape)}", name)
    if array.shape != expected.shape:
        return Diagnosis(False, "wrong shape", f"{name} has shape {array.shape} but should be {tuple(expected.shape)}", name)
    if expected.dtype.kind == "b" and array.dtype.kind != "b":
        return Diagnosis(False, "wrong dtype", f"{name} has dtype {array.dtype}; it should be a boolean mask (True/False)",
                         name)
    if expected.dtype.kind in "iu" and array.dtype.kind not in "iu":
        return Diagnosis(False, "wrong dtype", f"{name} has dtype {array.dtype}; token ids are integers (dtype int64)", name)
    wrong = array != expected
    if not wrong.any():
        return Diagnosis(True, "correct", f"{name} is correct", name)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = f"{name}{list(first)}" if array.ndim else name
    return Diagnosis(False, "wrong values", f"{int(wrong.sum())} of {array.size} entries are wrong; the first is {where}: "
                                            f"expected {expected[first]!r}, got {array[first]!r}", name)


def _check_infinities(got, expected, name, rtol, atol):
    """Values where some expected entries are ±inf (masked logits): the infinities first, then the rest."""
    inf_e, inf_g = np.isinf(expected), np.isinf(got)
    if np.isnan(got).any():
        first = tuple(int(i) for i in np.argwhere(np.isnan(got))[0])
        return Diagnosis(False, "not finite", f"{name} has NaN values (the first at {name}{list(first)})", name)
    wrong = (inf_e != inf_g) | (inf_e & (got != expected))
    if wrong.any():
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        return Diagnosis(False, "wrong values", f"{name} is -inf at the wrong places ({int(wrong.sum())} of {got.size}); "
                                                f"the first is {name}{list(first)}: expected {expected[first]:.6g}, got "
                                                f"{got[first]:.6g}", name)
    kept = ~inf_e
    if _close(got[kept], expected[kept], rtol, atol):
        return Diagnosis(True, "correct", f"{name} is correct", name)
    return _wrong_values(np.where(kept, got, 0.0), np.where(kept, expected, 0.0), name, rtol, atol)


def diagnose_outputs(got, expected: tuple, names: tuple, order=None, **kwargs) -> Diagnosis:
    """``diagnose`` for a function that returns several gradients (``d_x, d_W, d_b``): check the
    count, then each gradient in turn (in ``order``, names, when one result feeds another: AdamW's
    m and v before the parameter they update), and report the first problem under its name."""
    if len(names) == 1:
        if isinstance(got, (tuple, list)) and len(got) == 1 and _is_array(got[0]):
            got = got[0]  # (d_x,) is as good as d_x
        return diagnose(got, expected[0], names[0], **kwargs)
    wanted = f"{len(names)} gradients, the tuple ({', '.join(names)})"
    if not isinstance(got, (tuple, list)):
        return Diagnosis(False, "wrong number of outputs", f"expected {wanted}, but got {_describe(got)}")
    if len(got) != len(names):
        return Diagnosis(False, "wrong number of outputs", f"expected {wanted}, but got {len(got)} of them")
    indices = [names.index(n) for n in order] if order else range(len(names))
    for i in indices:
        g, e, name = got[i], expected[i], names[i]
        result = diagnose(g, e, name, **kwargs)
        if not result.ok:
            if result.kind in ("wrong shape",) + VALUE_KINDS:
                result.message += _order_hint(g, expected, names, i, kwargs, got)
            return result
    return Diagnosis(True, "correct", f"{', '.join(names)} are all correct")


# ---- 1. an array at all? -----------------------------------------------------------------


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or is_array(x)


def _describe(x) -> str:
    if x is None:
        return "None (did you forget to `return`?)"
    if _is_array(x):
        return f"one array of shape {tuple(np.shape(x))}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a {type(x).__name__}"


def _as_array(got, expected, name):
    """``got`` as a NumPy array, or a Diagnosis saying why it is not one."""
    shape = tuple(expected.shape)
    if got is None:
        return None, Diagnosis(False, "not an array", f"{name} is None: did you forget to `return` it?", name)
    if type(got).__name__ == "Tensor":
        return None, Diagnosis(False, "not an array", f"{name} is a Tensor; these exercises work on plain NumPy arrays: return "
                                                      f"{name}.numpy()", name)
    if isinstance(got, np.ndarray):
        return got, None
    if is_array(got):
        return to_numpy(got), None
    if isinstance(got, (int, float, np.generic)) and not isinstance(got, bool):
        return np.asarray(got), None  # a 0-d array: the shape check explains
    if isinstance(got, (list, tuple)):
        message = f"{name} is a {type(got).__name__}; return a NumPy array of shape {shape} (np.asarray(...) makes one)"
    else:
        message = f"{name} is {_describe(got)}; return a NumPy array of shape {shape}"
    return None, Diagnosis(False, "not an array", message, name)


# ---- 2. the shape ------------------------------------------------------------------------


def _check_shape(got, expected, name, rtol, atol):
    have, want = tuple(got.shape), tuple(expected.shape)
    if have == want:
        return None
    if have == () and want != ():
        return Diagnosis(False, "wrong shape", f"{name} is a single number but should have shape {want}: did you sum over "
                                               "everything?", name)
    if len(have) == len(want) >= 2 and have == want[::-1]:
        if _close(got.T, expected, rtol, atol):
            return Diagnosis(False, "transposed",
                             f"{name} has shape {have} but should be {want}, and its transpose is right: a gradient has the "
                             "shape of what it differentiates, so swap the matmul's order (e.g. x.T @ d_out, not d_out.T @ "
                             "x)", name, "transpose")
        return Diagnosis(False, "wrong shape", f"{name} has shape {have} but should be {want} (the transpose of yours)", name)
    axes = _broadcast_axes(want, have)
    if axes is not None and not name.startswith("d_") and len(have) == len(want) + 1 and want and have[0] == want[0]:
        return Diagnosis(False, "wrong shape",
                         f"{name} has shape {have} but should be {want}: an extra axis of length {have[0]}. Indexing an "
                         f"axis with an array of {have[0]} positions, one per row (x[:, idx]), takes every position for "
                         "every row: to take one per row, index both axes together, x[np.arange(len(idx)), idx]", name,
                         "unpaired index")
    if axes is not None:
        return _missing_sum(got, expected, name, axes, rtol, atol)
    axes = _broadcast_axes(have, want)
    if axes is not None:
        return Diagnosis(False, "wrong shape",
                         f"{name} has shape {have} but should be {want}: it looks summed over axis {_axes_text(axes)}, "
                         "which the input has: keep one gradient per element of the input", name)
    return Diagnosis(False, "wrong shape", f"{name} has shape {have} but should be {want}, the shape of what it "
                                           "differentiates", name)


def _broadcast_axes(small, big):
    """The axes of ``big`` to sum over so that it becomes ``small`` (as NumPy broadcasting
    stretched ``small`` into ``big``), or None if ``big`` is not a broadcast of ``small``."""
    lead = len(big) - len(small)
    if lead < 0 or small == big:
        return None
    axes = list(range(lead))
    for i, n in enumerate(small):
        if n != big[lead + i]:
            if n != 1:
                return None
            axes.append(lead + i)
    return tuple(axes)


def _missing_sum(got, expected, name, axes, rtol, atol):
    have, want = tuple(got.shape), tuple(expected.shape)
    if all(have[a] == 1 for a in axes):
        message = (f"{name} has shape {have} but should be {want}: drop the extra axis of length 1 "
                   f"(sum with keepdims=False, or .reshape{want})")
    else:
        message = (f"{name} has shape {have} but should be {want}: the parameter was broadcast over axis "
                   f"{_axes_text(axes)} in the forward pass (used once per row), so its gradient is the sum of the "
                   f"per-row gradients: sum over axis {_axes_text(axes)}, e.g. .sum(axis={_axes_arg(axes)})")
    summed = got.astype(np.float64).sum(axis=axes).reshape(want)
    if not _close(summed, expected, rtol, atol):
        message += " (and even summed, the values are not right yet)"
    return Diagnosis(False, "missing sum over a broadcast axis", message, name)


def _axes_text(axes) -> str:
    return " and ".join(map(str, axes))


def _axes_arg(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else str(tuple(axes))


def _order_hint(got, expected, names, index, kwargs, returned=()) -> str:
    """When output ``index`` is another output's gradient (its shape, or its values), say so
    (unless that other output is also returned, right, in its own place: then it is no mix-up)."""
    order = f"return the gradients in the order ({', '.join(names)})"
    for j, (e, other) in enumerate(zip(expected, names)):
        if j == index or not _is_array(got):
            continue
        if np.shape(got) != np.shape(e) and np.shape(got) == np.shape(expected[index]):
            continue
        in_place = j < len(returned) and _is_array(returned[j]) and np.shape(returned[j]) == np.shape(e)
        if in_place and diagnose(returned[j], e, other, **kwargs).ok:
            continue
        if np.shape(got) == np.shape(e) and diagnose(got, e, other, **kwargs).ok:
            return f" (it is exactly {other}: {order})"
        summed = _broadcast_axes(np.shape(got), np.shape(expected[index])) is not None  # explained already
        if np.shape(got) == np.shape(e) and np.shape(e) != np.shape(expected[index]) and not summed:
            return f" (that is the shape of {other}: {order})"
    return ""


# ---- 3. the dtype, 4. finiteness ---------------------------------------------------------


def _check_dtype(got, dtype, name):
    if got.dtype == dtype:
        return None
    if got.dtype.kind != "f":
        message = f"{name} has dtype {got.dtype}, but a gradient is floating point: it should be {dtype} like the inputs"
    elif got.dtype.itemsize > dtype.itemsize:
        message = (f"{name} is {got.dtype} but the inputs were {dtype}: something upcast it, typically a {got.dtype} "
                   f"array or NumPy scalar mixed in (np.zeros(shape) without dtype=, .astype(np.float64), np.sqrt(D) "
                   f"or np.float64(...) as a constant). Keep the inputs' dtype: np.zeros_like(x), Python floats "
                   f"(math.sqrt) for constants")
    else:
        message = f"{name} is {got.dtype} but the inputs were {dtype}: it lost precision; keep the inputs' dtype"
    return Diagnosis(False, "wrong dtype", message, name)


def _check_finite(got, name, hint):
    bad = ~np.isfinite(got)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_nan, n_inf = int(np.isnan(got).sum()), int(np.isinf(got).sum())
    message = f"{name} has {n_nan} NaN and {n_inf} inf values (the first at {name}{list(first)}). {hint}"
    return Diagnosis(False, "not finite", message, name)


# ---- 5. the values -----------------------------------------------------------------------


def _close(a, b, rtol, atol) -> bool:
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _known_factors(batch_size, factors, name="d_x", shape=()):
    known = []
    if batch_size:
        n = int(batch_size)
        known.append((n, f"the batch size is {n}: did you forget the mean (a division by {n})?"))
        known.append((1 / n, f"the batch size is {n}: did you average where the loss already did (d_out already carries the "
                             f"1/{n})?"))
    for value, why in factors:
        known.append((float(value), why))
        known.append((1 / float(value), why))
    known.append((2.0, "a stray or missing 2: d(x²)/dx = 2x, or a ½ in the loss?"))
    known.append((0.5, "a stray or missing 2: d(x²)/dx = 2x, or a ½ in the loss?"))
    size = int(np.prod(shape)) if shape else 1
    for axis, n in enumerate(shape):  # the lengths of the axes: a mean over the wrong axis, or one too many
        if n > 2:
            why = (f"{n} is the length of axis {axis} of {name} (shape {shape}): a division by it is missing or one too "
                   f"many (a mean over every element divides by all {size} of them)")
            known += [(float(n), why), (1 / n, why)]
    if len(shape) > 1 and size > 2:
        why = f"{size} is the number of elements of {name}: a mean over all of them is missing or one too many"
        known += [(float(size), why), (1 / size, why)]
    return known


def _check_values(got, expected, name, rtol, atol, known_factors):
    if _close(got, expected, rtol, atol):
        return Diagnosis(True, "correct", f"{name} is correct", name)
    if _close(-got, expected, rtol, atol):
        return Diagnosis(False, "wrong sign",
                         f"{name} is exactly the negative of the correct gradient: a sign flipped somewhere "
                         "(a `-` dropped or added, or `a - b` written as `b - a`)", name, "sign")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, expected, rtol, atol):
        return Diagnosis(False, "transposed",
                         f"{name} is the transpose of the correct gradient: swap the matmul's order "
                         "(e.g. x.T @ d_out, not d_out.T @ x)", name, "transpose")
    energy = float((expected * expected).sum())
    if got.any() and energy > 0:
        factor = float((got * expected).sum()) / energy  # the least-squares c in got ≈ c · expected
        if factor != 0 and _close(got, factor * expected, rtol, atol):
            return _factor_diagnosis(name, factor, known_factors)
    return _wrong_values(got, expected, name, rtol, atol)


def _factor_diagnosis(name, factor, known_factors):
    text, cause = f"{name} is off by a factor of {_fraction(factor)}: right direction, wrong scale", None
    for value, why in known_factors:
        if abs(abs(factor) - value) <= 1e-4 * value:
            text, cause = f"{name} is off by a factor of {_fraction(factor)} — {why}", "scale factor"
            break
    if factor < 0:
        text += " (and the sign is flipped)"
    return Diagnosis(False, "off by a constant factor", text, name, cause)


def _fraction(c: float) -> str:
    """A factor for people: 8, 1/8, -2, or 0.37 when it is neither an integer nor 1/integer."""
    sign, c = ("-" if c < 0 else ""), abs(c)
    if abs(c - round(c)) <= 1e-4 * c and round(c) >= 1:
        return f"{sign}{round(c)}"
    if abs(1 / c - round(1 / c)) <= 1e-4 / c and round(1 / c) >= 2:
        return f"{sign}1/{round(1 / c)}"
    return f"{sign}{c:.4g}"


def _wrong_values(got, expected, name, rtol, atol):
    error = np.abs(got - expected) / (atol + rtol * np.abs(expected))
    worst = np.unravel_index(int(error.argmax()), got.shape)
    n_wrong = int((error > 1).sum())
    where = f"{name}{[int(i) for i in worst]}" if got.ndim else name
    message = (f"{n_wrong} of {got.size} elements are wrong; the worst is {where}: expected "
               f"{_number(expected[worst], atol)}, got {_number(got[worst], atol)}")
    if not got.any():
        message = f"{name} is all zeros. " + message
    return Diagnosis(False, "wrong values", message, name)


def _number(value, atol) -> str:
    """A value for people: 6 significant digits, and 0 for rounding noise like 2.9e-16."""
    return "0" if abs(value) <= 1e-3 * atol else f"{value:.6g}"
