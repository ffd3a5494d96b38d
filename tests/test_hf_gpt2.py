"""GPT-2 in Hugging Face's format: imported models compute what transformers computes (float64,
1e-10), exported ones load in transformers as they are, and folders that are not GPT-2 are
refused by name. The random models are built here, never downloaded."""

import dataclasses
import json

import numpy as np
import pytest
from hf_models import EOT, SHAPE, VOCAB, gpt2_tokenizer, random_gpt2, requires_transformers, save_random_gpt2, torch, transformers
from safetensors.numpy import load_file, save_file

import tinygrad_ft as tg
from tinygrad_ft import hf
from tinygrad_ft.backend import to_numpy
from tinygrad_ft.cli import build_parser, main
from tinygrad_ft.models import GPT, GPTConfig, generate, load_pretrained
from tinygrad_ft.paths import BABY_CHECKPOINT, BPE_CHECKPOINT, data_path
from tinygrad_ft.tokenizers import HFTokenizer

TOL = 1e-10


@pytest.fixture(scope="module", params=[True, False], ids=["tied", "untied"])
def imported(request, tmp_path_factory):
    """(transformers' model, our import of its folder, the folder)."""
    folder = tmp_path_factory.mktemp("gpt2")
    if transformers is None or torch is None:
        pytest.skip("transformers or torch is not installed (pip install -e '.[hf-test]' torch)")
    theirs = save_random_gpt2(folder, tie=request.param)
    ours, tokenizer = hf.from_pretrained(folder, dtype="float64")
    return theirs, ours, folder


def batch(seed=0, B=3, T=16):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (B, T)), rng.integers(0, VOCAB, (B, T))


def their_loss(theirs, x, y):
    logits = theirs(torch.tensor(x)).logits
    return logits, torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), torch.tensor(y).reshape(-1))


# ---- import: the same numbers as transformers -----------------------------------------------------


@requires_transformers
def test_imported_logits_equal_transformers(imported):
    theirs, ours, _ = imported
    x, _ = batch()
    assert np.abs(ours(x)[0].numpy() - theirs(torch.tensor(x)).logits.detach().numpy()).max() < TOL


@requires_transformers
def test_imported_loss_equals_transformers(imported):
    theirs, ours, _ = imported
    x, y = batch(1)
    assert abs(ours(x, y)[1].item() - their_loss(theirs, x, y)[1].item()) < TOL


@requires_transformers
def test_imported_gradients_equal_transformers_for_every_parameter(imported):
    theirs, ours, _ = imported
    x, y = batch(2)
    ours.zero_grad()
    theirs.zero_grad()
    ours(x, y)[1].backward()
    their_loss(theirs, x, y)[1].backward()
    their_grads = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    worst = {}
    for name, p in ours.named_parameters():
        grad = to_numpy(p.grad).T if name == "lm_head.weight" else to_numpy(p.grad)
        worst[name] = np.abs(grad - their_grads[hf.hf_name(name)]).max()
    assert max(worst.values()) < TOL, worst


@requires_transformers
def test_imported_greedy_ids_equal_transformers_generate(imported):
    theirs, ours, _ = imported
    prompt = [5, 17, 42]
    their_ids = theirs.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False, pad_token_id=VOCAB - 1)
    assert generate(ours, prompt, max_new_tokens=12, temperature=0) == their_ids[0].tolist()


@requires_transformers
def test_a_left_padded_batch_gives_transformers_logits_on_the_real_tokens(imported):
    theirs, ours, _ = imported
    ids, _ = batch(3, B=2, T=10)
    real = np.ones((2, 10), dtype=bool)
    real[1, :4] = False
    positions = np.maximum(np.cumsum(real, axis=1) - 1, 0)
    mine = ours(ids, attention_mask=real, position_ids=positions)[0].numpy()
    their = theirs(torch.tensor(ids), attention_mask=torch.tensor(real).long(), position_ids=torch.tensor(positions))
    assert np.abs((mine - their.logits.detach().numpy())[real]).max() < TOL


@requires_transformers
def test_a_left_padded_batch_generates_transformers_greedy_ids(imported):
    theirs, ours, _ = imported
    prompts = [[5, 17, 42, 7], [9, 3]]
    ids = torch.tensor([prompts[0], [VOCAB - 1] * 2 + prompts[1]])  # left padding
    mask = torch.tensor([[1, 1, 1, 1], [0, 0, 1, 1]])
    their = theirs.generate(ids, attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=VOCAB - 1)
    their_rows = [their[0].tolist(), their[1, 2:].tolist()]
    assert generate(ours, prompts, max_new_tokens=6, temperature=0) == their_rows


@requires_transformers
def test_the_imported_tokenizer_gives_transformers_ids(imported):
    _, _, folder = imported
    text = "ROMEO: O, she doth teach the torches to burn bright!<|endoftext|>\nJULIET: é 😀"
    assert hf.load_hf_tokenizer(folder).encode(text) == transformers.AutoTokenizer.from_pretrained(folder)(text).input_ids


@requires_transformers
def test_top_p_keeps_the_tokens_transformers_keeps():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(50) * 3
    warper = transformers.generation.logits_process.TopPLogitsWarper(top_p=0.8)
    kept_by_them = np.isfinite(warper(None, torch.tensor(logits)[None]).numpy()[0])
    probs = np.exp(logits - logits.max())
    from tinygrad_ft.models.generate import nucleus
    np.testing.assert_array_equal(nucleus(probs / probs.sum(), 0.8) > 0, kept_by_them)


# ---- export: transformers loads what we write ------------------------------------------------------


@requires_transformers
@pytest.mark.parametrize("config", [dict(tie_weights=True), dict(tie_weights=False), dict(bias=False)],
                         ids=["tied", "untied", "no-bias"])
def test_an_exported_gpt_loads_in_transformers_with_the_same_logits(config, tmp_path):
    tg.manual_seed(0)
    ours = GPT(GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=3, n_embd=12, **config)).to(dtype="float64")
    rng = np.random.default_rng(0)
    for p in ours.parameters():
        p.data = rng.standard_normal(p.shape) * 0.4
    hf.save_pretrained(ours, HFTokenizer(gpt2_tokenizer()), tmp_path, dtype="float64")
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float64).eval()
    x, _ = batch(4)
    assert np.abs(ours.eval()(x)[0].numpy() - theirs(torch.tensor(x)).logits.detach().numpy()).max() < TOL


@requires_transformers
@pytest.mark.parametrize("checkpoint", [BABY_CHECKPOINT, BPE_CHECKPOINT], ids=["char", "bpe"])
def test_an_exported_tokenizer_loads_in_autotokenizer_with_the_same_ids(checkpoint, tmp_path):
    model, tokenizer = load_pretrained(data_path(checkpoint))
    hf.save_pretrained(model, tokenizer, tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    text = "ROMEO: O, she doth teach\nthe torches to burn bright! é 😀"
    assert theirs(text).input_ids == tokenizer.encode(text)


@requires_transformers
def test_the_exported_char_tokenizer_decodes_like_ours_without_special_tokens(tmp_path):
    model, tokenizer = load_pretrained(data_path(BABY_CHECKPOINT))
    hf.save_pretrained(model, tokenizer, tmp_path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    ids = tokenizer.encode("To be, é!") + [tokenizer.pad_id]
    assert theirs.decode(ids, skip_special_tokens=True) == tokenizer.decode(ids)


@requires_transformers
def test_the_shipped_bpe_model_exported_generates_the_same_greedy_ids_in_transformers(tmp_path):
    model, tokenizer = load_pretrained(data_path(BPE_CHECKPOINT))
    model.to(dtype="float64")
    hf.save_pretrained(model, tokenizer, tmp_path, dtype="float64")
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float64).eval()
    prompt = tokenizer.encode("ROMEO:")
    their_ids = theirs.generate(torch.tensor([prompt]), max_new_tokens=20, do_sample=False, pad_token_id=tokenizer.pad_id)
    assert generate(model, prompt, max_new_tokens=20, temperature=0) == their_ids[0].tolist()


# ---- round trips and refusals (no transformers needed) -----------------------------------------------


@pytest.fixture
def our_folder(tmp_path):
    """A GPT-2 folder written by us: a random tiny GPT and a GPT-2-like tokenizer."""
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=SHAPE["n_positions"], n_layer=2, n_head=3, n_embd=12, tie_weights=True))
    hf.save_pretrained(model, HFTokenizer(gpt2_tokenizer()), tmp_path / "gpt2")
    return tmp_path / "gpt2"


def test_export_then_import_gives_the_same_weights_exactly(our_folder):
    tg.manual_seed(0)
    original = GPT(GPTConfig(vocab_size=VOCAB, block_size=SHAPE["n_positions"], n_layer=2, n_head=3, n_embd=12, tie_weights=True))
    back, _ = hf.from_pretrained(our_folder)
    state = back.state_dict()
    assert all(np.array_equal(state[name], value) for name, value in original.state_dict().items())


def test_the_imported_tokenizer_has_gpt2s_special_ids(our_folder):
    _, tokenizer = hf.from_pretrained(our_folder)
    assert (tokenizer.eot_id, tokenizer.pad_id) == (VOCAB - 1, VOCAB - 1)


def test_the_end_of_text_token_is_encoded_as_one_special_id(our_folder):
    _, tokenizer = hf.from_pretrained(our_folder)
    assert tokenizer.encode(f"a{EOT}b")[1] == VOCAB - 1


def test_a_tokenizer_from_vocab_and_merges_gives_the_tokenizer_json_ids(tmp_path):
    from hf_models import save_gpt2_tokenizer

    save_gpt2_tokenizer(tmp_path / "json")
    save_gpt2_tokenizer(tmp_path / "files", files="vocab.json + merges.txt")
    text = "ROMEO: O, she doth teach the torches to burn bright!<|endoftext|>"
    assert hf.load_hf_tokenizer(tmp_path / "files").encode(text) == hf.load_hf_tokenizer(tmp_path / "json").encode(text)


def test_the_imported_dropout_rates_are_gpt2s(our_folder):
    config = json.loads((our_folder / "config.json").read_text())
    config |= {"embd_pdrop": 0.1, "attn_pdrop": 0.2, "resid_pdrop": 0.3}
    (our_folder / "config.json").write_text(json.dumps(config))
    model, _ = hf.from_pretrained(our_folder)
    assert (model.config.embd_pdrop, model.config.attn_pdrop, model.config.resid_pdrop) == (0.1, 0.2, 0.3)


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | changes))


def edit_weights(folder, edit):
    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize("field, value", [("model_type", "llama"), ("activation_function", "relu"), ("n_inner", 7),
                                          ("layer_norm_epsilon", 1e-6), ("scale_attn_by_inverse_layer_idx", True),
                                          ("n_embd", "twelve")])
def test_a_config_that_is_not_our_gpt2_is_refused_naming_the_field(our_folder, field, value):
    edit_config(our_folder, **{field: value})
    with pytest.raises(hf.HFFormatError, match=f"{field} is"):
        hf.from_pretrained(our_folder)


def test_a_folder_without_config_json_is_refused(tmp_path):
    tmp_path.joinpath("model.safetensors").write_bytes(b"")
    with pytest.raises(hf.HFFormatError, match="no config.json"):
        hf.from_pretrained(tmp_path)


def test_a_missing_weight_is_refused_naming_it(our_folder):
    edit_weights(our_folder, lambda t: t.pop("transformer.h.1.mlp.c_fc.bias"))
    with pytest.raises(hf.HFFormatError, match="'transformer.h.1.mlp.c_fc.bias' is missing"):
        hf.from_pretrained(our_folder)


def test_an_unexpected_weight_is_refused_naming_it(our_folder):
    edit_weights(our_folder, lambda t: t.update({"transformer.h.0.attn.q_proj.weight": np.zeros((12, 12), np.float32)}))
    with pytest.raises(hf.HFFormatError, match="transformer.h.0.attn.q_proj.weight"):
        hf.from_pretrained(our_folder)


def test_a_weight_of_the_wrong_shape_is_refused_naming_it_and_both_shapes(our_folder):
    edit_weights(our_folder, lambda t: t.update({"transformer.wpe.weight": np.zeros((8, 12), np.float32)}))
    with pytest.raises(hf.HFFormatError, match=r"wpe.weight has shape \(8, 12\), but config.json makes it \(16, 12\)"):
        hf.from_pretrained(our_folder)


def test_gpt2s_own_file_layout_loads_without_the_transformer_prefix_and_with_mask_buffers(our_folder):
    expected = hf.from_pretrained(our_folder)[0].state_dict()

    def as_openai_did(tensors):
        for key in list(tensors):
            tensors[key.removeprefix("transformer.")] = tensors.pop(key)
        tensors["h.0.attn.bias"] = np.ones((1, 1, 16, 16), np.float32)  # the causal mask, stored as a buffer
    edit_weights(our_folder, as_openai_did)
    state = hf.from_pretrained(our_folder)[0].state_dict()
    assert all(np.array_equal(state[name], value) for name, value in expected.items())


def test_a_pickled_checkpoint_is_refused_not_loaded(our_folder):
    (our_folder / "model.safetensors").unlink()
    (our_folder / "pytorch_model.bin").write_bytes(b"not even a pickle: it must never be opened")
    with pytest.raises(hf.HFFormatError, match="pytorch_model.bin, a pickle"):
        hf.from_pretrained(our_folder)


def test_a_tied_file_whose_head_differs_from_wte_is_refused(our_folder):
    edit_weights(our_folder, lambda t: t.update({"lm_head.weight": np.ones((VOCAB, 12), np.float32)}))
    with pytest.raises(hf.HFFormatError, match="lm_head.weight differs"):
        hf.from_pretrained(our_folder)


# ---- the command line --------------------------------------------------------------------------


def test_cli_import_hf_writes_a_checkpoint_that_generate_reads(our_folder, tmp_path, capsys):
    out = tmp_path / "gpt2.npz"
    assert main(["import-hf", str(our_folder), "--out", str(out)]) == 0
    assert main(["generate", "--checkpoint", str(out), "--prompt", "ROMEO:", "--max-tokens", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ROMEO:")


def test_cli_generate_reads_a_hugging_face_folder_directly(our_folder, capsys):
    assert main(["generate", "--checkpoint", str(our_folder), "--prompt", "ROMEO:", "--max-tokens", "4"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")


def test_cli_import_hf_of_a_folder_that_is_not_gpt2_is_a_one_line_error(our_folder, tmp_path, capsys):
    edit_config(our_folder, model_type="bert")
    assert main(["import-hf", str(our_folder), "--out", str(tmp_path / "x.npz")]) == 1
    assert "model_type is 'bert'" in capsys.readouterr().err


def test_cli_export_then_import_gives_the_shipped_model_back(tmp_path):
    assert main(["export", "--format", "hf", str(tmp_path / "bpe"), "--checkpoint", str(data_path(BPE_CHECKPOINT))]) == 0
    assert main(["import-hf", str(tmp_path / "bpe"), "--out", str(tmp_path / "bpe.npz")]) == 0
    back = load_pretrained(tmp_path / "bpe.npz")[0].state_dict()
    shipped = load_pretrained(data_path(BPE_CHECKPOINT))[0].state_dict()
    assert all(np.array_equal(back[name], value) for name, value in shipped.items())


def test_cli_export_writes_the_files_transformers_reads(tmp_path):
    assert main(["export", "--format", "hf", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json",
                                                         "tokenizer_config.json"]


def test_cli_export_of_an_unknown_format_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "--format", "onnx", str(tmp_path)]) == 2
    assert "--format" in capsys.readouterr().err


@pytest.mark.parametrize("command, config, positional", [("import-hf", hf.ImportConfig, ["gpt2/"]),
                                                         ("export", hf.ExportConfig, ["out/"])], ids=["import-hf", "export"])
def test_every_field_of_the_import_and_export_configs_is_a_flag_with_its_default(command, config, positional):
    args = build_parser().commands[command].parse_args(positional)
    fields = dataclasses.fields(config)
    assert {f.name: getattr(args, f.name) for f in fields} == {f.name: f.default for f in fields}


def test_random_gpt2_helper_builds_the_shape_the_tests_use():
    if transformers is None or torch is None:
        pytest.skip("transformers or torch is not installed (pip install -e '.[hf-test]' torch)")
    assert random_gpt2().config.n_embd == SHAPE["n_embd"]
