"""Fine-tuning: padding-aware classification, freezing, LoRA, SFT loss masking, the command."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import functional as F
from tinygrad_ft.cli import main
from tinygrad_ft.finetune import (
    GPTClassifier,
    apply_lora,
    load_lora_state_dict,
    lora_state_dict,
    merge_lora,
    set_trainable,
    unmerge_lora,
)
from tinygrad_ft.finetune.classification import FinetuneConfig, train_classifier
from tinygrad_ft.finetune.data import IGNORE_INDEX, pad_batch, sft_batch, sft_example
from tinygrad_ft.finetune.lora import LoRALinear
from tinygrad_ft.finetune.sft import answer_length, answer_of, predict_by_generation
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.tokenizers import build_tokenizer
from tinygrad_ft.training.pretrain import TrainConfig, pretrain

CONFIG = dict(vocab_size=13, block_size=12, n_layer=2, n_head=2, n_embd=8)


def classifier(pooling="last", **kw):
    tg.manual_seed(0)
    return GPTClassifier(GPT(GPTConfig(**(CONFIG | kw))), num_classes=3, pooling=pooling)


def trained_lora_model():
    model = classifier()
    apply_lora(model.gpt, targets=("*.attn.c_attn", "*.mlp.c_fc"), rank=2, alpha=4)
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():
        if name.endswith("lora_B"):  # as if trained: B is no longer zero
            p.data = rng.standard_normal(p.shape).astype(p.dtype) * 0.1
    return model


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_padding_a_text_does_not_change_its_prediction(pooling):
    model = classifier(pooling)
    model.eval()
    short = [[3, 5, 7, 2]]
    ids, mask = pad_batch(short, pad_id=0)
    padded_ids, padded_mask = pad_batch(short + [[1] * 9], pad_id=0)
    alone = model(ids, mask).numpy()[0]
    with_padding = model(padded_ids, padded_mask).numpy()[0]
    np.testing.assert_allclose(alone, with_padding, atol=1e-6)


def test_pad_batch_pads_right_and_masks_real_tokens():
    ids, mask = pad_batch([[4, 5], [6]], pad_id=0)
    assert ids.tolist() == [[4, 5], [6, 0]]
    assert mask.tolist() == [[True, True], [True, False]]


def test_head_only_trains_just_the_head():
    model = classifier()
    counts = set_trainable(model, "head")
    assert counts["trainable"] == 8 * 3 + 3
    assert counts["total"] == model.num_parameters()
    assert all(not p.requires_grad for p in model.gpt.parameters())


def test_last_block_trains_the_last_block_final_norm_and_head():
    model = classifier()
    set_trainable(model, "last-block")
    trainable = {n.split(".")[1] if n.startswith("gpt.") else n.split(".")[0]
                 for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"blocks", "ln_f", "head"}
    assert not any(p.requires_grad for p in model.gpt.blocks[0].parameters())


def test_full_trains_everything():
    counts = set_trainable(classifier(), "full")
    assert counts["trainable"] == counts["total"]


def test_an_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match="head, last-block, full, lora"):
        set_trainable(classifier(), "everything")


def test_lora_starts_as_the_base_model():
    model = classifier()
    ids, mask = pad_batch([[1, 2, 3]], 0)
    before = model(ids, mask).numpy()
    set_trainable(model, "lora")
    np.testing.assert_allclose(model(ids, mask).numpy(), before, atol=1e-7)


def test_lora_freezes_base_weights_and_trains_adapters_and_head():
    model = classifier()
    set_trainable(model, "lora")
    for name, p in model.named_parameters():
        assert p.requires_grad == (name.endswith(("lora_A", "lora_B")) or name.startswith("head."))


def test_lora_gradients_match_central_differences():
    layer = LoRALinear(tg.nn.Linear(4, 3).to(dtype="float64"), rank=2, alpha=4)
    layer.lora_B.data = np.random.default_rng(0).standard_normal((2, 3))
    x = np.random.default_rng(1).standard_normal((5, 4))

    def f(a, b, x):
        layer.lora_A.data, layer.lora_B.data = a.data, b.data
        return (x @ layer.base.weight + layer.base.bias) + (x @ a) @ b * layer.scaling

    assert tg.gradcheck(f, layer.lora_A.data.copy(), layer.lora_B.data.copy(), x).ok
    out = layer(tg.Tensor(x))
    np.testing.assert_allclose(out.numpy(), f(layer.lora_A, layer.lora_B, tg.Tensor(x)).numpy(), atol=1e-12)


def test_a_merged_lora_model_gives_the_same_outputs_and_unmerging_restores_the_weights():
    model = trained_lora_model()
    model.eval()
    ids, mask = pad_batch([[1, 2, 3, 4], [5, 6]], 0)
    adapted = model(ids, mask).numpy()
    base_before = model.gpt.blocks[0].attn.c_attn.base.weight.data.copy()
    merge_lora(model)
    np.testing.assert_allclose(model(ids, mask).numpy(), adapted, atol=1e-5)
    unmerge_lora(model)
    np.testing.assert_allclose(model.gpt.blocks[0].attn.c_attn.base.weight.data, base_before, atol=1e-6)
    np.testing.assert_allclose(model(ids, mask).numpy(), adapted, atol=1e-5)


def test_lora_adapters_save_and_load_on_their_own():
    trained = trained_lora_model()
    state = lora_state_dict(trained)
    assert state
    assert all(k.endswith(("lora_A", "lora_B")) for k in state)
    fresh = classifier()
    apply_lora(fresh.gpt, targets=("*.attn.c_attn", "*.mlp.c_fc"), rank=2, alpha=4)
    load_lora_state_dict(fresh, state)
    fresh.head.weight.data, fresh.head.bias.data = trained.head.weight.data, trained.head.bias.data
    ids, mask = pad_batch([[1, 2, 3]], 0)
    np.testing.assert_allclose(fresh(ids, mask).numpy(), trained(ids, mask).numpy(), atol=1e-6)


def test_loading_adapters_of_another_rank_names_the_problem():
    state = lora_state_dict(trained_lora_model())
    other = classifier()
    apply_lora(other.gpt, targets=("*.attn.c_attn", "*.mlp.c_fc"), rank=3, alpha=4)
    with pytest.raises(ValueError, match="wrong shape"):
        load_lora_state_dict(other, state)


def test_sft_example_ignores_every_prompt_position():
    tok = build_tokenizer("char", "Text: abc\nSentiment: positive negative")
    inputs, targets = sft_example(tok, "abc", "positive", max_len=40)
    answer = tok.encode(" positive")
    assert len(inputs) == len(targets)
    assert targets[-len(answer):] == answer
    assert set(targets[: -len(answer)]) == {IGNORE_INDEX}


def test_sft_loss_counts_only_the_answer_tokens():
    tok = build_tokenizer("char", "Text: abc\nSentiment: positive negative")
    ids, targets, _ = sft_batch([sft_example(tok, "abc", "positive", 40), sft_example(tok, "ab", "negative", 40)], tok.pad_id)
    logits = tg.Tensor(np.random.default_rng(0).standard_normal(ids.shape + (tok.vocab_size,)))
    keep = targets != IGNORE_INDEX
    by_hand = F.cross_entropy(tg.Tensor(logits.numpy()[keep]), targets[keep]).item()
    assert abs(F.cross_entropy(logits, targets).item() - by_hand) < 1e-6


def test_answer_of_reads_the_first_word_as_a_class():
    assert answer_of(" Positive.", ["negative", "positive"]) == 1
    assert answer_of(" maybe", ["negative", "positive"]) is None


def test_generation_has_room_for_the_longest_class_name_and_end_of_text():
    from tinygrad_ft.models import load_pretrained
    from tinygrad_ft.paths import BPE_CHECKPOINT, data_path

    _, tok = load_pretrained(data_path(BPE_CHECKPOINT))
    assert len(tok.encode(" positive")) == 5  # p|o|s|it|ive: longer than a fixed budget of 4
    assert answer_length(tok, ["negative", "positive"]) == 6


def test_a_model_that_writes_the_longest_class_name_is_read_in_full():
    """A GPT forced to write " positive" then end-of-text: the whole word must fit the budget,
    and the end-of-text token is not read as part of the word."""
    from tinygrad_ft.models import load_pretrained
    from tinygrad_ft.paths import BPE_CHECKPOINT, data_path

    model, tok = load_pretrained(data_path(BPE_CHECKPOINT))
    script = tok.encode(" positive") + [tok.eot_id]

    class Scripted:  # writes the script, one token per call, whatever the prompt
        config = model.config

        def __init__(self):
            self.calls = 0

        def __call__(self, ids, targets=None):
            logits = np.full((1, ids.shape[1], tok.vocab_size), -10.0, dtype=np.float32)
            logits[0, -1, script[min(self.calls, len(script) - 1)]] = 10.0
            self.calls += 1
            return tg.Tensor(logits), None

        def parameters(self):
            return iter(model.parameters())

        def eval(self):
            return self

        def train(self, mode=True):
            return self

    predictions = predict_by_generation(Scripted(), tok, ["great food"], ["negative", "positive"], "Sentiment")
    assert predictions.tolist() == [1]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("pre")
    corpus = out / "c.txt"
    corpus.write_text("a fine day. a bad day! free prize, call now. " * 50)
    config = TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1, data_path=str(corpus), out_dir=str(out),
                         progress=False, tokenizer="char")
    return str(pretrain(GPTConfig(block_size=32, n_layer=1, n_head=1, n_embd=8), config, log=lambda *a: None).checkpoint)


def test_finetune_runs_and_saves_model_metrics_and_plot(tiny_checkpoint, tmp_path):
    result = train_classifier(FinetuneConfig(task="spam", method="lora", checkpoint=tiny_checkpoint, epochs=1, train_limit=40,
                                     out_dir=str(tmp_path), progress=False), log=lambda *a: None)
    assert 0 <= result["test_accuracy"] <= 1
    assert result["trainable_parameters"] < result["total_parameters"]
    assert {p.name for p in tmp_path.iterdir()} >= {"model.npz", "metrics.json", "confusion_matrix.png"}


def test_cli_finetune_prints_a_classification_report(tiny_checkpoint, tmp_path, capsys):
    assert main(["finetune", "--task", "sentiment", "--method", "head", "--checkpoint", tiny_checkpoint, "--epochs", "1",
                 "--train-limit", "20", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out
    assert "negative" in out
    assert "test accuracy" in out


def test_generating_from_a_classifier_checkpoint_says_what_it_is(tiny_checkpoint, tmp_path, capsys):
    train_classifier(FinetuneConfig(task="spam", method="head", checkpoint=tiny_checkpoint, epochs=1, train_limit=20,
                            out_dir=str(tmp_path), progress=False), log=lambda *a: None)
    assert main(["generate", "--checkpoint", str(tmp_path / "model.npz"), "--prompt", "a"]) == 1
    err = capsys.readouterr().err
    assert "is a fine-tuned classifier" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("field, value", [("epochs", 0), ("batch_size", 0), ("max_len", 0), ("last_n", 0), ("train_limit", 1)])
def test_finetune_config_refuses_numbers_that_cannot_train(field, value):
    with pytest.raises(ValueError, match=f"{field} \\(--{field.replace('_', '-')}\\) must be at least"):
        FinetuneConfig(**{field: value})


def test_cli_finetune_with_zero_epochs_ends_in_one_line(capsys):
    assert main(["finetune", "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert "epochs (--epochs) must be at least 1, got 0" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["finetune", "--task", "poems"], "unknown --task 'poems'; choose one of sentiment, spam"),
    (["finetune", "--method", "magic"], "unknown --method 'magic'; choose one of head, last-block, full, lora"),
])
def test_cli_finetune_bad_names_end_in_one_line_listing_the_choices(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
