"""Tensor and reverse-mode autograd.

A ``Tensor`` wraps an array (NumPy or CuPy, see ``backend``) and remembers the ``Function``
that made it. ``loss.backward()`` walks that graph from the loss back to the leaves, in
reverse topological order, and each function turns the gradient of its output into the
gradients of its inputs (the chain rule, one op at a time).

Writing an op: subclass ``Function`` with ``forward(self, *arrays)`` returning an array and
``backward(self, d_out)`` returning one gradient (or ``None``) per input. Keep what backward
needs on ``self``. ``self.xp`` is the array module of the inputs' device.
"""

from __future__ import annotations

import contextlib

from ..backend import (
    DeviceError,
    as_array,
    as_dtype,
    asarray,
    backend_of,
    format_array,
    get_array_module,
    get_backend,
    get_default_dtype,
    is_array,
    is_floating,
    to_numpy,
)

# ---- global switches: gradient recording and the NaN/inf guard ---------------------------

_grad_enabled = True
_detect_anomaly = False


@contextlib.contextmanager
def no_grad():
    """Inside this block ops record no graph: for evaluation, sampling and optimizer updates."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True):
    """Check every op's output and gradients; the first NaN or inf raises, naming the op.

    Slow (it looks at every array), so use it to find where a NaN is born, not to train.
    """
    global _detect_anomaly
    previous, _detect_anomaly = _detect_anomaly, enabled
    try:
        yield
    finally:
        _detect_anomaly = previous


def set_detect_anomaly(enabled: bool) -> None:
    global _detect_anomaly
    _detect_anomaly = enabled


def _check_finite(array, what: str) -> None:
    xp = get_array_module(array)
    if is_floating(array.dtype) and not bool(xp.isfinite(array).all()):
        n_nan = int(xp.isnan(array).sum())
        n_inf = int(xp.isinf(array).sum())
        raise FloatingPointError(f"{what} produced non-finite values ({n_nan} NaN, {n_inf} inf) in shape {tuple(array.shape)}")


# ---- Function: one op of the graph -------------------------------------------------------


class Function:
    """One differentiable op. ``forward`` maps arrays to an array; ``backward`` maps the
    output's gradient to one gradient per input (same shape as that input, or ``None``)."""

    inputs: tuple = ()
    needs_input_grad: tuple = ()
    freed = False
    out_device: str | None = None  # set by an op whose output is on another device (ToDevice)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, d_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params) -> "Tensor":
        """Run ``forward`` on the inputs' arrays and, if any input needs a gradient, record the op.

        Inputs may be tensors or plain values (numbers, index arrays); only tensors get gradients.
        Keyword ``params`` are passed to ``forward`` as they are.
        """
        tensors = [t for t in inputs if isinstance(t, Tensor)]
        device = tensors[0].device if tensors else "cpu"
        for t in tensors[1:]:
            if t.device != device:
                raise DeviceError(
                    f"{cls.__name__}: inputs are on different devices, {device!r} and {t.device!r}; "
                    f"move one with .to({device!r}) or .to({t.device!r})"
                )
        fn = cls()
        fn.xp = get_backend(device).xp
        arrays = [t.data if isinstance(t, Tensor) else t for t in inputs]
        out = fn.forward(*arrays, **params)
        device = fn.out_device or device
        if _detect_anomaly:
            _check_finite(out, f"the forward of {cls.__name__}")
        # integer outputs (a cast to int) have no gradient, as requires_grad_ refuses them too
        requires_grad = _grad_enabled and any(t.requires_grad for t in tensors) and is_floating(out.dtype)
        result = Tensor.wrap(out, device, requires_grad)
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
            result._ctx = fn
        return result

    def free(self) -> None:
        """Drop what forward saved for backward (the graph is used once unless retained)."""
        self.__dict__.clear()
        self.freed = True

    @property
    def name(self) -> str:
        return type(self).__name__


def topological_order(root: "Tensor") -> list:
    """Every tensor that ``root`` depends on and that needs a gradient, inputs before outputs.

    Iterative depth-first search (an explicit stack, not recursion), so a chain of 10,000 ops
    is fine.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        fn = node._ctx
        if fn is not None:
            if fn.freed:
                raise RuntimeError(
                    "backward through a graph a second time: its saved values were freed by the first "
                    "backward(); call the first one as backward(retain_graph=True) to keep them"
                )
            for t in fn.inputs:
                if isinstance(t, Tensor) and t.requires_grad and id(t) not in visited:
                    stack.append((t, False))
    return order


# ---- Tensor ------------------------------------------------------------------------------


class Tensor:
    """An array with an optional gradient and the op that produced it.

    ``Tensor(data, requires_grad=False, dtype=None, device="cpu")``: floating-point numbers and
    lists of them become float32 (the default dtype) unless ``dtype`` says otherwise; integers
    stay integers (int64, as in PyTorch: index tensors); arrays keep their dtype.
    """

    __array_priority__ = 1000  # NumPy defers to Tensor's reflected operators (array + tensor)
    __hash__ = object.__hash__  # == is element-wise, so hash by identity

    def __init__(self, data, requires_grad: bool = False, dtype=None, device: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if device is None:
            device = backend_of(data).name if is_array(data) else "cpu"
        self.data = asarray(data, device, dtype)
        self.device = get_backend(device).name
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.name = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def wrap(cls, array, device: str, requires_grad: bool = False) -> "Tensor":
        """A tensor around an array already on ``device`` (no checks, no copy): for ops."""
        t = cls.__new__(cls)
        t.data, t.device, t.grad, t._ctx = as_array(array), device, None, None
        t._retains_grad, t.name, t.requires_grad = False, None, requires_grad
        return t

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not is_floating(self.data.dtype):
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, but this one is {self.data.dtype}: "
                "gradients of integers are not defined; make it with dtype='float32'"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # -- what it is
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def xp(self):
        """The array module of this tensor's device: ``numpy`` or ``cupy``."""
        return get_backend(self.device).xp

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        host = to_numpy(self.data)
        body = format_array(host, prefix="Tensor(") if host.ndim else repr(host.item())
        extra = f", device='{self.device}'" if self.device != "cpu" else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{extra}{grad})"

    # -- leaving the graph, the device or the dtype
    def detach(self) -> "Tensor":
        """The same data, cut off from the graph (no gradient flows back through it)."""
        return Tensor.wrap(self.data, self.device)

    def numpy(self):
        """A NumPy copy of the data (from the GPU if need be): an explicit trip to the host."""
        return to_numpy(self.data)

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, but this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.item())

    def to(self, device: str | None = None, dtype=None) -> "Tensor":
        """This tensor on another device and/or in another dtype; gradients flow back through it."""
        out = self
        if dtype is not None and as_dtype(dtype) != self.dtype:
            out = ops.Cast.apply(out, dtype=as_dtype(dtype))
        if device is not None and get_backend(device).name != self.device:
            out = ops.ToDevice.apply(out, device=get_backend(device).name)
        return out

    def float(self) -> "Tensor":
        return self.to(dtype="float32")

    def double(self) -> "Tensor":
        return self.to(dtype="float64")

    def astype(self, dtype) -> "Tensor":
        return self.to(dtype=dtype)

    # -- autograd
    def retain_grad(self) -> "Tensor":
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (to look at it)."""
        self._retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d(self)/d(leaf).

        ``grad`` is the seed, the gradient of some final scalar with respect to this tensor;
        it may be left out only when this tensor is a scalar (then it is 1). Gradients add up
        in ``.grad`` across calls, as in PyTorch: zero them between steps.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the computation had "
                "requires_grad=True (or it ran inside no_grad())"
            )
        xp = self.xp
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without a seed needs a scalar, but this tensor has shape {self.shape}; "
                    "reduce it to a scalar first (e.g. .sum() or a loss) or pass grad= an array of that shape"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else asarray(grad, self.device, self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(grad=...): the seed has shape {tuple(grad.shape)} but the tensor has shape "
                                 f"{self.shape}")

        grads = {id(self): grad}
        for node in reversed(topological_order(self)):
            d_node = grads.pop(id(node), None)
            if d_node is None:
                continue
            fn = node._ctx
            if fn is None or node._retains_grad:
                # a copy: d_node may be a read-only broadcast view, the user's seed, or the very
                # array another tensor gets as its gradient (a + b hands g to both)
                node.grad = d_node.copy() if node.grad is None else node.grad + d_node
            if fn is None:
                continue
            d_inputs = fn.backward(d_node)
            if not isinstance(d_inputs, tuple):
                d_inputs = (d_inputs,)
            for t, d_t, needs in zip(fn.inputs, d_inputs, fn.needs_input_grad):
                if not needs or d_t is None:
                    continue
                if tuple(d_t.shape) != t.shape:
                    raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {tuple(d_t.shape)} for an input of "
                                       f"shape {t.shape}")
                if _detect_anomaly:
                    _check_finite(d_t, f"the backward of {fn.name}")
                grads[id(t)] = d_t if id(t) not in grads else grads[id(t)] + d_t
            if not retain_graph:
                fn.free()

    # -- arithmetic (each maps to an op in ops.py)
    def _lift(self, other) -> "Tensor":
        """A number or array as a constant tensor on this tensor's device and of its dtype."""
        if isinstance(other, Tensor):
            return other
        if is_array(other):
            if backend_of(other).name != self.device:
                raise DeviceError(f"cannot mix a tensor on {self.device!r} with an array on {backend_of(other).name!r}")
            return Tensor.wrap(other, self.device)
        dtype = self.dtype if is_floating(self.dtype) or isinstance(other, int) else None
        return Tensor.wrap(asarray(other, self.device, dtype), self.device)

    def _binary(self, op, a: "Tensor", b: "Tensor") -> "Tensor":
        """``op`` of two tensors whose shapes were checked first: a mismatch names both shapes."""
        if op is ops.MatMul:
            ops.check_matmul_shapes(a.shape, b.shape)
        else:
            ops.broadcast_shape(a.shape, b.shape, op.__name__.lower())
        return op.apply(a, b)

    def __add__(self, other):
        return self._binary(ops.Add, self, self._lift(other))

    def __radd__(self, other):
        return self._binary(ops.Add, self._lift(other), self)

    def __sub__(self, other):
        return self._binary(ops.Sub, self, self._lift(other))

    def __rsub__(self, other):
        return self._binary(ops.Sub, self._lift(other), self)

    def __mul__(self, other):
        return self._binary(ops.Mul, self, self._lift(other))

    def __rmul__(self, other):
        return self._binary(ops.Mul, self._lift(other), self)

    def __truediv__(self, other):
        return self._binary(ops.Div, self, self._lift(other))

    def __rtruediv__(self, other):
        return self._binary(ops.Div, self._lift(other), self)

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float)):
            return ops.PowScalar.apply(self, exponent=exponent)
        return self._binary(ops.Pow, self, self._lift(exponent))

    def __rpow__(self, base):
        return self._binary(ops.Pow, self._lift(base), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __matmul__(self, other):
        return self._binary(ops.MatMul, self, self._lift(other))

    def __rmatmul__(self, other):
        return self._binary(ops.MatMul, self._lift(other), self)

    # -- comparisons: element-wise, boolean, never differentiated
    def _compare(self, other, op):
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise DeviceError(f"cannot compare a tensor on {self.device!r} with a tensor on {other.device!r}")
            other = other.data
        return Tensor.wrap(op(self.data, other), self.device)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    # -- element-wise functions
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def maximum(self, other):
        return ops.Maximum.apply(self, self._lift(other))

    # -- reductions; axis is an int, a tuple of ints (negative counts from the end) or None
    def sum(self, axis=None, keepdims: bool = False):
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False):
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        """Variance, NumPy's convention: ddof=0 divides by N (PyTorch's default is ddof=1)."""
        return ops.Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def argmax(self, axis=None):
        return Tensor.wrap(self.data.argmax(axis=axis), self.device)

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())

    # -- shape
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def flatten(self):
        return self.reshape(-1)

    def unsqueeze(self, axis: int):
        axis = axis if axis >= 0 else self.ndim + 1 + axis
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def transpose(self, *axes):
        """Permute the axes (all reversed when none are given), as NumPy's ``transpose``."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    permute = transpose

    def swapaxes(self, axis1: int, axis2: int):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_unwrap_index(index))


def _unwrap_index(index):
    """Tensors used as indices become their arrays (x[ids] with ids a Tensor of ints)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


# ---- making tensors ----------------------------------------------------------------------


def tensor(data, requires_grad: bool = False, dtype=None, device: str | None = None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(shape, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    data = xp.zeros(shape, dtype=as_dtype(dtype) if dtype else get_default_dtype())
    return Tensor.wrap(data, get_backend(device).name).requires_grad_(requires_grad)


def ones(shape, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = get_backend(device).xp
    data = xp.ones(shape, dtype=as_dtype(dtype) if dtype else get_default_dtype())
    return Tensor.wrap(data, get_backend(device).name).requires_grad_(requires_grad)


def randn(*shape, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Standard-normal numbers from the device's seeded generator (``manual_seed``)."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    backend = get_backend(device)
    dtype = as_dtype(dtype) if dtype else get_default_dtype()
    data = backend.generator.standard_normal(tuple(shape), dtype=dtype)
    return Tensor.wrap(data, backend.name).requires_grad_(requires_grad)


def concatenate(tensors, axis: int = 0) -> Tensor:
    return ops.Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis: int = 0) -> Tensor:
    return ops.Stack.apply(*tensors, axis=axis)


def where(condition, x, y) -> Tensor:
    """x where condition holds, else y; gradients flow to x and y, not to the condition."""
    like = x if isinstance(x, Tensor) else y
    condition = condition.data if isinstance(condition, Tensor) else condition
    return ops.Where.apply(condition, like._lift(x), like._lift(y))


def maximum(x: Tensor, y) -> Tensor:
    return x.maximum(y)


from . import ops  # noqa: E402  (ops subclass Function, defined above)
