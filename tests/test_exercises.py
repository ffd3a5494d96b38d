"""The exercises: the checker accepts every worked solution, and recognises each classic
mistake (planted below, one per test) by its kind and a telling message. The broad catalogue
of planted mistakes is ``test_exercise_diagnoses.py``; the new exercises' own behaviour
(refusals, references, edge cases) is ``test_exercise_tasks.py``."""

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ft.exercises import EXERCISES, check, diagnose, for_chapter, solution_file, stub

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lessons"))
S = importlib.import_module("solutions.gradient_exercises")


def verdict(fn, name):
    return check(fn, name, quiet=True)


def solution(name):
    return getattr(importlib.import_module(f"solutions.{EXERCISES[name].solution}"), name)


# ---- the catalog, the solutions, the stubs -----------------------------------------------

BY_CHAPTER = {
    1: ["softmax_with_temperature"],
    2: ["softmax_backward", "cross_entropy_backward"],
    3: ["sigmoid_backward", "tanh_backward", "relu_backward", "gelu_backward"],
    4: ["value_log"],
    5: ["linear_backward"],
    6: ["mse_backward", "binary_cross_entropy_with_logits_backward"],
    7: ["adamw_step", "warmup_cosine_schedule"],
    8: ["causal_mask", "causal_attention", "attention_backward"],
    9: ["layer_norm_backward"],
    10: ["most_frequent_pair", "bpe_merge"],
    11: ["top_k_filter", "top_p_filter"],
    12: ["mean_pool", "last_token_pool"],
    13: ["lora_forward", "lora_backward", "lora_merge"],
    14: ["sft_collate"],
    15: ["gelu_xp"],
}


@pytest.mark.parametrize("chapter", sorted(BY_CHAPTER))
def test_each_chapter_lists_its_exercises_in_order(chapter):
    assert [e.name for e in for_chapter(chapter)] == BY_CHAPTER[chapter]


def test_every_exercise_belongs_to_a_listed_chapter():
    assert set(EXERCISES) == {name for names in BY_CHAPTER.values() for name in names}


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_worked_solution_is_accepted(name):
    result = verdict(solution(name), name)
    assert result.ok, str(result)
    assert result.kind == "correct"


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_worked_solution_lives_in_its_named_file(name):
    assert (ROOT / solution_file(name)).is_file()


@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_unfilled_stub_is_reported_as_not_implemented(name):
    namespace = {}
    exec(stub(name), namespace)  # noqa: S102 (our own stub text)
    result = verdict(namespace[name], name)
    assert (result.ok, result.kind) == (False, "not implemented")


def test_check_prints_a_one_line_verdict(capsys):
    check(S.softmax_backward)  # the exercise is found by the function's name
    assert capsys.readouterr().out.strip() == "✓ softmax_backward is correct (float64 and float32)"
    check(lambda probs, d_probs: -S.softmax_backward(probs, d_probs), "softmax_backward")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("✗ softmax_backward: wrong sign — ")


def test_an_unknown_exercise_name_lists_the_exercises():
    with pytest.raises(ValueError, match="softmax_backward"):
        check(S.softmax_backward, "softmax_backwards")


# ---- planted mistakes: shape -------------------------------------------------------------


def test_wrong_shape_names_both_shapes():
    result = verdict(lambda probs, d_probs: S.softmax_backward(probs, d_probs).sum(axis=-1), "softmax_backward")
    assert result.kind == "wrong shape"
    assert "(4,)" in result.message
    assert "(4, 6)" in result.message


def test_transposed_weight_gradient_is_recognised():
    def linear_backward(x, W, b, d_out):
        d_x, _, d_b = S.linear_backward(x, W, b, d_out)
        return d_x, d_out.T @ x, d_b

    result = verdict(linear_backward, "linear_backward")
    assert (result.kind, result.name) == ("transposed", "d_W")
    assert "(3, 5)" in result.message
    assert "(5, 3)" in result.message


def test_unsummed_bias_gradient_says_which_axis_to_sum():
    def linear_backward(x, W, b, d_out):
        d_x, d_W, _ = S.linear_backward(x, W, b, d_out)
        return d_x, d_W, d_out

    result = verdict(linear_backward, "linear_backward")
    assert (result.kind, result.name) == ("missing sum over a broadcast axis", "d_b")
    assert "(8, 3)" in result.message
    assert "sum(axis=0)" in result.message


def test_bias_gradient_with_keepdims_is_a_missing_sum():
    def linear_backward(x, W, b, d_out):
        d_x, d_W, _ = S.linear_backward(x, W, b, d_out)
        return d_x, d_W, d_out.sum(axis=0, keepdims=True)

    result = verdict(linear_backward, "linear_backward")
    assert result.kind == "missing sum over a broadcast axis"
    assert "keepdims=False" in result.message


def test_outputs_in_the_wrong_order_are_pointed_out():
    def attention_backward(q, k, v, d_out, causal):
        d_q, d_k, d_v = S.attention_backward(q, k, v, d_out, causal)
        return d_q, d_v, d_k

    result = verdict(attention_backward, "attention_backward")
    assert result.name == "d_k"
    assert "it is exactly d_v" in result.message
    assert "(d_q, d_k, d_v)" in result.message


# ---- planted mistakes: values ------------------------------------------------------------


def test_wrong_sign_is_recognised():
    result = verdict(lambda x, d_out: -S.sigmoid_backward(x, d_out), "sigmoid_backward")
    assert result.kind == "wrong sign"
    assert "negative" in result.message


def test_averaging_again_in_the_linear_layer_is_off_by_one_over_the_batch_size():
    def linear_backward(x, W, b, d_out):
        d_x, d_W, d_b = S.linear_backward(x, W, b, d_out)
        return d_x, d_W / len(x), d_b

    result = verdict(linear_backward, "linear_backward")
    assert (result.kind, result.name) == ("off by a constant factor", "d_W")
    assert "factor of 1/8" in result.message
    assert "batch size is 8" in result.message


def test_forgetting_the_mean_of_cross_entropy_is_off_by_the_batch_size():
    result = verdict(lambda z, t: S.cross_entropy_backward(z, t) * len(t), "cross_entropy_backward")
    assert result.kind == "off by a constant factor"
    assert "factor of 8" in result.message
    assert "forget the mean" in result.message


def test_a_missing_2_in_the_squared_error_is_named():
    result = verdict(lambda pred, target: (pred - target) / pred.size, "mse_backward")
    assert result.kind == "off by a constant factor"
    assert "1/2" in result.message
    assert "2x" in result.message


def test_a_missing_one_over_sqrt_d_in_attention_is_named():
    def attention_backward(q, k, v, d_out, causal):
        d_q, d_k, d_v = S.attention_backward(q, k, v, d_out, causal)
        return d_q * math.sqrt(q.shape[-1]), d_k, d_v

    result = verdict(attention_backward, "attention_backward")
    assert result.kind == "off by a constant factor"
    assert "√D" in result.message


def test_ignoring_the_causal_mask_fails_the_causal_run():
    result = verdict(lambda q, k, v, d_out, causal: S.attention_backward(q, k, v, d_out, False), "attention_backward")
    assert result.kind == "wrong values"
    assert "causal=True" in result.message


def test_wrong_values_name_the_worst_element_with_both_values():
    result = verdict(lambda x, d_out: d_out * (1 - np.tanh(x)), "tanh_backward")  # 1 - t, not 1 - t²
    assert result.kind == "wrong values"
    assert "worst is d_x[" in result.message
    assert "expected" in result.message
    assert "got" in result.message


# ---- planted mistakes: dtype, float32, stability -----------------------------------------


def test_softmax_without_max_subtraction_is_not_finite_on_large_logits():
    def cross_entropy_backward(logits, targets):
        probs = np.exp(logits)  # overflows for logits in the hundreds
        probs /= probs.sum(axis=-1, keepdims=True)
        probs[np.arange(len(targets)), targets] -= 1
        return probs / len(targets)

    result = verdict(cross_entropy_backward, "cross_entropy_backward")
    assert result.kind == "not finite"
    assert "NaN" in result.message
    assert "maximum" in result.message


def test_upcasting_float32_to_float64_is_a_wrong_dtype():
    result = verdict(lambda x, d_out: d_out * (x > 0).astype(np.float64), "relu_backward")
    assert result.kind == "wrong dtype"
    assert "float64" in result.message
    assert "float32" in result.message


def test_finite_differences_are_only_correct_in_float64():
    def gelu_backward(x, d_out):
        def gelu(x):
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

        h = 1e-6  # fine in float64, below float32's resolution
        return d_out * (gelu(x + h) - gelu(x - h)) / (2 * h)

    result = verdict(gelu_backward, "gelu_backward")
    assert result.kind == "only correct in float64"
    assert "float32" in result.message


def test_layer_norm_variance_as_mean_square_minus_square_mean_is_unstable():
    def layer_norm_backward(x, w, b, d_out):
        mu = x.mean(axis=-1, keepdims=True)
        inv_std = 1 / np.sqrt((x * x).mean(axis=-1, keepdims=True) - mu * mu + 1e-5)  # cancels when |μ| ≫ σ
        x_hat = (x - mu) * inv_std
        g = d_out * w
        d_x = inv_std * (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))
        return d_x, (d_out * x_hat).sum(axis=0), d_out.sum(axis=0)

    result = verdict(layer_norm_backward, "layer_norm_backward")  # fails in float32 already, on the row of tiny spread
    assert result.kind in ("only correct in float64", "unstable for large inputs", "not finite")
    assert "mean((x - μ)²)" in result.message


def test_modifying_an_input_in_place_is_reported():
    def relu_backward(x, d_out):
        d_out[x <= 0] = 0
        return d_out

    result = verdict(relu_backward, "relu_backward")
    assert result.kind == "modified an input"
    assert "`d_out`" in result.message


# ---- bad returns never crash the checker -------------------------------------------------


def test_returning_none_asks_for_a_return():
    def relu_backward(x, d_out):
        d_out * (x > 0)  # computed, never returned

    result = verdict(relu_backward, "relu_backward")
    assert result.kind == "not an array"
    assert "return" in result.message


def test_returning_a_list_asks_for_an_array_of_the_right_shape():
    result = verdict(lambda x, d_out: (d_out * (x > 0)).tolist(), "relu_backward")
    assert result.kind == "not an array"
    assert "(4, 6)" in result.message


def test_returning_a_number_is_a_wrong_shape():
    result = verdict(lambda x, d_out: float((d_out * (x > 0)).sum()), "relu_backward")
    assert result.kind == "wrong shape"
    assert "single number" in result.message


def test_returning_too_few_gradients_says_how_many_are_expected():
    result = verdict(lambda x, W, b, d_out: S.linear_backward(x, W, b, d_out)[:2], "linear_backward")
    assert result.kind == "wrong number of outputs"
    assert "3 gradients" in result.message
    assert "(d_x, d_W, d_b)" in result.message


def test_an_exception_in_the_student_code_is_a_verdict_not_a_crash():
    result = verdict(lambda x: x, "relu_backward")  # one argument too few
    assert result.kind == "raised an error"
    assert "TypeError" in result.message
    assert "relu_backward(x, d_out)" in result.message


# ---- diagnose on its own -----------------------------------------------------------------


def test_diagnose_accepts_rounding_differences_and_names_an_arbitrary_factor():
    expected = np.random.default_rng(0).standard_normal((3, 4))
    assert diagnose(expected * (1 + 1e-9), expected).ok
    result = diagnose(expected * 0.37, expected, "d_h")
    assert result.kind == "off by a constant factor"
    assert "0.37" in result.message
    assert "d_h" in result.message


@pytest.mark.parametrize("name", ["relu_backward", "linear_backward"])
def test_odd_returns_get_a_verdict_not_a_crash(name):
    odd = [None, [], "text", 3, True, (None, None, None), np.array("x"), np.zeros((0,)), {}, object(), 1j,
           np.ones((2, 2), dtype=bool), np.zeros((8, 5, 3)), ([1], [2], [3])]
    for value in odd:
        result = verdict(lambda *args, value=value: value, name)
        assert not result.ok, repr(value)
        assert result.message, repr(value)
