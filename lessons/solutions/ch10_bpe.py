"""Worked solutions of chapter 10's exercises (``tinygrad_ft.exercises``): one step of BPE.

Check them with ``tinygrad_ft.exercises.check(most_frequent_pair)`` and ``check(bpe_merge)``.
"""


# zip(ids, ids[1:]) yields every adjacent pair, the last one included, overlapping ones too.
# A dict remembers the order in which pairs were first seen, and max returns the first of
# several equal counts: ties go to the pair that occurs first.
def most_frequent_pair(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return max(counts, key=counts.get)


# Scan from the left; at a match emit the new id and skip both tokens (so [a, a, a] gives
# [new, a]: a token is merged at most once), else copy one token. Building a new list leaves
# the caller's ids unchanged.
def bpe_merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
