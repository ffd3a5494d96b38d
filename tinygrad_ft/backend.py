"""Backends: which array library holds a tensor's numbers, and on which device.

A tensor's data is an array of one *array module* (``xp``): NumPy on the CPU, CuPy on an
NVIDIA GPU. Every op asks the backend for ``xp`` and calls ``xp.exp``, ``xp.matmul``, ...,
so the same code runs on both. This is the only file that imports NumPy for math; other
files get their array module from here (``get_array_module(x)`` or ``tensor.xp``).

Devices are named ``"cpu"`` and ``"cuda"``. A third, ``"strict"``, is a test stand-in for
CuPy that runs on the CPU but, like CuPy, refuses to mix with NumPy arrays or to turn into
one implicitly (see ``tinygrad_ft.testing.strict``); it catches host leaks without a GPU.
"""

from __future__ import annotations

import numpy

DEVICES = ("cpu", "cuda")


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot give, or two devices were mixed."""


class Backend:
    """One device: its name, its array module ``xp``, and the few things ``xp`` spells differently.

    Subclasses fill in ``name``, ``xp`` and ``array_type``; the defaults suit NumPy.
    """

    name = "cpu"
    xp = numpy
    array_type = numpy.ndarray

    def owns(self, array) -> bool:
        return isinstance(array, self.array_type)

    def from_host(self, array: numpy.ndarray):
        """Copy a NumPy array onto this device (explicitly: the only way in)."""
        return array

    def to_host(self, array) -> numpy.ndarray:
        """Copy an array of this device back to a NumPy array (explicitly: the only way out).

        A copy on the CPU too, so that writing to the result never changes the tensor, on any device."""
        return numpy.array(array, copy=True)

    def scatter_add(self, target, index, values) -> None:
        """target[index] += values, adding repeated indices up (unlike plain ``+=``).

        ``numpy.add.at`` does this for any index, slowly. The common case, rows picked by a
        1-D array of ids (an embedding's backward), goes faster by sorting: equal ids become
        neighbours, ``add.reduceat`` sums each run, and each distinct row is added once.
        """
        if isinstance(index, numpy.ndarray) and index.dtype.kind in "iu" and values.ndim == target.ndim + index.ndim - 1:
            ids = index.reshape(-1)
            rows = values.reshape((ids.size,) + target.shape[1:])
            order = numpy.argsort(ids, kind="stable")
            ids = ids[order]
            starts = numpy.flatnonzero(numpy.r_[True, ids[1:] != ids[:-1]]) if ids.size else ids
            if ids.size:
                target[ids[starts]] += numpy.add.reduceat(rows[order], starts, axis=0)
            return
        self.xp.add.at(target, index, values)

    def erf(self, x):
        """The error function element-wise (NumPy has none; math.erf is exact to float64)."""
        import math

        return numpy.vectorize(math.erf, otypes=[x.dtype])(x)

    def seed(self, seed: int) -> None:
        self.generator = numpy.random.default_rng(seed)

    def random(self, shape, dtype):
        """Uniform [0, 1) numbers of ``shape`` from this device's seeded generator."""
        return self.generator.random(shape, dtype=dtype)

    def __init__(self):
        self.seed(_seed)

    def __repr__(self):
        return f"Backend({self.name!r})"


class CudaBackend(Backend):
    """CuPy on an NVIDIA GPU. Created only when ``"cuda"`` is first asked for."""

    name = "cuda"

    def __init__(self):
        try:
            import cupy
        except ImportError as e:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed: "
                "pip install 'tinygrad-ft[gpu]' (CuPy for CUDA 12), then run on a machine with an NVIDIA GPU"
            ) from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise DeviceError(f"device 'cuda' needs an NVIDIA GPU, but CUDA reports: {e}") from e
        if count == 0:
            raise DeviceError("device 'cuda' needs an NVIDIA GPU, and CUDA found none on this machine")
        self.xp = cupy
        self.array_type = cupy.ndarray
        super().__init__()

    def from_host(self, array):
        return self.xp.asarray(array)

    def to_host(self, array):
        return self.xp.asnumpy(array)

    def scatter_add(self, target, index, values):
        import cupyx

        cupyx.scatter_add(target, index, values)

    def erf(self, x):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)

    def seed(self, seed):
        self.generator = self.xp.random.default_rng(seed)

    def random(self, shape, dtype):
        return self.generator.random(shape, dtype=dtype)


_seed = 0  # the last seed given to manual_seed; backends created later start from it
_backends: dict[str, Backend] = {"cpu": Backend()}
_factories = {"cuda": CudaBackend}


def register_backend(name: str, factory) -> None:
    """Make ``factory()`` the backend for device ``name`` (created on first use)."""
    _factories[name] = factory
    _backends.pop(name, None)


def get_backend(device: str = "cpu") -> Backend:
    """The backend for a device name: ``"cpu"``, ``"cuda"`` (or a registered test device)."""
    if isinstance(device, Backend):
        return device
    if device not in _backends:
        if device == "strict" and device not in _factories:
            from .testing import strict  # noqa: F401  (registers and creates itself)
    if device not in _backends:
        if device not in _factories:
            raise DeviceError(f"unknown device {device!r}; choose one of {list(DEVICES)}")
        _backends[device] = _factories[device]()
    return _backends[device]


def backend_of(array) -> Backend:
    """The backend whose array type ``array`` is (NumPy arrays and scalars are ``"cpu"``)."""
    for backend in _backends.values():
        if backend.owns(array):
            return backend
    if isinstance(array, numpy.generic):
        return _backends["cpu"]
    raise TypeError(f"expected an array of a known device, got {type(array).__name__}")


def get_array_module(x):
    """The array module (``numpy`` or ``cupy``) of an array or a tensor, like CuPy's own helper."""
    data = getattr(x, "data", x) if hasattr(x, "device") and hasattr(x, "requires_grad") else x
    return backend_of(data).xp


def is_array(x) -> bool:
    return any(b.owns(x) for b in _backends.values())


def manual_seed(seed: int) -> None:
    """Seed every device's random generator (dropout masks and initialisation draw from them)."""
    global _seed
    _seed = seed
    for backend in _backends.values():
        backend.seed(seed)


def as_array(x):
    """A NumPy scalar (what NumPy's full reductions and ``x[i, j]`` return) as a 0-d array, so a
    tensor's data is always an array, as it is with CuPy; anything else passes unchanged."""
    return numpy.asarray(x) if isinstance(x, numpy.generic) else x


def to_numpy(x) -> numpy.ndarray:
    """An explicit copy to the host: the one sanctioned way out of a device array."""
    return backend_of(x).to_host(x)


# ---- dtypes: float32 unless asked otherwise --------------------------------------------------

_default_float = numpy.dtype("float32")


def as_dtype(dtype):
    """A dtype from a name ("float32"), a NumPy type or a dtype; CuPy uses NumPy's dtypes."""
    try:
        return numpy.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"not a dtype: {dtype!r} (try 'float32' or 'float64')") from e


def is_floating(dtype) -> bool:
    return numpy.dtype(dtype).kind == "f"


def get_default_dtype():
    return _default_float


def set_default_dtype(dtype) -> None:
    """The dtype that new floating-point tensors and parameters get (float32 unless changed)."""
    global _default_float
    dtype = as_dtype(dtype)
    if not is_floating(dtype):
        raise TypeError(f"the default dtype must be floating point, got {dtype}")
    _default_float = dtype


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
        host = numpy.asarray(data)
        if dtype is None and host.dtype.kind == "f":
            dtype = _default_float
        if host.dtype.kind not in "biuf":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {host.dtype}")
        array = backend.from_host(host)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def format_array(array, prefix: str = "") -> str:
    """The numbers of a host array as NumPy prints them, without NumPy's ``array(...)`` frame."""
    return numpy.array2string(numpy.asarray(array), separator=", ", prefix=prefix)


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of giving it back to the OS.

    By default every array over 128 KiB gets fresh pages from the OS and returns them when
    freed, so a training step page-faults its big temporaries back in, every step (measured
    here: a GPT's forward matmuls took 23 ms per step instead of 13). Raising the mmap and
    trim thresholds keeps that memory in the process. Linux/glibc only; elsewhere a no-op.
    Returns whether it took effect. Process-wide, so the training commands call it, not import.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 512 << 20))
    except (OSError, AttributeError):
        return False


def cuda_is_available() -> bool:
    try:
        get_backend("cuda")
        return True
    except DeviceError:
        return False
