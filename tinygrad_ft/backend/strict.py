"""The ``"strict"`` device: a stand-in for CuPy that runs on the CPU but refuses NumPy.

Why it exists
-------------
On a GPU a tensor's numbers live in GPU memory, in a CuPy array. CuPy is strict about the
border between the GPU and the host (the CPU's memory, where NumPy arrays live):

* ``numpy.asarray(gpu_array)`` raises ``TypeError``: CuPy will not copy to the host behind
  your back. You must ask for it: ``gpu_array.get()`` or ``cupy.asnumpy(gpu_array)``.
* ``gpu_array + numpy_array`` raises ``TypeError``: the two live on different devices.
* ``cupy.exp(numpy_array)`` raises ``TypeError`` for the same reason.

NumPy is not strict at all, so code tested only on the CPU can be full of such mixes (a
``numpy.zeros(...)`` where ``xp.zeros(...)`` was meant, a ``np.asarray(x)`` to peek at a
value) and still pass every test. The first person to run it on a GPU finds the bug.

This module gives the engine a third device, ``"strict"``, that behaves like CuPy at that
border but is NumPy underneath, so the device code path runs in every test, on any laptop,
and a host leak fails a test there instead of on somebody's GPU:

* ``StrictArray`` wraps a NumPy array (it is *not* an ndarray subclass) and refuses to be
  turned into one implicitly or to be mixed with one, with a ``TypeError``, as CuPy does;
  ``.get()`` is the explicit way out, as in CuPy.
* ``strict_xp`` plays the role of the ``cupy`` module: ``strict_xp.exp``, ``strict_xp.matmul``,
  ``strict_xp.add.at``, ... are NumPy's functions, wrapped so they take and return
  ``StrictArray`` s and reject raw NumPy arrays.
* ``StrictBackend`` is the backend of device ``"strict"`` (``Tensor(..., device="strict")``),
  registered with the others in ``registry``.

It is a little stricter than CuPy in one place: indexing with a NumPy array is refused,
where CuPy would quietly copy the index to the GPU on every call. ``strict_xp.asarray`` of a
NumPy array is allowed, as ``cupy.asarray`` is: that is CuPy's explicit way onto the device.

It catches *mixing* and *implicit conversion*. It cannot catch what CuPy does differently
from NumPy in its numbers (it computes with NumPy), a NumPy function CuPy lacks, a list
passed where CuPy wants an array (except to a ufunc), nor speed problems.
"""

from __future__ import annotations

import functools
import math
import operator
import types

import numpy

from .numpy_backend import Backend

__all__ = ["StrictArray", "StrictBackend", "StrictGenerator", "strict_xp"]

_TO_NUMPY = (
    "implicit conversion of a strict (device) array to NumPy is not allowed; use .get() / backend.to_numpy"
)
_MIXED = (
    "a strict (device) array cannot be mixed with a NumPy (host) array, just as CuPy refuses to mix "
    "cupy.ndarray and numpy.ndarray; move the NumPy array to the device first (backend.asarray(x, 'strict'))"
)
_SCALARS = (bool, int, float, complex, numpy.generic)


def _refuse_host(x):
    raise TypeError(_MIXED + f" (got a numpy.ndarray of shape {x.shape})")


def _unwrap(x):
    """Arguments for NumPy: strict arrays give up their array, NumPy arrays are refused.

    Walks into lists and tuples (``concatenate([a, b])``, an index tuple ``(rows, cols)``).
    """
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, numpy.ndarray):
        _refuse_host(x)
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(x):
    """Results for the caller: arrays (and NumPy scalars, as CuPy gives 0-d arrays) become strict."""
    if isinstance(x, numpy.ndarray):
        return StrictArray(x)
    if isinstance(x, numpy.generic):
        return StrictArray(numpy.asarray(x))
    if isinstance(x, numpy.random.Generator):
        return StrictGenerator(x)
    if isinstance(x, tuple):
        wrapped = [_wrap(v) for v in x]
        return type(x)(*wrapped) if hasattr(x, "_fields") else tuple(wrapped)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _call(func, args, kwargs):
    return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))


def _strict_function(func):
    """``func`` taking and returning strict arrays (and refusing NumPy arrays)."""

    @functools.wraps(func)
    def strict(*args, **kwargs):
        return _call(func, args, kwargs)

    return strict


def _operand(x):
    """The NumPy value of the other operand of an operator, or None if we do not handle it."""
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, numpy.ndarray):
        _refuse_host(x)
    if isinstance(x, _SCALARS):
        return x
    return None  # a Tensor, a list, ...: let the other operand (or Python) decide


def _index(key):
    """An index for NumPy: strict arrays unwrap; ints, slices, None, ..., lists pass; NumPy arrays are refused."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, numpy.ndarray):
        raise TypeError(
            "cannot index a strict (device) array with a NumPy (host) array (CuPy would copy it to the GPU "
            "on every call); move the index to the device once (backend.asarray(index, 'strict'))"
        )
    return _unwrap(key)


# ---- the array ---------------------------------------------------------------------------


def _binary(op, name):
    def forward(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(self._a, o))

    def reflected(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(o, self._a))

    def inplace(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        self._a = getattr(operator, f"i{name}")(self._a, o)
        return self

    forward.__name__, reflected.__name__, inplace.__name__ = f"__{name}__", f"__r{name}__", f"__i{name}__"
    return forward, reflected, inplace


def _compare(op, name):
    def compare(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _wrap(op(self._a, o))

    compare.__name__ = f"__{name}__"
    return compare


# NumPy attributes that would hand out host memory itself; the rest are forwarded.
_HIDDEN = frozenset({"data", "base", "ctypes", "flat", "tofile", "tobytes", "dump", "dumps", "getfield", "setfield"})


class StrictArray:
    """A device array of the ``"strict"`` stand-in: a NumPy array behind CuPy's border rules.

    Not an ``numpy.ndarray`` subclass. Implicit conversion to NumPy and mixing with NumPy
    arrays raise ``TypeError``; Python and NumPy scalars mix freely (as in CuPy), and
    ``float(x)``, ``int(x)``, ``bool(x)``, ``x.item()`` and ``x.get()`` are explicit ways out.
    """

    __slots__ = ("_a",)
    __array_priority__ = 100  # above ndarray, below Tensor (whose reflected operators win)

    def __init__(self, array):
        if not isinstance(array, numpy.ndarray):
            raise TypeError(f"StrictArray wraps a numpy.ndarray, got {type(array).__name__}")
        self._a = array

    # -- the border with NumPy
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_TO_NUMPY)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, args, kwargs)

    def get(self, stream=None, order="C", out=None):
        """An explicit copy to the host, as a NumPy array (CuPy's ``ndarray.get``)."""
        return numpy.array(self._a, order=order, copy=True)

    def item(self):
        return self._a.item()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    # -- what it is
    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def T(self):
        return StrictArray(self._a.T)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(row) for row in self._a)

    def __contains__(self, value):
        return bool((self == value).any())

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a.item(), spec) if self._a.ndim == 0 and spec else format(str(self), spec)

    # -- shape and dtype
    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return StrictArray(self._a.reshape(tuple(shape), order=order))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return StrictArray(self._a.transpose(*axes) if axes else self._a.transpose())

    def astype(self, dtype, copy=True):
        return StrictArray(self._a.astype(dtype, copy=copy))

    def copy(self, order="C"):
        return StrictArray(self._a.copy(order=order))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (StrictArray, (self._a,))

    # -- reductions
    def sum(self, axis=None, dtype=None, keepdims=False):
        return _wrap(self._a.sum(axis=axis, dtype=dtype, keepdims=keepdims))

    def mean(self, axis=None, dtype=None, keepdims=False):
        return _wrap(self._a.mean(axis=axis, dtype=dtype, keepdims=keepdims))

    def max(self, axis=None, keepdims=False):
        return _wrap(self._a.max(axis=axis, keepdims=keepdims))

    def min(self, axis=None, keepdims=False):
        return _wrap(self._a.min(axis=axis, keepdims=keepdims))

    def argmax(self, axis=None, keepdims=False):
        return _wrap(self._a.argmax(axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return _wrap(self._a.argmin(axis=axis, keepdims=keepdims))

    def any(self, axis=None, keepdims=False):
        return _wrap(self._a.any(axis=axis, keepdims=keepdims))

    def all(self, axis=None, keepdims=False):
        return _wrap(self._a.all(axis=axis, keepdims=keepdims))

    # -- indexing
    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        self._a[_index(key)] = _unwrap(value)

    # -- anything else NumPy arrays have (ravel, squeeze, clip, cumsum, ...), made strict
    def __getattr__(self, name):
        if name.startswith("_") or name in _HIDDEN:
            raise AttributeError(f"'StrictArray' object has no attribute {name!r}")
        value = getattr(self._a, name)
        return _strict_function(value) if callable(value) else _wrap(value)

    # -- operators; the arithmetic and comparisons themselves are NumPy's
    __add__, __radd__, __iadd__ = _binary(operator.add, "add")
    __sub__, __rsub__, __isub__ = _binary(operator.sub, "sub")
    __mul__, __rmul__, __imul__ = _binary(operator.mul, "mul")
    __truediv__, __rtruediv__, __itruediv__ = _binary(operator.truediv, "truediv")
    __floordiv__, __rfloordiv__, __ifloordiv__ = _binary(operator.floordiv, "floordiv")
    __mod__, __rmod__, __imod__ = _binary(operator.mod, "mod")
    __pow__, __rpow__, __ipow__ = _binary(operator.pow, "pow")
    __matmul__, __rmatmul__, __imatmul__ = _binary(operator.matmul, "matmul")
    __and__, __rand__, __iand__ = _binary(operator.and_, "and")
    __or__, __ror__, __ior__ = _binary(operator.or_, "or")
    __xor__, __rxor__, __ixor__ = _binary(operator.xor, "xor")
    __lshift__, __rlshift__, __ilshift__ = _binary(operator.lshift, "lshift")
    __rshift__, __rrshift__, __irshift__ = _binary(operator.rshift, "rshift")

    __eq__ = _compare(operator.eq, "eq")
    __ne__ = _compare(operator.ne, "ne")
    __lt__ = _compare(operator.lt, "lt")
    __le__ = _compare(operator.le, "le")
    __gt__ = _compare(operator.gt, "gt")
    __ge__ = _compare(operator.ge, "ge")
    __hash__ = None  # == is element-wise, as for NumPy arrays

    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)


# ---- the module: strict_xp plays cupy ------------------------------------------------------


class _StrictUfunc:
    """A NumPy ufunc (``exp``, ``add``, ...) on strict arrays; ``.at``, ``.reduce``, ... too.

    Like CuPy's ufuncs, a call takes arrays and scalars, not lists.
    """

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.__doc__ = ufunc.__doc__

    def __call__(self, *args, **kwargs):
        for a in args:
            if isinstance(a, (list, tuple)):
                kind = type(a).__name__
                raise TypeError(f"{self.__name__}: unsupported argument type {kind} (CuPy ufuncs take arrays and scalars)")
        return _call(self._ufunc, args, kwargs)

    def __getattr__(self, name):
        value = getattr(self._ufunc, name)
        return _strict_function(value) if callable(value) else value

    def __repr__(self):
        return f"<strict ufunc {self.__name__!r}>"


def _strictify(value):
    if isinstance(value, numpy.ufunc):
        return _StrictUfunc(value)
    if value is numpy.ndarray:
        return StrictArray
    if isinstance(value, type):  # dtypes (float32, int64, bool_), finfo, iinfo, ...
        return value
    if isinstance(value, types.ModuleType):  # random, linalg, fft
        return _StrictNamespace(value)
    if callable(value):
        return _strict_function(value)
    return value  # constants: inf, pi, e, newaxis (None)


class _StrictNamespace:
    """Every attribute of a NumPy module, made strict on first use (``__getattr__``, cached)."""

    def __init__(self, module):
        self._module = module
        self.__name__ = "strict_xp" if module is numpy else "strict_xp." + module.__name__.split(".", 1)[-1]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _strictify(getattr(self._module, name))
        setattr(self, name, value)
        return value

    def __repr__(self):
        return f"<{self.__name__}: NumPy behind CuPy's host/device border>"


def _to_device(a, dtype=None, copy=None, order="K", **kwargs):
    """``cupy.asarray``: strict arrays pass (cast if asked); host data is copied to the device.

    This is CuPy's explicit way *in*: ``cupy.asarray(numpy_array)`` copies to the GPU.
    """
    if isinstance(a, StrictArray):
        out = a._a if dtype is None else a._a.astype(dtype, copy=False)
        return StrictArray(out.copy() if copy else out)
    return StrictArray(numpy.array(_unwrap_nested_strict(a), dtype=dtype, order=order, copy=True))


def _unwrap_nested_strict(a):
    """Lists holding strict arrays (``asarray([x0, x1])``) become lists of their NumPy arrays."""
    if isinstance(a, StrictArray):
        return a._a
    if isinstance(a, (list, tuple)):
        return type(a)(_unwrap_nested_strict(v) for v in a)
    return a


def _asnumpy(a, **kwargs):
    """``cupy.asnumpy``: an explicit copy to the host."""
    return a.get() if isinstance(a, StrictArray) else numpy.asarray(a)


def _get_array_module(*args):
    """``cupy.get_array_module``: strict_xp if any argument is a strict array, else numpy."""
    return strict_xp if any(isinstance(a, StrictArray) for a in args) else numpy


strict_xp = _StrictNamespace(numpy)
strict_xp.ndarray = StrictArray
strict_xp.asarray = strict_xp.array = strict_xp.asanyarray = _to_device
strict_xp.asnumpy = _asnumpy
strict_xp.get_array_module = _get_array_module


# ---- random numbers ------------------------------------------------------------------------


class StrictGenerator:
    """A NumPy ``Generator`` whose draws are strict arrays (``random``, ``standard_normal``, ...)."""

    def __init__(self, generator: numpy.random.Generator):
        self._generator = generator

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._generator, name)
        return _strict_function(value) if callable(value) else value  # bit_generator passes through

    def __repr__(self):
        return f"StrictGenerator({self._generator!r})"


# ---- the backend ---------------------------------------------------------------------------


class StrictBackend(Backend):
    """Device ``"strict"``: NumPy's numbers behind CuPy's rules at the host/device border."""

    name = "strict"
    xp = strict_xp
    array_type = StrictArray

    def from_host(self, array):
        if isinstance(array, StrictArray):
            raise TypeError("from_host: this array is already on the strict device")
        if not isinstance(array, (numpy.ndarray, numpy.generic)):
            raise TypeError(f"from_host expects a NumPy array, got {type(array).__name__}")
        return StrictArray(numpy.array(array, copy=True))

    def to_host(self, array):
        if not isinstance(array, StrictArray):
            raise TypeError(f"to_host expects a strict array, got {type(array).__name__}")
        return array.get()

    def scatter_add(self, target, index, values):
        if not isinstance(target, StrictArray):
            raise TypeError(f"scatter_add: the target must be a strict array, got {type(target).__name__}")
        numpy.add.at(target._a, _index(index), _unwrap(values))

    def erf(self, x):
        if not isinstance(x, StrictArray):
            raise TypeError(f"erf expects a strict array, got {type(x).__name__}")
        return StrictArray(numpy.asarray(numpy.vectorize(math.erf, otypes=[x.dtype])(x._a)))

    def seed(self, seed: int) -> None:
        self.generator = StrictGenerator(numpy.random.default_rng(seed))

    def random(self, shape, dtype):
        return self.generator.random(shape, dtype=dtype)

