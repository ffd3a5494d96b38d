"""Small random GPT-2s in Hugging Face's format, built here (never downloaded), for the tests
against ``transformers`` and PEFT, which are skipped, visibly, where those are not installed.

``gpt2_tokenizer()`` is a byte-level BPE shaped like GPT-2's: its only special token,
``<|endoftext|>``, is the last id. ``save_random_gpt2(folder)`` writes a GPT2LMHeadModel with
random O(1) weights (GPT-2's 0.02 init gives near-uniform logits, a weak comparison) in float64,
and that tokenizer, with ``save_pretrained``, as a downloaded model folder looks.
"""

from __future__ import annotations

import json

from tinygrad_ft.datasets.text import load_text
from tinygrad_ft.paths import SHAKESPEARE, data_path

try:
    import torch
    import transformers
except ImportError:  # the comparisons with transformers are skipped, not failed
    torch = transformers = None

try:
    import peft
except ImportError:
    peft = None

import pytest

requires_transformers = pytest.mark.skipif(transformers is None or torch is None,
                                           reason="transformers or torch is not installed (pip install -e '.[hf-test]' torch)")
requires_peft = pytest.mark.skipif(peft is None or transformers is None,
                                   reason="peft is not installed (pip install -e '.[hf-peft]', after torch)")

VOCAB = 300  # 256 bytes, 43 merges, <|endoftext|> = 299
EOT = "<|endoftext|>"
SHAPE = dict(n_positions=16, n_embd=12, n_layer=2, n_head=3)


def gpt2_tokenizer():
    """A ``tokenizers.Tokenizer`` laid out like GPT-2's (byte-level BPE, end-of-text last)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    hf.train_from_iterator([load_text(data_path(SHAKESPEARE))[:20000]], trainer=trainer)
    hf.add_special_tokens([EOT])
    assert hf.token_to_id(EOT) == VOCAB - 1
    return hf


def save_gpt2_tokenizer(folder, files: str = "tokenizer.json") -> None:
    """The tokenizer as a download has it: tokenizer.json + tokenizer_config.json, or the
    original vocab.json + merges.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    hf = gpt2_tokenizer()
    if files == "tokenizer.json":
        hf.save(str(folder / "tokenizer.json"))
        config = {"eos_token": EOT, "bos_token": EOT, "unk_token": EOT, "tokenizer_class": "GPT2Tokenizer"}
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
    else:
        hf.model.save(str(folder))  # vocab.json (without the added token) and merges.txt
        vocab = json.loads((folder / "vocab.json").read_text())
        (folder / "vocab.json").write_text(json.dumps(vocab | {EOT: VOCAB - 1}))


def random_gpt2(tie: bool = True, seed: int = 0, vocab_size: int = VOCAB):
    """A GPT2LMHeadModel in float64 with random weights of order 1 (eval mode)."""
    config = transformers.GPT2Config(vocab_size=vocab_size, tie_word_embeddings=tie, bos_token_id=vocab_size - 1,
                                     eos_token_id=vocab_size - 1, **SHAPE)
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(config).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.4)
    return model


def save_random_gpt2(folder, tie: bool = True, tokenizer_files: str = "tokenizer.json"):
    """``random_gpt2`` saved with ``save_pretrained``, with a tokenizer; returns the torch model."""
    model = random_gpt2(tie)
    model.save_pretrained(folder)
    save_gpt2_tokenizer(folder, tokenizer_files)
    return model
