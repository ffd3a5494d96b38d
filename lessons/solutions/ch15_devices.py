"""Worked solution of chapter 15's exercise (``tinygrad_ft.exercises``): a device-agnostic op.

Check it with ``tinygrad_ft.exercises.check(gelu_xp)``.
"""

import math

from tinygrad_ft import get_array_module


# xp is numpy for a host array and cupy for a GPU array: xp.tanh runs where x lives, and the
# result stays there. The constants are Python floats (math.sqrt), which keep float32 float32.
def gelu_xp(x):
    xp = get_array_module(x)
    c = math.sqrt(2 / math.pi)
    return 0.5 * x * (1 + xp.tanh(c * (x + 0.044715 * x * x * x)))
