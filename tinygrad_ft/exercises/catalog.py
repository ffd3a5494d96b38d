"""The exercises of the lessons, and ``check`` to grade yours.

    from tinygrad_ft.exercises import check, stub
    print(stub("softmax_backward"))          # the stub to fill in, with the math in its docstring
    check(softmax_backward)                  # ✓ softmax_backward is correct (float64 and float32)

The backward passes (chapters 2-9) are in ``backward.py``, the other exercises (chapters 1, 4,
7, 8 and 10-15: the softmax with temperature, a Value op, AdamW and its schedule, the causal
mask, BPE, sampling, pooling, LoRA, the SFT collate, device-agnostic code) in ``tasks.py``.
"""

from __future__ import annotations

from .backward import BACKWARD
from .checker import Diagnosis
from .runner import Exercise, run_exercise
from .tasks import TASKS

_LIST = sorted(TASKS + BACKWARD, key=lambda e: e.chapter)  # stable: in a chapter, its new exercises first

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


def solution_file(name: str) -> str:
    """Where the worked solution of exercise ``name`` is, relative to the repository:
    ``lessons/solutions/<module>.py`` (a lesson can point there instead of importing it)."""
    return f"lessons/solutions/{exercise(name).solution}.py"


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
