"""Learning-rate schedules and parameter-group helpers."""

import math

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import nn
from tinygrad_ft.optim import (
    SGD,
    AdamW,
    ConstantLR,
    WarmupCosine,
    layerwise_lr_groups,
    transformer_layer_of,
    warmup_cosine_lr,
    weight_decay_groups,
)


@pytest.mark.parametrize("step, expected", [
    (0, 0.0),           # warmup starts from 0
    (5, 0.5),           # half-way through warmup: half the base lr
    (10, 1.0),          # warmup ends at the base lr
    (60, 0.55),         # half-way through the cosine: half-way between base and min
    (110, 0.1),         # the end: min_lr
    (500, 0.1),         # and it stays there
])
def test_warmup_cosine_lr_at_the_landmarks(step, expected):
    assert warmup_cosine_lr(step, 1.0, warmup_steps=10, total_steps=110, min_lr=0.1) == pytest.approx(expected, abs=1e-15)


def test_warmup_cosine_lr_follows_the_cosine_between_landmarks():
    lr = warmup_cosine_lr(35, 1.0, warmup_steps=10, total_steps=110, min_lr=0.1)
    assert lr == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.25)))


def test_warmup_cosine_without_warmup_starts_at_the_base_lr():
    assert warmup_cosine_lr(0, 3e-4, 0, 100) == 3e-4


def make_optimizer(lrs=(1e-3, 1e-4)):
    params = [tg.Tensor(np.ones(2), requires_grad=True) for _ in lrs]
    return SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0)


def test_warmup_cosine_scheduler_sets_each_groups_lr_from_its_own_base():
    opt = make_optimizer()
    scheduler = WarmupCosine(opt, warmup_steps=4, total_steps=20, min_lr=0.0)
    seen = []
    for _ in range(20):
        seen.append(scheduler.get_last_lr())
        opt.step()
        scheduler.step()
    for step, (a, b) in enumerate(seen):
        assert a == pytest.approx(warmup_cosine_lr(step, 1e-3, 4, 20))
        assert b == pytest.approx(warmup_cosine_lr(step, 1e-4, 4, 20))


def test_scheduler_state_dict_resumes_the_same_learning_rates():
    opt = make_optimizer()
    scheduler = WarmupCosine(opt, 4, 20, min_lr=1e-5)
    for _ in range(7):
        scheduler.step()
    saved = scheduler.state_dict()
    expected = [scheduler.step() or scheduler.get_last_lr() for _ in range(3)]

    fresh_opt = make_optimizer(lrs=(5.0, 5.0))  # the base lrs come from the saved state
    fresh = WarmupCosine(fresh_opt, 4, 20, min_lr=1e-5)
    fresh.load_state_dict(saved)
    assert [fresh.step() or fresh.get_last_lr() for _ in range(3)] == expected


def test_constant_lr_keeps_the_base_lr_and_can_start_lower():
    opt = make_optimizer()
    scheduler = ConstantLR(opt)
    for _ in range(3):
        scheduler.step()
    assert scheduler.get_last_lr() == [1e-3, 1e-4]
    scheduler = ConstantLR(make_optimizer(), factor=0.5, total_iters=2)
    assert scheduler.get_last_lr() == [5e-4, 5e-5]
    scheduler.step(), scheduler.step()
    assert scheduler.get_last_lr() == [1e-3, 1e-4]


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(5, 4)
        self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 4)) for _ in range(2)])
        self.head = nn.Linear(4, 3)


def test_weight_decay_groups_spare_biases_and_norm_weights():
    model = Tiny()
    decay, no_decay = weight_decay_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.1
    assert no_decay["weight_decay"] == 0.0
    decayed = sorted(names[id(p)] for p in decay["params"])
    assert decayed == ["blocks.0.1.weight", "blocks.1.1.weight", "head.weight", "wte.weight"]
    assert all(p.ndim == 1 for p in no_decay["params"])
    assert len(no_decay["params"]) == 7


def test_adamw_with_weight_decay_groups_leaves_biases_undecayed():
    model = Tiny()
    bias_before, weight_before = model.head.bias.numpy(), model.head.weight.numpy()
    opt = AdamW(weight_decay_groups(model, 0.5), lr=0.1)
    for p in model.parameters():
        p.grad = p.xp.zeros_like(p.data)
    opt.step()
    np.testing.assert_array_equal(model.head.bias.numpy(), bias_before)
    np.testing.assert_allclose(model.head.weight.numpy(), weight_before * (1 - 0.1 * 0.5), rtol=1e-6)


def test_transformer_layer_of_reads_gpt_names():
    assert transformer_layer_of("wte.weight") == 0
    assert transformer_layer_of("wpe.weight") == 0
    assert transformer_layer_of("blocks.3.attn.c_attn.weight") == 4
    assert transformer_layer_of("ln_f.weight") is None
    assert transformer_layer_of("lm_head.weight") is None


def test_layerwise_lr_groups_give_lower_layers_smaller_learning_rates():
    groups = layerwise_lr_groups(Tiny(), base_lr=1.0, decay=0.5)
    lr_of_layer = {g["layer"]: g["lr"] for g in groups}
    assert lr_of_layer == {0: 0.125, 1: 0.25, 2: 0.5, 3: 1.0}  # embeddings, block 0, block 1, head
    assert sum(len(g["params"]) for g in groups) == len(list(Tiny().parameters()))


def test_layerwise_lr_groups_can_also_split_weight_decay():
    groups = layerwise_lr_groups(Tiny(), base_lr=1.0, decay=0.5, weight_decay=0.1)
    head = [g for g in groups if g["layer"] == 3]
    assert sorted((g["weight_decay"], len(g["params"])) for g in head) == [(0.0, 1), (0.1, 1)]
    AdamW(groups)  # the groups are accepted as they are
