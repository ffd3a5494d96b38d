"""Exercises: write a piece of the library by hand, in plain NumPy, and have it checked.

Every chapter from 1 to 15 has at least one: the backward passes of chapters 2-9 (softmax,
activations, the dense layer, losses, attention, layer norm), and the pieces of the model and
its training (a stable softmax with temperature, a Value op, AdamW and its schedule, the causal
mask, a BPE merge, top-k and top-p, pooling, LoRA, the SFT collate, a device-agnostic op). You
fill in a stub and call ``check``. It tells you not just *whether* your function is wrong but
*what* is wrong: the shape, a transpose, a missing sum over the batch, a flipped sign, a factor
of the batch size, NaNs, a float64 that crept in, a formula that breaks in float32 or for large
inputs, and, by probing your function (``structure.py``), the term of the derivation that is
missing or wrong, a Jacobian that is diagonal only, a mask one position off, the edge case
where it fails. Calling the library's own implementation of the exercise is refused.

    from tinygrad_ft.exercises import check, for_chapter, stub
    print([e.name for e in for_chapter(2)])
    print(stub("softmax_backward"))
    check(softmax_backward)

Files: ``checker`` (comparing one result with the right one), ``structure`` (why it is wrong),
``runner`` (running your function in float64, float32 and on large inputs), ``guard`` (refusing
the library's own implementation), ``stubs`` (what you start from), ``backward`` and ``tasks``
(the exercises, their inputs and right results), ``catalog`` (all of them, and ``check``),
``value`` (chapter 4's scalar engine).
"""

from .catalog import EXERCISES, check, exercise, for_chapter, solution_file, stub
from .checker import KINDS, Diagnosis, diagnose, diagnose_outputs
from .runner import Exercise, run_exercise
from .structure import CAUSES
from .value import Value

__all__ = [
    "CAUSES", "EXERCISES", "KINDS", "Diagnosis", "Exercise", "Value", "check", "diagnose", "diagnose_outputs", "exercise",
    "for_chapter", "run_exercise", "solution_file", "stub",
]
