"""The backend module: device names, array modules, the explicit ways on and off a device,
default dtypes and seeded random numbers."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import (
    BACKENDS,
    FACTORIES,
    Backend,
    as_array,
    as_dtype,
    asarray,
    backend_of,
    get_array_module,
    get_backend,
    is_array,
    is_floating,
    to_numpy,
)
from tinygrad_ft.backend.strict import StrictArray, strict_xp


def test_cpu_is_numpy():
    backend = get_backend("cpu")
    assert (backend.name, backend.xp, backend.array_type) == ("cpu", np, np.ndarray)


def test_strict_is_registered_on_first_use():
    backend = get_backend("strict")
    assert (backend.name, backend.xp, backend.array_type) == ("strict", strict_xp, StrictArray)


def test_get_backend_returns_one_backend_per_device():
    assert get_backend("strict") is get_backend("strict")
    assert get_backend(get_backend("cpu")) is get_backend("cpu")


def test_register_backend_adds_a_device(monkeypatch):
    class Other(Backend):
        name = "other"

    monkeypatch.setitem(FACTORIES, "other", Other)
    try:
        assert tg.Tensor([1.0], device="other").device == "other"
    finally:
        BACKENDS.pop("other", None)


def test_backend_of_knows_each_device(device):
    array = asarray([1.0], device)
    assert backend_of(array) is get_backend(device)


def test_backend_of_a_numpy_scalar_is_cpu():
    assert backend_of(np.float32(1.0)).name == "cpu"


def test_backend_of_something_else_is_refused():
    with pytest.raises(TypeError, match="list"):
        backend_of([1.0])


def test_get_array_module_of_an_array_and_of_a_tensor(device):
    t = tg.Tensor([1.0], device=device)
    assert get_array_module(t) is get_array_module(t.data) is get_backend(device).xp


def test_is_array():
    assert is_array(np.zeros(1))
    assert is_array(asarray([1.0], "strict"))
    assert not is_array([1.0])
    assert not is_array(1.0)


# ---- asarray: the way onto a device --------------------------------------------------------------


def test_asarray_of_floats_gives_the_default_dtype(device):
    assert asarray([1.0, 2.0], device).dtype == np.float32
    assert asarray(1.5, device).dtype == np.float32


def test_asarray_keeps_an_arrays_dtype_and_ints(device):
    assert asarray(np.zeros(2), device).dtype == np.float64
    assert asarray([1, 2], device).dtype == np.int64


def test_asarray_casts_when_asked(device):
    assert asarray([1, 2], device, "float64").dtype == np.float64


def test_asarray_moves_between_devices_explicitly():
    on_strict = asarray(np.array([1.0, 2.0]), "strict")
    back = asarray(on_strict, "cpu")
    assert type(on_strict) is StrictArray
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, [1, 2])


def test_asarray_of_an_array_already_there_is_that_array():
    a = np.zeros(3)
    assert asarray(a, "cpu") is a


def test_to_numpy_copies_to_the_host(device):
    array = asarray(np.array([1.0, 2.0]), device)
    host = to_numpy(array)
    host[0] = 5.0
    assert type(host) is np.ndarray
    assert to_numpy(array)[0] == 1.0


def test_as_array_turns_a_numpy_scalar_into_a_0d_array():
    assert type(as_array(np.float64(2.0))) is np.ndarray
    a = np.zeros(2)
    assert as_array(a) is a


# ---- dtypes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["float32", np.float32, np.dtype("float32")])
def test_as_dtype_accepts_names_types_and_dtypes(name):
    assert as_dtype(name) == np.float32


def test_is_floating():
    assert is_floating("float64")
    assert not is_floating("int64")
    assert not is_floating(bool)


def test_the_default_dtype_is_float32():
    assert tg.get_default_dtype() == np.float32


# ---- random numbers ------------------------------------------------------------------------------


def test_manual_seed_seeds_every_device(device):
    tg.manual_seed(3)
    first = to_numpy(get_backend(device).random((3,), np.float32))
    tg.manual_seed(3)
    second = to_numpy(get_backend(device).random((3,), np.float32))
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32
    assert ((0 <= first) & (first < 1)).all()


def test_cpu_and_strict_draw_the_same_numbers_from_the_same_seed():
    tg.manual_seed(5)
    np.testing.assert_array_equal(tg.randn(4).numpy(), tg.randn(4, device="strict").numpy())


def test_erf_matches_known_values(device):
    x = asarray(np.array([0.0, 0.5, -1.0, 3.0]), device)
    expected = [0.0, 0.5204998778130465, -0.8427007929497149, 0.9999779095030014]
    np.testing.assert_allclose(to_numpy(get_backend(device).erf(x)), expected, rtol=1e-14)


def test_scatter_add_adds_repeated_indices(device):
    backend = get_backend(device)
    target = backend.xp.zeros(3)
    backend.scatter_add(target, asarray(np.array([0, 2, 0]), device), asarray(np.array([1.0, 2.0, 3.0]), device))
    np.testing.assert_array_equal(to_numpy(target), [4, 0, 2])
