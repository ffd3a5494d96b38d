"""The device registry: which backend holds a tensor's numbers, and how arrays cross devices.

A tensor's data is an array of one *array module* (``xp``): NumPy on the CPU, CuPy on an
NVIDIA GPU. Every op asks the backend for ``xp`` and calls ``xp.exp``, ``xp.matmul``, ...,
so the same code runs on both. Only the backend folder imports NumPy for math; other
folders get their array module from here (``get_array_module(x)`` or ``tensor.xp``).

Devices: ``"cpu"`` (NumPy, ``numpy_backend``), ``"cuda"`` (CuPy, ``cuda``) and ``"strict"``
(``strict``), a stand-in for CuPy that runs on the CPU but, like CuPy, refuses to mix with
NumPy arrays or to turn into one implicitly: it catches host leaks without a GPU.
"""

from __future__ import annotations

import numpy

from .cuda import CudaBackend
from .dtypes import as_dtype, get_default_dtype
from .numpy_backend import Backend, DeviceError
from .strict import StrictBackend

# How each device's backend is made (on first use), and the ones made so far. Both are public
# so that tests can register a device of their own (``register_backend``) and forget one.
FACTORIES = {"cpu": Backend, "cuda": CudaBackend, "strict": StrictBackend}
DEVICES = tuple(FACTORIES)
BACKENDS: dict[str, Backend] = {}
_seed = 0  # the last seed given to manual_seed; backends created later start from it


def register_backend(name: str, factory) -> None:
    """Make ``factory(seed)`` the backend for device ``name`` (created on first use)."""
    FACTORIES[name] = factory
    BACKENDS.pop(name, None)


def get_backend(device: str = "cpu") -> Backend:
    """The backend for a device name: ``"cpu"``, ``"cuda"``, ``"strict"`` (or a registered one)."""
    if isinstance(device, Backend):
        return device
    if device not in BACKENDS:
        if device not in FACTORIES:
            raise DeviceError(f"unknown device {device!r}; choose one of {list(FACTORIES)}")
        BACKENDS[device] = FACTORIES[device](_seed)
    return BACKENDS[device]


def backend_of(array) -> Backend:
    """The backend whose array type ``array`` is (NumPy arrays and scalars are ``"cpu"``)."""
    for backend in BACKENDS.values():
        if backend.owns(array):
            return backend
    if isinstance(array, numpy.generic):
        return get_backend("cpu")
    raise TypeError(f"expected an array of a known device, got {type(array).__name__}")


def get_array_module(x):
    """The array module (``numpy`` or ``cupy``) of an array or a tensor, like CuPy's own helper."""
    data = getattr(x, "data", x) if hasattr(x, "device") and hasattr(x, "requires_grad") else x
    return backend_of(data).xp


def is_array(x) -> bool:
    return any(b.owns(x) for b in BACKENDS.values())


def manual_seed(seed: int) -> None:
    """Seed every device's random generator (dropout masks and initialisation draw from them)."""
    global _seed
    _seed = seed
    for backend in BACKENDS.values():
        backend.seed(seed)


def as_array(x):
    """A NumPy scalar (what NumPy's full reductions and ``x[i, j]`` return) as a 0-d array, so a
    tensor's data is always an array, as it is with CuPy; anything else passes unchanged."""
    return numpy.asarray(x) if isinstance(x, numpy.generic) else x


def to_numpy(x) -> numpy.ndarray:
    """An explicit copy to the host: the one sanctioned way out of a device array."""
    return backend_of(x).to_host(x)


def asarray(data, device: str = "cpu", dtype=None):
    """An array on ``device`` from an array, a number or nested lists.

    Python numbers and lists of floats become the default float dtype (float32); arrays keep
    their dtype unless ``dtype`` is given. Moving between devices here is explicit: the caller
    named the device.
    """
    backend = get_backend(device)
    if dtype is not None:
        dtype = as_dtype(dtype)
    if backend.owns(data):
        array = data
    elif is_array(data):
        array = backend.from_host(backend_of(data).to_host(data))
    else:
        try:
            host = numpy.asarray(data)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"cannot make an array from {type(data).__name__}: {e}") from None
        if dtype is None and host.dtype.kind == "f" and not isinstance(data, numpy.ndarray):
            dtype = get_default_dtype()
        array = backend.from_host(host) if host.dtype.kind in "biuf" else host
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a tensor of dtype {array.dtype} (from {type(data).__name__}): "
                        "tensors hold booleans, integers or real floating-point numbers")
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def format_array(array, prefix: str = "") -> str:
    """The numbers of a host array as NumPy prints them, without NumPy's ``array(...)`` frame."""
    return numpy.array2string(numpy.asarray(array), separator=", ", prefix=prefix)


def cuda_is_available() -> bool:
    try:
        get_backend("cuda")
        return True
    except DeviceError:
        return False


get_backend("cpu")
get_backend("strict")  # NumPy underneath: made now, so strict arrays made directly are known to backend_of
