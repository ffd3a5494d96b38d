"""Data for the course: plain text for pre-training (``text``) and labelled text for
fine-tuning a classifier (``labeled``). Everything here runs on the host with NumPy."""

from .labeled import TASKS, Example, Split, TextClassificationTask, load_sentiment, load_spam, load_task, stratified_split
from .text import TextBatches, get_batch, load_text, train_val_split

__all__ = [
    "TASKS",
    "Example",
    "Split",
    "TextBatches",
    "TextClassificationTask",
    "get_batch",
    "load_sentiment",
    "load_spam",
    "load_task",
    "load_text",
    "stratified_split",
    "train_val_split",
]
