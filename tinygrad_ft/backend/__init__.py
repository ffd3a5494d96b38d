"""Backends: which array library holds a tensor's numbers, and on which device.

The lowest layer: it imports nothing else of the package. One file per idea:

- ``numpy_backend``: the CPU device (NumPy) and the ``Backend`` base class;
- ``cuda``: the GPU device (CuPy), made only when ``"cuda"`` is first asked for;
- ``strict``: the ``"strict"`` device, NumPy behind CuPy's rules (it catches host leaks
  without a GPU);
- ``registry``: device names to backends, arrays onto and off devices, seeding;
- ``dtypes``: the default floating-point dtype;
- ``memory``: keeping freed memory in the process during training;
- ``threads``: how many CPU threads BLAS and the fused kernels use;
- ``kernels``: fused kernels (CuPy on the GPU) and the registry that hands them to the ops.
"""

from .cuda import CudaBackend
from .dtypes import as_dtype, get_default_dtype, is_floating, set_default_dtype
from .memory import keep_freed_memory
from .numpy_backend import Backend, DeviceError
from .registry import (
    BACKENDS,
    DEVICES,
    FACTORIES,
    as_array,
    asarray,
    backend_of,
    cuda_is_available,
    format_array,
    get_array_module,
    get_backend,
    is_array,
    manual_seed,
    register_backend,
    to_numpy,
)
from .strict import StrictBackend
from .threads import available_cores, blas_info, default_threads, set_threads

__all__ = [
    "BACKENDS", "DEVICES", "FACTORIES", "Backend", "CudaBackend", "DeviceError", "StrictBackend", "as_array", "as_dtype",
    "asarray", "available_cores", "backend_of", "blas_info", "default_threads", "set_threads",
    "cuda_is_available", "format_array", "get_array_module", "get_backend", "get_default_dtype", "is_array",
    "is_floating", "keep_freed_memory", "manual_seed", "register_backend", "set_default_dtype", "to_numpy",
]
