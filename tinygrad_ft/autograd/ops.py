"""The primitive ops of the engine, each a forward and a backward derived from its math.

Notation: ``g`` is the gradient of the final scalar L with respect to this op's output
(dL/dy); backward returns dL/dx for each input x. Shapes follow NumPy's broadcasting, and a
gradient is summed back over the axes an input was broadcast along (``unbroadcast``).
"""

from __future__ import annotations

import math

from ..backend import backend_of, get_backend
from .tensor import Function


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``grad.shape``.

    Broadcasting copies x along new leading axes and along axes of size 1, so each copy's
    gradient flows back to the same element: d/dx sums over those axes.
    """
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def broadcast_shape(a: tuple, b: tuple, op: str = "op") -> tuple:
    """The shape that ``a`` and ``b`` broadcast to (NumPy's rule: align from the right; each pair
    of sizes must be equal, or one of them 1), or a ValueError naming both shapes."""
    shape = []
    for i in range(1, max(len(a), len(b)) + 1):
        m, n = (a[-i] if i <= len(a) else 1), (b[-i] if i <= len(b) else 1)
        if m != n and 1 not in (m, n):
            raise ValueError(f"{op}: shapes {tuple(a)} and {tuple(b)} do not broadcast: aligned from the right, "
                             f"sizes {m} and {n} differ and neither is 1")
        shape.append(max(m, n) if 1 in (m, n) else m)
    return tuple(reversed(shape))


def check_matmul_shapes(a: tuple, b: tuple) -> None:
    """A ValueError naming both shapes unless ``a @ b`` is defined: the last axis of ``a`` must
    equal the second-to-last of ``b`` (the only axis of a 1-D ``b``)."""
    if not a or not b:
        raise ValueError(f"matmul: shapes {tuple(a)} and {tuple(b)}: a scalar cannot be matrix-multiplied; use *")
    inner = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner:
        raise ValueError(f"matmul: shapes {tuple(a)} and {tuple(b)} do not fit: the last axis of the first ({a[-1]}) "
                         f"must equal the {'second-to-last' if len(b) > 1 else 'only'} axis of the second ({inner})")


def normalize_axis(axis, ndim: int) -> tuple:
    """``axis`` (None, an int or a tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def expand_reduced(xp, grad, shape, axis, keepdims: bool):
    """Broadcast the gradient of a reduction back over the reduced axes of ``shape``."""
    if not keepdims:
        grad = grad.reshape([1 if i in normalize_axis(axis, len(shape)) else n for i, n in enumerate(shape)])
    return xp.broadcast_to(grad, shape)


# ---- arithmetic -------------------------------------------------------------------------


class Add(Function):
    """y = a + b;  dL/da = g,  dL/db = g  (summed back over broadcast axes)."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    """y = a - b;  dL/da = g,  dL/db = -g."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    """y = a * b;  dL/da = g * b,  dL/db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        d_a = unbroadcast(g * b, a.shape) if self.needs_input_grad[0] else None
        d_b = unbroadcast(g * a, b.shape) if self.needs_input_grad[1] else None
        return d_a, d_b


class Div(Function):
    """y = a / b;  dL/da = g / b,  dL/db = -g * a / b² = -g * y / b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a / b
        return self.y

    def backward(self, g):
        d_a = unbroadcast(g / self.b, self.a.shape) if self.needs_input_grad[0] else None
        d_b = unbroadcast(-g * self.y / self.b, self.b.shape) if self.needs_input_grad[1] else None
        return d_a, d_b


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class PowScalar(Function):
    """y = x^p for a constant p;  dL/dx = g * p * x^(p-1)."""

    def forward(self, x, exponent):
        self.x, self.p = x, exponent
        return x**exponent

    def backward(self, g):
        return g * (self.p * self.x ** (self.p - 1))


class Pow(Function):
    """y = a^b;  dL/da = g * b * a^(b-1),  dL/db = g * y * log(a)  (a > 0 where b needs a gradient)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g):
        a, b, xp = self.a, self.b, self.xp
        d_a = unbroadcast(g * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        d_b = unbroadcast(g * self.y * xp.log(a), b.shape) if self.needs_input_grad[1] else None
        return d_a, d_b


class MatMul(Function):
    """Y = A @ B (batched over leading axes);  dL/dA = G @ Bᵀ,  dL/dB = Aᵀ @ G.

    A 1-D operand is a row (left) or a column (right) vector, as in NumPy.
    """

    def forward(self, a, b):
        ka = a.shape[-1] if a.ndim else None
        kb = b.shape[-2] if b.ndim >= 2 else (b.shape[0] if b.ndim == 1 else None)
        if ka is None or kb is None or ka != kb:
            raise ValueError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: the left's last axis ({ka}) "
                f"must equal the right's {'second-to-last' if b.ndim >= 2 else 'only'} axis ({kb})"
            )
        try:
            out = self.xp.matmul(a, b)
        except ValueError as e:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} have batch axes that do not broadcast") from e
        self.a, self.b = a, b
        return out

    def backward(self, g):
        xp, a, b = self.xp, self.a, self.b
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if b.ndim == 1:  # put back the axes a vector operand dropped: b's first (vector @ vector is 0-d)
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        d_a = d_b = None
        if self.needs_input_grad[0]:
            d_a = unbroadcast(xp.matmul(g, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:  # shared weight: one big matmul instead of a batch + sum
                d_b = a2.reshape(-1, a2.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                d_b = unbroadcast(xp.matmul(xp.swapaxes(a2, -1, -2), g), b2.shape)
            d_b = d_b.reshape(b.shape)
        return d_a, d_b


# ---- element-wise functions --------------------------------------------------------------


class Exp(Function):
    """y = eˣ;  dL/dx = g * y."""

    def forward(self, x):
        self.y = self.xp.exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dL/dx = g / x."""

    def forward(self, x):
        self.x = x
        return self.xp.log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = √x;  dL/dx = g / (2y)."""

    def forward(self, x):
        self.y = self.xp.sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Tanh(Function):
    """y = tanh x;  dL/dx = g * (1 - y²)."""

    def forward(self, x):
        self.y = self.xp.tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Abs(Function):
    """y = |x|;  dL/dx = g * sign(x)  (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.x = x
        return self.xp.abs(x)

    def backward(self, g):
        return g * self.xp.sign(self.x)


class Maximum(Function):
    """y = max(a, b) element-wise;  the gradient goes to the larger, split in half on ties."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.xp.maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        share_a = ((a > b) + 0.5 * (a == b)).astype(g.dtype)  # bool + 0.5 * bool is float64
        d_a = unbroadcast(g * share_a, a.shape) if self.needs_input_grad[0] else None
        d_b = unbroadcast(g * (1 - share_a), b.shape) if self.needs_input_grad[1] else None
        return d_a, d_b


class Cast(Function):
    """y = x in another dtype;  dL/dx = g cast back to x's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)


class ToDevice(Function):
    """y = x copied to another device;  dL/dx = g copied back. The copies are explicit."""

    def forward(self, x, device):
        self.source, target = backend_of(x), get_backend(device)
        self.out_device = target.name
        return target.from_host(self.source.to_host(x))

    def backward(self, g):
        return self.source.from_host(backend_of(g).to_host(g))


# ---- reductions --------------------------------------------------------------------------


class Sum(Function):
    """y = Σ over axis of x;  dL/dx = g broadcast back over the summed axes."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=normalize_axis(axis, x.ndim), keepdims=keepdims)

    def backward(self, g):
        return expand_reduced(self.xp, g, self.shape, self.axis, self.keepdims)


class Mean(Function):
    """y = (1/N) Σ over axis of x;  dL/dx = g / N broadcast back (N = number of elements averaged)."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis(axis, x.ndim)
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.count = 1
        for a in axes:
            self.count *= x.shape[a]
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        return expand_reduced(self.xp, g / self.count, self.shape, self.axis, self.keepdims)


class Max(Function):
    """y = max over axis of x;  dL/dx = g at the maxima, shared equally among ties, 0 elsewhere."""

    def forward(self, x, axis=None, keepdims=False):
        axes = normalize_axis(axis, x.ndim)
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.y = x.max(axis=axes, keepdims=True)
        return self.y if keepdims else self.y.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(self, g):
        is_max = self.x == self.y
        ties = is_max.sum(axis=normalize_axis(self.axis, self.x.ndim), keepdims=True)
        share = (is_max / ties).astype(g.dtype)  # bool / int is float64, whatever x's dtype
        return expand_reduced(self.xp, g, self.x.shape, self.axis, self.keepdims) * share


class Var(Function):
    """y = Σ (x - mean)² / (N - ddof);  dL/dx = g * 2 (x - mean) / (N - ddof).

    (The mean's own dependence on x drops out: Σ (x - mean) = 0.)
    """

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        axes = normalize_axis(axis, x.ndim)
        count = 1
        for a in axes:
            count *= x.shape[a]
        if count - ddof <= 0:
            raise ValueError(f"var: {count} element(s) along axis {axis} leave no degrees of freedom with ddof={ddof}")
        self.centered = x - x.mean(axis=axes, keepdims=True)
        self.shape, self.axis, self.keepdims, self.denom = x.shape, axis, keepdims, count - ddof
        return (self.centered * self.centered).sum(axis=axes, keepdims=keepdims) / self.denom

    def backward(self, g):
        return expand_reduced(self.xp, g, self.shape, self.axis, self.keepdims) * (2 / self.denom) * self.centered


# ---- shape -------------------------------------------------------------------------------


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dL/dx = g reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError as e:
            raise ValueError(f"cannot reshape a tensor of shape {tuple(x.shape)} ({x.size} elements) into {shape}") from e

    def backward(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    """y = x with axes permuted;  dL/dx = g with the inverse permutation."""

    def forward(self, x, axes=None):
        self.axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        if sorted(self.axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of a tensor of shape "
                             f"{tuple(x.shape)}")
        return x.transpose(self.axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return g.transpose(inverse)


def _is_advanced(index) -> bool:
    """True if an index holds an array or list (NumPy's advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") and getattr(p, "ndim", 0) > 0 or isinstance(p, list) for p in parts)


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with g added at the indexed places.

    An index array may name an element twice (x[[0, 0]]); then both gradients must add up,
    which plain assignment would not do: that is the backend's scatter-add.
    """

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        d_x = self.xp.zeros(self.shape, dtype=g.dtype)
        if _is_advanced(self.index):
            backend_of(d_x).scatter_add(d_x, self.index, g)
        else:
            d_x[self.index] = g
        return d_x


class Concatenate(Function):
    """y = [x₁, x₂, ...] joined along axis;  dL/dxᵢ = the slice of g that xᵢ filled."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, g):
        bounds, total = [], 0
        for n in self.sizes[:-1]:
            total += n
            bounds.append(total)
        return tuple(self.xp.split(g, bounds, axis=self.axis))


class Stack(Function):
    """y = [x₁, x₂, ...] along a new axis;  dL/dxᵢ = g taken at index i of that axis."""

    def forward(self, *xs, axis=0):
        self.axis = axis if axis >= 0 else axis + xs[0].ndim + 1
        return self.xp.stack(xs, axis=axis)

    def backward(self, g):
        return tuple(self.xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))


class Where(Function):
    """y = x where c else z;  dL/dx = g where c (else 0),  dL/dz = g where not c."""

    def forward(self, condition, x, z):
        self.condition, self.shapes = condition, (x.shape, z.shape)
        return self.xp.where(condition, x, z)

    def backward(self, g):
        zero = self.xp.zeros((), dtype=g.dtype)
        d_x = unbroadcast(self.xp.where(self.condition, g, zero), self.shapes[0]) if self.needs_input_grad[1] else None
        d_z = unbroadcast(self.xp.where(self.condition, zero, g), self.shapes[1]) if self.needs_input_grad[2] else None
        return None, d_x, d_z


class Erf(Function):
    """erf(x), the one primitive the exact gelu needs;  d erf(x)/dx = (2/√π) e^{-x²}."""

    def forward(self, x):
        self.x = x
        return backend_of(x).erf(x)

    def backward(self, g):
        return g * (2 / math.sqrt(math.pi)) * self.xp.exp(-self.x * self.x)
