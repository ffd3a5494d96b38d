"""tinygrad_ft: a from-scratch autograd engine, a tiny GPT, and how to fine-tune it.

Read in this order: ``backend`` (NumPy or CuPy), ``tensor`` (Tensor and backward), ``ops``
(primitive ops with their gradients), ``gradcheck`` (checking gradients numerically).
"""

from .backend import (
    DeviceError,
    cuda_is_available,
    get_array_module,
    get_default_dtype,
    manual_seed,
    set_default_dtype,
)
from .gradcheck import GradcheckResult, assert_gradcheck, gradcheck
from .tensor import (
    Function,
    Tensor,
    cat,
    concatenate,
    detect_anomaly,
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

__version__ = "0.1.0"

__all__ = [
    "DeviceError", "Function", "GradcheckResult", "Tensor", "assert_gradcheck", "cat", "concatenate",
    "cuda_is_available", "detect_anomaly", "get_array_module", "get_default_dtype", "gradcheck",
    "is_grad_enabled", "manual_seed", "maximum", "no_grad", "ones", "randn", "set_default_dtype",
    "set_detect_anomaly", "stack", "tensor", "where", "zeros",
]
