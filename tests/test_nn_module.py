"""Module: finding parameters by name, state_dict, freezing, modes, devices and printing."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import nn
from tinygrad_ft.backend import asarray, backend_of
from tinygrad_ft.optim import AdamW


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.attn = nn.MultiHeadAttention(width, 2)


class Net(nn.Module):
    def __init__(self, width=4, layers=2, vocab=7):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList([Block(width) for _ in range(layers)])
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(width, 3)

    def forward(self, ids):
        x = self.drop(self.wte(ids))
        for block in self.blocks:
            x = x + block.attn(block.ln(x))
        return self.head(x)


def test_named_parameters_have_dotted_names_through_module_lists():
    names = [name for name, _ in Net().named_parameters()]
    assert names[:3] == ["wte.weight", "blocks.0.ln.weight", "blocks.0.ln.bias"]
    assert "blocks.1.attn.c_attn.weight" in names
    assert names[-2:] == ["head.weight", "head.bias"]


def test_named_modules_and_get_submodule_walk_the_same_tree():
    model = Net()
    modules = dict(model.named_modules())
    assert modules[""] is model
    assert modules["blocks.1.attn.c_proj"] is model.get_submodule("blocks.1.attn.c_proj")
    with pytest.raises(AttributeError, match="no sub-module 'attention'"):
        model.get_submodule("blocks.0.attention")


def test_a_parameter_shared_by_two_modules_is_listed_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Linear.weight is a Parameter"):
        layer.weight = layer.weight * 2


def test_num_parameters_counts_every_number_or_only_trainable_ones():
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    assert model.num_parameters() == 4 * 3 + 3 + 3 + 3
    model[0].freeze()
    assert model.num_parameters(trainable_only=True) == 6


def test_freeze_all_but_a_pattern_and_unfreeze_a_submodule():
    model = Net()
    model.freeze(except_=["head"])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["head.weight", "head.bias"]
    model.unfreeze("blocks.1")
    assert model.blocks[1].attn.c_attn.weight.requires_grad
    assert not model.blocks[0].attn.c_attn.weight.requires_grad
    model.freeze("*.bias")
    assert not model.head.bias.requires_grad
    assert model.head.weight.requires_grad


def test_a_freeze_pattern_that_matches_nothing_is_an_error():
    with pytest.raises(ValueError, match=r"pattern 'haed' matches no parameter of Net; names look like: wte.weight"):
        Net().freeze(except_=["haed"])


def test_frozen_parameters_get_no_gradient_and_are_not_updated():
    model = Net()
    model.freeze("wte")
    opt = AdamW(model.parameters(), lr=0.1)
    before = model.wte.weight.numpy()
    model(np.array([[1, 2, 3]])).sum().backward()
    opt.step()
    assert model.wte.weight.grad is None
    assert model.head.weight.grad is not None
    np.testing.assert_array_equal(model.wte.weight.numpy(), before)


def test_state_dict_round_trip_gives_the_same_outputs_in_the_same_parameter_objects():
    tg.manual_seed(1)
    source = Net().eval()
    tg.manual_seed(2)
    target = Net().eval()
    weight = target.head.weight
    target.load_state_dict(source.state_dict())
    ids = np.array([[0, 3, 6]])
    np.testing.assert_array_equal(target(ids).numpy(), source(ids).numpy())
    assert target.head.weight is weight


def test_state_dict_is_a_snapshot_of_copies():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    model.weight.data += 1
    assert not np.array_equal(state["weight"], model.weight.data)


def test_load_state_dict_names_missing_unexpected_and_misshapen_keys_in_one_error():
    model = Net()
    state = model.state_dict()
    del state["head.bias"]
    state["head.extra"] = np.zeros(2)
    state["wte.weight"] = np.zeros((9, 4))
    before = model.blocks[0].ln.weight.numpy()
    state["blocks.0.ln.weight"] = np.full(4, 7.0)
    with pytest.raises(nn.StateDictError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing keys (in the model, not in the state_dict): head.bias" in message
    assert "unexpected keys (in the state_dict, not in the model): head.extra" in message
    assert "wte.weight: the model has (7, 4), the state_dict (9, 4)" in message
    np.testing.assert_array_equal(model.blocks[0].ln.weight.numpy(), before)  # nothing was loaded


def test_load_state_dict_not_strict_loads_what_fits_and_reports_the_rest():
    model = nn.Linear(2, 2)
    result = model.load_state_dict({"weight": np.eye(2), "scale": np.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"]
    assert result.unexpected_keys == ["scale"]
    np.testing.assert_array_equal(model.weight.numpy(), np.eye(2))


def test_load_state_dict_converts_dtype_and_device_explicitly():
    model = nn.Linear(2, 2).to("strict")
    model.load_state_dict({"weight": np.eye(2, dtype=np.float64), "bias": tg.Tensor([1.0, 2.0])})
    assert model.weight.dtype == np.float32
    assert backend_of(model.weight.data).name == "strict"
    np.testing.assert_array_equal(model.bias.numpy(), [1.0, 2.0])


def test_train_and_eval_switch_dropout_everywhere_below():
    model = Net()
    x = tg.ones((200,))
    assert model.eval() is model
    assert not model.drop.training
    assert not model.blocks[0].ln.training
    assert model.drop(x) is x
    model.train()
    dropped = model.drop(x).numpy()
    assert model.drop.training
    assert set(np.unique(dropped)) == {0.0, 2.0}


def test_to_a_device_keeps_the_parameter_objects_so_an_optimizer_stays_valid():
    model = Net()
    params = list(model.parameters())
    opt = AdamW(model.parameters())
    assert model.to("strict") is model
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert all(p.device == "strict" and backend_of(p.data).name == "strict" for p in params)
    model(asarray(np.array([[1, 2]]), "strict")).sum().backward()  # strict refuses any NumPy mixed in
    opt.step()


def test_to_a_dtype_casts_every_parameter():
    model = Net().to(dtype="float64")
    assert {p.dtype for p in model.parameters()} == {np.dtype("float64")}
    with pytest.raises(TypeError, match="must stay floating point"):
        model.to(dtype="int64")


def test_zero_grad_and_requires_grad():
    model = nn.Linear(2, 1)
    model(tg.ones((1, 2))).sum().backward()
    model.zero_grad()
    assert model.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_repr_prints_the_tree_like_pytorch():
    text = repr(Net())
    assert text.startswith("Net(\n  (wte): Embedding(7, 4)\n  (blocks): ModuleList(\n    (0): Block(\n")
    assert "(attn): MultiHeadAttention(\n        embed_dim=4, num_heads=2, causal=True\n" in text
    assert "(head): Linear(in_features=4, out_features=3, bias=True)\n)" in text


def test_module_list_refuses_what_is_not_a_module_and_has_no_forward():
    with pytest.raises(TypeError, match="holds modules, got int"):
        nn.ModuleList([1])
    with pytest.raises(TypeError, match="not a layer"):
        nn.ModuleList([nn.ReLU()])(tg.ones(2))


def test_parameter_is_a_float_leaf_that_requires_grad():
    p = nn.Parameter([1, 2])
    assert p.requires_grad
    assert p.is_leaf
    assert p.dtype == np.float32
    assert repr(p).startswith("Parameter(")
