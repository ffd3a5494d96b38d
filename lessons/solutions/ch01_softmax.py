"""Worked solution of chapter 1's exercise (``tinygrad_ft.exercises``): a stable softmax with temperature.

Check it with ``tinygrad_ft.exercises.check(softmax_with_temperature)``.
"""

import numpy as np


# pᵢ = e^{zᵢ/T} / Σⱼ e^{zⱼ/T}. Shifting a row by a constant c changes nothing (e^{-c} cancels
# between numerator and denominator), so shift each row by its own maximum: the largest exponent
# is then e⁰ = 1 and nothing overflows, even for logits of ±3000. The temperature divides the
# logits *before* the exponential (dividing the exponentials would cancel in the normalisation).
def softmax_with_temperature(logits, temperature):
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)
