"""LoRA adapters in PEFT's format, both ways, and merged: PEFT on transformers' GPT-2 computes
what our adapted GPT computes (float64, 1e-10). Skipped, visibly, without peft."""

import json

import numpy as np
import pytest
from hf_models import VOCAB, gpt2_tokenizer, peft, requires_peft, save_random_gpt2, torch, transformers

import tinygrad_ft as tg
from tinygrad_ft import hf
from tinygrad_ft.backend import to_numpy
from tinygrad_ft.cli import main
from tinygrad_ft.finetune.classifier import GPTClassifier, set_trainable
from tinygrad_ft.finetune.lora import apply_lora, lora_layers, merge_lora
from tinygrad_ft.models import GPT, GPTConfig
from tinygrad_ft.nn.checkpoint import save_checkpoint
from tinygrad_ft.tokenizers import HFTokenizer

TOL = 1e-10
TARGETS = ("*.attn.c_attn", "*.attn.c_proj", "*.mlp.c_fc")  # not mlp.c_proj: target_modules must tell the two c_proj apart


def adapted(model, seed=0):
    """LoRA on ``model`` with random (nonzero) A and B, so the adapters change the logits."""
    tg.manual_seed(seed)
    apply_lora(model, targets=TARGETS, rank=2, alpha=3.0)
    rng = np.random.default_rng(seed)
    for layer in lora_layers(model):
        layer.lora_A.data = rng.standard_normal(layer.lora_A.shape) * 0.5
        layer.lora_B.data = rng.standard_normal(layer.lora_B.shape) * 0.5
    return model


@pytest.fixture
def base(tmp_path):
    """(the folder of a random GPT-2, its transformers model, our import of it)."""
    if transformers is None or torch is None:
        pytest.skip("transformers or torch is not installed (pip install -e '.[hf-test]' torch)")
    theirs = save_random_gpt2(tmp_path / "base")
    return tmp_path / "base", theirs, hf.from_pretrained(tmp_path / "base", dtype="float64")[0]


def ids(seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (2, 16))


@requires_peft
def test_our_adapter_loads_in_peft_with_the_same_logits(base, tmp_path):
    folder, theirs, ours = base
    adapted(ours)
    hf.save_peft_adapter(ours, tmp_path / "adapter", base_model_name_or_path=str(folder))
    with_adapter = peft.PeftModel.from_pretrained(theirs, tmp_path / "adapter").eval()
    x = ids()
    assert np.abs(ours(x)[0].numpy() - with_adapter(torch.tensor(x)).logits.detach().numpy()).max() < TOL


@requires_peft
def test_peft_merged_equals_our_merged_export_loaded_in_transformers(base, tmp_path):
    folder, theirs, ours = base
    adapted(ours)
    hf.save_peft_adapter(ours, tmp_path / "adapter", base_model_name_or_path=str(folder))
    hf.save_pretrained(ours, None, tmp_path / "merged", dtype="float64")
    peft_merged = peft.PeftModel.from_pretrained(theirs, tmp_path / "adapter").merge_and_unload().eval()
    ours_merged = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "merged", dtype=torch.float64).eval()
    x = torch.tensor(ids(1))
    assert (peft_merged(x).logits - ours_merged(x).logits).abs().max().item() < TOL


@requires_peft
def test_an_adapter_written_by_peft_loads_into_our_gpt_with_the_same_logits(base, tmp_path):
    folder, theirs, ours = base
    config = peft.LoraConfig(r=2, lora_alpha=5, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True, lora_dropout=0.0,
                             task_type="CAUSAL_LM")
    with_adapter = peft.get_peft_model(theirs, config)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in with_adapter.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn_like(p) * 0.5)
    with_adapter.save_pretrained(tmp_path / "adapter")
    names = hf.load_peft_adapter(ours, tmp_path / "adapter")
    x = ids(2)
    assert len(names) == 4
    assert np.abs(ours(x)[0].numpy() - with_adapter.eval()(torch.tensor(x)).logits.detach().numpy()).max() < TOL


# ---- without peft: the files themselves -------------------------------------------------------------


def tiny_gpt():
    tg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=3, n_embd=12, tie_weights=True)).to(dtype="float64")


def test_an_adapter_saved_then_loaded_gives_the_same_model(tmp_path):
    ours = adapted(tiny_gpt())
    hf.save_peft_adapter(ours, tmp_path)
    back = tiny_gpt()
    hf.load_peft_adapter(back, tmp_path)
    assert np.abs(back(ids())[0].numpy() - ours(ids())[0].numpy()).max() < TOL


def test_the_adapter_config_names_each_adapted_layer_in_gpt2s_names(tmp_path):
    hf.save_peft_adapter(adapted(tiny_gpt()), tmp_path)
    targets = json.loads((tmp_path / "adapter_config.json").read_text())["target_modules"]
    assert targets == sorted(f"transformer.h.{i}.{m}" for i in range(2) for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc"))


def test_the_merged_state_equals_the_adapted_model(tmp_path):
    ours = adapted(tiny_gpt())
    plain = tiny_gpt()
    plain.load_state_dict(hf.merged_state_dict(ours))
    assert np.abs(plain(ids())[0].numpy() - ours(ids())[0].numpy()).max() < TOL


def test_a_merged_model_exports_the_same_weights_as_an_unmerged_one(tmp_path):
    ours = adapted(tiny_gpt())
    unmerged = hf.merged_state_dict(ours)
    merge_lora(ours)
    assert all(np.abs(to_numpy(v) - to_numpy(unmerged[k])).max() < 1e-14 for k, v in hf.merged_state_dict(ours).items())


def test_the_base_state_leaves_the_adapters_out(tmp_path):
    ours = adapted(tiny_gpt())
    np.testing.assert_array_equal(hf.base_state_dict(ours)["blocks.0.attn.c_attn.weight"], tiny_gpt().state_dict()[
        "blocks.0.attn.c_attn.weight"])


def test_a_model_without_lora_has_no_adapter_to_save(tmp_path):
    with pytest.raises(ValueError, match="no LoRA layers"):
        hf.save_peft_adapter(tiny_gpt(), tmp_path)


def test_an_adapter_of_another_kind_is_refused_naming_its_type(tmp_path):
    hf.save_peft_adapter(adapted(tiny_gpt()), tmp_path)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    (tmp_path / "adapter_config.json").write_text(json.dumps(config | {"peft_type": "IA3"}))
    with pytest.raises(ValueError, match="peft_type is 'IA3'"):
        hf.load_peft_adapter(tiny_gpt(), tmp_path)


def lora_classifier_checkpoint(folder, tie_weights: bool):
    """A LoRA classifier checkpoint as ``tinygrad-ft finetune --method lora`` writes one, and the
    GPT checkpoint it was fine-tuned from; returns (the classifier, its base GPT)."""
    tg.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=3, n_embd=12, tie_weights=tie_weights))
    tokenizer = HFTokenizer(gpt2_tokenizer())
    base_meta = {"kind": "pretrain", "model_config": gpt.config.to_dict(), "tokenizer": tokenizer.to_json()}
    save_checkpoint(folder / "base.npz", gpt.state_dict(), base_meta)
    base = GPT(gpt.config)
    base.load_state_dict(gpt.state_dict())
    classifier = GPTClassifier(gpt, 2, pooling="mean")
    set_trainable(classifier, "lora", lora_rank=2, lora_alpha=3.0)
    for layer in lora_layers(classifier):
        layer.lora_B.data = np.random.default_rng(0).standard_normal(layer.lora_B.shape).astype(layer.lora_B.dtype)
    meta = base_meta | {"kind": "classifier", "class_names": ["ham", "spam"],
                        "finetune_config": {"method": "lora", "pooling": "mean", "checkpoint": str(folder / "base.npz"),
                                            "lora_rank": 2, "lora_alpha": 3.0}}
    save_checkpoint(folder / "model.npz", classifier.state_dict(), meta)
    return classifier, base


@pytest.mark.parametrize("tie_weights", [True, False], ids=["tied", "untied"])
def test_an_exported_lora_classifier_is_its_gpt_with_the_adapters_merged(tie_weights, tmp_path):
    classifier, base = lora_classifier_checkpoint(tmp_path, tie_weights)
    hf.export_checkpoint(tmp_path / "out", hf.ExportConfig(checkpoint=str(tmp_path / "model.npz")))
    exported, _ = hf.from_pretrained(tmp_path / "out")
    merge_lora(classifier)
    classifier.gpt.lm_head = base.lm_head  # the classifier dropped it; the export takes the base checkpoint's
    assert np.abs(exported(ids())[0].numpy() - classifier.gpt(ids())[0].numpy()).max() < 1e-5


def test_cli_export_of_a_lora_classifier_writes_the_merged_model_the_adapter_and_the_head(tmp_path, capsys):
    lora_classifier_checkpoint(tmp_path, tie_weights=True)
    assert main(["export", "--format", "hf", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "model.npz")]) == 0
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["adapter/adapter_config.json", "adapter/adapter_model.safetensors", "base/config.json",
                       "base/model.safetensors", "base/tokenizer.json", "base/tokenizer_config.json", "classifier_head.json",
                       "classifier_head.safetensors", "config.json", "model.safetensors", "tokenizer.json",
                       "tokenizer_config.json"]
