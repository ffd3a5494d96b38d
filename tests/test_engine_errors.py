"""Every error the engine raises says what went wrong in the user's terms: the shapes, the
devices, the dtype, and what to do about it."""

import sys
import types

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import BACKENDS, get_backend

# ---- shapes ------------------------------------------------------------------------------------


def test_matmul_of_incompatible_shapes_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        tg.Tensor(np.zeros((2, 3))) @ tg.Tensor(np.zeros((4, 5)))


def test_matmul_of_a_matrix_and_a_wrong_vector_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        tg.Tensor(np.zeros((2, 3))) @ tg.Tensor(np.zeros(4))


def test_matmul_whose_batch_axes_do_not_broadcast_says_so():
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4, 2\).*batch axes"):
        tg.Tensor(np.zeros((2, 3, 4))) @ tg.Tensor(np.zeros((5, 4, 2)))


def test_matmul_of_a_scalar_is_refused_with_its_shape():
    with pytest.raises(ValueError, match=r"matmul: shapes \(\) and \(3,\)"):
        tg.Tensor(2.0) @ tg.Tensor(np.zeros(3))


def test_reshape_to_a_different_size_names_the_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        tg.Tensor(np.zeros((2, 3))).reshape(4, 2)


def test_transpose_with_axes_that_are_not_a_permutation_says_so():
    with pytest.raises(ValueError, match="not a permutation"):
        tg.Tensor(np.zeros((2, 3, 4))).transpose(0, 0, 1)


def test_an_axis_out_of_range_names_the_axis_and_the_rank():
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor with 2 dimensions"):
        tg.Tensor(np.zeros((2, 3))).sum(axis=2)


def test_var_without_degrees_of_freedom_says_so():
    with pytest.raises(ValueError, match="ddof=1"):
        tg.Tensor(np.zeros((3, 1))).var(axis=1, ddof=1)


def test_item_of_a_tensor_with_several_elements_names_its_shape():
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        tg.Tensor([1.0, 2.0]).item()


def test_truth_value_of_a_tensor_with_several_elements_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tg.Tensor([1.0, 2.0]))


# ---- backward ----------------------------------------------------------------------------------


def test_backward_on_a_non_scalar_without_a_seed_says_it_needs_a_scalar_or_a_seed():
    with pytest.raises(RuntimeError, match=r"needs a scalar.*shape \(2, 3\).*grad="):
        (tg.Tensor(np.ones((2, 3)), requires_grad=True) * 2).backward()


def test_a_seed_of_the_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"seed has shape \(3,\) but the tensor has shape \(2,\)"):
        (tg.Tensor([1.0, 2.0], requires_grad=True) * 2).backward(np.ones(3))


def test_a_second_backward_through_a_freed_graph_says_how_to_keep_it():
    y = (tg.Tensor([1.0], requires_grad=True) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


def test_requires_grad_on_an_integer_tensor_names_the_dtype_and_the_fix():
    with pytest.raises(TypeError, match=r"floating-point.*int64.*dtype='float32'"):
        tg.Tensor([1, 2, 3], requires_grad=True)


def test_a_backward_returning_a_gradient_of_the_wrong_shape_names_the_op():
    class Broken(tg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g.sum()

    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\) for an input of shape \(3,\)"):
        Broken.apply(tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)).sum().backward()


def test_detect_anomaly_names_the_op_that_made_a_nan():
    x = tg.Tensor([-1.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match=r"forward of Log.*1 NaN"), np.errstate(invalid="ignore"):
        x.log()


def test_detect_anomaly_names_the_backward_that_made_an_inf():
    x = tg.Tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match=r"backward of Sqrt.*1 inf"), np.errstate(divide="ignore"):
        x.sqrt().sum().backward()


# ---- devices -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b, lambda a, b: tg.maximum(a, b)])
def test_mixing_devices_names_both_devices(op):
    cpu, strict = tg.Tensor([1.0, 2.0]), tg.Tensor([1.0, 2.0], device="strict")
    with pytest.raises(tg.DeviceError, match=r"'cpu' and 'strict'.*\.to\("):
        op(cpu, strict)
    with pytest.raises(tg.DeviceError, match="'strict' and 'cpu'"):
        op(strict, cpu)


def test_mixing_a_tensor_with_an_array_of_another_device_names_both():
    with pytest.raises(tg.DeviceError, match="'strict'.*'cpu'"):
        tg.Tensor([1.0], device="strict") + np.ones(1, dtype=np.float32)


def test_comparing_tensors_of_two_devices_names_both():
    with pytest.raises(tg.DeviceError, match="'cpu'.*'strict'"):
        _ = tg.Tensor([1.0]) < tg.Tensor([1.0], device="strict")


def test_an_unknown_device_is_named_with_the_choices():
    with pytest.raises(tg.DeviceError, match=r"unknown device 'tpu'.*'cpu', 'cuda'"):
        tg.Tensor([1.0], device="tpu")


@pytest.fixture
def fresh_cuda(monkeypatch):
    """Forget any cuda backend already made, so the next request builds it again."""
    monkeypatch.delitem(BACKENDS, "cuda", raising=False)
    return monkeypatch


def test_cuda_without_cupy_says_what_is_missing_and_how_to_install_it(fresh_cuda):
    fresh_cuda.setitem(sys.modules, "cupy", None)  # `import cupy` now fails, even where CuPy is installed
    with pytest.raises(tg.DeviceError, match=r"needs CuPy.*pip install 'tinygrad-ft\[gpu\]'"):
        tg.Tensor([1.0], device="cuda")
    assert "cuda" not in BACKENDS


def test_cuda_without_cupy_is_not_available(fresh_cuda):
    fresh_cuda.setitem(sys.modules, "cupy", None)
    assert tg.cuda_is_available() is False


def _fake_cupy(count=None, error=None):
    def get_device_count():
        if error:
            raise error
        return count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime), ndarray=type("ndarray", (), {}))


def test_cuda_with_cupy_but_no_gpu_says_none_was_found(fresh_cuda):
    fresh_cuda.setitem(sys.modules, "cupy", _fake_cupy(count=0))
    with pytest.raises(tg.DeviceError, match="needs an NVIDIA GPU.*found none"):
        get_backend("cuda")


def test_cuda_with_a_broken_driver_passes_on_what_cuda_reports(fresh_cuda):
    fresh_cuda.setitem(sys.modules, "cupy", _fake_cupy(error=RuntimeError("cudaErrorInsufficientDriver")))
    with pytest.raises(tg.DeviceError, match="CUDA reports: cudaErrorInsufficientDriver"):
        get_backend("cuda")


def test_a_device_error_is_a_runtime_error():
    assert issubclass(tg.DeviceError, RuntimeError)


# ---- dtypes ------------------------------------------------------------------------------------


def test_a_name_that_is_not_a_dtype_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"not a dtype: 'float33'.*float32"):
        tg.Tensor([1.0], dtype="float33")


def test_an_integer_default_dtype_is_refused():
    with pytest.raises(TypeError, match="floating point"):
        tg.set_default_dtype("int32")


def test_strings_do_not_become_tensors():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tg.Tensor(["a", "b"])
