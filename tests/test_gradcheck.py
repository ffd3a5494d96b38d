"""The gradient checker itself: it passes right gradients, catches wrong ones (even ones a
plain sum would miss), and says where and by how much."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.autograd.gradcheck import numerical_gradient, relative_error
from tinygrad_ft.backend import asarray


class Softmax(tg.Function):
    """softmax over the last axis, right: dL/dx = y * (g - Σ g*y)."""

    def forward(self, x):
        e = self.xp.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, g):
        return self.y * (g - (g * self.y).sum(axis=-1, keepdims=True))


class WrongSoftmax(Softmax):
    """softmax with a subtly wrong backward: the plain mean of g where Σ g*y belongs.

    For g = 1 (what a plain sum of the output sends back) both are 1, so the two backwards
    agree exactly there; for any other g they differ.
    """

    def backward(self, g):
        return self.y * (g - g.mean(axis=-1, keepdims=True))


class ScaleWithOneWrongElement(tg.Function):
    """y = 3x, but backward gets element (1, 2) wrong (4 instead of 3)."""

    def forward(self, x):
        return 3 * x

    def backward(self, g):
        d = 3 * g
        d[1, 2] = 4 * g[1, 2]
        return d


def x34(seed=0):
    return np.random.default_rng(seed).standard_normal((3, 4))


def test_a_right_backward_passes(device):
    result = tg.gradcheck(lambda x: Softmax.apply(x), asarray(x34(), device))
    assert result.ok
    assert bool(result)
    assert result.max_rel_error < 1e-7
    assert str(result).startswith("gradcheck passed")


def test_a_wrong_softmax_backward_is_caught_with_a_random_cotangent(device):
    result = tg.gradcheck(lambda x: WrongSoftmax.apply(x), asarray(x34(), device))
    assert not result.ok
    assert result.max_rel_error > 1e-3


def test_a_plain_sum_would_not_catch_the_wrong_softmax():
    # Σ softmax(x) = 1 whatever x is, so the gradient of the sum is 0, and the wrong backward
    # also gives 0 for a cotangent of all ones: the sum-based check passes a broken op. That is
    # why gradcheck contracts the output with a random cotangent instead.
    x = tg.Tensor(x34(), requires_grad=True)
    WrongSoftmax.apply(x).sum().backward()
    numeric = numerical_gradient(lambda: float(WrongSoftmax.apply(x).sum().item()), x)
    np.testing.assert_allclose(x.grad, 0.0, atol=1e-15)
    np.testing.assert_allclose(numeric, 0.0, atol=1e-9)  # 0 up to the rounding noise of differences


def test_the_report_names_the_worst_element_with_both_values():
    result = tg.gradcheck(lambda x: ScaleWithOneWrongElement.apply(x), x34())
    assert (result.ok, result.input_index, result.element) == (False, 0, (1, 2))
    assert result.analytic == pytest.approx(4 / 3 * result.numeric, rel=1e-8)
    assert result.max_rel_error == pytest.approx(1 / 7, rel=1e-6)  # |4 - 3| / (4 + 3)
    text = str(result)
    assert "FAILED" in text
    assert "input 0, element (1, 2)" in text
    assert f"analytic {result.analytic:.10g}" in text
    assert f"numeric {result.numeric:.10g}" in text


def test_the_report_names_which_input_is_wrong():
    result = tg.gradcheck(lambda a, b: a + ScaleWithOneWrongElement.apply(b), x34(0), x34(1))
    assert (result.input_index, result.element) == (1, (1, 2))


def test_assert_gradcheck_raises_with_the_report():
    with pytest.raises(AssertionError, match=r"FAILED.*element \(1, 2\).*analytic.*numeric"):
        tg.assert_gradcheck(lambda x: ScaleWithOneWrongElement.apply(x), x34())


def test_an_input_that_gets_no_gradient_is_reported():
    result = tg.gradcheck(lambda a, b: a * 2, x34(0), x34(1))
    assert not result.ok
    assert "input 1 got no gradient" in str(result)


def test_integer_and_boolean_inputs_are_passed_through_unchecked(device):
    ids = asarray(np.array([2, 0, 2]), device)
    mask = asarray(np.array([True, False, True, True]), device)
    assert tg.gradcheck(lambda x, i, m: x[i][:, m], asarray(x34(), device), ids, mask)


def test_the_check_runs_in_float64_even_for_float32_inputs():
    seen = []
    tg.gradcheck(lambda x: seen.append(x.dtype) or x * 2, x34().astype(np.float32))
    assert set(seen) == {np.dtype("float64")}


def test_the_callers_arrays_are_not_changed():
    x = x34()
    before = x.copy()
    tg.gradcheck(lambda a: a.exp(), x)
    np.testing.assert_array_equal(x, before)


def test_gradcheck_accepts_tensors_and_a_0d_input():
    assert tg.gradcheck(lambda a, b: a * b.tanh(), tg.Tensor(np.array(0.7)), tg.Tensor(x34()))


def test_without_a_floating_input_there_is_nothing_to_check():
    with pytest.raises(ValueError, match="no floating-point input"):
        tg.gradcheck(lambda i: i, np.array([1, 2]))


def test_f_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        tg.gradcheck(lambda x: 1.0, x34())


def test_relative_error_is_cs231ns():
    a, n = np.array([1.0, 0.0, 1.0, 3.0]), np.array([1.0, 0.0, -1.0, 1.0])
    np.testing.assert_array_equal(relative_error(a, n), [0.0, 0.0, 1.0, 0.5])


def test_the_numerical_gradient_of_a_quadratic_is_exact_to_rounding():
    x = tg.Tensor(np.array([1.0, -2.0, 0.5]))
    numeric = numerical_gradient(lambda: float((x.data**2).sum()), x)
    np.testing.assert_allclose(numeric, [2.0, -4.0, 1.0], rtol=1e-8)
    np.testing.assert_array_equal(x.numpy(), [1.0, -2.0, 0.5])  # every element put back
