"""Every primitive op: its gradient against central differences (relative error < 1e-7, in
float64, with a random cotangent) and, where PyTorch is installed, its values and gradients
against PyTorch's. One line per case: ``check_op(torch_version, our_version, input_shapes, device)``.

Each test runs on every device: cpu, strict (the CuPy stand-in that refuses NumPy leaks) and
cuda (skipped without a GPU).
"""

import numpy as np
import pytest
from helpers import check_op, torch

import tinygrad_ft as tg
from tinygrad_ft.backend import asarray, to_numpy

# Shape pairs for binary element-wise ops: equal, broadcast a row, a column against a row,
# a new leading axis, size-1 axes on both sides, and 0-d scalars on either side.
BINARY_SHAPES = [
    pytest.param([(3, 4), (3, 4)], id="same"),
    pytest.param([(3, 4), (4,)], id="row"),
    pytest.param([(3, 1), (1, 4)], id="column-by-row"),
    pytest.param([(2, 3, 4), (3, 1)], id="new-leading-axis"),
    pytest.param([(1, 3, 1), (2, 1, 4)], id="size-1-both"),
    pytest.param([(), (3,)], id="scalar-left"),
    pytest.param([(2, 3), ()], id="scalar-right"),
    pytest.param([(), ()], id="both-scalar"),
]
UNARY_SHAPES = [pytest.param((3, 4), id="2d"), pytest.param((), id="0d"), pytest.param((2, 1, 3), id="size-1-axis")]


# ---- arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_add(device, shapes): check_op(lambda a, b: a + b, lambda a, b: a + b, shapes, device)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_sub(device, shapes): check_op(lambda a, b: a - b, lambda a, b: a - b, shapes, device)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_mul(device, shapes): check_op(lambda a, b: a * b, lambda a, b: a * b, shapes, device)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_div(device, shapes): check_op(lambda a, b: a / b, lambda a, b: a / b, shapes, device, positive=True)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_pow_with_a_tensor_exponent(device, shapes): check_op(lambda a, b: a**b, lambda a, b: a**b, shapes, device, positive=True)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_maximum(device, shapes): check_op(lambda a, b: torch.maximum(a, b), tg.maximum, shapes, device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_add_a_python_number(device, shape): check_op(lambda a: a + 2.5, lambda a: a + 2.5, [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_subtract_from_a_python_number(device, shape): check_op(lambda a: 2.5 - a, lambda a: 2.5 - a, [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_multiply_by_a_python_number(device, shape): check_op(lambda a: 3 * a, lambda a: 3 * a, [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_divide_a_python_number(device, shape): check_op(lambda a: 1.5 / a, lambda a: 1.5 / a, [shape], device, positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_python_number_to_a_tensor_power(device, shape): check_op(lambda a: 2.0**a, lambda a: 2.0**a, [shape], device)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 1])
def test_pow_with_a_number_exponent(device, exponent):
    check_op(lambda a: a**exponent, lambda a: a**exponent, [(3, 4)], device, positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_neg(device, shape): check_op(lambda a: -a, lambda a: -a, [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_maximum_with_a_python_number(device, shape):
    check_op(lambda a: torch.clamp(a, min=0.1), lambda a: tg.maximum(a, 0.1), [shape], device)


# ---- matmul ----------------------------------------------------------------------------------

MATMUL_SHAPES = [
    pytest.param([(3,), (3,)], id="vector-vector"),
    pytest.param([(2, 3), (3,)], id="matrix-vector"),
    pytest.param([(3,), (3, 4)], id="vector-matrix"),
    pytest.param([(2, 3), (3, 4)], id="matrix-matrix"),
    pytest.param([(5, 2, 3), (5, 3, 4)], id="batched"),
    pytest.param([(5, 2, 3), (3, 4)], id="batched-shared-weight"),
    pytest.param([(3, 4), (5, 4, 2)], id="shared-left"),
    pytest.param([(2, 1, 2, 3), (3, 3, 4)], id="broadcast-batch"),
    pytest.param([(5, 2, 3), (3,)], id="batched-vector"),
    pytest.param([(3,), (5, 3, 4)], id="vector-batched"),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul(device, shapes): check_op(lambda a, b: a @ b, lambda a, b: a @ b, shapes, device)


# ---- element-wise functions ------------------------------------------------------------------


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_exp(device, shape): check_op(lambda a: a.exp(), lambda a: a.exp(), [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_log(device, shape): check_op(lambda a: a.log(), lambda a: a.log(), [shape], device, positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_sqrt(device, shape): check_op(lambda a: a.sqrt(), lambda a: a.sqrt(), [shape], device, positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_tanh(device, shape): check_op(lambda a: a.tanh(), lambda a: a.tanh(), [shape], device)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_abs(device, shape): check_op(lambda a: a.abs(), lambda a: a.abs(), [shape], device)


# ---- reductions: axis None / int / negative / tuple, with and without keepdims ----------------

REDUCTIONS = [
    pytest.param((3, 4), None, False, id="all"),
    pytest.param((3, 4), None, True, id="all-keepdims"),
    pytest.param((3, 4), 0, False, id="axis0"),
    pytest.param((3, 4), -1, False, id="negative-axis"),
    pytest.param((3, 4), 1, True, id="keepdims"),
    pytest.param((2, 3, 4), (0, 2), False, id="tuple-axes"),
    pytest.param((2, 3, 4), (-1, 0), True, id="tuple-negative-keepdims"),
    pytest.param((3, 1), 1, False, id="size-1-axis"),
    pytest.param((5,), 0, False, id="1d"),
    pytest.param((), None, False, id="0d"),
]


def _all(axis):
    """PyTorch's spelling of 'every axis' for amax (it has no axis=None there)."""
    return () if axis is None else axis


@pytest.mark.parametrize("shape,axis,keepdims", REDUCTIONS)
def test_sum(device, shape, axis, keepdims):
    check_op(lambda a: a.sum(dim=axis, keepdim=keepdims), lambda a: a.sum(axis=axis, keepdims=keepdims), [shape], device)


@pytest.mark.parametrize("shape,axis,keepdims", REDUCTIONS)
def test_mean(device, shape, axis, keepdims):
    check_op(lambda a: a.mean(dim=axis, keepdim=keepdims), lambda a: a.mean(axis=axis, keepdims=keepdims), [shape], device)


@pytest.mark.parametrize("shape,axis,keepdims", REDUCTIONS)
def test_max(device, shape, axis, keepdims):
    check_op(lambda a: a.amax(dim=_all(axis), keepdim=keepdims), lambda a: a.max(axis=axis, keepdims=keepdims), [shape], device)


@pytest.mark.parametrize("shape,axis,keepdims", [p for p in REDUCTIONS if p.id not in ("size-1-axis", "0d")])
@pytest.mark.parametrize("ddof", [0, 1])
def test_var(device, shape, axis, keepdims, ddof):
    check_op(lambda a: a.var(dim=axis, keepdim=keepdims, correction=ddof),
             lambda a: a.var(axis=axis, keepdims=keepdims, ddof=ddof), [shape], device)


def test_max_shares_the_gradient_equally_among_ties(device):
    x = tg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype="float64", device=device, requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


def test_max_at_a_two_way_tie_agrees_with_central_differences(device):
    # at a tie of two, (f(x+h) - f(x-h)) / 2h = (h - 0) / 2h = 1/2, the equal share (not so for 3 or more)
    assert tg.gradcheck(lambda a: a.max(axis=1), asarray(np.array([[1.0, 3.0, 3.0], [4.0, 2.0, 4.0]]), device))


def test_maximum_splits_the_gradient_in_half_on_ties(device):
    a = tg.Tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    b = tg.Tensor([3.0, 2.0, 1.0], dtype="float64", device=device, requires_grad=True)
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(to_numpy(a.grad), [0, 0.5, 1])
    np.testing.assert_array_equal(to_numpy(b.grad), [1, 0.5, 0])


# ---- shape -----------------------------------------------------------------------------------


@pytest.mark.parametrize("new_shape", [(2, 6), (12,), (-1,), (4, 3, 1), (1, 12)])
def test_reshape(device, new_shape): check_op(lambda a: a.reshape(new_shape), lambda a: a.reshape(new_shape), [(3, 4)], device)


def test_reshape_a_scalar(device): check_op(lambda a: a.reshape(1, 1), lambda a: a.reshape(1, 1), [()], device)


def test_flatten(device): check_op(lambda a: a.flatten(), lambda a: a.flatten(), [(2, 3, 2)], device)


def test_unsqueeze(device): check_op(lambda a: a.unsqueeze(-2), lambda a: a.unsqueeze(-2), [(2, 3)], device)


@pytest.mark.parametrize("axes", [(2, 0, 1), (0, 2, 1), (-1, 0, 1), (0, 1, 2)])
def test_transpose(device, axes): check_op(lambda a: a.permute(axes), lambda a: a.transpose(axes), [(2, 3, 4)], device)


def test_permute(device): check_op(lambda a: a.permute(1, 2, 0), lambda a: a.permute(1, 2, 0), [(2, 3, 4)], device)


def test_transpose_without_axes_reverses_them(device):
    check_op(lambda a: a.permute(2, 1, 0), lambda a: a.transpose(), [(2, 3, 4)], device)


def test_T_of_a_matrix(device): check_op(lambda a: a.T, lambda a: a.T, [(3, 4)], device)


@pytest.mark.parametrize("axis1,axis2", [(0, 1), (0, -1), (1, 1)])
def test_swapaxes(device, axis1, axis2):
    check_op(lambda a: a.swapaxes(axis1, axis2), lambda a: a.swapaxes(axis1, axis2), [(2, 3, 4)], device)


# ---- indexing and slicing --------------------------------------------------------------------

BASIC_INDICES = [
    pytest.param(1, id="int"),
    pytest.param(-1, id="negative-int"),
    pytest.param(slice(1, 3), id="slice"),
    pytest.param((slice(None), slice(None, None, 2)), id="step"),
    pytest.param((Ellipsis, 1), id="ellipsis"),
    pytest.param((None, 0), id="newaxis"),
    pytest.param((1, 2), id="one-element"),
]


@pytest.mark.parametrize("index", BASIC_INDICES)
def test_basic_indexing(device, index): check_op(lambda a: a[index], lambda a: a[index], [(3, 4)], device)


def test_negative_step_slicing(device):
    check_op(None, lambda a: a[::-1, 1::-2], [(3, 4)], device)  # PyTorch has no negative steps


def test_integer_array_indexing_adds_repeated_indices(device):
    check_op(lambda a, i: a[i], lambda a, i: a[i], [(4, 3)], device, extra=(np.array([0, 2, 0, 0]),))


def test_integer_array_indexing_of_two_axes(device):
    check_op(lambda a, i, j: a[i, j], lambda a, i, j: a[i, j], [(3, 4)], device, extra=(np.array([0, 2, 0]), np.array([1, 1, 1])))


def test_integer_array_indexing_with_a_slice(device):
    check_op(lambda a, i: a[i, 1:3], lambda a, i: a[i, 1:3], [(3, 4)], device, extra=(np.array([2, 2, 0]),))


def test_a_2d_integer_index_gathers_rows_like_an_embedding(device):
    check_op(lambda a, i: a[i], lambda a, i: a[i], [(5, 3)], device, extra=(np.array([[0, 4, 4], [1, 0, 4]]),))


def test_boolean_mask_indexing(device):
    check_op(lambda a, m: a[m], lambda a, m: a[m], [(3, 4)], device, extra=(np.arange(12).reshape(3, 4) % 3 == 0,))


def test_boolean_mask_of_rows(device):
    check_op(lambda a, m: a[m], lambda a, m: a[m], [(3, 4)], device, extra=(np.array([True, False, True]),))


# ---- joining and selecting -------------------------------------------------------------------


@pytest.mark.parametrize("shapes,axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3), (2, 3)], -1),
                                         ([(3,), (2,)], 0)])
def test_concatenate(device, shapes, axis):
    check_op(lambda *xs: torch.cat(xs, dim=axis), lambda *xs: tg.concatenate(xs, axis=axis), shapes, device)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(device, axis):
    check_op(lambda a, b, c: torch.stack([a, b, c], dim=axis),
             lambda a, b, c: tg.stack([a, b, c], axis=axis), [(2, 3)] * 3, device)


def test_stack_scalars(device): check_op(lambda a, b: torch.stack([a, b]), lambda a, b: tg.stack([a, b]), [(), ()], device)


@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(1, 4), (3, 1)], [(), (3, 4)]])
def test_where(device, shapes):
    check_op(lambda a, b, c: torch.where(c, a, b),
             lambda a, b, c: tg.where(c, a, b), shapes, device, extra=(np.arange(12).reshape(3, 4) % 2 == 0,))


def test_where_with_a_python_number(device):
    check_op(lambda a, c: torch.where(c, a, 0.0),
             lambda a, c: tg.where(c, a, 0.0), [(3, 4)], device, extra=(np.arange(12).reshape(3, 4) % 2 == 0,))


# ---- dtype casts (not gradient-checked: float32 has too few digits for central differences) ---


@pytest.mark.parametrize("source,target", [("float64", "float32"), ("float32", "float64")])
def test_cast_changes_the_dtype_and_brings_the_gradient_back_in_the_input_dtype(device, source, target):
    x = tg.Tensor(np.array([[1.0, -2.0], [3.5, 0.25]]), dtype=source, device=device, requires_grad=True)
    y = x.to(dtype=target)
    (y * y).sum().backward()
    assert (y.dtype, x.grad.dtype) == (np.dtype(target), np.dtype(source))
    np.testing.assert_array_equal(to_numpy(x.grad), 2 * x.numpy())


def test_cast_to_an_integer_dtype_records_no_graph(device):
    y = tg.Tensor([1.7, -2.2], requires_grad=True, device=device).to(dtype="int64")
    assert (y.dtype, y.requires_grad) == (np.dtype("int64"), False)
    np.testing.assert_array_equal(y.numpy(), [1, -2])


# ---- comparisons: boolean, never differentiated ------------------------------------------------

COMPARISONS = {
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
}


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("other", ["tensor", "row", "number"])
def test_comparison_is_boolean_and_not_differentiated(device, name, other):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = {"tensor": a[::-1].copy(), "row": np.array([2.0, 2.0, 2.0]), "number": 2.0}[other]
    x = tg.Tensor(a, requires_grad=True, device=device)
    y = COMPARISONS[name](x, tg.Tensor(b, device=device) if other != "number" else b)
    assert (y.dtype, y.requires_grad, y.device) == (np.dtype(bool), False, x.device)
    np.testing.assert_array_equal(y.numpy(), COMPARISONS[name](a, b))
