"""Tensors and reverse-mode automatic differentiation.

Read in this order: ``tensor`` (``Tensor``, ``Function`` and ``backward``), ``ops`` (the
primitive ops with their gradients: + * / ** @, exp, log, sum, indexing, ...), ``gradcheck``
(checking any backward numerically, and comparing a fused op with its composed reference).
"""

from .gradcheck import GradcheckResult, assert_gradcheck, gradcheck, max_difference, numerical_gradient, relative_error
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
    topological_order,
    where,
    zeros,
)

__all__ = [
    "Function", "GradcheckResult", "Tensor", "assert_gradcheck", "cat", "concatenate", "detect_anomaly", "gradcheck",
    "is_grad_enabled", "max_difference", "maximum", "no_grad", "numerical_gradient", "ones", "randn", "relative_error",
    "set_detect_anomaly", "stack", "tensor", "topological_order", "where", "zeros",
]
