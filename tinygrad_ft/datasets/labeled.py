"""Labelled text for fine-tuning a classifier: two small tasks from ``data/``.

``load_task("sentiment")``: 3,000 review sentences from Amazon, IMDb and Yelp, labelled
0 negative / 1 positive (500 of each per source).

``load_task("spam")``: SMS messages labelled 0 ham / 1 spam. The file has 5,574 lines but
only 5,171 distinct texts; we keep the first occurrence of each text *before* splitting,
otherwise a message could sit in both train and test and the test score would be flattering.

Both are split 80/10/10 into train/val/test, stratified (each split has the same share of
each class as the whole) and with a fixed seed: a NumPy generator over the files' own order,
so the split is the same on every run and machine whatever Python's hash seed is. Identical
texts always go to the same split (sentiment keeps its 18 duplicated sentences, in pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np  # host-side: shuffling indices for the split

from ..paths import SENTIMENT, SPAM, data_path

TASKS = ("sentiment", "spam")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test
SENTIMENT_SOURCES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}


@dataclass(frozen=True)
class Example:
    """One labelled text. ``source`` says where it came from (``"imdb"``, ``"sms"``, ...)."""

    text: str
    label: int
    source: str


@dataclass
class Split:
    """The examples of one split as parallel lists: ``texts[i]`` has label ``labels[i]``."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TextClassificationTask:
    """A task ready for fine-tuning: ``train``, ``val`` and ``test`` splits and the class names
    (``class_names[label]`` is the name of a label)."""

    name: str
    class_names: list[str]
    train: Split
    val: Split
    test: Split

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# ---- reading the files -------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    """The non-empty lines of a UTF-8 file, split on "\\n" only.

    Not ``str.splitlines()``: that also breaks at U+0085 (NEL) and other Unicode line
    separators, which occur *inside* some sentences here.
    """
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist; see {path.parent / 'SOURCE.md'} for where it comes from")
    return [line for line in path.read_bytes().decode("utf-8").split("\n") if line]


def load_sentiment(directory=None) -> list[Example]:
    """All 3,000 sentiment sentences, in file order (amazon, imdb, yelp).

    Each line is ``sentence<TAB>score``. We split on the *last* tab, strip the spaces that
    IMDb lines carry before it, and do no CSV quote handling (IMDb has unbalanced quotes).
    """
    directory = Path(directory) if directory is not None else data_path(SENTIMENT)
    examples = []
    for source, filename in SENTIMENT_SOURCES.items():
        path = directory / filename
        for number, line in enumerate(_read_lines(path), start=1):
            text, tab, score = line.rpartition("\t")
            if not tab or score not in ("0", "1"):
                raise ValueError(f"{path}, line {number}: expected 'sentence<TAB>0 or 1', got {line[:60]!r}")
            examples.append(Example(text.rstrip(" "), int(score), source))
    return examples


def load_spam(directory=None) -> list[Example]:
    """The 5,171 distinct SMS messages (first occurrence of each text kept), in file order."""
    directory = Path(directory) if directory is not None else data_path(SPAM)
    path = directory / "SMSSpamCollection"
    labels = {"ham": 0, "spam": 1}
    first: dict[str, Example] = {}  # dicts keep insertion order, so this is deterministic
    for number, line in enumerate(_read_lines(path), start=1):
        name, tab, text = line.partition("\t")
        if not tab or name not in labels:
            raise ValueError(f"{path}, line {number}: expected 'ham<TAB>text' or 'spam<TAB>text', got {line[:60]!r}")
        first.setdefault(text, Example(text, labels[name], "sms"))
    return list(first.values())


# ---- splitting ---------------------------------------------------------------------------


def stratified_split(examples: list[Example], fractions=SPLIT_FRACTIONS, seed: int = 0) -> tuple[list[Example], ...]:
    """Split into len(fractions) parts with each class's share kept (to within one example).

    Per class, in order of label: group identical texts, shuffle the groups with a seeded
    generator, then fill the later splits (val, test) to their exact target sizes, the rest
    going to the first (train). Each part is finally shuffled so classes are mixed.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    parts: list[list[Example]] = [[] for _ in fractions]
    for label in sorted({e.label for e in examples}):
        groups: dict[str, list[Example]] = {}
        for e in examples:
            if e.label == label:
                groups.setdefault(e.text, []).append(e)
        group_list = list(groups.values())
        total = sum(len(g) for g in group_list)
        targets = [round(total * f) for f in fractions]
        counts = [0 for _ in fractions]
        for i in rng.permutation(len(group_list)):
            group = group_list[i]
            # the first later split with room for the whole group; otherwise the first split
            k = next((k for k in range(1, len(parts)) if counts[k] + len(group) <= targets[k]), 0)
            parts[k].extend(group)
            counts[k] += len(group)
    return tuple([part[i] for i in rng.permutation(len(part))] for part in parts)


def stratified_subset(labels, n: int, rng) -> np.ndarray:
    """``n`` indices keeping the class proportions (at least one example of each class)."""
    chosen = []
    classes = np.unique(labels)
    for c in classes:
        members = np.flatnonzero(labels == c)
        k = max(1, round(n * len(members) / len(labels)))
        chosen.extend(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.sort(np.asarray(chosen[:n] if len(chosen) > n else chosen))


def _to_split(examples: list[Example]) -> Split:
    return Split([e.text for e in examples], [e.label for e in examples], [e.source for e in examples])


def load_task(name: str, seed: int = 0) -> TextClassificationTask:
    """A classification task by name (``"sentiment"`` or ``"spam"``), split 80/10/10."""
    if name == "sentiment":
        examples, class_names = load_sentiment(), ["negative", "positive"]
    elif name == "spam":
        examples, class_names = load_spam(), ["ham", "spam"]
    else:
        raise ValueError(f"unknown task {name!r}; choose one of {list(TASKS)}")
    train, val, test = stratified_split(examples, SPLIT_FRACTIONS, seed)
    return TextClassificationTask(name, class_names, _to_split(train), _to_split(val), _to_split(test))
