"""The strict device: CuPy's border between device and host, enforced on the CPU.

First the rules (a strict array refuses to become or to meet a NumPy array, as a CuPy array
does), then what it still allows (scalars, explicit copies), then the engine running on it.
"""

import copy
import pickle

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, get_backend, to_numpy
from tinygrad_ft.backend.strict import StrictArray, StrictBackend, StrictGenerator, strict_xp


@pytest.fixture
def s():
    return strict_xp.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


@pytest.fixture
def host():
    return np.ones((2, 3))


def test_a_strict_array_is_not_a_numpy_array(s):
    assert not isinstance(s, np.ndarray)
    assert isinstance(s, StrictArray)


# ---- what it refuses, as CuPy does ---------------------------------------------------------------


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.ascontiguousarray, lambda a: np.ones(1) + np.asarray(a)])
def test_implicit_conversion_to_numpy_is_refused(s, convert):
    with pytest.raises(TypeError, match=r"implicit conversion of a strict \(device\) array to NumPy is not allowed; use \.get"):
        convert(s)


@pytest.mark.parametrize(
    "mix",
    [
        pytest.param(lambda s, h: s + h, id="strict+numpy"),
        pytest.param(lambda s, h: h + s, id="numpy+strict"),
        pytest.param(lambda s, h: s * h, id="strict*numpy"),
        pytest.param(lambda s, h: h - s, id="numpy-strict"),
        pytest.param(lambda s, h: s / h, id="strict/numpy"),
        pytest.param(lambda s, h: s**h, id="strict**numpy"),
        pytest.param(lambda s, h: s @ h.T, id="strict@numpy"),
        pytest.param(lambda s, h: h.T @ s, id="numpy@strict"),
        pytest.param(lambda s, h: s < h, id="strict<numpy"),
        pytest.param(lambda s, h: h == s, id="numpy==strict"),
        pytest.param(lambda s, h: s.__iadd__(h), id="strict+=numpy"),
        pytest.param(lambda s, h: np.add(s, h), id="numpy-ufunc"),
        pytest.param(lambda s, h: np.maximum(h, s), id="numpy-ufunc-reversed"),
        pytest.param(lambda s, h: np.concatenate([s, h]), id="numpy-function"),
        pytest.param(lambda s, h: strict_xp.exp(h), id="strict_xp-ufunc-of-numpy"),
        pytest.param(lambda s, h: strict_xp.maximum(s, h), id="strict_xp-ufunc"),
        pytest.param(lambda s, h: strict_xp.concatenate([s, h]), id="strict_xp-function-nested"),
        pytest.param(lambda s, h: strict_xp.where(s > 2, s, h), id="strict_xp-where"),
        pytest.param(lambda s, h: strict_xp.add.at(s, (0, 0), h[0, 0:1]), id="strict_xp-ufunc-at"),
        pytest.param(lambda s, h: s.__setitem__(0, h[0]), id="setitem-value"),
        pytest.param(lambda s, h: s.clip(h, 5), id="forwarded-method"),
    ],
)
def test_mixing_with_a_numpy_array_is_refused(s, host, mix):
    with pytest.raises(TypeError, match=r"cannot be mixed with a NumPy \(host\) array"):
        mix(s, host)


def test_indexing_with_a_numpy_array_is_refused(s):
    with pytest.raises(TypeError, match=r"cannot index a strict \(device\) array with a NumPy \(host\) array"):
        s[np.array([0, 1])]
    with pytest.raises(TypeError, match="cannot index"):
        s[0, np.array([True, False, True])] = 0.0


def test_a_ufunc_refuses_lists_as_cupy_does(s):
    with pytest.raises(TypeError, match="list"):
        strict_xp.add(s, [1.0, 2.0, 3.0])


def test_raw_numpy_memory_is_not_handed_out(s):
    for name in ("data", "base", "ctypes", "__array_interface__", "__array_struct__"):
        assert not hasattr(s, name), name


def test_the_strict_backend_takes_only_numpy_in_and_only_strict_out(s):
    backend = get_backend("strict")
    with pytest.raises(TypeError, match="already on the strict device"):
        backend.from_host(s)
    with pytest.raises(TypeError, match="expects a strict array"):
        backend.to_host(np.zeros(2))
    with pytest.raises(TypeError, match="expects a strict array"):
        backend.erf(np.zeros(2))


# ---- what it allows, as CuPy does ----------------------------------------------------------------


@pytest.mark.parametrize("scalar", [2, 2.5, True, np.float32(2.0), np.float64(0.5), np.int64(3)])
def test_python_and_numpy_scalars_mix_freely(s, scalar):
    results = (s + scalar, scalar * s, s - scalar, scalar / s, s**scalar, s > scalar)
    results += (np.maximum(s, scalar), strict_xp.minimum(scalar, s))
    for result in results:
        assert type(result) is StrictArray
        assert result.shape == (2, 3)


def test_get_is_the_explicit_copy_to_the_host(s):
    host = s.get()
    assert type(host) is np.ndarray
    host[0, 0] = 100.0
    assert float(s[0, 0]) == 1.0


def test_numbers_come_out_with_item_float_int_bool(s):
    assert (s[1, 2].item(), float(s[0, 1]), int(s[1, 0]), bool(s[0, 0] > 0)) == (6.0, 2.0, 4, True)
    assert (len(s), s.shape, s.dtype, s.ndim, s.size) == (2, (2, 3), np.float64, 2, 6)


def test_reductions_and_integer_indexing_give_0d_strict_arrays_as_cupy_does(s):
    for value in (s.sum(), s.max(), s.mean(), s[0, 0], s.argmax(), s.any(), strict_xp.sum(s), np.sum(s)):
        assert type(value) is StrictArray
        assert value.shape == ()


REDUCTIONS = [
    (name, axis, keepdims)
    for name in ["sum", "mean", "max", "min", "argmax", "any", "all"]
    for axis, keepdims in [(None, False), (0, False), (-1, True), ((0, 1), False)]
    if not (name == "argmax" and isinstance(axis, tuple))  # argmax takes one axis
]


@pytest.mark.parametrize("name,axis,keepdims", REDUCTIONS)
def test_reductions_match_numpy(s, name, axis, keepdims):
    got = getattr(s, name)(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(got.get(), getattr(s.get(), name)(axis=axis, keepdims=keepdims))


def test_shape_methods_match_numpy(s):
    h = s.get()
    for ours, theirs in [
        (s.reshape(3, 2), h.reshape(3, 2)), (s.reshape((6,)), h.reshape(6)), (s.T, h.T), (s.transpose(1, 0), h.transpose(1, 0)),
        (s.transpose(), h.transpose()), (s.astype(np.float32), h.astype(np.float32)), (s.copy(), h), (s.ravel(), h.ravel()),
        (s[None, :, ::2], h[None, :, ::2]), (s[..., 1], h[..., 1]), (s[strict_xp.asarray([1, 1, 0])], h[[1, 1, 0]]),
        (s[s > 2], h[h > 2]), (s[[0, 1], [2, 2]], h[[0, 1], [2, 2]]),
    ]:
        assert type(ours) is StrictArray
        np.testing.assert_array_equal(ours.get(), theirs)
    assert s.astype(np.float32).dtype == np.float32


def test_setitem_and_in_place_operators_change_the_array(s):
    s[0, 0] = 10.0
    s[1] = strict_xp.zeros(3)
    s[strict_xp.asarray([0, 0]), strict_xp.asarray([1, 2])] = -1.0
    s += 1
    s *= strict_xp.full((2, 3), 2.0)
    np.testing.assert_array_equal(s.get(), [[22, 0, 0], [2, 2, 2]])


def test_operators_match_numpy(s):
    h = s.get()
    t = strict_xp.asarray(h[::-1].copy())
    for ours, theirs in [
        (s + t, h + h[::-1]), (s - t, h - h[::-1]), (s * t, h * h[::-1]), (s / t, h / h[::-1]), (s**t, h ** h[::-1]),
        (s @ t.T, h @ h[::-1].T), (-s, -h), (abs(-s), h), (s // 2, h // 2), (s % 2, h % 2), (s >= t, h >= h[::-1]),
        (s != t, h != h[::-1]), (~(s > 3), ~(h > 3)), ((s > 2) & (s < 5), (h > 2) & (h < 5)), (1 - s, 1 - h), (2**s, 2**h),
    ]:
        assert type(ours) is StrictArray
        np.testing.assert_array_equal(ours.get(), theirs)


def test_strict_xp_mirrors_numpy(s):
    assert strict_xp.float32 is np.float32
    assert strict_xp.int64 is np.int64
    assert strict_xp.bool_ is np.bool_
    assert (strict_xp.inf, strict_xp.pi, strict_xp.e, strict_xp.newaxis) == (np.inf, np.pi, np.e, None)
    assert strict_xp.ndarray is StrictArray
    values = (
        strict_xp.zeros((2, 3)), strict_xp.ones_like(s), strict_xp.arange(4), strict_xp.exp(s), strict_xp.matmul(s, s.T),
        strict_xp.broadcast_to(s[0], (4, 3)), strict_xp.stack([s, s]), strict_xp.concatenate((s, s), axis=1),
        strict_xp.take(s, 1, axis=1), strict_xp.swapaxes(s, 0, 1), strict_xp.expand_dims(s, -1), strict_xp.sign(-s),
    )
    for value in values:
        assert type(value) is StrictArray


def test_split_returns_a_list_of_strict_arrays(s):
    parts = strict_xp.split(s, [1, 2], axis=1)
    assert [type(p) for p in parts] == [StrictArray] * 3
    assert [p.shape for p in parts] == [(2, 1)] * 3


def test_ufunc_methods_work_on_strict_arrays(s):
    target = strict_xp.zeros(3)
    strict_xp.add.at(target, strict_xp.asarray([0, 2, 0]), strict_xp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(target.get(), [4, 0, 2])
    np.testing.assert_array_equal(strict_xp.add.reduce(s, axis=0).get(), [5, 7, 9])


def test_strict_xp_asarray_is_the_explicit_way_onto_the_device():
    a = strict_xp.asarray(np.array([1.0, 2.0]))
    assert type(a) is StrictArray
    assert type(strict_xp.asnumpy(a)) is np.ndarray
    assert type(strict_xp.asarray([a[0], a[1]])) is StrictArray


def test_get_array_module_like_cupy(s):
    assert strict_xp.get_array_module(s) is strict_xp
    assert strict_xp.get_array_module(np.zeros(1)) is np


def test_random_draws_are_strict_arrays():
    generator = get_backend("strict").generator
    assert isinstance(generator, StrictGenerator)
    for draw in (generator.random((2, 3), dtype=np.float32), generator.standard_normal((2, 3), dtype=np.float32),
                 strict_xp.random.default_rng(0).random(3)):
        assert type(draw) is StrictArray
    assert generator.random((2, 3), dtype=np.float32).dtype == np.float32


def test_the_generator_state_can_be_saved_and_restored():
    generator = get_backend("strict").generator
    state = generator.bit_generator.state
    first = generator.random(3).get()
    generator.bit_generator.state = state
    np.testing.assert_array_equal(generator.random(3).get(), first)


def test_iteration_copy_pickle_repr(s):
    assert [type(row) for row in s] == [StrictArray, StrictArray]
    assert 5.0 in s
    assert 7.0 not in s
    for clone in (copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert type(clone) is StrictArray
        np.testing.assert_array_equal(clone.get(), s.get())
    assert repr(s).startswith("strict_array(")
    assert f"{s[0, 1]:.2f}" == "2.00"


def test_a_strict_array_is_unhashable_like_an_ndarray(s):
    with pytest.raises(TypeError):
        hash(s)


def test_the_backend_class_is_registered_for_strict():
    assert isinstance(get_backend("strict"), StrictBackend)


# ---- the engine on the strict device -----------------------------------------------------------


def test_a_tensor_round_trips_to_strict_and_back():
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    on_strict = x.to("strict")
    assert (on_strict.device, type(on_strict.data)) == ("strict", StrictArray)
    np.testing.assert_array_equal(on_strict.numpy(), x.numpy())
    assert type(on_strict.numpy()) is np.ndarray


def test_a_strict_tensor_refuses_a_numpy_array_operand():
    with pytest.raises(tg.DeviceError):
        tg.Tensor([1.0], device="strict") * np.ones(1)


def test_a_strict_tensor_mixes_with_python_numbers():
    x = tg.Tensor([1.0, 2.0], device="strict")
    np.testing.assert_array_equal((2 * x + 1 - x / 2).numpy(), [2.5, 4.0])


def _model(x, w, b, ids, mask):
    """A little of everything the engine does: a layer, a softmax, gathers, masks, reductions."""
    h = (x @ w + b).tanh()
    h = tg.concatenate([h, tg.maximum(h, 0.0)], axis=1)
    z = h - h.max(axis=-1, keepdims=True)
    p = z.exp() / z.exp().sum(axis=-1, keepdims=True)
    picked = p[ids].log().mean()
    spread = tg.where(mask, h, h * 0.1).var(axis=0, ddof=1).sum()
    stacked = (tg.stack([h, -h], axis=-1).abs() + 0.5).sqrt().sum(axis=(0, 2)).reshape(1, -1).transpose().mean()
    return picked + spread + stacked + (w**2).sum() * 0.01 + (b.abs() + 1).log().sum()


def test_a_full_forward_and_backward_on_strict_matches_cpu():
    rng = np.random.default_rng(0)
    arrays = {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 5)), "b": rng.standard_normal(5)}
    ids, mask = np.array([0, 3, 3, 1]), rng.standard_normal((4, 10)) > 0
    results = {}
    for device in ("cpu", "strict"):
        params = {k: tg.Tensor(v, device=device, requires_grad=True) for k, v in arrays.items()}
        loss = _model(**params, ids=asarray(ids, device), mask=asarray(mask, device))
        loss.backward()
        assert all(type(p.grad) is get_backend(device).array_type for p in params.values())
        results[device] = (loss.item(), {k: to_numpy(p.grad) for k, p in params.items()})
    assert results["cpu"][0] == results["strict"][0]
    for name in arrays:
        np.testing.assert_array_equal(results["cpu"][1][name], results["strict"][1][name])


def test_gradcheck_runs_on_strict():
    rng = np.random.default_rng(1)
    x = asarray(rng.standard_normal((3, 4)), "strict")
    assert tg.gradcheck(lambda a: (a @ a.T).tanh().sum(axis=0), x)


def test_detect_anomaly_runs_on_strict():
    with tg.detect_anomaly():
        x = tg.Tensor([1.0, 2.0], device="strict", requires_grad=True)
        (x * x).log().sum().backward()
    np.testing.assert_allclose(x.grad.get(), [2.0, 1.0])


def test_a_host_leak_in_an_op_fails_on_strict_but_not_on_cpu():
    """What the strict device is for: this op's backward builds a NumPy array by mistake."""

    class LeakyDouble(tg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g * np.full(g.shape, 2.0)  # should be self.xp.full, or just g * 2

    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    LeakyDouble.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2, 2])
    x = tg.Tensor([1.0, 2.0], device="strict", requires_grad=True)
    with pytest.raises(TypeError, match="cannot be mixed"):
        LeakyDouble.apply(x).sum().backward()
