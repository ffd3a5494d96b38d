"""A sweep of bad inputs, as a new user would type them: every one ends in a clear error that
names the argument, flag or file and what was expected (for the CLI: one line on stderr, a
non-zero exit, no traceback), or in a documented, sensible result (the last tests here)."""

import re
import sys

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft import nn
from tinygrad_ft.cli import main
from tinygrad_ft.datasets import get_batch, load_task, load_text
from tinygrad_ft.finetune.classification import FinetuneConfig, train_classifier
from tinygrad_ft.finetune.classifier import GPTClassifier
from tinygrad_ft.models import GPT, GenerateConfig, GPTConfig, load_pretrained, preset
from tinygrad_ft.nn.checkpoint import OutputError, check_output_folder, export_weights, load_checkpoint
from tinygrad_ft.optim import SGD, AdamW, WarmupCosine, clip_grad_norm_
from tinygrad_ft.tokenizers import CharTokenizer, build_tokenizer
from tinygrad_ft.training import TrainConfig, pretrain


def t(*shape, dtype="float64"):
    return tg.Tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))


def tiny_gpt():
    return GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))


def linear_model():
    return nn.Linear(2, 2)


API_CASES = [
    # ---- tensors
    (lambda: tg.Tensor(np.array([1 + 2j])), TypeError, r"cannot make a tensor of dtype complex128"),
    (lambda: tg.Tensor(np.array([object()])), TypeError, r"cannot make a tensor of dtype object"),
    (lambda: tg.Tensor(np.array(["a"])), TypeError, r"cannot make a tensor of dtype <U1"),
    (lambda: tg.Tensor([[1.0, 2.0], [3.0]]), ValueError, r"cannot make an array from list"),
    (lambda: tg.Tensor([1.0], device="tpu"), tg.DeviceError, r"unknown device 'tpu'; choose one of \['cpu', 'cuda', 'strict'\]"),
    (lambda: tg.Tensor([1.0], dtype="float13"), TypeError, r"not a dtype: 'float13'"),
    (lambda: tg.Tensor([1, 2], requires_grad=True), TypeError, r"requires_grad=True needs a floating-point tensor"),
    (lambda: t(2, 3).backward(), RuntimeError, r"backward"),
    (lambda: t(2, 3) + t(4, 5), ValueError, r"add: shapes \(2, 3\) and \(4, 5\) do not broadcast"),
    (lambda: t(2, 3) @ t(4, 5), ValueError, r"matmul.*\(2, 3\).*\(4, 5\)"),
    (lambda: t(2, 3).reshape(7), ValueError, r"reshape.*\(2, 3\).*\(7,\)"),
    (lambda: t(2, 3).sum(axis=5), ValueError, r"axis 5"),
    (lambda: t(2, 3).transpose(0, 0), ValueError, r"transpose: axes"),
    (lambda: t(2, 3) + tg.Tensor([1.0], device="strict"), tg.DeviceError, r"cpu.*strict|strict.*cpu"),
    (lambda: t(2, 3)[5], IndexError, r"index 5"),
    (lambda: tg.set_default_dtype("int32"), TypeError, r"the default dtype must be floating point"),
    # ---- functional ops
    (lambda: F.softmax([1.0, 2.0]), TypeError, r"softmax: x must be a Tensor, got list"),
    (lambda: F.softmax(tg.Tensor([1, 2])), TypeError, r"softmax: x must be a floating-point tensor, got int64"),
    (lambda: F.log_softmax(tg.Tensor([1, 2])), TypeError, r"log_softmax: x must be a floating-point tensor"),
    (lambda: F.relu([1.0]), TypeError, r"relu: x must be a Tensor, got list"),
    (lambda: F.sigmoid(tg.Tensor([1, 2])), TypeError, r"sigmoid: x must be a floating-point tensor"),
    (lambda: F.tanh(np.ones(2)), TypeError, r"tanh: x must be a Tensor, got ndarray"),
    (lambda: F.gelu(t(2), approximate="fast"), ValueError, r"gelu: approximate must be 'tanh' or 'none', got 'fast'"),
    (lambda: F.leaky_relu(tg.Tensor([1, 2])), TypeError, r"leaky_relu: x must be a floating-point tensor"),
    (lambda: F.cross_entropy(tg.Tensor([[1, 2]]), [0]), TypeError, r"cross_entropy: logits must be a floating-point tensor"),
    (lambda: F.cross_entropy(t(2, 3), [0, 3]), ValueError, r"target 3 is out of range for 3 classes"),
    (lambda: F.cross_entropy(t(2, 3), [0, -2]), ValueError, r"target -2 is out of range"),
    (lambda: F.cross_entropy(t(2, 3), np.array([0.0, 1.0])), TypeError, r"targets must be integers, got dtype float64"),
    (lambda: F.cross_entropy(t(2, 3), [0, 1], label_smoothing=1.5), ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda: F.cross_entropy(t(2, 3), [0, 1], reduction="avg"), ValueError, r"reduction must be one of"),
    (lambda: F.cross_entropy(t(2, 3), [0, 1, 2]), ValueError, r"targets"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5, 1.5]), [0.0, 1.0]), ValueError, r"probs must lie in \[0, 1\].*1.5"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5, np.nan]), [0.0, 1.0]), ValueError, r"probs must lie in \[0, 1\].*nan"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5]), [0.0, 1.0]), ValueError, r"targets of shape \(2,\) do not match"),
    (lambda: F.binary_cross_entropy_with_logits(t(3), [0.0]), ValueError, r"targets of shape \(1,\) do not match"),
    (lambda: F.binary_cross_entropy_with_logits([0.0], [0.0]), TypeError, r"logits must be a Tensor, got list"),
    (lambda: F.mse_loss(t(4, 1), np.arange(4.0)), ValueError, r"mse_loss: targets of shape \(4,\) do not match .* \(4, 1\)"),
    (lambda: F.mse_loss(t(4), np.zeros(4), reduction="max"), ValueError, r"reduction must be one of"),
    (lambda: F.linear(tg.Tensor([[1, 2]]), t(2, 2)), TypeError, r"linear: x must be a floating-point tensor"),
    (lambda: F.linear(t(2, 3), t(4, 5)), ValueError, r"linear: x of shape \(2, 3\) .* weight of shape \(4, 5\)"),
    (lambda: F.layer_norm(t(2, 3), weight=t(4)), ValueError, r"layer_norm: weight has shape \(4,\), expected \(3,\)"),
    (lambda: F.layer_norm(tg.Tensor([[1, 2]])), TypeError, r"layer_norm: x must be a floating-point tensor"),
    (lambda: F.embedding([0, 9], t(4, 2)), ValueError, r"id 9 is out of range for an embedding table of 4 rows"),
    (lambda: F.embedding(np.array([0.5]), t(4, 2)), TypeError, r"must be integers"),
    (lambda: F.dropout(t(3), p=1.5), ValueError, r"p"),
    (lambda: F.scaled_dot_product_attention(t(1, 2, 4), t(1, 3, 5), t(1, 3, 4)), ValueError, r"do not fit"),
    # ---- layers
    (lambda: nn.Linear(0, 2), ValueError, r"Linear: in_features must be a positive integer, got 0"),
    (lambda: nn.Linear(2, -1), ValueError, r"Linear: out_features must be a positive integer, got -1"),
    (lambda: nn.Linear(2.5, 3), ValueError, r"Linear: in_features must be a positive integer, got 2.5"),
    (lambda: nn.Embedding(0, 4), ValueError, r"Embedding: num_embeddings must be a positive integer, got 0"),
    (lambda: nn.Linear(3, 2)(t(2, 4)), ValueError, r"expected an input whose last axis is 3"),
    (lambda: nn.Embedding(4, 2)(np.array([1.5])), TypeError, r"expected integer ids, got dtype float64"),
    (lambda: nn.MultiHeadAttention(10, 3), ValueError, r"10.*3"),
    (lambda: linear_model().load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(2)}), ValueError, r"weight"),
    (lambda: linear_model().load_state_dict({"weight": np.zeros((2, 2))}), ValueError, r"bias"),
    (lambda: linear_model().to("tpu"), tg.DeviceError, r"unknown device 'tpu'"),
    # ---- optimizers and schedules
    (lambda: SGD(linear_model().parameters(), lr=-1.0), ValueError, r"learning rate must be a number >= 0, got -1.0"),
    (lambda: AdamW(linear_model().parameters(), lr=float("nan")), ValueError, r"learning rate must be a number >= 0, got nan"),
    (lambda: AdamW(linear_model().parameters(), betas=(1.2, 0.9)), ValueError, r"betas must each be in \[0, 1\)"),
    (lambda: AdamW(linear_model().parameters(), eps=float("nan")), ValueError, r"eps must be >= 0"),
    (lambda: AdamW(linear_model().parameters(), weight_decay=-1.0), ValueError, r"weight_decay must be >= 0"),
    (lambda: AdamW([], lr=1e-3), ValueError, r"empty parameter list"),
    (lambda: AdamW(t(2), lr=1e-3), TypeError, r"not a single tensor"),
    (lambda: SGD([tg.Tensor([1, 2])], lr=0.1), TypeError, r"only floating-point tensors can be optimized"),
    (lambda: WarmupCosine(SGD(linear_model().parameters(), lr=0.1), warmup_steps=-1, total_steps=10), ValueError,
     r"warmup_steps and total_steps must be >= 0"),
    (lambda: clip_grad_norm_(linear_model().parameters(), -1.0), ValueError, r"max_norm"),
    # ---- the GPT
    (lambda: GPTConfig(n_embd=10, n_head=3), ValueError, r"n_embd \(10\) must be divisible by n_head \(3\)"),
    (lambda: GPTConfig(vocab_size=0), ValueError, r"vocab_size must be at least 1, got 0"),
    (lambda: GPTConfig(block_size=0), ValueError, r"block_size must be at least 1, got 0"),
    (lambda: GPTConfig.from_dict({"n_layers": 2}), ValueError, r"unknown keys \['n_layers'\]"),
    (lambda: tiny_gpt()(np.array([1, 2])), ValueError, r"expected token ids of shape \(batch, time\), got shape \(2,\)"),
    (lambda: tiny_gpt()(np.zeros((1, 2, 3), int)), ValueError, r"got shape \(1, 2, 3\)"),
    (lambda: tiny_gpt()(np.zeros((2, 0), int)), ValueError, r"at least one token, got ids of shape \(2, 0\)"),
    (lambda: tiny_gpt()([[1.5, 2.0]]), TypeError, r"expected integer ids, got dtype float"),
    (lambda: tiny_gpt()(np.zeros((1, 9), int)), ValueError, r"a sequence of 9 tokens is longer than block_size 8"),
    (lambda: tiny_gpt()([[1, 11]]), ValueError, r"id 11 is out of range"),
    (lambda: tiny_gpt()([[1, 2]], [[0, 11]]), ValueError, r"target 11 is out of range for 11 classes"),
    (lambda: tiny_gpt()([[1, 2], [3]]), ValueError, r"cannot make an array from list"),
    (lambda: preset("huge"), ValueError, r"unknown model preset 'huge'; choose one of baby, tiny, bpe, small"),
    (lambda: GPTClassifier(tiny_gpt(), 2, pooling="max"), ValueError, r"pooling must be one of"),
    (lambda: GPTClassifier(tiny_gpt(), 2)(np.array([[1, 2]]), np.array([[0, 0]])), ValueError,
     r"row 0 of attention_mask has no real token"),
    (lambda: GPTClassifier(tiny_gpt(), 2)(np.array([[1, 2]]), np.array([[1, 1, 1]])), ValueError,
     r"attention_mask of shape \(1, 3\) does not fit ids of shape \(1, 2\)"),
    # ---- tokenizers and data
    (lambda: build_tokenizer("word", "abc"), ValueError, r"unknown tokenizer kind 'word'; choose one of \['char', 'bpe'\]"),
    (lambda: CharTokenizer.from_text("abc").decode([99]), ValueError, r"99"),
    (lambda: load_task("poems"), ValueError, r"unknown task 'poems'; choose one of \['sentiment', 'spam'\]"),
    (lambda: load_text("/no/such/file.txt"), FileNotFoundError, r"text file /no/such/file.txt does not exist"),
    (lambda: load_text("/"), FileNotFoundError, r"is a directory, not a file"),
    (lambda: get_batch(np.arange(5), 2, 8, np.random.default_rng(0)), ValueError, r"block_size"),
    # ---- configs (the CLI's flags are their fields)
    (lambda: TrainConfig(max_iters=0), ValueError, r"max_iters \(--iters\) must be at least 1, got 0"),
    (lambda: TrainConfig(lr=float("inf")), ValueError, r"lr \(--lr\) must be a positive number, got inf"),
    (lambda: TrainConfig(lr=-1.0), ValueError, r"lr \(--lr\) must be a positive number, got -1.0"),
    (lambda: TrainConfig(tokenizer="word"), ValueError, r"unknown --tokenizer 'word'; choose one of char, bpe"),
    (lambda: TrainConfig(seed=-1), ValueError, r"seed \(--seed\) must be at least 0, got -1"),
    (lambda: TrainConfig(beta2=1.0), ValueError, r"beta2 \(--beta2\) must be a number at least 0 and below 1"),
    (lambda: FinetuneConfig(task="poems"), ValueError, r"unknown --task 'poems'; choose one of sentiment, spam"),
    (lambda: FinetuneConfig(lr=float("nan")), ValueError, r"lr \(--lr\) must be a positive number, got nan"),
    (lambda: FinetuneConfig(lora_rank=0), ValueError, r"lora_rank \(--lora-rank\) must be at least 1, got 0"),
    (lambda: FinetuneConfig(lora_targets=" , "), ValueError, r"lora_targets \(--lora-targets\) names no layer"),
    (lambda: GenerateConfig(max_tokens=-5), ValueError, r"max_tokens \(--max-tokens\) must be at least 0, got -5"),
    (lambda: GenerateConfig(temperature=float("nan")), ValueError, r"temperature \(--temperature\) must be a number"),
    (lambda: GenerateConfig(top_k=0), ValueError, r"top_k \(--top-k\) must be at least 1, got 0"),
    # ---- files
    (lambda: load_checkpoint("/no/such.npz"), ValueError, r"checkpoint /no/such.npz does not exist"),
    (lambda: load_checkpoint("/"), ValueError, r"checkpoint / is a folder, not a file"),
    (lambda: load_pretrained("/no/such.npz"), ValueError, r"checkpoint /no/such.npz does not exist"),
    (lambda: check_output_folder("/proc/no-such-folder", "--out"), OutputError, r"--out /proc/no-such-folder cannot be written"),
    (lambda: check_output_folder("/tmp/" + "x" * 300, "--out"), OutputError, r"is 300 bytes long; file systems allow 255"),
]


@pytest.mark.parametrize("call, error, message", API_CASES, ids=[f"api-{i:03d}" for i in range(len(API_CASES))])
def test_a_bad_api_call_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files a user might pass by mistake, and two real checkpoints (a language model, a classifier)."""
    root = tmp_path_factory.mktemp("bad")
    (root / "text.txt").write_text("hello, I am not a checkpoint\n")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.bin").write_bytes(b"\xff\xfe\x00\x01" * 8)
    (root / "folder").mkdir()
    (root / "a_file").write_text("x")
    (root / "short.txt").write_text("ab")
    corpus = root / "corpus.txt"
    corpus.write_text("a fine day. a bad day! free prize, call now. " * 50)
    config = TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1, data_path=str(corpus),
                         out_dir=str(root / "lm"), progress=False)
    lm = pretrain(GPTConfig(block_size=32, n_layer=1, n_head=1, n_embd=8), config, log=lambda *a: None).checkpoint
    export_weights(lm, root / "exported.npz")
    train_classifier(FinetuneConfig(task="spam", method="head", checkpoint=str(lm), epochs=1, train_limit=8,
                                    out_dir=str(root / "clf"), progress=False), log=lambda *a: None)
    return {"root": str(root), "text": str(root / "text.txt"), "empty": str(root / "empty.txt"),
            "binary": str(root / "binary.bin"), "folder": str(root / "folder"), "file": str(root / "a_file"),
            "corpus": str(corpus), "short": str(root / "short.txt"), "lm": str(lm), "exported": str(root / "exported.npz"),
            "classifier": str(root / "clf" / "model.npz"), "long": str(root / ("n" * 300))}


TINY = ["--config", "tiny", "--iters", "2", "--eval-iters", "1", "--no-progress", "--sample-tokens", "0"]
CLI_CASES = [
    # pretrain: every flag out of range, every file wrong
    (["pretrain", "--iters", "0"], r"--iters"),
    (["pretrain", "--iters", "-1"], r"--iters"),
    (["pretrain", "--iters", "abc"], r"--iters: invalid int value: 'abc'"),
    (["pretrain", "--iters", "2.5"], r"--iters: invalid int value: '2.5'"),
    (["pretrain", "--batch-size", "0"], r"--batch-size"),
    (["pretrain", "--lr", "nan"], r"--lr"),
    (["pretrain", "--lr", "-1"], r"--lr"),
    (["pretrain", "--lr", "0"], r"--lr"),
    (["pretrain", "--lr", "abc"], r"--lr: invalid float value: 'abc'"),
    (["pretrain", "--min-lr", "1"], r"--min-lr"),
    (["pretrain", "--min-lr", "-1"], r"--min-lr"),
    (["pretrain", "--warmup-iters", "-1"], r"--warmup-iters"),
    (["pretrain", "--beta1", "1"], r"--beta1"),
    (["pretrain", "--beta2", "-0.1"], r"--beta2"),
    (["pretrain", "--weight-decay", "-1"], r"--weight-decay"),
    (["pretrain", "--grad-clip", "nan"], r"--grad-clip"),
    (["pretrain", "--grad-clip", "-1"], r"--grad-clip"),
    (["pretrain", "--eval-interval", "0"], r"--eval-interval"),
    (["pretrain", "--eval-iters", "0"], r"--eval-iters"),
    (["pretrain", "--seed", "-1"], r"--seed"),
    (["pretrain", "--device", "tpu"], r"unknown device 'tpu'"),
    (["pretrain", "--tokenizer", "word"], r"--tokenizer 'word'; choose one of char, bpe"),
    (["pretrain", "--bpe-vocab-size", "0"], r"--bpe-vocab-size"),
    (["pretrain", "--config", "huge"], r"--config 'huge'; choose one of baby, tiny, bpe, small"),
    (["pretrain", *TINY, "--data", "/no/such.txt"], r"text file /no/such.txt does not exist"),
    (["pretrain", *TINY, "--data", "{folder}"], r"is a directory, not a file"),
    (["pretrain", *TINY, "--data", "{empty}"], r"is empty"),
    (["pretrain", *TINY, "--data", "{binary}"], r"is not valid UTF-8"),
    (["pretrain", *TINY, "--data", "{short}"], r"data_path \(--data\): the text .*short.txt is 2 tokens long"),
    (["pretrain", "--tokenizer", "bpe", "--bpe-vocab-size", "3"], r"--bpe-vocab-size\) must be at least 258, got 3"),
    (["pretrain", *TINY, "--out", "{file}"], r"--out.* is a file, not a folder"),
    (["pretrain", *TINY, "--out", "{file}/run"], r"lies under .*a_file, which is a file"),
    (["pretrain", *TINY, "--out", "{long}"], r"file systems allow 255"),
    (["pretrain", *TINY, "--out", "/proc/run"], r"cannot be written"),
    (["pretrain", *TINY, "--resume", "/no/such.npz"], r"checkpoint /no/such.npz does not exist"),
    (["pretrain", *TINY, "--resume", "{text}"], r"is not a checkpoint: a checkpoint is an .npz \(zip\) file"),
    (["pretrain", *TINY, "--resume", "{exported}"], r"holds no optimizer state"),
    (["pretrain", *TINY, "--resume", "{classifier}"], r"is not a pre-training checkpoint"),
    (["pretrain", "--unknown-flag"], r"unrecognized arguments: --unknown-flag"),
    # generate
    (["generate", "--checkpoint", "/no/such.npz"], r"checkpoint /no/such.npz does not exist"),
    (["generate", "--checkpoint", "{text}"], r"is not a checkpoint"),
    (["generate", "--checkpoint", "{folder}"], r"folder (has no config.json: not a Hugging Face model folder|is a folder)"),
    (["generate", "--checkpoint", "{classifier}"], r"is a fine-tuned classifier"),
    (["generate", "--max-tokens", "-5"], r"--max-tokens"),
    (["generate", "--temperature", "-1"], r"--temperature"),
    (["generate", "--temperature", "nan"], r"--temperature"),
    (["generate", "--top-k", "0"], r"--top-k"),
    (["generate", "--top-k", "2.5"], r"--top-k: invalid int value: '2.5'"),
    (["generate", "--seed", "-1"], r"--seed"),
    (["generate", "--prompt", ""], r"--prompt is empty"),
    (["generate", "--device", "tpu"], r"unknown device 'tpu'"),
    # finetune
    (["finetune", "--task", "poems"], r"--task 'poems'; choose one of sentiment, spam"),
    (["finetune", "--method", "magic"], r"--method 'magic'; choose one of head, last-block, full, lora"),
    (["finetune", "--epochs", "0"], r"--epochs"),
    (["finetune", "--batch-size", "0"], r"--batch-size"),
    (["finetune", "--max-len", "0"], r"--max-len"),
    (["finetune", "--lr", "nan"], r"--lr"),
    (["finetune", "--lr", "-0.1"], r"--lr"),
    (["finetune", "--weight-decay", "-1"], r"--weight-decay"),
    (["finetune", "--pooling", "max"], r"--pooling 'max'; choose one of last, mean"),
    (["finetune", "--last-n", "0"], r"--last-n"),
    (["finetune", "--train-limit", "1"], r"--train-limit"),
    (["finetune", "--seed", "-1"], r"--seed"),
    (["finetune", "--lora-rank", "0"], r"--lora-rank"),
    (["finetune", "--lora-alpha", "0"], r"--lora-alpha"),
    (["finetune", "--lora-targets", ","], r"--lora-targets"),
    (["finetune", "--device", "tpu"], r"unknown device 'tpu'"),
    (["finetune", "--checkpoint", "/no/such.npz", "--out", "{root}/ft"], r"checkpoint /no/such.npz does not exist"),
    (["finetune", "--checkpoint", "{text}", "--out", "{root}/ft"], r"is not a checkpoint"),
    (["finetune", "--checkpoint", "{lm}", "--out", "{file}"], r"--out.* is a file, not a folder"),
    (["finetune", "--checkpoint", "{lm}", "--out", "{file}/x"], r"which is a file, not a folder"),
    (["finetune", "--checkpoint", "{lm}", "--method", "last-block", "--last-n", "9", "--out", "{root}/ft"],
     r"last_n must be between 1 and 1, got 9"),
    (["finetune", "--checkpoint", "{lm}", "--method", "lora", "--lora-targets", "*.nothing", "--out", "{root}/ft"],
     r"no Linear layer matches \['\*.nothing'\]"),
    # the command itself
    (["bogus"], r"invalid choice: 'bogus'"),
]


@pytest.mark.parametrize("argv, message", CLI_CASES, ids=[f"cli-{i:03d}-{c[0][0]}" for i, c in enumerate(CLI_CASES)])
def test_a_bad_command_line_ends_in_one_line_naming_the_problem(argv, message, files, capsys):
    code = main([arg.format(**files) for arg in argv])
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert re.search(message, err), err


# ---- runs that go wrong: nothing is lost ----------------------------------------------------------


def test_a_diverging_run_stops_with_the_step_and_what_to_try(files, tmp_path, capsys):
    argv = ["pretrain", "--config", "tiny", "--iters", "40", "--eval-interval", "10", "--eval-iters", "1",
            "--lr", "1e9", "--grad-clip", "0", "--data", files["corpus"], "--out", str(tmp_path), "--no-progress"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"training diverged: the loss is (nan|inf) at step \d+; try a smaller learning rate", err)


def test_a_run_that_diverges_after_a_save_keeps_that_checkpoint(files, tmp_path, monkeypatch):
    pretrain_module = sys.modules["tinygrad_ft.training.pretrain"]
    real_step, calls = pretrain_module.train_step, []

    def nan_from_the_third_step(*args, **kwargs):
        calls.append(1)
        loss = real_step(*args, **kwargs)
        return loss * float("nan") if len(calls) >= 3 else loss

    monkeypatch.setattr(pretrain_module, "train_step", nan_from_the_third_step)
    config = TrainConfig(max_iters=6, batch_size=2, eval_interval=2, eval_iters=1, data_path=files["corpus"],
                         out_dir=str(tmp_path), progress=False)
    with pytest.raises(ValueError, match=r"the loss is nan at step 3; .* the last good checkpoint is .* \(step 2\)"):
        pretrain(preset("tiny"), config, log=lambda *a: None)
    assert load_checkpoint(tmp_path / "checkpoint.npz").meta["step"] == 2


def test_an_interrupted_run_says_no_checkpoint_was_written_yet(files, tmp_path, capsys, monkeypatch):
    pretrain_module = sys.modules["tinygrad_ft.training.pretrain"]

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain_module, "train_step", interrupt)
    code = main(["pretrain", *TINY, "--data", files["corpus"], "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 130
    assert "interrupted at step 1; no checkpoint was written yet" in err


def test_an_interrupted_run_names_its_last_checkpoint_and_how_to_resume(files, tmp_path, capsys, monkeypatch):
    pretrain_module = sys.modules["tinygrad_ft.training.pretrain"]

    real_step, calls = pretrain_module.train_step, []

    def interrupt_at_the_third_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(pretrain_module, "train_step", interrupt_at_the_third_step)
    code = main(["pretrain", "--config", "tiny", "--iters", "4", "--eval-interval", "2", "--eval-iters", "1",
                 "--no-progress", "--data", files["corpus"], "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 130
    assert f"the last good checkpoint is {tmp_path / 'checkpoint.npz'} (step 2); continue with --resume" in err


def test_a_stale_temporary_file_from_a_killed_save_is_removed(files, tmp_path):
    stale = tmp_path / "checkpoint.npz.tmp"
    stale.write_bytes(b"half a checkpoint")
    lines = []
    config = TrainConfig(max_iters=2, batch_size=2, eval_iters=1, data_path=files["corpus"], out_dir=str(tmp_path),
                         progress=False)
    pretrain(preset("tiny"), config, log=lines.append)
    assert not stale.exists()
    assert any("removed" in line and "checkpoint.npz.tmp" in line for line in lines)


def test_a_bad_output_folder_is_refused_before_training_starts(files, monkeypatch):
    pretrain_module = sys.modules["tinygrad_ft.training.pretrain"]

    monkeypatch.setattr(pretrain_module, "load_text", lambda *a: pytest.fail("work started before --out was checked"))
    with pytest.raises(OutputError):
        pretrain(preset("tiny"), TrainConfig(out_dir=files["file"], progress=False))


# ---- documented results: sensible answers, not errors ----------------------------------------------


def test_without_a_progress_bar_the_evaluation_lines_still_print(files, tmp_path, capsys):
    main(["pretrain", *TINY, "--data", files["corpus"], "--out", str(tmp_path)])
    assert "step 2: train loss" in capsys.readouterr().out


def test_without_matplotlib_pretraining_says_there_is_no_loss_curve(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.modules["tinygrad_ft.training.pretrain"], "plot_loss_curve", lambda *a: None)
    main(["pretrain", *TINY, "--data", files["corpus"], "--out", str(tmp_path)])
    assert "no loss curve: matplotlib is not installed" in capsys.readouterr().out


def test_after_pretraining_the_cli_says_how_to_sample_the_new_model(files, tmp_path, capsys):
    main(["pretrain", *TINY, "--data", files["corpus"], "--out", str(tmp_path)])
    assert f"tinygrad-ft generate --checkpoint {tmp_path / 'checkpoint.npz'}" in capsys.readouterr().out


def test_fine_tuning_prints_each_epochs_validation_accuracy(files, tmp_path, capsys):
    main(["finetune", "--task", "spam", "--method", "head", "--checkpoint", files["lm"], "--epochs", "2",
          "--train-limit", "8", "--out", str(tmp_path), "--no-progress"])
    assert "epoch 2: validation accuracy" in capsys.readouterr().out


def test_no_command_prints_the_help_and_succeeds(capsys):
    assert main([]) == 0


def test_cross_entropy_with_every_target_ignored_is_zero():
    assert float(F.cross_entropy(t(2, 3), [-100, -100]).data) == 0.0


def test_a_lora_run_saves_its_adapters_beside_the_model(files, tmp_path):
    result = train_classifier(FinetuneConfig(task="spam", method="lora", checkpoint=files["lm"], epochs=1, train_limit=8,
                                             out_dir=str(tmp_path), progress=False), log=lambda *a: None)
    assert tmp_path / "adapters.npz" in result["saved"]


def test_saved_adapters_hold_only_the_adapters_and_the_head(files, tmp_path):
    train_classifier(FinetuneConfig(task="spam", method="lora", checkpoint=files["lm"], epochs=1, train_limit=8,
                                    out_dir=str(tmp_path), progress=False), log=lambda *a: None)
    names = load_checkpoint(tmp_path / "adapters.npz").model_state
    assert all(name.endswith(("lora_A", "lora_B")) or name.startswith("head.") for name in names)


def test_lora_rank_is_a_flag(files, tmp_path, capsys):
    assert main(["finetune", "--task", "spam", "--method", "lora", "--lora-rank", "2", "--checkpoint", files["lm"],
                 "--epochs", "1", "--train-limit", "8", "--out", str(tmp_path), "--no-progress"]) == 0
    adapters = load_checkpoint(tmp_path / "adapters.npz").model_state
    assert adapters["gpt.blocks.0.attn.c_attn.lora_A"].shape[1] == 2


def test_a_gpt_whose_head_a_classifier_removed_refuses_to_score_tokens():
    gpt = tiny_gpt()
    GPTClassifier(gpt, 2)
    with pytest.raises(RuntimeError, match="has no language-model head"):
        gpt(np.array([[1, 2]]))


def test_last_pooling_reads_the_last_real_token_wherever_the_padding_is():
    model = GPTClassifier(tiny_gpt(), 2, pooling="last")
    hidden = tg.Tensor(np.arange(6.0).reshape(1, 3, 2))
    pooled = model.pool(hidden, np.array([[False, True, False]]))  # padding on both sides
    np.testing.assert_array_equal(pooled.numpy(), [[2.0, 3.0]])
