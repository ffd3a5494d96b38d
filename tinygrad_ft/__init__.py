"""tinygrad_ft: a from-scratch autograd engine, a tiny GPT, and how to fine-tune it.

The package is a stack of layers; each imports only the layers below it (``layout`` lists
them, and a test checks every import). Read from the bottom: ``backend`` (NumPy, CuPy, the
strict stand-in), ``autograd`` (Tensor and backward), ``functional`` (ops with hand-derived
gradients), ``nn``, ``optim``, then the data, the GPT, training and fine-tuning.
"""

from importlib.metadata import PackageNotFoundError, version

from .autograd import (
    Function,
    GradcheckResult,
    Tensor,
    assert_gradcheck,
    cat,
    concatenate,
    detect_anomaly,
    gradcheck,
    is_grad_enabled,
    maximum,
    no_grad,
    ones,
    randn,
    set_detect_anomaly,
    stack,
    tensor,
    where,
    zeros,
)
from .backend import (
    DeviceError,
    cuda_is_available,
    get_array_module,
    get_default_dtype,
    manual_seed,
    set_default_dtype,
)

try:
    __version__ = version("tinygrad-ft")  # the one version number is pyproject.toml's
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "unknown"

__all__ = [
    "DeviceError", "Function", "GradcheckResult", "Tensor", "assert_gradcheck", "cat", "concatenate",
    "cuda_is_available", "detect_anomaly", "get_array_module", "get_default_dtype", "gradcheck",
    "is_grad_enabled", "manual_seed", "maximum", "no_grad", "ones", "randn", "set_default_dtype",
    "set_detect_anomaly", "stack", "tensor", "where", "zeros",
]
