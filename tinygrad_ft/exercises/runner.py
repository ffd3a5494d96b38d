"""Running a student's function on an exercise's inputs, the way the checker does.

Each exercise runs your function several times on the same seeded numbers:

1. in float64 (once per variant, e.g. causal and not): is the math right?
2. in float32, with a float32 tolerance: does it keep the dtype, and is it still accurate
   with 7 significant digits instead of 16?
3. in float64 with large inputs (logits of ±1000, a mean of a million), where that matters:
   is it numerically stable?

It stops at the first problem and says in which run it happened. When a float64 result is
wrong, ``structure.explain`` probes your function to say *why* (a missing term, a diagonal-only
Jacobian, a mask one position off, ...). Your function gets copies of the inputs; if it
changes them in place, that is reported too (in an autograd engine the same array may be used
again by another op). It runs under a watch (``guard.py``): calling the library's own
implementation of what the exercise asks for is refused.
"""

from __future__ import annotations

import copy
import re
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checker import VALUE_KINDS, Diagnosis, diagnose_outputs
from .guard import LIBRARY_BACKWARD, watch
from .structure import Probe, explain


class Verdict(Exception):  # noqa: N818 (not an error: a verdict, raised from deep inside a custom call)
    """Raised by an exercise's ``call`` to give a verdict at once ("value_log returned a float")."""

    def __init__(self, diagnosis: Diagnosis):
        super().__init__(diagnosis.message)
        self.diagnosis = diagnosis


@dataclass(frozen=True)
class Exercise:
    """One function to write by hand: a backward pass, or a piece of the model or its training.

    - ``stub``: the source the student starts from (signature, docstring with the math hint).
    - ``outputs``: the names of the results it returns, in order (``("d_x", "d_W", "d_b")``).
    - ``draw(rng, large=False, **variant)``: the inputs, a dict in the stub's argument order
      (float64 arrays, integer targets, flags); seeded by ``rng``.
    - ``reference(case)``: the correct results, computed in float64 (by the library's own op
      and its backward where there is one, with the random cotangent ``d_out`` drawn in ``case``).
    - ``args(case)``: the student's arguments, when they are not simply the case's values
      (softmax gets probabilities, computed from drawn logits).
    - ``large``: what the large-input run makes large, as "for logits as large as ±3000"
      (None: no such run).
    - ``batch_size(case)``, ``factors(case)``: the constant factors worth naming.

    For the structural diagnosis (``structure.py``): ``cotangent`` (the argument that is the
    upstream gradient, probed with one-hot arrays), ``terms(case)``, ``nearby(case)`` and
    ``regions(case)`` (lists of ``Term``, ``Nearby``, ``Region``), and ``explain(probe)``, an
    exercise's own reading of the student's function (a ``Diagnosis`` or None).

    Other exercises: ``call(student, args, case)`` calls the student's function its own way
    (a learning-rate schedule at every step, a Value op on small graphs) and returns the
    results; ``exact``: the results are integers or booleans, compared entry by entry;
    ``dtypes``: the float dtypes to run in; ``context(case)``: the run in words, when the
    variant's own words would not do; ``forbidden``: the implementations the student's function
    may not call (``guard.Forbidden``); ``solution``: the module of ``lessons/solutions`` with
    the worked solution; ``order``: the outputs to check first (a state before what it updates).
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
    cotangent: str | None = None
    terms: Callable | None = None
    nearby: Callable | None = None
    regions: Callable | None = None
    explain: Callable | None = None
    call: Callable | None = None
    exact: bool = False
    dtypes: tuple = ("float64", "float32")
    context: Callable | None = None
    forbidden: tuple = (LIBRARY_BACKWARD,)
    solution: str = "gradient_exercises"
    order: tuple | None = None

    @property
    def summary(self) -> str:
        """The first line of the stub's docstring: what the function computes."""
        found = re.search(r'"""(.+)', self.stub)
        return found.group(1).strip() if found else self.name

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

    def context(self, exercise: Exercise, case: dict | None = None) -> str:
        """Which run this is, in words: "with causal=True, float32 inputs", "for logits as large as ±3000"."""
        if exercise.context is not None and case is not None:
            words = exercise.context(case)
            return words + (f", {self.dtype} inputs" if self.dtype != "float64" else "")
        parts = [f"{k}={v}" for k, v in self.variant.items()]
        if self.dtype != "float64":
            parts.append(f"{self.dtype} inputs")
        phrases = [f"with {', '.join(parts)}"] if parts else []
        if self.large:
            phrases.append(exercise.large)
        return ", ".join(phrases)


def runs_of(exercise: Exercise) -> list:
    runs = [Run(dtype, v) for dtype in exercise.dtypes for v in exercise.variants]
    if exercise.large:
        runs += [Run("float64", v, large=True) for v in exercise.variants]
    return runs


def passed_runs(exercise: Exercise) -> list:
    """The runs in words, for the verdict: "float64, float32 and large inputs", or "all 6 cases"."""
    if exercise.exact or exercise.dtypes == ("float64",):
        n = len(exercise.variants)
        return [f"all {n} cases" if n > 1 else "its case"]
    return list(exercise.dtypes) + (["large inputs"] if exercise.large else [])


def run_exercise(fn, exercise: Exercise) -> tuple:
    """Run ``fn`` through every run of ``exercise``; return (Diagnosis, names of what passed)."""
    if not callable(fn):
        return Diagnosis(False, "not implemented", f"expected a function {exercise.signature}, got {type(fn).__name__}"), []
    for run in runs_of(exercise):
        result = run_once(fn, exercise, run)
        if not result.ok:
            return result, []
    passed = passed_runs(exercise)
    return Diagnosis(True, "correct", f"{exercise.name} is correct ({_and(passed)})"), passed


# Verdicts worth explaining: the result is well formed but wrong (or NaN where it should not be).
EXPLAINED = ("wrong values", "off by a constant factor", "not finite", "wrong shape")


class Student:
    """The student's function, called under the guard: ``calls`` collects the forbidden
    implementations it called (by their labels), over every call."""

    def __init__(self, fn, forbidden=()):
        self.fn, self.forbidden, self.calls = fn, tuple(forbidden), set()

    def __call__(self, *args):
        result, calls = watch(self.fn, args, self.forbidden)
        self.calls.update(calls)
        return result


def invoke(student, exercise: Exercise, args, case):
    """The student's results for ``args``: a plain call, or the exercise's own way of calling."""
    return exercise.call(student, args, case) if exercise.call is not None else student(*args)


def as_outputs(got, n: int):
    """The student's results as a tuple of ``n`` (``(d_x,)`` and ``d_x`` alike), or None."""
    if n == 1:
        if isinstance(got, (tuple, list)) and len(got) == 1 and isinstance(got[0], np.ndarray):
            return (got[0],)
        return (got,)
    if isinstance(got, (tuple, list)) and len(got) == n:
        return tuple(got)
    return None


def run_once(fn, exercise: Exercise, run: Run) -> Diagnosis:
    rng = np.random.default_rng(exercise.seed)
    case = exercise.draw(rng, large=run.large, **run.variant)
    case = {k: _cast(v, run.dtype) for k, v in case.items()}
    case64 = {k: _cast(v, "float64") for k, v in case.items()}
    expected = exercise.reference(case64)
    args = exercise.args(case) if exercise.args else tuple(case.values())
    args = tuple(copy.deepcopy(a) if isinstance(a, (np.ndarray, list, dict)) else a for a in args)
    before = tuple(copy.deepcopy(a) if isinstance(a, (np.ndarray, list, dict)) else None for a in args)

    student = Student(fn, exercise.forbidden)
    got, error = call_student(student, args, exercise, case)
    if student.calls:
        return refusal(exercise, student.calls)
    context = run.context(exercise, case)
    if error is not None:
        if context and error.kind == "raised an error" and len(runs_of(exercise)) > 1:
            error.message = f"{context}: {error.message}"
        return error
    result = diagnose_outputs(
        got, expected, exercise.outputs, dtype=run.dtype,
        batch_size=exercise.batch_size(case) if exercise.batch_size else None,
        factors=exercise.factors(case) if exercise.factors else (),
        finite_hint=exercise.stability_hint, exact=exercise.exact, order=exercise.order,
    )
    if not result.ok and run.dtype == "float64" and not run.large and result.kind in EXPLAINED and result.cause is None:
        result = _explained(fn, exercise, case64, args, got, expected, result)
    if not result.ok:
        return _in_context(result, run, context, exercise)
    for name, a, b in zip(exercise.arg_names, args, before):
        if b is not None and not _unchanged(a, b):
            return Diagnosis(False, "modified an input",
                             f"{exercise.name} changed its argument `{name}` in place (with `{name} *= ...`, "
                             f"`{name}[...] = ...` or `{name}.append(...)`): the caller may use the same "
                             f"{'array' if isinstance(b, np.ndarray) else 'list'} again (in an autograd engine, another "
                             "op), so compute into a new one instead", name)
    return result


def refusal(exercise: Exercise, calls) -> Diagnosis:
    what = ", ".join(sorted(calls))
    return Diagnosis(False, "refused",
                     f"{exercise.name} calls {what}: that is the library's own implementation of what this exercise asks "
                     f"you to write, so the check refuses it. Write it yourself, in plain NumPy", None, "calls the library")


def _explained(fn, exercise, case, args, got, expected, base):
    outputs = as_outputs(got, len(exercise.outputs))
    if outputs is None or base.name not in exercise.outputs:
        return base
    index = exercise.outputs.index(base.name)

    def again(new_args):
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                new_args = tuple(copy.deepcopy(a) if isinstance(a, (np.ndarray, list)) else a for a in new_args)
                return as_outputs(invoke(Student(fn), exercise, new_args, case), len(exercise.outputs))
        except Exception:  # noqa: BLE001 (a probe that raises tells nothing)
            return None

    probe = Probe(exercise, again, case, args, outputs, expected, index, base, fn=fn)
    found = explain(probe)  # not `or`: a Diagnosis is falsy when it is a failure
    return base if found is None else found


def _unchanged(a, b) -> bool:
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=b.dtype.kind in "fc")
    try:
        return a == b
    except Exception:  # noqa: BLE001
        return True


def call_student(fn, args, exercise: Exercise, case: dict | None = None):
    """Call the student's function (``fn(*args)``, or the exercise's own way) with NumPy's
    overflow warnings silenced; (result, None) or (None, Diagnosis)."""
    student = fn if isinstance(fn, Student) else Student(fn)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return invoke(student, exercise, args, case), None
    except Verdict as v:
        return None, v.diagnosis
    except NotImplementedError:
        return None, Diagnosis(False, "not implemented", "the stub still raises NotImplementedError: replace that line with "
                                                         "your code")
    except Exception as e:  # noqa: BLE001 (a student's bug is a verdict, not a crash)
        where = _student_line(student.fn, e)
        hint = f" (the checker calls {exercise.signature})" if isinstance(e, TypeError) else ""
        if isinstance(e, ValueError) and any(w in str(e) for w in ("matmul", "broadcast", "shapes", "aligned")):
            hint = _shape_hint(str(e))
        found = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", str(e))
        if isinstance(e, IndexError) and found and found.group(1) == found.group(3):
            hint = (f": index {found.group(1)} on an axis of size {found.group(3)} is one past the end (the last valid "
                    f"index is {int(found.group(3)) - 1}): an off-by-one, such as a count used as a position")
        return None, Diagnosis(False, "raised an error", f"{exercise.name} raised {type(e).__name__}: {e}{where}{hint}")


def _shape_hint(message: str) -> str:
    """Advice for NumPy's "could not be broadcast" and matmul shape errors."""
    shapes = [tuple(int(n) for n in re.findall(r"\d+", found)) for found in re.findall(r"\(([\d, ]*)\)", message)]
    for a in shapes:
        for b in shapes:
            dropped = [k for k in range(len(a)) if a[:k] + a[k + 1:] == b]
            if len(a) == len(b) + 1 and dropped:
                return (f": shapes {a} and {b} do not broadcast, because a reduction (sum, mean, max) over axis "
                        f"{dropped[-1]} dropped that axis. Keep it with keepdims=True, so the result has shape "
                        f"{a[:dropped[-1]] + (1,) + a[dropped[-1] + 1:]} and broadcasts against {a}")
    return (": two arrays whose shapes do not fit. Write the shape next to each array: a gradient has the shape of what "
            "it differentiates, which fixes the order of each matmul and where a transpose (.T) goes")


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
                         f"that rounds away.{f' {exercise.stability_hint}' if exercise.stability_hint else ''}", result.name)
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
