"""Property-based: for any two broadcast-compatible shapes, the gradients of a+b, a-b, a*b, a/b
and maximum(a, b) come back in the inputs' own shapes and equal the textbook answer: the
element-wise derivative, summed over the axes that broadcasting stretched (computed here
with plain NumPy, independently of ``ops.unbroadcast``)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, to_numpy

SHAPE_PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3)
SETTINGS = settings(max_examples=25, deadline=None)


def sum_to(grad, shape):
    """Sum ``grad`` over the axes along which an array of ``shape`` was broadcast to ``grad.shape``."""
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    stretched = tuple(i for i, (n, m) in enumerate(zip(padded, grad.shape)) if n == 1 and m != 1)
    return grad.sum(axis=stretched, keepdims=True).reshape(shape)


# name: (our op, d out/d a, d out/d b), derivatives in NumPy on the broadcast arrays
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "sub": (lambda a, b: a - b, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "mul": (lambda a, b: a * b, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "div": (lambda a, b: a / b, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2),
    "maximum": (tg.maximum, lambda a, b: (a > b) + 0.0, lambda a, b: (b > a) + 0.0),
}


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("device", ["cpu", "strict"])
@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_broadcast_gradients_are_summed_back_to_each_inputs_shape(name, device, shapes, seed):
    (shape_a, shape_b), out_shape = shapes
    op, d_a, d_b = OPS[name]
    rng = np.random.default_rng(seed)
    a, b, seed_grad = (np.asarray(rng.standard_normal(s)) for s in (shape_a, shape_b, out_shape))
    if name == "div":
        b = np.where(b < 0, b - 0.5, b + 0.5)  # away from 0

    ta = tg.Tensor(asarray(a, device), requires_grad=True)
    tb = tg.Tensor(asarray(b, device), requires_grad=True)
    out = op(ta, tb)
    assert out.shape == out_shape
    out.backward(seed_grad)

    assert (ta.grad.shape, tb.grad.shape) == (tuple(shape_a), tuple(shape_b))
    np.testing.assert_allclose(to_numpy(ta.grad), sum_to(seed_grad * d_a(a, b), shape_a), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(tb.grad), sum_to(seed_grad * d_b(a, b), shape_b), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=4).map(tuple), data=st.data())
def test_a_reduction_over_any_axes_gives_a_gradient_of_the_inputs_shape(shape, data):
    axes = data.draw(st.sets(st.integers(0, max(len(shape) - 1, 0)), max_size=len(shape)).map(tuple) if shape else st.just(None))
    keepdims = data.draw(st.booleans())
    x = tg.Tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    out = x.sum(axis=axes if axes else None, keepdims=keepdims)
    out.backward(np.ones(out.shape))
    assert x.grad.shape == shape
    np.testing.assert_array_equal(x.grad, np.ones(shape))
