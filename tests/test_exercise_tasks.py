"""The exercises beyond the backward passes, and the machinery they share: the refusal of the
library's own implementation, the references (checked against the library where it has the
function), the edge cases in the inputs, the derivation terms and nearby functions, the
scalar engine of chapter 4, and the structural diagnosis on its own."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ft import functional as F
from tinygrad_ft import nn
from tinygrad_ft.autograd import Tensor
from tinygrad_ft.exercises import CAUSES, EXERCISES, Diagnosis, Value, check, exercise, stub
from tinygrad_ft.exercises.backward import BACKWARD, plain_ops
from tinygrad_ft.exercises.guard import Forbidden, watch
from tinygrad_ft.exercises.runner import runs_of
from tinygrad_ft.exercises.structure import Probe, explain, jacobians
from tinygrad_ft.exercises.tasks import TASKS, adamw_reference, last_token_reference, mean_pool_reference, sft_reference
from tinygrad_ft.exercises.value import backward
from tinygrad_ft.finetune.classifier import GPTClassifier
from tinygrad_ft.finetune.data import sft_batch
from tinygrad_ft.models.generate import nucleus
from tinygrad_ft.optim import AdamW

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lessons"))  # the worked solutions: lessons/solutions


def verdict(fn, name):
    return check(fn, name, quiet=True)


def case_of(name, **variant):
    ex = exercise(name)
    return ex.draw(np.random.default_rng(ex.seed), **(variant or ex.variants[0]))


# ---- refusing the library's own implementation -------------------------------------------


def _cross_entropy_by_autograd(logits, targets):
    z = Tensor(logits, requires_grad=True)
    F.cross_entropy(z, targets).backward()
    return z.grad


def _adamw_by_the_library(param, grad, m, v, step, lr, betas, eps, weight_decay):
    p = nn.Parameter(param.copy())
    p.grad = grad.copy()
    AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay).step()
    return p.data, m, v


def _softmax_by_the_library(logits, temperature):
    return F.softmax(Tensor(logits / temperature)).numpy()


def _top_p_by_the_library(probs, p):
    return nucleus(probs, p)


def _attention_by_the_library(q, k, v):
    return F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), causal=True).numpy()


def _gelu_by_the_library(x):
    return F.gelu(Tensor(x)).data


def _helper_that_calls_softmax(z):  # the library reached through a helper of the student's
    return F.softmax(Tensor(z)).numpy()


REFUSED = [
    ("cross_entropy_backward", _cross_entropy_by_autograd),
    ("adamw_step", _adamw_by_the_library),
    ("softmax_with_temperature", _softmax_by_the_library),
    ("softmax_with_temperature", lambda logits, t: _helper_that_calls_softmax(logits / t)),
    ("top_p_filter", _top_p_by_the_library),
    ("causal_attention", _attention_by_the_library),
    ("gelu_xp", _gelu_by_the_library),
]


@pytest.mark.parametrize(("name", "fn"), REFUSED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(REFUSED)])
def test_calling_the_library_implementation_is_refused(name, fn):
    with plain_ops():  # the library's plain lines: no kernel to compile
        result = verdict(fn, name)
    assert (result.ok, result.kind) == (False, "refused")


def test_a_refusal_names_what_was_called():
    assert "softmax" in verdict(_softmax_by_the_library, "softmax_with_temperature").message


def test_watch_sees_a_forbidden_function_through_an_alias():
    alias = F.softmax
    _, calls = watch(lambda z: alias(Tensor(z)), (np.zeros((2, 3)),), (Forbidden("softmax", files=("functional/softmax.py",)),))
    assert calls == ["softmax"]


def test_watch_ignores_what_is_not_forbidden():
    _, calls = watch(lambda z: np.exp(z).sum(), (np.zeros(3),), (Forbidden("softmax", files=("functional/softmax.py",)),))
    assert calls == []


def test_watch_restores_the_previous_profiler():
    import sys

    before = sys.getprofile()
    watch(lambda: None, (), (Forbidden("x", names=("backward",)),))
    assert sys.getprofile() is before


# ---- the references agree with the library -----------------------------------------------


def test_the_adamw_reference_is_the_library_step_from_a_zero_state():
    rng = np.random.default_rng(1)
    param, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    p = nn.Parameter(param.copy())
    p.grad = grad.copy()
    AdamW([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1).step()
    mine, _, _ = adamw_reference(param, grad, np.zeros_like(param), np.zeros_like(param), 1, 0.05, (0.9, 0.999), 1e-8, 0.1)
    np.testing.assert_allclose(mine, p.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_the_pooling_references_are_the_classifier_pooling(pooling):
    case = case_of("mean_pool")
    hidden, mask = case["hidden"], case["mask"]
    stand_in = type("Pooling", (), {"pooling": pooling})()
    library = GPTClassifier.pool(stand_in, Tensor(hidden), mask)
    mine = mean_pool_reference(hidden, mask) if pooling == "mean" else last_token_reference(hidden, mask)
    np.testing.assert_allclose(mine, getattr(library, "data", library), rtol=1e-12)


def test_the_sft_reference_pads_as_the_library_batches():
    examples = case_of("sft_collate")["examples"]
    ids, targets, mask = sft_reference(examples, 1)
    pairs = [((p + a)[:-1], [-100] * (len(p) - 1) + a) for p, a in examples]
    for mine, library in zip((ids, targets, mask), sft_batch(pairs, 1)):
        np.testing.assert_array_equal(mine, library)


# ---- edge cases in the inputs ------------------------------------------------------------


def test_relu_inputs_include_exact_zeros():
    assert (case_of("relu_backward")["x"] == 0).any()


def test_gelu_inputs_include_exact_zeros():
    assert (case_of("gelu_backward")["x"] == 0).any()


def test_softmax_inputs_include_a_row_of_large_logits():
    assert np.abs(case_of("softmax_backward")["logits"]).max() > 20


def test_layer_norm_inputs_include_a_row_whose_variance_is_near_eps():
    assert case_of("layer_norm_backward")["x"].var(axis=1).min() < 1e-3


def test_relu_with_greater_or_equal_is_caught_at_zero():
    result = verdict(lambda x, d_out: d_out * (x >= 0), "relu_backward")
    assert result.cause == "edge case"


def test_adamw_inputs_include_a_parameter_that_never_had_a_gradient():
    case = case_of("adamw_step")
    assert ((case["grad"] == 0) & (case["v"] == 0)).any()


@pytest.mark.parametrize("name", ["causal_mask", "warmup_cosine_schedule", "top_k_filter", "bpe_merge"])
def test_exercises_with_cases_run_each_of_them(name):
    assert len(runs_of(exercise(name))) == len(exercise(name).variants) * len(exercise(name).dtypes)


# ---- the structure of the derivations ----------------------------------------------------


def _cases(ex):
    for variant in ex.variants:
        yield ex.draw(np.random.default_rng(ex.seed), **variant)


WITH_TERMS = [ex for ex in BACKWARD + TASKS if ex.terms is not None]
WITH_NEARBY = [ex for ex in BACKWARD + TASKS if ex.nearby is not None]


@pytest.mark.parametrize("ex", WITH_TERMS, ids=[ex.name for ex in WITH_TERMS])
def test_the_terms_of_a_derivation_add_up_to_the_right_result(ex):
    for case in _cases(ex):
        expected = ex.reference(case)
        for i, name in enumerate(ex.outputs):
            terms = [np.asarray(t.value) for t in ex.terms(case) if t.output == name]
            if terms:
                np.testing.assert_allclose(sum(terms), expected[i], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ex", WITH_NEARBY, ids=[ex.name for ex in WITH_NEARBY])
def test_every_nearby_function_differs_from_the_right_result_in_some_case(ex):
    differs = {}  # a nearby function may agree with the right one on an edge case (no warmup, T = 1), not on all
    for case in _cases(ex):
        expected = dict(zip(ex.outputs, ex.reference(case)))
        for near in ex.nearby(case):
            differs[near.message] = differs.get(near.message, False) or any(
                np.shape(v) != np.shape(expected[k]) or not np.allclose(v, expected[k], rtol=1e-9, atol=1e-12, equal_nan=True)
                for k, v in near.values.items())
    assert [m for m, d in differs.items() if not d] == []


def test_the_causes_of_the_catalogue_are_listed():
    assert {"missing term", "diagonal only", "missing factor", "mixes rows", "ignores the upstream gradient"} <= set(CAUSES)


def test_a_probe_reads_the_jacobian_of_the_softmax_backward():
    ex = exercise("softmax_backward")
    case = ex.draw(np.random.default_rng(0))
    args = ex.args(case)
    right = ex.reference(case)
    base = Diagnosis(False, "wrong values", "", "d_logits")
    probe = Probe(ex, lambda a: ex.reference({**case, "d_probs": a[1]}), case, args, right, right, 0, base)
    mine, reference = jacobians(probe)
    np.testing.assert_allclose(mine, reference)


def test_explain_finds_nothing_to_say_about_a_right_result():
    ex = exercise("layer_norm_backward")
    case = ex.draw(np.random.default_rng(0))
    right = ex.reference(case)
    base = Diagnosis(False, "wrong values", "", "d_x")
    probe = Probe(ex, lambda a: ex.reference({**case, "d_out": a[3]}), case, tuple(case.values()), right, right, 0, base)
    assert explain(probe) is None


def test_a_structural_diagnosis_keeps_the_kind_of_the_first_verdict():
    result = verdict(lambda probs, d_probs: probs * (1 - probs) * d_probs, "softmax_backward")
    assert (result.kind, result.cause) == ("wrong values", "diagonal only")


def test_a_structural_diagnosis_keeps_the_worst_element():
    result = verdict(lambda probs, d_probs: probs * (1 - probs) * d_probs, "softmax_backward")
    assert "the worst is d_logits[" in result.message


def test_the_repr_of_a_diagnosis_shows_its_cause():
    assert repr(Diagnosis(False, "wrong values", "m", "d_x", "missing term")) == "<Diagnosis ✗ wrong values: missing term (d_x)>"


def test_not_finite_advice_is_not_about_softmax_alone():
    result = verdict(lambda hidden, mask: np.full((4, 3), np.nan), "mean_pool")
    assert "a division by a sum or a count that can be 0" in result.message


# ---- the scalar engine of chapter 4 ------------------------------------------------------


def test_the_value_engine_adds_the_gradients_of_a_value_used_twice():
    a, b, c = Value(1.5), Value(-2.0), Value(4.0)
    loss = (a * b + c) * a.tanh()
    backward(loss)
    t = math.tanh(1.5)
    assert a.grad == pytest.approx(b.data * t + (1.5 * -2.0 + 4.0) * (1 - t * t))


def test_value_log_rejects_a_result_that_is_not_a_value():
    result = verdict(lambda a: math.log(a.data), "value_log")
    assert "not a Value" in result.message


# ---- the stubs ---------------------------------------------------------------------------


@pytest.mark.parametrize("ex", TASKS, ids=[ex.name for ex in TASKS])
def test_a_new_stub_states_the_math(ex):
    assert "Math:" in stub(ex.name)


@pytest.mark.parametrize("ex", TASKS, ids=[ex.name for ex in TASKS])
def test_a_new_exercise_refuses_some_library_implementation(ex):
    assert ex.name == "value_log" or any(f.files for f in ex.forbidden)


def test_the_verdict_of_an_exercise_with_cases_counts_them():
    from solutions.ch08_attention import causal_mask

    assert verdict(causal_mask, "causal_mask").message == "causal_mask is correct (all 2 cases)"


def test_every_exercise_is_in_the_catalog_once():
    assert len(EXERCISES) == len(BACKWARD) + len(TASKS)
