"""Gradient exercises: write a backward pass by hand, in plain NumPy, and have it checked.

In chapters 2 (softmax), 3 (activations), 5 (the dense layer), 6 (losses), 8 (attention) and
9 (layer norm) you fill in a stub and call ``check``. It tells you not just *whether* your
gradient is wrong but *what* is wrong: the shape, a transpose, a missing sum over the batch,
a flipped sign, a factor of the batch size, NaNs, a float64 that crept in, a formula that
breaks in float32 or for large inputs, or the worst element with both values.

    from tinygrad_ft.exercises import check, stub
    print(stub("softmax_backward"))
    check(softmax_backward)

Files: ``checker`` (comparing one gradient with the right one), ``runner`` (running your
function in float64, float32 and on large inputs), ``stubs`` (what you start from),
``catalog`` (the exercises, their inputs and reference gradients).
"""

from .catalog import EXERCISES, check, exercise, for_chapter, stub
from .checker import KINDS, Diagnosis, diagnose, diagnose_outputs
from .runner import Exercise, run_exercise

__all__ = [
    "EXERCISES", "KINDS", "Diagnosis", "Exercise", "check", "diagnose", "diagnose_outputs", "exercise",
    "for_chapter", "run_exercise", "stub",
]
