"""Training: the one training step, progress lines, and pre-training a GPT on a text corpus.

Files: ``step`` (``train_step``: forward, backward, clip, update, schedule; every loop and
benchmark calls it), ``progress`` (a tqdm bar and log lines), ``pretrain`` (next-token
prediction on a corpus, with evaluation, checkpoints and resuming).
"""

from .pretrain import TrainConfig, TrainResult, estimate_loss, make_optimizer, plot_loss_curve, pretrain
from .progress import Progress
from .step import next_token_loss, train_step

__all__ = [
    "Progress", "TrainConfig", "TrainResult", "estimate_loss", "make_optimizer", "next_token_loss", "plot_loss_curve",
    "pretrain", "train_step",
]
