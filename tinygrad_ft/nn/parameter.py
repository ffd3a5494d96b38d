"""``Parameter``: a tensor that a module learns."""

from __future__ import annotations

from .. import backend as B
from ..tensor import Tensor


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
            device = B.backend_of(data).name if B.is_array(data) else "cpu"
        array = B.asarray(data, device, dtype)
        if dtype is None and not B.is_floating(array.dtype):
            array = array.astype(B.get_default_dtype())
        super().__init__(array, requires_grad=requires_grad, device=device)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]

    @classmethod
    def empty(cls, shape, device: str = "cpu", dtype=None) -> Parameter:
        """A parameter of ``shape`` whose numbers are not set yet: fill it with ``nn.init``."""
        dtype = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
        return cls(B.get_backend(device).xp.empty(tuple(shape), dtype=dtype), device=device)
