"""Element-wise activations: relu, leaky_relu, tanh, sigmoid, gelu.

Each backward multiplies the incoming gradient g = dL/dy by the derivative dy/dx at each
element (the Jacobian of an element-wise function is diagonal).
"""

from __future__ import annotations

import math

from ..autograd import Function, Tensor, ops, where
from ..backend import backend_of
from ..backend.kernels import fused
from .arguments import floating_tensor


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.y = self.xp.maximum(x, 0)
        return self.y

    def backward(self, d_y):
        return d_y * (self.y > 0)


class LeakyReLU(Function):
    """y = x where x > 0, else slope·x;  dy/dx = 1 where x > 0, else slope."""

    def forward(self, x, negative_slope=0.01):
        self.positive, self.slope = x > 0, negative_slope
        return self.xp.where(self.positive, x, x * negative_slope)

    def backward(self, d_y):
        return self.xp.where(self.positive, d_y, d_y * self.slope)


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  dy/dx = y (1 - y).

    Stable for any x: with e = e^{-|x|} (never overflows), σ(x) = 1/(1+e) for x ≥ 0 and
    e/(1+e) for x < 0 (the same function, multiplied through by eˣ).
    """

    def forward(self, x):
        xp = self.xp
        e = xp.abs(x)
        xp.negative(e, out=e)
        xp.exp(e, out=e)  # e^{-|x|} in (0, 1]
        one_over = e + 1
        xp.reciprocal(one_over, out=one_over)  # 1 / (1 + e)
        e *= one_over  # e / (1 + e)
        self.y = xp.where(x >= 0, one_over, e)
        return self.y

    def backward(self, d_y):
        y = self.y
        d_x = 1 - y
        d_x *= y
        d_x *= d_y
        return d_x


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)  # Python floats: they keep float32 arrays float32
_GELU_CUBIC = 0.044715
_SQRT_HALF = math.sqrt(0.5)
_ONE_OVER_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GELUTanh(Function):
    """GPT-2's gelu: y = ½ x (1 + t),  t = tanh(u),  u = c (x + k x³),  c = √(2/π), k = 0.044715.

    dy/dx = ½ (1 + t) + ½ x (1 - t²) du/dx,   du/dx = c (1 + 3k x²)

    (the product rule on ½ x · (1 + t), then the chain rule through tanh and u). The plain
    lines below are the formula, one NumPy pass per step; the fused kernel (CPU with Numba, or
    GPU) does the same arithmetic in one pass, and backward recomputes t from x.
    """

    def forward(self, x):
        kernel = fused("gelu_tanh_forward", x)
        if kernel is not None:
            self.x, self.backward_kernel = x, fused("gelu_tanh_backward", x)
            return kernel(x)
        self.backward_kernel = None
        u = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
        t = self.xp.tanh(u)
        self.x, self.t = x, t
        return 0.5 * x * (1 + t)

    def backward(self, d_y):
        if self.backward_kernel is not None:  # the fused forward ran
            return self.backward_kernel(self.x, d_y)
        x, t = self.x, self.t
        du_dx = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        dy_dx = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx
        return d_y * dy_dx


class GELUErf(Function):
    """The exact gelu: y = x Φ(x), with Φ(x) = ½ (1 + erf(x/√2)) the standard normal CDF.

    dy/dx = Φ(x) + x φ(x),   φ(x) = e^{-x²/2} / √(2π) the standard normal density.
    """

    def forward(self, x):
        cdf = backend_of(x).erf(x * _SQRT_HALF)
        cdf += 1
        cdf *= 0.5
        self.x, self.cdf = x, cdf
        return x * cdf

    def backward(self, d_y):
        x = self.x
        d_x = x * x
        d_x *= -0.5
        self.xp.exp(d_x, out=d_x)
        d_x *= _ONE_OVER_SQRT_2PI  # φ(x)
        d_x *= x
        d_x += self.cdf
        d_x *= d_y
        return d_x


def relu(x: Tensor) -> Tensor:
    x = floating_tensor(x, "relu", "x")
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    x = floating_tensor(x, "leaky_relu", "x")
    return LeakyReLU.apply(x, negative_slope=float(negative_slope))


def tanh(x: Tensor) -> Tensor:
    """tanh, the engine's primitive (``ops.Tanh``: dy/dx = 1 - y²); stable for any x."""
    x = floating_tensor(x, "tanh", "x")
    return ops.Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    x = floating_tensor(x, "sigmoid", "x")
    return Sigmoid.apply(x)


def gelu(x: Tensor, approximate: str = "tanh") -> Tensor:
    """The Gaussian error linear unit. ``approximate="tanh"`` is GPT-2's tanh approximation
    (the default here, unlike PyTorch); ``"none"`` is the exact x Φ(x), via erf."""
    x = floating_tensor(x, "gelu", "x")
    if approximate == "tanh":
        return GELUTanh.apply(x)
    if approximate == "none":
        return GELUErf.apply(x)
    raise ValueError(f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}")

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def relu_composed(x: Tensor) -> Tensor:
    return where(x.data > 0, x, 0.0)


def leaky_relu_composed(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return where(x.data > 0, x, x * negative_slope)


def tanh_composed(x: Tensor) -> Tensor:
    return (x.exp() - (-x).exp()) / (x.exp() + (-x).exp())


def sigmoid_composed(x: Tensor) -> Tensor:
    return 1 / (1 + (-x).exp())


def gelu_composed(x: Tensor, approximate: str = "tanh") -> Tensor:
    if approximate == "tanh":
        return 0.5 * x * (1 + (math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)).tanh())
    return x * 0.5 * (1 + ops.Erf.apply(x / math.sqrt(2)))
