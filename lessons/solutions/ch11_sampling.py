"""Worked solutions of chapter 11's exercises (``tinygrad_ft.exercises``): top-k and top-p filtering.

Check them with ``tinygrad_ft.exercises.check(top_k_filter)`` and ``check(top_p_filter)``.
"""

import numpy as np


# np.partition puts the k-th largest value at index -k without sorting the rest. Every logit
# below it becomes -inf (probability e^{-inf} = 0); logits tied with it stay. k ≥ V: nothing to do.
def top_k_filter(logits, k):
    if k >= logits.size:
        return logits.copy()
    kth = np.partition(logits, -k)[-k]
    return np.where(logits < kth, -np.inf, logits)


# Sort largest first; the mass of the tokens before each one is the cumulative sum minus itself.
# A token is kept if that mass is below p: the likeliest token always (mass 0), and the one that
# crosses p. Then renormalise the kept probabilities.
def top_p_filter(probs, p):
    order = np.argsort(-probs, kind="stable")
    sorted_probs = probs[order]
    before = np.cumsum(sorted_probs) - sorted_probs
    kept = np.zeros_like(probs)
    keep = order[before < p]
    kept[keep] = probs[keep]
    return kept / kept.sum()
