"""Worked solution of chapter 14's exercise (``tinygrad_ft.exercises``): the SFT collate.

Check it with ``tinygrad_ft.exercises.check(sft_collate)``.
"""

import numpy as np

IGNORE_INDEX = -100


# One example: seq = prompt + answer. Input position t predicts seq[t + 1], so the input is
# seq[:-1] and the targets seq[1:], with every target that is not an answer token set to -100:
# the first len(prompt) - 1 of them (the last prompt position predicts answer[0], which counts).
# Right padding: ids with pad_id, targets with -100 (ignored), mask False.
def sft_collate(examples, pad_id):
    rows = []
    for prompt, answer in examples:
        seq = list(prompt) + list(answer)
        rows.append((seq[:-1], [IGNORE_INDEX] * (len(prompt) - 1) + list(answer)))
    length = max(len(inputs) for inputs, _ in rows)
    ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    targets = np.full((len(rows), length), IGNORE_INDEX, dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=bool)
    for i, (inputs, target) in enumerate(rows):
        ids[i, : len(inputs)] = inputs
        targets[i, : len(target)] = target
        mask[i, : len(inputs)] = True
    return ids, targets, mask
