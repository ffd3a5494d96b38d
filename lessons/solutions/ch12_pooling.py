"""Worked solutions of chapter 12's exercises (``tinygrad_ft.exercises``): padding-aware pooling.

Check them with ``tinygrad_ft.exercises.check(mean_pool)`` and ``check(last_token_pool)``.
"""

import numpy as np


# The mask as weights (1 on real tokens, 0 on padding, in hidden's dtype), a weighted sum over
# time, divided by each row's number of real tokens: the padding's hidden states never count.
def mean_pool(hidden, mask):
    weights = mask.astype(hidden.dtype)
    total = (hidden * weights[:, :, None]).sum(axis=1)
    return total / weights.sum(axis=1, keepdims=True)


# With right padding the real tokens of row b are positions 0 .. n_b - 1, n_b = mask[b].sum():
# the last one is n_b - 1. Fancy indexing picks one position per row.
def last_token_pool(hidden, mask):
    last = mask.sum(axis=1) - 1
    return hidden[np.arange(hidden.shape[0]), last]
