"""Data loading: the text corpus and batches (datasets.text), the labelled tasks (datasets.labeled)."""

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from tinygrad_ft.datasets import (
    TextBatches,
    get_batch,
    load_sentiment,
    load_spam,
    load_task,
    load_text,
    train_val_split,
)
from tinygrad_ft.paths import SHAKESPEARE, data_dir, data_path

# ---- the bundled files are the ones SOURCE.md describes ------------------------------------


@pytest.mark.parametrize(
    "relpath, sha256",
    [
        ("tinyshakespeare/input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
        ("sentiment-labelled-sentences/imdb_labelled.txt", "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d"),
        ("sms-spam-collection/SMSSpamCollection", "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"),
    ],
)
def test_bundled_data_file_matches_its_source_md_hash(relpath, sha256):
    path = data_dir() / relpath
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


# ---- load_text ---------------------------------------------------------------------------------


def test_load_text_reads_the_bundled_corpus_whole():
    text = load_text(data_path(SHAKESPEARE))
    assert len(text) == 1_115_394
    assert text.startswith("First Citizen:")


def test_load_text_missing_file_names_it_and_points_to_the_corpus(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt.*tinyshakespeare"):
        load_text(tmp_path / "nope.txt")


def test_load_text_empty_file_is_a_value_error_naming_it(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        load_text(tmp_path / "empty.txt")


def test_load_text_bad_utf8_names_the_byte_offset(tmp_path):
    (tmp_path / "latin1.txt").write_bytes(b"caf" + "é".encode("latin-1") + b" au lait")
    with pytest.raises(ValueError, match=r"latin1.txt is not valid UTF-8: byte 0xe9 at byte offset 3"):
        load_text(tmp_path / "latin1.txt")


def test_load_text_keeps_crlf_line_endings(tmp_path):
    (tmp_path / "crlf.txt").write_bytes(b"a\r\nb\r\n")
    assert load_text(tmp_path / "crlf.txt") == "a\r\nb\r\n"


# ---- train_val_split and get_batch -----------------------------------------------------------


def test_train_val_split_is_contiguous_90_10():
    train, val = train_val_split(list(range(100)))
    assert train.tolist() == list(range(90))
    assert val.tolist() == list(range(90, 100))
    assert train.dtype == np.int64


def test_train_val_split_rejects_a_fraction_outside_0_1():
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(range(100), val_fraction=1.5)


def test_get_batch_targets_are_inputs_shifted_by_one():
    ids = np.arange(1000)
    x, y = get_batch(ids, batch_size=8, block_size=16, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (8, 16)
    assert x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)  # ids[i] == i, so the next token is x + 1


def test_get_batch_can_use_the_very_last_token():
    ids = np.arange(5)  # block_size 4: the only window is [0..3] -> [1..4]
    x, y = get_batch(ids, batch_size=3, block_size=4, rng=np.random.default_rng(0))
    assert x.tolist() == [[0, 1, 2, 3]] * 3
    assert y.tolist() == [[1, 2, 3, 4]] * 3


def test_get_batch_same_seed_same_batches():
    ids = np.arange(1000)
    a = get_batch(ids, 4, 8, np.random.default_rng(7))
    b = get_batch(ids, 4, 8, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])


def test_get_batch_too_short_data_says_how_long_it_must_be():
    with pytest.raises(ValueError, match="has 8 tokens.*block_size=8 needs at least 9"):
        get_batch(np.arange(8), 2, 8, np.random.default_rng(0))


def test_text_batches_resume_from_json_state_draws_the_same_batches():
    batches = TextBatches(np.arange(500), block_size=8, batch_size=4, seed=3)
    batches.get_batch("train")
    state = json.loads(json.dumps(batches.state_dict()))  # as it would be stored in a checkpoint
    expected = [batches.get_batch("train")[0].tolist() for _ in range(3)]
    resumed = TextBatches(np.arange(500), block_size=8, batch_size=4, seed=999)
    resumed.load_state_dict(state)
    assert [resumed.get_batch("train")[0].tolist() for _ in range(3)] == expected


def test_text_batches_val_batches_come_from_the_val_split():
    batches = TextBatches(np.arange(1000), block_size=8, batch_size=16)
    x, _ = batches.get_batch("val")
    assert x.min() >= 900


# ---- labelled tasks: counts ------------------------------------------------------------------


def test_sentiment_has_3000_sentences_1500_per_class():
    examples = load_sentiment()
    assert len(examples) == 3000
    assert Counter(e.label for e in examples) == {0: 1500, 1: 1500}
    assert Counter(e.source for e in examples) == {"amazon": 1000, "imdb": 1000, "yelp": 1000}


def test_sentiment_imdb_lines_with_u0085_parse_to_exactly_1000_rows():
    imdb = [e for e in load_sentiment() if e.source == "imdb"]
    assert len(imdb) == 1000
    assert sum("\x85" in e.text for e in imdb) == 2  # kept inside their sentences, not line breaks


def test_sentiment_strips_the_spaces_before_the_tab():
    assert not any(e.text.endswith(" ") for e in load_sentiment())


def test_spam_keeps_5171_distinct_texts_4518_ham_653_spam():
    examples = load_spam()
    assert len(examples) == len({e.text for e in examples}) == 5171
    assert Counter(e.label for e in examples) == {0: 4518, 1: 653}


# ---- labelled tasks: splits ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sentiment", "spam"])
def test_no_text_appears_in_two_splits(name):
    task = load_task(name)
    train, val, test = set(task.train.texts), set(task.val.texts), set(task.test.texts)
    assert not (train & val)
    assert not (train & test)
    assert not (val & test)


@pytest.mark.parametrize("name, total", [("sentiment", 3000), ("spam", 5171)])
def test_splits_together_hold_every_example(name, total):
    task = load_task(name)
    assert len(task.train) + len(task.val) + len(task.test) == total


@pytest.mark.parametrize("name", ["sentiment", "spam"])
def test_splits_are_stratified_80_10_10_within_one_per_class(name):
    task = load_task(name)
    splits = {"train": task.train, "val": task.val, "test": task.test}
    per_class = Counter(label for s in splits.values() for label in s.labels)
    for split, fraction in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        counts = Counter(splits[split].labels)
        for label, total in per_class.items():
            assert abs(counts[label] - fraction * total) <= 1, (split, label, counts[label], fraction * total)


def test_load_task_is_deterministic_within_a_run():
    a, b = load_task("spam"), load_task("spam")
    assert a.test.texts == b.test.texts
    assert a.train.labels == b.train.labels


def test_load_task_is_the_same_whatever_the_python_hash_seed():
    code = (
        "import hashlib, json; from tinygrad_ft.datasets import load_task; t = load_task('sentiment'); "
        "print(hashlib.sha256(json.dumps([t.train.texts, t.val.texts, t.test.texts]).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
    assert len(digests.pop().strip()) == 64


def test_load_task_class_names_and_sources():
    sentiment, spam = load_task("sentiment"), load_task("spam")
    assert sentiment.class_names == ["negative", "positive"]
    assert spam.class_names == ["ham", "spam"]
    assert set(sentiment.test.sources) == {"amazon", "imdb", "yelp"}


def test_load_task_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown task 'imdb'.*\['sentiment', 'spam'\]"):
        load_task("imdb")
