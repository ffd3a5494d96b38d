"""A catalogue of planted mistakes, across the exercises: each must be flagged, and its message
must name the cause or the fix (a keyword of it), not only "n elements are wrong".

The figures (flagged / actionable out of the catalogue) are asserted at the end: every mistake
flagged, at least 90 % named. Run this file with ``-s`` to see them printed.
"""

import importlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ft import get_array_module
from tinygrad_ft.backend import to_numpy
from tinygrad_ft.exercises import EXERCISES, Value, check

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lessons"))
S = importlib.import_module("solutions.gradient_exercises")


@dataclass(frozen=True)
class Mistake:
    id: str
    exercise: str
    fn: object
    keywords: tuple  # the message names the cause or the fix if it holds one of these (case-insensitive)


def verdict(mistake):
    return check(mistake.fn, mistake.exercise, quiet=True)


def names_the_cause(result, mistake) -> bool:
    return any(k.lower() in result.message.lower() for k in mistake.keywords)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


C, K = math.sqrt(2 / math.pi), 0.044715
MISTAKES = []


def mistake(exercise, *keywords):
    def register(fn):
        MISTAKES.append(Mistake(fn.__name__, exercise, fn, keywords))
        return fn

    return register


# ---- chapter 2: softmax and cross-entropy ------------------------------------------------


@mistake("softmax_backward", "coupling", "diagonal")
def softmax_jacobian_diagonal_only(probs, d_probs):
    return probs * (1 - probs) * d_probs


@mistake("softmax_backward", "dL/dp", "Jacobian")
def softmax_returns_the_gradient_of_the_probabilities(probs, d_probs):
    return d_probs.copy()


@mistake("softmax_backward", "wrong axis", "axis=-1")
def softmax_sum_over_the_batch_axis(probs, d_probs):
    return probs * (d_probs - (d_probs * probs).sum(axis=0, keepdims=True))


@mistake("softmax_backward", "axis=-1")
def softmax_sum_over_everything(probs, d_probs):
    return probs * (d_probs - (d_probs * probs).sum())


@mistake("softmax_backward", "coupling term", "wrong sign")
def softmax_coupling_term_added(probs, d_probs):
    return probs * (d_probs + (d_probs * probs).sum(axis=-1, keepdims=True))


@mistake("softmax_backward", "factor p")
def softmax_without_the_outer_p(probs, d_probs):
    return d_probs - (d_probs * probs).sum(axis=-1, keepdims=True)


@mistake("cross_entropy_backward", "one-hot")
def cross_entropy_forgets_the_one_hot(logits, targets):
    return _softmax(logits) / len(targets)


@mistake("cross_entropy_backward", "forget the mean")
def cross_entropy_forgets_the_mean(logits, targets):
    p = _softmax(logits)
    p[np.arange(len(targets)), targets] -= 1
    return p


@mistake("cross_entropy_backward", "probabilities")
def cross_entropy_returns_dl_dp(logits, targets):
    p = _softmax(logits)
    d = np.zeros_like(p)
    rows = np.arange(len(targets))
    d[rows, targets] = -1 / (len(targets) * p[rows, targets])
    return d


@mistake("cross_entropy_backward", "targets[n]", "predicted class")
def cross_entropy_one_hot_of_the_prediction(logits, targets):
    p = _softmax(logits)
    p[np.arange(len(targets)), p.argmax(axis=1)] -= 1
    return p / len(targets)


# ---- chapter 3: activations --------------------------------------------------------------


@mistake("sigmoid_backward", "σ(x), not x")
def sigmoid_derivative_of_x_not_of_sigma(x, d_out):
    return d_out * x * (1 - x)


@mistake("sigmoid_backward", "σ(x) (1 - σ(x))", "1 - σ(x)")
def sigmoid_forgets_one_minus_sigma(x, d_out):
    return d_out * _sigmoid(x)


@mistake("sigmoid_backward", "chain rule", "multiply it by")
def sigmoid_forgets_d_out(x, d_out):
    s = _sigmoid(x)
    return s * (1 - s)


@mistake("tanh_backward", "tanh(x), not x")
def tanh_derivative_with_x(x, d_out):
    return d_out * (1 - x * x)


@mistake("relu_backward", "x > 0", "exactly 0")
def relu_with_greater_or_equal(x, d_out):
    return d_out * (x >= 0)


@mistake("relu_backward", "linear in the upstream gradient", "max(·, 0)")
def relu_applied_to_d_out(x, d_out):
    return np.maximum(d_out, 0) * (x != 0)


@mistake("relu_backward", "chain rule")
def relu_forgets_d_out(x, d_out):
    return (x > 0) * 1.0


@mistake("gelu_backward", "second product-rule term")
def gelu_missing_the_product_rule_term(x, d_out):
    t = np.tanh(C * (x + K * x**3))
    return d_out * 0.5 * (1 + t)


@mistake("gelu_backward", "du/dx", "inner chain factor")
def gelu_missing_the_inner_chain_factor(x, d_out):
    t = np.tanh(C * (x + K * x**3))
    return d_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t))


@mistake("gelu_backward", "1 - t²", "dt/du")
def gelu_missing_the_tanh_derivative(x, d_out):
    t = np.tanh(C * (x + K * x**3))
    return d_out * (0.5 * (1 + t) + 0.5 * x * C * (1 + 3 * K * x * x))


@mistake("gelu_backward", "second product-rule term")
def gelu_without_the_3_of_the_cube(x, d_out):
    t = np.tanh(C * (x + K * x**3))
    return d_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + K * x * x))


# ---- chapters 5 and 6: the dense layer and the losses ------------------------------------


@mistake("linear_backward", "transpose")
def linear_weight_gradient_transposed(x, W, b, d_out):
    return d_out @ W.T, d_out.T @ x, d_out.sum(axis=0)


@mistake("linear_backward", "sum over axis 0", "sum(axis=0)")
def linear_bias_gradient_not_summed(x, W, b, d_out):
    return d_out @ W.T, x.T @ d_out, d_out


@mistake("linear_backward", "shape of what it differentiates")
def linear_input_gradient_without_transpose(x, W, b, d_out):
    return d_out @ W, x.T @ d_out, d_out.sum(axis=0)


@mistake("mse_backward", "2x")
def mse_forgets_the_2(pred, target):
    return (pred - target) / pred.size


@mistake("mse_backward", "sign flipped")
def mse_target_minus_prediction(pred, target):
    return 2 * (target - pred) / pred.size


@mistake("mse_backward", "8 rows only")
def mse_divides_by_the_rows_only(pred, target):
    return 2 * (pred - target) / len(pred)


@mistake("binary_cross_entropy_with_logits_backward", "target term", "-t")
def bce_forgets_the_target_term(logits, targets):
    return _sigmoid(logits) / logits.size


@mistake("binary_cross_entropy_with_logits_backward", "probability σ(x)")
def bce_returns_the_gradient_of_the_probability(logits, targets):
    s = _sigmoid(logits)
    return (s - targets) / (s * (1 - s) * logits.size)


@mistake("binary_cross_entropy_with_logits_backward", "divide by that count")
def bce_forgets_the_mean(logits, targets):
    return _sigmoid(logits) - targets


# ---- chapter 8: attention ----------------------------------------------------------------


def _attention(q, k, v, d_out, causal, band=1, softmax_backward=True, transpose_dk=False, transpose_dv=False,
               scale_scores=True):
    scale = 1 / math.sqrt(q.shape[-1])
    s = q @ k.T * (scale if scale_scores else 1.0)
    if causal:
        s = np.where(np.triu(np.ones(s.shape, dtype=bool), k=band), -np.inf, s)
    p = _softmax(s)
    d_v = p @ d_out if transpose_dv else p.T @ d_out
    d_p = d_out @ v.T
    d_s = (p * (d_p - (d_p * p).sum(-1, keepdims=True)) if softmax_backward else d_p) * scale
    return d_s @ k, (d_s @ q if transpose_dk else d_s.T @ q), d_v


@mistake("attention_backward", "softmax's backward", "softmax backward")
def attention_skips_the_softmax_backward(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, softmax_backward=False)


@mistake("attention_backward", "dSᵀ", "transpose")
def attention_key_gradient_not_transposed(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, transpose_dk=True)


@mistake("attention_backward", "Pᵀ", "transpose")
def attention_value_gradient_not_transposed(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, transpose_dv=True)


@mistake("attention_backward", "off by one", "j > i")
def attention_causal_mask_one_late(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, band=2)


@mistake("attention_backward", "must see itself", "diagonal")
def attention_causal_mask_hides_the_diagonal(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, band=0)


@mistake("attention_backward", "without the causal mask", "j > i")
def attention_ignores_the_causal_mask(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, False)


@mistake("attention_backward", "1/√D")
def attention_scores_not_scaled(q, k, v, d_out, causal):
    return _attention(q, k, v, d_out, causal, scale_scores=False)


# ---- chapter 9: layer norm ---------------------------------------------------------------


def _layer_norm(x, w, d_out, mean_path=True, variance_path=True, eps_inside=True, ddof=0, with_w=True, d_w_of_x=False,
                variance_sign=1.0):
    eps = 1e-5
    centred = x - x.mean(axis=-1, keepdims=True)
    var = (centred * centred).sum(axis=-1, keepdims=True) / (x.shape[-1] - ddof)
    inv_std = 1 / (np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps)
    x_hat = centred * inv_std
    g = d_out * w if with_w else d_out
    d_x = g
    if mean_path:
        d_x = d_x - g.mean(axis=-1, keepdims=True)
    if variance_path:
        d_x = d_x - variance_sign * x_hat * (g * x_hat).mean(axis=-1, keepdims=True)
    return inv_std * d_x, (d_out * (x if d_w_of_x else x_hat)).sum(axis=0), d_out.sum(axis=0)


@mistake("layer_norm_backward", "mean path")
def layer_norm_without_the_mean_path(x, w, b, d_out):
    return _layer_norm(x, w, d_out, mean_path=False)


@mistake("layer_norm_backward", "variance path")
def layer_norm_without_the_variance_path(x, w, b, d_out):
    return _layer_norm(x, w, d_out, variance_path=False)


@mistake("layer_norm_backward", "inside the square root")
def layer_norm_eps_outside_the_square_root(x, w, b, d_out):
    return _layer_norm(x, w, d_out, eps_inside=False)


@mistake("layer_norm_backward", "C - 1")
def layer_norm_variance_over_c_minus_1(x, w, b, d_out):
    return _layer_norm(x, w, d_out, ddof=1)


@mistake("layer_norm_backward", "factor w")
def layer_norm_forgets_the_weight(x, w, b, d_out):
    return _layer_norm(x, w, d_out, with_w=False)


@mistake("layer_norm_backward", "x̂")
def layer_norm_weight_gradient_with_x(x, w, b, d_out):
    return _layer_norm(x, w, d_out, d_w_of_x=True)


@mistake("layer_norm_backward", "variance path", "wrong sign")
def layer_norm_variance_path_added(x, w, b, d_out):
    return _layer_norm(x, w, d_out, variance_sign=-1.0)


@mistake("layer_norm_backward", "forget the mean", "batch size")
def layer_norm_bias_gradient_averaged(x, w, b, d_out):
    d_x, d_w, d_b = _layer_norm(x, w, d_out)
    return d_x, d_w, d_b / len(x)


# ---- chapter 1: softmax with temperature -------------------------------------------------


@mistake("softmax_with_temperature", "divide the logits by the temperature")
def softmax_t_multiplies_by_the_temperature(logits, temperature):
    return _softmax(logits * temperature)


@mistake("softmax_with_temperature", "without the temperature")
def softmax_t_divides_the_probabilities(logits, temperature):
    p = _softmax(logits) / temperature
    return p / p.sum(axis=-1, keepdims=True)


@mistake("softmax_with_temperature", "maximum")
def softmax_t_without_the_max(logits, temperature):
    e = np.exp(logits / temperature)
    return e / e.sum(axis=-1, keepdims=True)


@mistake("softmax_with_temperature", "own maximum", "axis=-1")
def softmax_t_shifts_by_the_global_max(logits, temperature):
    e = np.exp(logits / temperature - (logits / temperature).max())
    return e / e.sum(axis=-1, keepdims=True)


@mistake("softmax_with_temperature", "axis=-1")
def softmax_t_normalises_columns(logits, temperature):
    return _softmax(logits / temperature, axis=0)


# ---- chapter 4: the scalar engine --------------------------------------------------------


def _value_log(local=None, chain=True, accumulate=True, attach=True, record=True):
    def value_log(a):
        out = Value(math.log(a.data), (a,) if record else (), "log")

        def _backward():
            g = (1 / a.data if local is None else local(a, out)) * (out.grad if chain else 1.0)
            if accumulate:
                a.grad += g
            else:
                a.grad = g

        if attach:
            out._backward = _backward
        return out

    return value_log


MISTAKES += [
    Mistake("value_log_forgets_out_grad", "value_log", _value_log(chain=False), ("out.grad",)),
    Mistake("value_log_assigns_the_gradient", "value_log", _value_log(accumulate=False), ("+=",)),
    Mistake("value_log_uses_the_rule_of_exp", "value_log", _value_log(local=lambda a, out: out.data), ("1/a",)),
    Mistake("value_log_never_attaches_its_backward", "value_log", _value_log(attach=False), ("out._backward =",)),
    Mistake("value_log_does_not_record_its_input", "value_log", _value_log(record=False), ("(a,)",)),
]


# ---- chapter 7: AdamW and the schedule ---------------------------------------------------


def _adamw(correct=True, eps_inside=False, decoupled=True, decay_lr=True, in_place=False, square=True):
    def adamw_step(param, grad, m, v, step, lr, betas, eps, weight_decay):
        b1, b2 = betas
        if not decoupled:
            grad = grad + weight_decay * param
        if in_place:
            param *= 1 - lr * weight_decay
        elif decoupled:
            param = param * (1 - (lr if decay_lr else 1.0) * weight_decay)
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * (grad * grad if square else grad)
        m_hat, v_hat = (m / (1 - b1**step), v / (1 - b2**step)) if correct else (m, v)
        update = lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
        if in_place:
            param -= update
            return param, m, v
        return param - update, m, v

    return adamw_step


MISTAKES += [
    Mistake("adamw_without_bias_correction", "adamw_step", _adamw(correct=False), ("bias correction",)),
    Mistake("adamw_eps_inside_the_square_root", "adamw_step", _adamw(eps_inside=True), ("ε outside", "square root")),
    Mistake("adamw_with_an_l2_penalty", "adamw_step", _adamw(decoupled=False), ("decays the weight directly",)),
    Mistake("adamw_decay_without_the_learning_rate", "adamw_step", _adamw(decay_lr=False), ("η λ θ",)),
    Mistake("adamw_updates_the_parameter_in_place", "adamw_step", _adamw(in_place=True), ("in place",)),
    Mistake("adamw_second_moment_of_g", "adamw_step", _adamw(square=False), ("squared gradient",)),
]


def _schedule(shift=0, floor=True, clamp=True, from_zero=False, strict_warmup=True):
    def warmup_cosine_schedule(step, base_lr, warmup_steps, total_steps, min_lr):
        if (step < warmup_steps) if strict_warmup else (step <= warmup_steps):
            return base_lr * (step + shift) / warmup_steps
        if clamp and step >= total_steps:
            return min_lr
        p = step / total_steps if from_zero else (step - warmup_steps) / (total_steps - warmup_steps)
        low = min_lr if floor else 0.0
        return low + (base_lr - low) * (1 + math.cos(math.pi * p)) / 2

    return warmup_cosine_schedule


MISTAKES += [
    Mistake("schedule_warmup_off_by_one", "warmup_cosine_schedule", _schedule(shift=1), ("step 0", "from 0")),
    Mistake("schedule_decays_to_zero", "warmup_cosine_schedule", _schedule(floor=False), ("min_lr",)),
    Mistake("schedule_not_clamped_after_the_end", "warmup_cosine_schedule", _schedule(clamp=False), ("min_lr",)),
    Mistake("schedule_progress_from_step_0", "warmup_cosine_schedule", _schedule(from_zero=True), ("(step - W)",)),
    Mistake("schedule_divides_by_a_zero_warmup", "warmup_cosine_schedule", _schedule(strict_warmup=False),
            ("warmup_steps=0",)),
]


# ---- chapter 8: the causal mask and causal attention -------------------------------------


def _mask(k=1, lower=False):
    def causal_mask(T):
        ones = np.ones((T, T), dtype=bool)
        return np.tril(ones, k=-1) if lower else np.triu(ones, k=k)

    return causal_mask


def _causal_attention(band=1, scale=True, axis=-1, mask=True):
    def causal_attention(q, k, v):
        s = q @ k.T / (math.sqrt(q.shape[-1]) if scale else 1.0)
        if mask:
            s = np.where(np.triu(np.ones(s.shape, dtype=bool), k=band), -np.inf, s)
        return _softmax(s, axis=axis) @ v

    return causal_attention


MISTAKES += [
    Mistake("causal_mask_hides_the_diagonal", "causal_mask", _mask(k=0), ("must see key i", "itself")),
    Mistake("causal_mask_one_late", "causal_mask", _mask(k=2), ("one position", "j > i")),
    Mistake("causal_mask_hides_the_past", "causal_mask", _mask(lower=True), ("np.triu, not np.tril", "future")),
    Mistake("causal_attention_hides_the_diagonal", "causal_attention", _causal_attention(band=0), ("see itself",)),
    Mistake("causal_attention_mask_one_late", "causal_attention", _causal_attention(band=2), ("off by one",)),
    Mistake("causal_attention_without_the_scale", "causal_attention", _causal_attention(scale=False), ("√D",)),
    Mistake("causal_attention_softmax_over_columns", "causal_attention", _causal_attention(axis=0), ("axis=-1",)),
    Mistake("causal_attention_without_the_mask", "causal_attention", _causal_attention(mask=False), ("future",)),
]


# ---- chapter 10: BPE ---------------------------------------------------------------------


def pair_misses_the_last_pair(ids):
    counts = {}
    for i in range(len(ids) - 2):
        counts[ids[i], ids[i + 1]] = counts.get((ids[i], ids[i + 1]), 0) + 1
    return max(counts, key=counts.get)


def pair_breaks_ties_by_value(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    best = max(counts.values())
    return min(p for p, c in counts.items() if c == best)


def merge_overlapping(ids, pair, new_id):
    out = list(ids)
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            out[i : i + 2] = [new_id, None]
    return [t for t in out if t is not None]


def merge_drops_the_last_token(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_in_place(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            ids[i : i + 2] = [new_id]
        i += 1
    return ids


MISTAKES += [
    Mistake("pair_misses_the_last_pair", "most_frequent_pair", pair_misses_the_last_pair, ("last pair",)),
    Mistake("pair_breaks_ties_by_value", "most_frequent_pair", pair_breaks_ties_by_value, ("occurs first",)),
    Mistake("merge_overlapping", "bpe_merge", merge_overlapping, ("i + 2", "merges once")),
    Mistake("merge_drops_the_last_token", "bpe_merge", merge_drops_the_last_token, ("left over at the end", "very end")),
    Mistake("merge_in_place", "bpe_merge", merge_in_place, ("in place",)),
]


# ---- chapter 11: sampling ----------------------------------------------------------------


def top_k_exactly_k(logits, k):
    out = np.full_like(logits, -np.inf)
    keep = np.argsort(logits)[-k:]
    out[keep] = logits[keep]
    return out


def top_k_zeros(logits, k):
    if k >= logits.size:
        return logits.copy()
    return np.where(logits < np.partition(logits, -k)[-k], 0.0, logits)


def top_k_no_guard(logits, k):
    return np.where(logits < np.partition(logits, -k)[-k], -np.inf, logits)


def _top_p(inclusive=False, renormalise=True, sort=True):
    def top_p_filter(probs, p):
        order = np.argsort(-probs, kind="stable") if sort else np.arange(probs.size)
        cumulative = np.cumsum(probs[order])
        keep = order[cumulative <= p] if inclusive else order[cumulative - probs[order] < p]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        return kept / kept.sum() if renormalise else kept

    return top_p_filter


MISTAKES += [
    Mistake("top_k_keeps_exactly_k", "top_k_filter", top_k_exactly_k, ("keep them all", "tie")),
    Mistake("top_k_filters_with_zeros", "top_k_filter", top_k_zeros, ("-inf",)),
    Mistake("top_k_without_a_guard_for_large_k", "top_k_filter", top_k_no_guard, ("k > V", "larger than the vocabulary")),
    Mistake("top_p_drops_the_crossing_token", "top_p_filter", _top_p(inclusive=True), ("crosses p",)),
    Mistake("top_p_not_renormalised", "top_p_filter", _top_p(renormalise=False), ("renormalised", "their sum")),
    Mistake("top_p_not_sorted", "top_p_filter", _top_p(sort=False), ("sort",)),
]


# ---- chapter 12: pooling -----------------------------------------------------------------


MISTAKES += [
    Mistake("mean_pool_divides_by_t", "mean_pool",
            lambda hidden, mask: (hidden * mask[:, :, None]).sum(axis=1) / mask.shape[1], ("divides by T", "real tokens")),
    Mistake("mean_pool_counts_the_padding", "mean_pool", lambda hidden, mask: hidden.mean(axis=1), ("padding",)),
    Mistake("last_token_pool_takes_the_last_column", "last_token_pool", lambda hidden, mask: hidden[:, -1],
            ("last real token", "padding")),
    Mistake("last_token_pool_takes_the_first_pad", "last_token_pool",
            lambda hidden, mask: hidden[np.arange(len(hidden)), np.minimum(mask.sum(axis=1), mask.shape[1] - 1)],
            ("mask.sum(axis=1) - 1",)),
]


# ---- chapter 13: LoRA --------------------------------------------------------------------


MISTAKES += [
    Mistake("lora_forward_scaled_by_alpha", "lora_forward",
            lambda x, W, b, A, B, alpha: x @ W + b + alpha * (x @ A) @ B, ("alpha / r",)),
    Mistake("lora_forward_without_the_scale", "lora_forward",
            lambda x, W, b, A, B, alpha: x @ W + b + (x @ A) @ B, ("s = alpha / r",)),
    Mistake("lora_forward_without_the_bias", "lora_forward",
            lambda x, W, b, A, B, alpha: x @ W + alpha / A.shape[1] * (x @ A) @ B, ("bias",)),
    Mistake("lora_backward_d_b_without_the_scale", "lora_backward",
            lambda x, A, B, alpha, d_out: (alpha / A.shape[1] * x.T @ (d_out @ B.T), (x @ A).T @ d_out), ("alpha / r",)),
    Mistake("lora_backward_d_a_transposed", "lora_backward",
            lambda x, A, B, alpha, d_out: (alpha / A.shape[1] * (d_out @ B.T).T @ x, alpha / A.shape[1] * (x @ A).T @ d_out),
            ("transpose",)),
    Mistake("lora_merge_subtracts_the_update", "lora_merge",
            lambda W, A, B, alpha: W - alpha / A.shape[1] * A @ B, ("wrong sign",)),
]


def lora_merge_in_place(W, A, B, alpha):
    W += alpha / A.shape[1] * A @ B
    return W


MISTAKES.append(Mistake("lora_merge_in_place", "lora_merge", lora_merge_in_place, ("in place",)))


# ---- chapter 14: the SFT collate ---------------------------------------------------------


def _collate(shift=True, first_masked=False, pad_targets_with_pad=False, mask_prompt=True):
    def sft_collate(examples, pad_id):
        rows = []
        for prompt, answer in examples:
            seq = list(prompt) + list(answer)
            if not shift:
                target = [-100] * len(prompt) + list(answer[:-1])
            elif first_masked:
                target = [-100] * len(prompt) + list(answer[1:])
            elif not mask_prompt:
                target = seq[1:]
            else:
                target = [-100] * (len(prompt) - 1) + list(answer)
            rows.append((seq[:-1], target))
        length = max(len(i) for i, _ in rows)
        ids = np.full((len(rows), length), pad_id, dtype=np.int64)
        targets = np.full((len(rows), length), pad_id if pad_targets_with_pad else -100, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=bool)
        for r, (i, t) in enumerate(rows):
            ids[r, : len(i)], targets[r, : len(t)], mask[r, : len(i)] = i, t, True
        return ids, targets, mask

    return sft_collate


MISTAKES += [
    Mistake("sft_targets_not_shifted", "sft_collate", _collate(shift=False), ("next token",)),
    Mistake("sft_first_answer_token_masked", "sft_collate", _collate(first_masked=True), ("len(prompt) - 1",)),
    Mistake("sft_targets_padded_with_pad_id", "sft_collate", _collate(pad_targets_with_pad=True), ("-100",)),
    Mistake("sft_loss_on_the_prompt", "sft_collate", _collate(mask_prompt=False), ("-100 on the prompt", "only on the answer")),
]


# ---- chapter 15: a device-agnostic op ----------------------------------------------------


def gelu_xp_with_numpy(x):
    x = np.asarray(x, dtype=float)  # "to be sure it is an array": a copy to the host, refused on a GPU
    return 0.5 * x * (1 + np.tanh(C * (x + K * x**3)))


def gelu_xp_with_a_numpy_constant(x):
    xp = get_array_module(x)
    return 0.5 * x * (1 + xp.tanh(np.sqrt(2 / np.pi) * (x + K * x**3)))


def gelu_xp_through_the_host(x):
    x = to_numpy(x)
    return 0.5 * x * (1 + np.tanh(C * (x + K * x**3)))


def gelu_xp_without_the_one(x):
    xp = get_array_module(x)
    return 0.5 * x * xp.tanh(C * (x + K * x**3))


MISTAKES += [
    Mistake("gelu_xp_with_numpy", "gelu_xp", gelu_xp_with_numpy, ("get_array_module",)),
    Mistake("gelu_xp_with_a_numpy_constant", "gelu_xp", gelu_xp_with_a_numpy_constant, ("math.sqrt",)),
    Mistake("gelu_xp_through_the_host", "gelu_xp", gelu_xp_through_the_host, ("device",)),
    Mistake("gelu_xp_without_the_one", "gelu_xp", gelu_xp_without_the_one, ("(1 + tanh(u))",)),
]


# ---- the tests ---------------------------------------------------------------------------

IDS = [m.id for m in MISTAKES]


def test_the_catalogue_is_broad():
    assert len(MISTAKES) >= 40
    assert len({m.exercise for m in MISTAKES}) >= 20
    assert len(set(IDS)) == len(IDS)
    assert all(m.exercise in EXERCISES for m in MISTAKES)


@pytest.mark.parametrize("m", MISTAKES, ids=IDS)
def test_a_planted_mistake_is_flagged(m):
    assert not verdict(m).ok


@pytest.mark.parametrize("m", MISTAKES, ids=IDS)
def test_a_planted_mistake_gets_a_message_that_names_its_cause(m):
    result = verdict(m)
    assert names_the_cause(result, m), f"{result.kind}: {result.message}"


def test_the_figures_on_the_catalogue(capsys):
    results = [(m, verdict(m)) for m in MISTAKES]
    flagged = sum(not r.ok for _, r in results)
    named = sum(not r.ok and names_the_cause(r, m) for m, r in results)
    with capsys.disabled():
        print(f"\nplanted mistakes: {len(results)}, flagged: {flagged}, message names the cause or fix: {named} "
              f"({100 * named / len(results):.0f} %)")
    assert flagged == len(results)
    assert named >= 0.9 * len(results)
