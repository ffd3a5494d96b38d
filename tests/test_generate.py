"""Generation: the KV cache (the same logits as recomputing), batches with left padding, top-p,
stop tokens, and clear errors for arguments that cannot work."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.cli import main
from tinygrad_ft.models.generate import GenerateConfig, generate, nucleus, sample_next
from tinygrad_ft.models.gpt import GPT, GPTConfig

V, BLOCK = 13, 12


def random_gpt(dtype="float64", **overrides):
    """A tiny GPT with O(1) weights (GPT-2's 0.02 init gives near-uniform logits: a weak test)."""
    tg.manual_seed(0)
    model = GPT(GPTConfig(**({"vocab_size": V, "block_size": BLOCK, "n_layer": 2, "n_head": 2, "n_embd": 8} | overrides)))
    model.to(dtype=dtype)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data = (rng.standard_normal(p.shape) * 0.5).astype(dtype)
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return random_gpt()


# ---- the KV cache: the same logits as the whole context, at every step ------------------------------


def test_cached_logits_equal_uncached_logits_at_every_step(model):
    ids = np.random.default_rng(1).integers(0, V, (2, 10))
    cache = model.kv_cache()
    with tg.no_grad():
        steps = [model(ids[:, :4], cache=cache)[0].numpy()[:, -1]]  # the prompt at once, then one token at a time
        steps += [model(ids[:, t - 1:t], cache=cache)[0].numpy()[:, -1] for t in range(5, 11)]
        full = [model(ids[:, :t])[0].numpy()[:, -1] for t in range(4, 11)]
    assert max(np.abs(a - b).max() for a, b in zip(steps, full)) < 1e-12


def test_cached_logits_equal_uncached_with_left_padding_and_positions(model):
    ids = np.random.default_rng(2).integers(0, V, (2, 9))
    real = np.ones((2, 9), dtype=bool)
    real[1, :3] = False  # row 1 is a shorter prompt, padded on the left
    positions = np.maximum(np.cumsum(real, axis=1) - 1, 0)
    cache = model.kv_cache()
    diffs = []
    with tg.no_grad():
        cached = model(ids[:, :5], attention_mask=real[:, :5], position_ids=positions[:, :5], cache=cache)[0].numpy()[:, -1]
        for t in range(5, 10):
            uncached = model(ids[:, :t], attention_mask=real[:, :t], position_ids=positions[:, :t])[0].numpy()[:, -1]
            diffs.append(np.abs(cached - uncached).max())
            if t < 9:
                cached = model(ids[:, t:t + 1], attention_mask=real[:, :t + 1], position_ids=positions[:, t:t + 1],
                               cache=cache)[0].numpy()[:, -1]
    assert max(diffs) < 1e-12


def test_a_left_padded_row_gets_the_logits_of_the_same_prompt_alone(model):
    ids = np.random.default_rng(3).integers(0, V, (1, 6))
    padded = np.concatenate([np.zeros((1, 3), dtype=np.int64), ids], axis=1)
    real = np.concatenate([np.zeros((1, 3), dtype=bool), np.ones((1, 6), dtype=bool)], axis=1)
    positions = np.maximum(np.cumsum(real, axis=1) - 1, 0)
    alone = model(ids)[0].numpy()[0]
    in_batch = model(padded, attention_mask=real, position_ids=positions)[0].numpy()[0, 3:]
    assert np.abs(alone - in_batch).max() < 1e-12


def test_new_tokens_in_chunks_see_the_cache_causally(model):
    ids = np.random.default_rng(4).integers(0, V, (1, 8))
    cache = model.kv_cache()
    with tg.no_grad():
        model(ids[:, :3], cache=cache)
        chunk = model(ids[:, 3:8], cache=cache)[0].numpy()  # five new positions at once after three cached
    assert np.abs(chunk - model(ids)[0].numpy()[:, 3:]).max() < 1e-12


def test_the_cache_counts_the_positions_it_holds(model):
    cache = model.kv_cache()
    with tg.no_grad():
        model(np.zeros((1, 4), dtype=np.int64), cache=cache)
    assert cache.length == 4


def test_the_cache_refuses_to_record_gradients(model):
    with pytest.raises(RuntimeError, match="no_grad"):
        model(np.zeros((1, 2), dtype=np.int64), cache=model.kv_cache())


def test_the_cache_refuses_positions_past_block_size(model):
    cache = model.kv_cache()
    with tg.no_grad():
        model(np.zeros((1, BLOCK), dtype=np.int64), cache=cache)
        with pytest.raises(ValueError, match="block_size"):
            model(np.zeros((1, 1), dtype=np.int64), cache=cache)


SAMPLINGS = [dict(temperature=0), dict(temperature=1.0, seed=3), dict(temperature=0.7, top_k=4, top_p=0.9, seed=4)]


@pytest.mark.parametrize("sampling", SAMPLINGS, ids=["greedy", "sampled", "top-k-top-p"])
def test_cached_generation_writes_the_same_ids_as_uncached(model, sampling):
    cached = generate(model, [1, 2, 3], max_new_tokens=6, **sampling)
    assert cached == generate(model, [1, 2, 3], max_new_tokens=6, use_cache=False, **sampling)


def test_generation_past_block_size_writes_the_same_ids_as_uncached(model):
    cached = generate(model, [1, 2, 3], max_new_tokens=2 * BLOCK, temperature=1.0, seed=5)
    assert cached == generate(model, [1, 2, 3], max_new_tokens=2 * BLOCK, temperature=1.0, seed=5, use_cache=False)


def test_a_float32_model_writes_the_same_greedy_ids_with_and_without_the_cache():
    small = random_gpt("float32")
    assert generate(small, [4, 5], max_new_tokens=8, temperature=0) == generate(small, [4, 5], 8, temperature=0, use_cache=False)


# ---- a batch of prompts --------------------------------------------------------------------------


def test_a_batch_generates_what_each_prompt_generates_alone(model):
    prompts = [[1, 2, 3, 4], [5], [6, 7]]
    batch = generate(model, prompts, max_new_tokens=5, temperature=0)
    assert batch == [generate(model, p, max_new_tokens=5, temperature=0) for p in prompts]


def test_a_two_dimensional_array_is_a_batch(model):
    prompts = np.array([[1, 2], [3, 4]])
    assert generate(model, prompts, max_new_tokens=2, temperature=0) == generate(model, prompts.tolist(), 2, temperature=0)


def test_a_batch_without_the_cache_generates_the_same(model):
    prompts = [[1, 2, 3, 4], [5], [6, 7]]
    batch = generate(model, prompts, max_new_tokens=BLOCK, temperature=1.0, seed=2)
    assert batch == generate(model, prompts, max_new_tokens=BLOCK, temperature=1.0, seed=2, use_cache=False)


# ---- stop tokens -----------------------------------------------------------------------------------


def test_a_sequence_ends_at_the_first_stop_token_it_writes(model):
    free = generate(model, [1, 2], max_new_tokens=8, temperature=0)
    stop = free[4]
    assert generate(model, [1, 2], max_new_tokens=8, temperature=0, stop_id=[stop, V - 1]) == free[: free.index(stop, 2) + 1]


def test_in_a_batch_only_the_row_that_wrote_a_stop_token_ends(model):
    rows = generate(model, [[1, 2], [7, 8, 9]], max_new_tokens=8, temperature=0)
    stop = rows[0][3]
    stopped = generate(model, [[1, 2], [7, 8, 9]], max_new_tokens=8, temperature=0, stop_id=stop)
    expected_other = rows[1][: rows[1].index(stop, 3) + 1] if stop in rows[1][3:] else rows[1]
    assert stopped == [rows[0][: rows[0].index(stop, 2) + 1], expected_other]


# ---- top-p (nucleus) sampling -------------------------------------------------------------------------

PROBS = np.array([0.5, 0.25, 0.125, 0.125])


def test_nucleus_keeps_the_likeliest_tokens_until_they_hold_p():
    np.testing.assert_allclose(nucleus(PROBS, 0.7), [2 / 3, 1 / 3, 0, 0])


def test_nucleus_always_keeps_the_likeliest_token():
    np.testing.assert_allclose(nucleus(PROBS, 0.1), [1, 0, 0, 0])


def test_top_p_draws_from_the_kept_tokens_in_proportion():
    rng = np.random.default_rng(0)
    draws = np.bincount([sample_next(np.log(PROBS), 1.0, None, rng, top_p=0.7) for _ in range(3000)], minlength=4) / 3000
    np.testing.assert_allclose(draws, [2 / 3, 1 / 3, 0, 0], atol=0.03)


def test_top_p_one_draws_exactly_as_without_it():
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    logits = np.log(PROBS)
    assert [sample_next(logits, 1.0, None, a, top_p=1.0) for _ in range(50)] == [sample_next(logits, 1.0, None, b)
                                                                                 for _ in range(50)]


def test_top_p_applies_after_the_temperature():
    sharp = np.log(PROBS) / 0.25  # at T = 0.25 token 0 holds 0.5^4 / (0.5^4 + 0.25^4 + 2 · 0.125^4) ≈ 0.94 > 0.9
    rng = np.random.default_rng(2)
    assert {sample_next(np.log(PROBS), 0.25, None, rng, top_p=0.9) for _ in range(50)} == {int(np.argmax(sharp))}


# ---- arguments that cannot work: one clear error each ---------------------------------------------------


def test_float_prompt_ids_are_refused_not_truncated(model):
    with pytest.raises(TypeError, match=r"prompt_ids must be integer token ids, got 2\.5"):
        generate(model, [1, 2.5])


def test_a_float_array_prompt_is_refused_naming_its_dtype(model):
    with pytest.raises(TypeError, match="dtype float64"):
        generate(model, np.array([1.0, 2.0]))


def test_a_text_prompt_is_refused_saying_to_encode_it(model):
    with pytest.raises(TypeError, match=r"tokenizer\.encode"):
        generate(model, "hello")


def test_an_empty_prompt_is_refused(model):
    with pytest.raises(ValueError, match="empty"):
        generate(model, [])


def test_a_token_outside_the_vocabulary_is_refused_naming_its_size(model):
    with pytest.raises(ValueError, match=f"vocabulary of {V}"):
        generate(model, [1, V])


def test_a_negative_max_new_tokens_is_refused(model):
    with pytest.raises(ValueError, match="max_new_tokens must be an integer >= 0, got -5"):
        generate(model, [1], max_new_tokens=-5)


def test_a_fractional_max_new_tokens_is_refused(model):
    with pytest.raises(TypeError, match="max_new_tokens"):
        generate(model, [1], max_new_tokens=2.5)


def test_a_fractional_top_k_is_refused(model):
    with pytest.raises(TypeError, match="top_k must be a positive integer or None, got 2.5"):
        generate(model, [1], top_k=2.5)


def test_a_top_k_of_zero_is_refused(model):
    with pytest.raises(ValueError, match="top_k"):
        generate(model, [1], top_k=0)


def test_a_nan_temperature_is_refused(model):
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        generate(model, [1], temperature=float("nan"))


def test_a_negative_temperature_is_refused(model):
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [1], temperature=-1.0)


@pytest.mark.parametrize("top_p", [0.0, 1.5, float("nan")])
def test_a_top_p_outside_zero_to_one_is_refused(model, top_p):
    with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]"):
        generate(model, [1], top_p=top_p)


def test_a_stop_id_that_is_not_a_token_id_is_refused(model):
    with pytest.raises(TypeError, match="stop_id"):
        generate(model, [1], stop_id="<|endoftext|>")


def test_a_model_with_nan_weights_says_its_logits_are_not_finite():
    broken = random_gpt()
    broken.ln_f.weight.data[0] = np.nan
    with pytest.raises(ValueError, match="non-finite logits"):
        generate(broken, [1, 2], max_new_tokens=3)


def test_generate_config_refuses_a_top_p_naming_its_flag():
    with pytest.raises(ValueError, match=r"top_p \(--top-p\)"):
        GenerateConfig(top_p=0.0)


def test_cli_generate_samples_with_top_p(capsys):
    assert main(["generate", "--prompt", "ROMEO:", "--max-tokens", "5", "--top-p", "0.9"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")


def test_cli_generate_with_top_p_above_one_is_a_usage_error(capsys):
    assert main(["generate", "--top-p", "1.5"]) == 2
    assert "--top-p" in capsys.readouterr().err
