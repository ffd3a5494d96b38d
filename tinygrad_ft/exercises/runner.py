"""Running a student's backward on an exercise's inputs, the way the checker does.

Each exercise runs your function several times on the same seeded numbers:

1. in float64 (once per variant, e.g. causal and not): is the math right?
2. in float32, with a float32 tolerance: does it keep the dtype, and is it still accurate
   with 7 significant digits instead of 16?
3. in float64 with large inputs (logits of ±1000, a mean of a million), where that matters:
   is it numerically stable?

It stops at the first problem and says in which run it happened. Your function gets copies
of the inputs; if it changes them in place, that is reported too (in an autograd engine the
same array may be used again by another op).
"""

from __future__ import annotations

import re
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checker import VALUE_KINDS, Diagnosis, diagnose_outputs


@dataclass(frozen=True)
class Exercise:
    """One backward pass to write by hand.

    - ``stub``: the source the student starts from (signature, docstring with the math hint).
    - ``outputs``: the names of the gradients it returns, in order (``("d_x", "d_W", "d_b")``).
    - ``draw(rng, large=False, **variant)``: the inputs, a dict in the stub's argument order
      (float64 arrays, integer targets, flags); seeded by ``rng``.
    - ``reference(case)``: the correct gradients, computed in float64 by the library's own op
      and its backward (with the random cotangent ``d_out`` drawn in ``case``).
    - ``args(case)``: the student's arguments, when they are not simply the case's values
      (softmax gets probabilities, computed from drawn logits).
    - ``large``: what the large-input run makes large, as "for logits as large as ±3000"
      (None: no such run).
    - ``batch_size(case)``, ``factors(case)``: the constant factors worth naming.
    """

    name: str
    chapter: int
    stub: str
    outputs: tuple
    draw: Callable
    reference: Callable
    args: Callable | None = None
    variants: tuple = ({},)
    large: str | None = None
    stability_hint: str | None = None
    batch_size: Callable | None = None
    factors: Callable | None = None
    also_in: tuple = ()
    seed: int = 0

    @property
    def signature(self) -> str:
        """``softmax_backward(probs, d_probs)``: the first line of the stub, without ``def``."""
        return re.search(r"def (\w+\(.*?\))", self.stub).group(1)

    @property
    def arg_names(self) -> tuple:
        inside = self.signature[self.signature.index("(") + 1 : -1]
        return tuple(a.strip() for a in inside.split(",") if a.strip())


@dataclass
class Run:
    """One run of the student's function: which dtype, which variant, large inputs or not."""

    dtype: str = "float64"
    variant: dict = field(default_factory=dict)
    large: bool = False

    def context(self, exercise: Exercise) -> str:
        """Which run this is, in words: "with causal=True, float32 inputs", "for logits as large as ±3000"."""
        parts = [f"{k}={v}" for k, v in self.variant.items()]
        if self.dtype != "float64":
            parts.append(f"{self.dtype} inputs")
        phrases = [f"with {', '.join(parts)}"] if parts else []
        if self.large:
            phrases.append(exercise.large)
        return ", ".join(phrases)


def runs_of(exercise: Exercise) -> list:
    runs = [Run("float64", v) for v in exercise.variants]
    runs += [Run("float32", v) for v in exercise.variants]
    if exercise.large:
        runs += [Run("float64", v, large=True) for v in exercise.variants]
    return runs


def run_exercise(fn, exercise: Exercise) -> tuple:
    """Run ``fn`` through every run of ``exercise``; return (Diagnosis, names of what passed)."""
    if not callable(fn):
        return Diagnosis(False, "not implemented", f"expected a function {exercise.signature}, got {type(fn).__name__}"), []
    for run in runs_of(exercise):
        result = run_once(fn, exercise, run)
        if not result.ok:
            return result, []
    passed = ["float64", "float32"] + (["large inputs"] if exercise.large else [])
    return Diagnosis(True, "correct", f"{exercise.name} is correct ({_and(passed)})"), passed


def run_once(fn, exercise: Exercise, run: Run) -> Diagnosis:
    rng = np.random.default_rng(exercise.seed)
    case = exercise.draw(rng, large=run.large, **run.variant)
    case = {k: _cast(v, run.dtype) for k, v in case.items()}
    expected = exercise.reference({k: _cast(v, "float64") for k, v in case.items()})
    args = exercise.args(case) if exercise.args else tuple(case.values())
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    before = tuple(a.copy() if isinstance(a, np.ndarray) else None for a in args)

    got, error = call_student(fn, args, exercise)
    if error is not None:
        return error
    context = run.context(exercise)
    result = diagnose_outputs(
        got, expected, exercise.outputs, dtype=run.dtype,
        batch_size=exercise.batch_size(case) if exercise.batch_size else None,
        factors=exercise.factors(case) if exercise.factors else (),
        finite_hint=exercise.stability_hint,
    )
    if not result.ok:
        return _in_context(result, run, context, exercise)
    for name, a, b in zip(exercise.arg_names, args, before):
        if b is not None and not np.array_equal(a, b, equal_nan=True):
            return Diagnosis(False, "modified an input",
                             f"{exercise.name} changed its argument `{name}` in place (with `{name} *= ...` or "
                             f"`{name}[...] = ...`): in an autograd engine the same array may be used by other ops, so "
                             "compute into a new array instead", name)
    return result


def call_student(fn, args, exercise: Exercise):
    """Call ``fn(*args)`` with NumPy's overflow warnings silenced; (result, None) or (None, Diagnosis)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args), None
    except NotImplementedError:
        return None, Diagnosis(False, "not implemented", "the stub still raises NotImplementedError: replace that line with "
                                                         "your code")
    except Exception as e:  # noqa: BLE001 (a student's bug is a verdict, not a crash)
        where = _student_line(fn, e)
        hint = f" (the checker calls {exercise.signature})" if isinstance(e, TypeError) else ""
        return None, Diagnosis(False, "raised an error", f"{exercise.name} raised {type(e).__name__}: {e}{where}{hint}")


def _student_line(fn, error) -> str:
    code = getattr(fn, "__code__", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if code and f.filename == code.co_filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f", at line {frame.lineno}" + (f": `{frame.line}`" if frame.line else "")


def _in_context(result: Diagnosis, run: Run, context: str, exercise: Exercise) -> Diagnosis:
    """Say in which run the problem showed, and relabel the kinds that only make sense there."""
    if run.dtype != "float64" and result.kind in VALUE_KINDS:
        return Diagnosis(False, "only correct in float64",
                         f"right for float64 inputs but not for {run.dtype} ones: {_sentence(result.message)} float32 keeps "
                         "about 7 "
                         "significant digits: look for a subtraction of nearly equal numbers or a finite-difference step "
                         "that rounds away", result.name)
    if run.large and result.kind in VALUE_KINDS:
        hint = f" {exercise.stability_hint}" if exercise.stability_hint else ""
        return Diagnosis(False, "unstable for large inputs",
                         f"right for ordinary inputs but not {exercise.large}: {_sentence(result.message)}{hint}", result.name)
    if context:
        result.message = f"{context}: {result.message}"
    return result


def _cast(value, dtype: str):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _and(items) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
