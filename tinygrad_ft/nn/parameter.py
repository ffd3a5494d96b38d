"""``Parameter``: a tensor that a module learns."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import as_dtype, asarray, backend_of, get_backend, get_default_dtype, is_array, is_floating


class Parameter(Tensor):
    """A leaf tensor that requires grad, and that a ``Module`` registers when it is assigned
    as an attribute (``self.weight = Parameter(...)``): ``parameters()``, ``state_dict()``,
    ``to()`` and the optimizers find it there.

    Numbers and lists become the default float dtype (float32); arrays keep a floating dtype
    and integer arrays become the default float dtype (a parameter must be differentiable).
    The array is used as it is, not copied.
    """

    def __init__(self, data, requires_grad: bool = True, dtype=None, device: str | None = None):
        if isinstance(data, Tensor):
            device = data.device if device is None else device
            data = data.data
        if device is None:
            device = backend_of(data).name if is_array(data) else "cpu"
        array = asarray(data, device, dtype)
        if dtype is None and not is_floating(array.dtype):
            array = array.astype(get_default_dtype())
        super().__init__(array, requires_grad=requires_grad, device=device)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]

    @classmethod
    def empty(cls, shape, device: str = "cpu", dtype=None) -> Parameter:
        """A parameter of ``shape`` whose numbers are not set yet: fill it with ``nn.init``."""
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        return cls(get_backend(device).xp.empty(tuple(shape), dtype=dtype), device=device)
