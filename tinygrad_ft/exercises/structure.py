"""Structural diagnosis: *why* a result is wrong, read from the student's function itself.

``checker.diagnose`` compares one result with the right one and can say "wrong shape", "wrong
sign", "off by a factor of 8" or "24 of 24 elements are wrong". When it can only say the last,
the checker calls ``explain`` here, which probes the student's function and compares it with
the structure of the derivation:

1. **nearby functions**: the result of a function close to the right one (the gradient with
   respect to the probabilities instead of the logits, the attention with the softmax's
   backward skipped, the mask one position off, layer norm's variance over C - 1, ...);
   NaN and inf count, so a causal mask that hides a whole row is recognised too;
2. **the upstream gradient**: a backward pass is linear in ``d_out``. Probing with
   ``d_out = 0`` and ``2 d_out`` shows a result that ignores it (no chain rule) or has a term
   that is not multiplied by it;
3. **the terms of the derivation**: the right result is a sum of named terms (softmax's
   diagonal and coupling terms, layer norm's direct, mean and variance paths, GELU's two
   product-rule terms, LoRA's base and low-rank terms). A least-squares fit of the student's
   result on them says which term is missing, has the wrong sign or the wrong scale; a term
   that lost one of its factors (a chain factor such as du/dx) is recognised too, and so is
   an error confined to one term (it vanishes wherever that term does);
4. **the Jacobian**: probing with one-hot upstream gradients reads the student's Jacobian
   column by column (small inputs, float64), and compares it with the right one: diagonal
   only (the coupling between the elements of a row is missing), diagonal or off-diagonal
   entries wrong, rows mixed (a sum over the wrong axis), a transposed Jacobian;
5. **where**: the errors confined to a region the exercise names (x exactly 0, the padded
   rows, the warmup steps, the prompt positions), or else to some rows or columns.

Each finding names the term of the derivation to look at. ``CAUSES`` lists the generic causes;
an exercise's nearby functions and regions bring their own.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checker import Diagnosis, matches, tolerance

CAUSES = (
    "ignores the upstream gradient",
    "term not scaled by the upstream gradient",
    "not linear in the upstream gradient",
    "missing term",
    "term with the wrong sign",
    "term off by a factor",
    "missing factor",
    "diagonal only",
    "diagonal wrong",
    "coupling wrong",
    "mixes rows",
    "mixes elements",
    "transposed Jacobian",
    "wrong term",
    "factor twice",
    "extra factor",
    "an input returned",
    "localized",
)


@dataclass(frozen=True)
class Term:
    """One additive term of a result: the right ``output`` is the sum of its terms.

    ``name`` says which term ("the coupling term -p Σ(d_probs p)"), ``where`` which step of the
    derivation it comes from; ``factors`` are ``(name, value, where)`` triples of the factors a
    student may lose (a chain factor, a scale); ``role`` is "diagonal" or "coupling" for the
    two parts of a Jacobian with both."""

    output: str
    name: str
    value: np.ndarray
    where: str
    factors: tuple = ()
    role: str | None = None


@dataclass(frozen=True)
class Nearby:
    """What a function close to the right one gives, and what to fix if the student's matches.

    ``values`` maps output names to that function's results (outputs it does not name are
    compared with the right ones); ``cause`` is a short name of the mistake, ``message`` says
    what to fix."""

    cause: str
    message: str
    values: dict


@dataclass(frozen=True)
class Region:
    """A named part of an output (a boolean mask of its shape): if every wrong element lies in
    it, ``message`` says what is special there. ``output`` None: any output of that shape."""

    output: str | None
    mask: np.ndarray
    cause: str
    message: str


@dataclass
class Probe:
    """Everything ``explain`` needs: the exercise, a way to call the student's function again
    (``call(args)``: its outputs as a tuple, or None if it raised), the drawn ``case``, the
    student's arguments ``args``, what it returned (``got``, a tuple) and the right ``expected``
    results, the index of the output that failed, the checker's first verdict ``base``, and the
    student's function itself (``fn``, to inspect what it builds)."""

    exercise: object
    call: Callable
    case: dict
    args: tuple
    got: tuple
    expected: tuple
    index: int
    base: Diagnosis
    dtype: str = "float64"
    fn: Callable | None = None
    notes: dict = field(default_factory=dict)

    @property
    def names(self) -> tuple:
        return self.exercise.outputs

    @property
    def name(self) -> str:
        return self.names[self.index]

    def tol(self, expected=None):
        expected = self.expected[self.index] if expected is None else expected
        return tolerance(np.asarray(expected, dtype=np.float64) if _numeric(expected) else expected, self.dtype)

    def same(self, a, b, reference=None) -> bool:
        rtol, atol = self.tol(b if reference is None else reference)
        return matches(a, b, rtol, atol)

    def verdict(self, cause: str, text: str) -> Diagnosis:
        """A diagnosis of the kind the checker found, with the cause and the base message's details."""
        details = self.base.message
        if self.base.kind == "not finite":  # where the NaNs are, without the generic advice that follows
            details = details.split(". ", 1)[0]
        return Diagnosis(False, self.base.kind, f"{text} ({details})" if details else text, self.name, cause)


def explain(probe: Probe) -> Diagnosis | None:
    """The structural diagnosis of ``probe.got``, or None when nothing specific was found."""
    ex = probe.exercise
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = [ex.explain] if getattr(ex, "explain", None) is not None else []
        steps = [_nearby, *own, _an_input, _reduced_over, _upstream, _terms, _input_factor, _jacobian, _regions]
        for step in steps:
            try:
                found = step(probe)
            except Exception:  # noqa: BLE001 (a probe that fails tells nothing; the base verdict stands)
                found = None
            if found is not None:
                return found
        return _localized(probe)


# ---- 1. nearby functions -----------------------------------------------------------------


def _reduced_over(probe: Probe):
    """A result of the wrong shape that is an input reduced over the wrong axis (d_b summed over
    the features instead of the rows, a mean over the channels instead of the time steps)."""
    got, expected = probe.got[probe.index], probe.expected[probe.index]
    have, want = np.shape(got), np.shape(expected)
    if have == want:
        return None
    for name, value in probe.case.items():
        if not isinstance(value, np.ndarray) or value.ndim < 2:
            continue
        shape = value.shape
        right = [a for a in range(len(shape)) if shape[:a] + shape[a + 1:] == want]
        wrong = [a for a in range(len(shape)) if shape[:a] + shape[a + 1:] == have]
        if right and wrong and not set(right) & set(wrong):
            return probe.verdict("wrong axis", f"{probe.name} has the shape of {name} {shape} reduced over axis "
                                               f"{wrong[0]}, {have}; it should be reduced over axis {right[0]}, giving "
                                               f"{want}: sum or average over axis={right[0]}")
    return None


def _an_input(probe: Probe):
    """The result is one of the arguments, unchanged (a state returned before it was updated)."""
    got = probe.got[probe.index]
    if not isinstance(got, np.ndarray):
        return None
    for name, arg in zip(probe.exercise.arg_names, probe.args):
        if isinstance(arg, np.ndarray) and arg.shape == got.shape and np.array_equal(arg, got):
            return probe.verdict("an input returned", f"{probe.name} is the argument `{name}` itself, unchanged: return "
                                                      f"the new {probe.name} you computed from it")
    return None



def _nearby(probe: Probe):
    if probe.exercise.nearby is None:
        return None
    got = probe.got[probe.index]
    for near in probe.exercise.nearby(probe.case):
        value = near.values.get(probe.name)
        if value is None:
            continue
        if probe.same(got, value, reference=probe.expected[probe.index]):
            return probe.verdict(near.cause, f"{probe.name} {near.message}")
        scale = _fit_scale(got, value)
        if scale is not None and probe.same(got, scale * np.asarray(value), reference=probe.expected[probe.index]):
            return probe.verdict(near.cause, f"{probe.name} {near.message} (and it is off by a factor of {_nice_text(scale)} "
                                             "on top of that)")
    return None


def _fit_scale(got, value):
    try:
        got, value = np.asarray(got, dtype=np.float64), np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != value.shape or not np.isfinite(got).all() or not np.isfinite(value).all():
        return None
    energy = float((value * value).sum())
    if energy == 0:
        return None
    c = float((got * value).sum()) / energy
    return c if c != 0 and abs(c - 1) > 1e-6 else None


# ---- 2. the upstream gradient ------------------------------------------------------------


def _upstream(probe: Probe):
    name = probe.exercise.cotangent
    if name is None:
        return None
    position = probe.exercise.arg_names.index(name)
    d_out = np.asarray(probe.args[position])
    got = np.asarray(probe.got[probe.index], dtype=np.float64)
    zero = _student_output(probe, {position: np.zeros_like(d_out)})
    if zero is not None and not probe.same(zero, np.zeros_like(zero), reference=probe.expected[probe.index]):
        if probe.same(zero, got):
            return probe.verdict("ignores the upstream gradient",
                                 f"{probe.name} does not change when {name} changes: it is the local derivative alone. Chain "
                                 f"rule: multiply it by the gradient arriving from above, {name}")
        return probe.verdict("term not scaled by the upstream gradient",
                             f"{probe.name} is not 0 when {name} = 0: one of its terms is not multiplied by {name}. Every "
                             f"term of a backward pass carries the upstream gradient {name} (chain rule)")
    for factor, words in ((2.0, "double"), (-1.0, "flip its sign")):
        scaled = _student_output(probe, {position: factor * d_out})
        if scaled is not None and not probe.same(scaled, factor * got):
            return probe.verdict("not linear in the upstream gradient",
                                 f"{probe.name} does not {words} when {name} does: a backward pass is linear in the "
                                 f"upstream gradient, so {name} should multiply, once, to the first power, and never go "
                                 "through a nonlinearity (a square, a max(·, 0), an abs)")
    return None


def _student_output(probe: Probe, replace: dict):
    args = list(probe.args)
    for position, value in replace.items():
        args[position] = value
    out = probe.call(tuple(args))
    if out is None or len(out) <= probe.index:
        return None
    try:
        result = np.asarray(out[probe.index], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return result if result.shape == np.shape(probe.expected[probe.index]) else None


# ---- 3. the terms of the derivation ------------------------------------------------------


def _terms(probe: Probe):
    if probe.exercise.terms is None:
        return None
    terms = [t for t in probe.exercise.terms(probe.case) if t.output == probe.name]
    if not terms or not _numeric(probe.got[probe.index]):
        return None
    got = np.asarray(probe.got[probe.index], dtype=np.float64)
    expected = np.asarray(probe.expected[probe.index], dtype=np.float64)
    if got.shape != expected.shape or not np.isfinite(got).all():
        return None
    values = [np.broadcast_to(np.asarray(t.value, dtype=np.float64), expected.shape) for t in terms]
    common = [f for f in terms[0].factors if all(any(g[0] == f[0] for g in t.factors) for t in terms[1:])]
    if len(terms) > 1:
        for factor_name, _, where in common:  # a factor of every term, lost from all of them, or taken twice
            factors = [np.broadcast_to(np.asarray(dict((g[0], g[1]) for g in t.factors)[factor_name], dtype=np.float64),
                                       expected.shape) for t in terms]
            if probe.same(got, sum(v / _safe(f, expected.shape) for f, v in zip(factors, values))):
                return probe.verdict("missing factor", f"{probe.name} lacks the factor {factor_name}, which multiplies "
                                                       f"every term ({where})")
            if probe.same(got, sum(v * f for f, v in zip(factors, values))):
                return probe.verdict("factor twice", f"{probe.name} has the factor {factor_name} twice: it multiplies "
                                                     f"every term once ({where})")
    for term, value in zip(terms, values):  # a term that lost one of its factors, or has it twice
        for factor_name, factor, where in term.factors:
            if probe.same(got, expected - value + value / _safe(factor, expected.shape)):
                return probe.verdict("missing factor", f"{probe.name}: {term.name} lacks the factor {factor_name} ({where})")
            if probe.same(got, expected - value + value * np.asarray(factor, dtype=np.float64)):
                return probe.verdict("factor twice", f"{probe.name}: {term.name} has the factor {factor_name} twice "
                                                     f"({where})")
    if len(terms) < 2:
        return None
    basis = np.stack([v.ravel() for v in values], axis=1)
    if np.linalg.matrix_rank(basis) < len(terms):
        return None
    coefficients = np.linalg.lstsq(basis, got.ravel(), rcond=None)[0]
    nice = np.array([_nice(c) for c in coefficients])
    if probe.same(got, (basis @ nice).reshape(got.shape)):
        coefficients = nice
    elif not probe.same(got, (basis @ coefficients).reshape(got.shape)):
        return _wrong_term(probe, terms, values, got, expected)
    wrong = [(t, c) for t, c in zip(terms, coefficients) if abs(c - 1) > 1e-6]
    if not wrong:
        return None
    parts, causes = [], set()
    for term, c in wrong:
        if abs(c) <= 1e-6:
            parts.append(f"{term.name} is missing ({term.where})")
            causes.add("missing term")
        elif abs(c + 1) <= 1e-6:
            parts.append(f"{term.name} has the wrong sign ({term.where})")
            causes.add("term with the wrong sign")
        else:
            parts.append(f"{term.name} is off by a factor of {_nice_text(c)} ({term.where})")
            causes.add("term off by a factor")
    cause = causes.pop() if len(causes) == 1 else "missing term" if "missing term" in causes else sorted(causes)[0]
    right = [t.name for t in terms if all(t is not w for w, _ in wrong)]
    tail = f"; {_and(right)} {'is' if len(right) == 1 else 'are'} right" if right else ""
    return probe.verdict(cause, f"{probe.name}: {'; '.join(parts)}{tail}")


def _input_factor(probe: Probe):
    """The result is the right one times (or divided by) one of the inputs: a stray factor."""
    got, expected = probe.got[probe.index], probe.expected[probe.index]
    if not (_numeric(got) and _numeric(expected)):
        return None
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not np.isfinite(got).all():
        return None
    for name, value in probe.case.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.size < 2:
            continue
        try:
            value = np.broadcast_to(value, expected.shape)
        except ValueError:
            continue
        if np.allclose(value, value.flat[0]):
            continue
        if probe.same(got, expected * value):
            return probe.verdict("extra factor", f"{probe.name} is the right result times {name}: a stray factor {name} "
                                                 f"(where does {name} enter {probe.name}, and where not?)")
        if (value != 0).all() and probe.same(got, expected / value):
            return probe.verdict("missing factor", f"{probe.name} is the right result divided by {name}: a factor {name} "
                                                   "is missing")
    return None


def _wrong_term(probe: Probe, terms, values, got, expected):
    """The one term the error is confined to: the error vanishes wherever that term vanishes
    (and only it: the other terms are not 0 there), e.g. at x = 0 for GELU's second term."""
    rtol, atol = probe.tol()
    wrong = np.abs(got - expected) > atol + rtol * np.abs(expected)
    if not wrong.any():
        return None
    found = []
    for k, (term, value) in enumerate(zip(terms, values)):
        others = sum(v for j, v in enumerate(values) if j != k)
        alone = (np.abs(value) <= atol) & (np.abs(others) > atol)  # only the other terms are there
        if alone.any() and not wrong[alone].any() and wrong[np.abs(value) > atol].any():
            found.append(term)
    if len(found) != 1:
        return None
    term = found[0]
    rest = [t.name for t in terms if t is not term]
    return probe.verdict("wrong term", f"{probe.name}: the error is in {term.name} ({term.where}): it vanishes wherever "
                                       f"that term is 0, where {_and(rest)} {'is' if len(rest) == 1 else 'are'} right")


def _safe(factor, shape):
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), shape)
    return np.where(factor == 0, 1.0, factor)


def _nice(c: float) -> float:
    for value in (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5):
        if abs(c - value) <= 1e-6 * max(1.0, abs(value)):
            return value
    return float(c)


def _nice_text(c: float) -> str:
    if c and abs(1 / c - round(1 / c)) <= 1e-4 / abs(c) and abs(round(1 / c)) >= 2:
        return f"{'-' if c < 0 else ''}1/{abs(round(1 / c))}"
    if abs(c - round(c)) <= 1e-4 * max(1.0, abs(c)):
        return str(round(c))
    return f"{c:.4g}"


# ---- 4. the Jacobian ---------------------------------------------------------------------

MAX_PROBES = 256


def jacobians(probe: Probe, output: int | None = None):
    """The student's and the right Jacobian of one output with respect to the upstream gradient,
    read by probing with one-hot upstream gradients: two arrays of shape (size of d_out, size of
    the output), or None if the exercise has no upstream gradient or it is too large to probe."""
    name = probe.exercise.cotangent
    index = probe.index if output is None else output
    if name is None:
        return None
    position = probe.exercise.arg_names.index(name)
    d_out = np.asarray(probe.args[position], dtype=np.float64)
    if d_out.size > MAX_PROBES:
        return None
    cache = probe.notes.setdefault("jacobians", {})
    if index in cache:
        return cache[index]
    mine, right = [], []
    for k in range(d_out.size):
        e = np.zeros(d_out.shape)
        e.flat[k] = 1.0
        args = list(probe.args)
        args[position] = e.astype(np.asarray(probe.args[position]).dtype)
        out = probe.call(tuple(args))
        if out is None:
            return None
        try:
            mine.append(np.asarray(out[index], dtype=np.float64).ravel())
        except (TypeError, ValueError, IndexError):
            return None
        right.append(np.asarray(probe.exercise.reference({**probe.case, name: e})[index], dtype=np.float64).ravel())
    if any(m.shape != right[0].shape for m in mine):
        return None
    cache[index] = np.stack(mine), np.stack(right)
    return cache[index]


def _jacobian(probe: Probe):
    name = probe.exercise.cotangent
    if name is None:
        return None
    position = probe.exercise.arg_names.index(name)
    shape = np.shape(probe.args[position])
    if tuple(np.shape(probe.expected[probe.index])) != tuple(shape) or len(shape) == 0:
        return None
    found = jacobians(probe)
    if found is None:
        return None
    mine, right = found
    if not np.isfinite(mine).all():
        return None
    rtol, atol = tolerance(right, probe.dtype)
    bad = np.abs(mine - right) > atol + rtol * np.abs(right)
    if not bad.any():
        return None
    n = mine.shape[0]
    width = shape[-1]
    rows = np.arange(n) // width
    same_row = rows[:, None] == rows[None, :]
    diagonal = np.eye(n, dtype=bool)
    off = same_row & ~diagonal
    nonzero = np.abs(mine) > atol
    right_nonzero = np.abs(right) > atol
    g = probe.name
    if (bad & ~same_row).any() and not right_nonzero[~same_row].any():
        return probe.verdict("mixes rows",
                             f"{g} of one row depends on {name} of other rows, and it should not: each row is its own "
                             f"example. A reduction runs over the wrong axis: sum over axis=-1 (the features of one row) "
                             f"with keepdims=True, not over axis 0 or the whole array")
    if not right_nonzero[off].any():  # an element-wise op
        if (nonzero & off).any():
            return probe.verdict("mixes elements",
                                 f"{g}[i] depends on {name}[j] for j ≠ i, but the op is element-wise: "
                                 f"{g} = {name} · f'(x), element by element, with no sum")
        return None
    coupling = _term_named(probe, "coupling")
    diagonal_term = _term_named(probe, "diagonal")
    if not nonzero[off].any():
        look = f" Look at {coupling.name}: {coupling.where}" if coupling else ""
        rest = "" if not bad[diagonal].any() else " (and the diagonal entries are not right either)"
        return probe.verdict("diagonal only",
                             f"your Jacobian is diagonal: {g}[i] depends only on {name}[i], but within a row every output "
                             f"depends on every input (∂yᵢ/∂xⱼ ≠ 0 for i ≠ j){rest}: the coupling term is missing.{look}")
    if bad[off].any() and not bad[diagonal].any():
        look = f" Look at {coupling.name}: {coupling.where}" if coupling else ""
        return probe.verdict("coupling wrong",
                             f"the diagonal entries of your Jacobian (∂yᵢ/∂xᵢ) are right but the off-diagonal ones "
                             f"(i ≠ j, the coupling within a row) are not.{look}")
    if bad[diagonal].any() and not bad[off].any():
        look = f" Look at {diagonal_term.name}: {diagonal_term.where}" if diagonal_term else ""
        return probe.verdict("diagonal wrong",
                             f"the off-diagonal entries of your Jacobian (i ≠ j) are right but the diagonal ones (i = j, "
                             f"the δᵢⱼ part) are not.{look}")
    if np.allclose(np.where(same_row, mine, 0), np.where(same_row, right, 0).T, rtol=rtol, atol=atol):
        return probe.verdict("transposed Jacobian",
                             f"your Jacobian is the transpose of the right one: you computed J · {name} where the backward "
                             f"pass needs Jᵀ · {name}, that is dL/dxⱼ = Σᵢ (dL/dyᵢ)(∂yᵢ/∂xⱼ): sum over the output index i")
    return None


def _term_named(probe: Probe, role: str):
    if probe.exercise.terms is None:
        return None
    for term in probe.exercise.terms(probe.case):
        if term.output == probe.name and term.role == role:
            return term
    return None


# ---- 5. where the errors are -------------------------------------------------------------


def error_mask(probe: Probe, output: int | None = None):
    """The elements of one output that are wrong (NaN and inf count as wrong), or None."""
    index = probe.index if output is None else output
    got, expected = probe.got[index], probe.expected[index]
    try:
        got, expected = np.asarray(got), np.asarray(expected)
    except Exception:  # noqa: BLE001
        return None
    if got.shape != expected.shape or got.dtype.kind not in "biuf":
        return None
    if expected.dtype.kind in "biu":
        return got != expected
    got, expected = got.astype(np.float64), expected.astype(np.float64)
    rtol, atol = tolerance(expected, probe.dtype)
    with np.errstate(all="ignore"):
        same_inf = np.isinf(expected) & (got == expected)
        wrong = ~(np.abs(got - expected) <= atol + rtol * np.abs(np.where(np.isfinite(expected), expected, 0)))
    return wrong & ~same_inf


def _regions(probe: Probe):
    if probe.exercise.regions is None:
        return None
    wrong = error_mask(probe)
    if wrong is None or not wrong.any():
        return None
    fitting = []
    for region in probe.exercise.regions(probe.case):
        if region.output not in (None, probe.name) or np.shape(region.mask) != wrong.shape:
            continue
        mask = np.asarray(region.mask, dtype=bool)
        if not (wrong & ~mask).any():
            fitting.append((int(mask.sum()), region))
    if not fitting:
        return None
    _, region = min(fitting, key=lambda pair: pair[0])
    return probe.verdict(region.cause, f"{probe.name} is wrong only {region.message}")


def _localized(probe: Probe):
    wrong = error_mask(probe)
    if wrong is None or wrong.ndim < 1 or not wrong.any():
        return None
    g = probe.name
    if wrong.ndim >= 2:
        rows = np.flatnonzero(wrong.reshape(wrong.shape[0], -1).any(axis=1))
        if len(rows) < wrong.shape[0]:
            return probe.verdict("localized", f"only row{'s' if len(rows) > 1 else ''} {_list(rows)} of {g} "
                                              f"{'are' if len(rows) > 1 else 'is'} wrong; the other rows are right: "
                                              "look at what is special about those rows in the inputs")
        columns = np.flatnonzero(wrong.reshape(-1, wrong.shape[-1]).any(axis=0))
        if len(columns) < wrong.shape[-1]:
            return probe.verdict("localized", f"only column{'s' if len(columns) > 1 else ''} {_list(columns)} of {g} "
                                              f"{'are' if len(columns) > 1 else 'is'} wrong; the other columns are right")
    elif wrong.sum() < wrong.size:
        where = np.flatnonzero(wrong)
        return probe.verdict("localized", f"only {g}[{_list(where)}] {'are' if len(where) > 1 else 'is'} wrong; "
                                          "the other entries are right")
    return None


# ---- small helpers -----------------------------------------------------------------------


def _numeric(x) -> bool:
    try:
        return np.asarray(x).dtype.kind in "biuf"
    except Exception:  # noqa: BLE001
        return False


def _list(indices) -> str:
    indices = [int(i) for i in indices]
    return ", ".join(map(str, indices[:8])) + (", ..." if len(indices) > 8 else "")


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
