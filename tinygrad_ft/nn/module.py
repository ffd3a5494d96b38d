"""``Module``: the base class of layers and models.

A module is a Python object whose attributes include its parameters and its sub-modules:

    class TwoLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 16)            # a sub-module, found as "fc1"
            self.fc2 = nn.Linear(16, 2)
            self.scale = nn.Parameter([1.0])       # a parameter, found as "scale"

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x))) * self.scale

There is no registration step: ``named_parameters()`` walks the attributes, in the order
they were assigned, and follows sub-modules (and the lists of ``ModuleList``), building
dotted names such as ``"blocks.0.attn.c_attn.weight"``. Everything else a module does —
saving and loading weights, freezing, moving to a device, counting parameters — is built on
that walk. A plain Python list of modules is *not* followed: use ``nn.ModuleList``.
"""

from __future__ import annotations

import fnmatch
from collections import namedtuple

from ..autograd import Tensor
from ..backend import as_dtype, asarray, get_backend, is_floating
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ValueError):
    """A state_dict that does not fit the module: the message lists every key at fault."""


class Module:
    """Base class of every layer and model. Subclasses set attributes in ``__init__`` (after
    ``super().__init__()``) and write ``forward``; calling the module calls ``forward``."""

    training = True  # train() / eval() switch it; Dropout reads it

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in the class")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __setattr__(self, name, value):
        if isinstance(self.__dict__.get(name), Parameter) and isinstance(value, Tensor) and not isinstance(value, Parameter):
            raise TypeError(
                f"{type(self).__name__}.{name} is a Parameter; assigning a plain Tensor would silently drop it from "
                f"parameters(). Change its values with .data (self.{name}.data = ...) or assign nn.Parameter(...)"
            )
        object.__setattr__(self, name, value)

    # ---- walking the tree -------------------------------------------------------------------

    def named_children(self):
        """``(name, module)`` for each direct sub-module, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = ""):
        """``(dotted name, module)`` for this module (name ``""``) and every module below it, once each."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))  # depth first, in order

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = ""):
        """``(dotted name, parameter)`` for every parameter of this module and below, once each
        (a parameter shared by two modules, as tied weights are, appears under its first name)."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path, e.g. ``model.get_submodule("blocks.0.attn")``."""
        module = self
        for part in target.split(".") if target else []:
            children = dict(module.named_children())
            if part not in children:
                raise AttributeError(f"{type(module).__name__} has no sub-module {part!r} (on the way to {target!r}); "
                                     f"its sub-modules are {list(children)}")
            module = children[part]
        return module

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module and then on this one (e.g. to initialise)."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    # ---- counting, training mode, gradients -----------------------------------------------

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many numbers the model has (only those that require grad, if ``trainable_only``)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and all below (Dropout drops); returns the module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (Dropout passes its input through); the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter; returns the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ---- freezing by name ---------------------------------------------------------------------

    def freeze(self, *patterns: str, except_=()) -> Module:
        """Stop parameters from learning (``requires_grad = False``); returns the module.

            model.freeze()                          # every parameter
            model.freeze("wte", "blocks.0")         # those of these sub-modules
            model.freeze("*.bias")                  # those whose name matches a pattern
            model.freeze(except_=["lm_head", "ln_f"])   # all but these (left as they are)

        A pattern matches a parameter's dotted name (as ``named_parameters()`` gives it,
        relative to this module) either with shell wildcards (``fnmatch``: ``*`` matches
        anything, dots included) or as a sub-module prefix (``"blocks.0"`` matches
        ``"blocks.0.attn.c_attn.weight"``). A pattern that matches nothing is an error, so a
        typo cannot silently leave the model unfrozen.
        """
        return self._set_requires_grad(False, patterns, except_)

    def unfreeze(self, *patterns: str, except_=()) -> Module:
        """Let parameters learn again (``requires_grad = True``); patterns as in ``freeze``."""
        return self._set_requires_grad(True, patterns, except_)

    def _set_requires_grad(self, flag: bool, patterns, except_) -> Module:
        except_ = [except_] if isinstance(except_, str) else list(except_)
        named = list(self.named_parameters())
        for pattern in list(patterns) + except_:
            if not any(_matches(name, pattern) for name, _ in named):
                examples = ", ".join(name for name, _ in named[:4])
                raise ValueError(f"{'unfreeze' if flag else 'freeze'}: pattern {pattern!r} matches no parameter of "
                                 f"{type(self).__name__}; names look like: {examples}, ...")
        for name, p in named:
            chosen = not patterns or any(_matches(name, pat) for pat in patterns)
            if chosen and not any(_matches(name, pat) for pat in except_):
                p.requires_grad_(flag)
        return self

    # ---- saving and loading -------------------------------------------------------------------

    def state_dict(self) -> dict:
        """``{dotted name: array}`` for every parameter: copies, on the parameters' device (a
        snapshot: later training does not change it). ``to_numpy`` brings one to the host."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters of the same name, in place (the Parameter objects stay,
        so an optimizer holding them stays valid).

        Values may be arrays of any device or Tensors; each is converted explicitly to its
        parameter's device and dtype. Nothing is loaded unless everything fits: a shape that
        differs is always an error, and with ``strict`` so are missing keys (in the model, not
        in ``state_dict``) and unexpected ones (the other way round). The error lists them all
        by name. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        wrong_shape = []
        for name, p in own.items():
            if name in state_dict and tuple(state_dict[name].shape) != p.shape:
                wrong_shape.append(f"{name}: the model has {p.shape}, the state_dict {tuple(state_dict[name].shape)}")
        if wrong_shape or (strict and (missing or unexpected)):
            lines = [f"cannot load this state_dict into {type(self).__name__}:"]
            if missing:
                lines.append("  missing keys (in the model, not in the state_dict): " + ", ".join(missing))
            if unexpected:
                lines.append("  unexpected keys (in the state_dict, not in the model): " + ", ".join(unexpected))
            if wrong_shape:
                lines.append("  wrong shapes:\n    " + "\n    ".join(wrong_shape))
            raise StateDictError("\n".join(lines))
        for name, p in own.items():
            if name in state_dict:
                value = state_dict[name]
                value = value.data if isinstance(value, Tensor) else value
                p.data[...] = asarray(value, p.device, p.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ---- device and dtype ---------------------------------------------------------------------

    def to(self, device: str | None = None, dtype=None) -> Module:
        """Move every parameter (and its gradient) to ``device`` and/or cast it to ``dtype``,
        replacing its ``.data``: the Parameter objects stay the same. Returns the module.

        An optimizer holding these parameters stays valid, before or after its first step:
        its state (moments) follows each parameter to its device and dtype at the next
        ``step()``. Data batches are not moved: put them on the device with
        ``backend.asarray(batch, device)``.
        """
        if dtype is not None and not is_floating(as_dtype(dtype)):
            raise TypeError(f"{type(self).__name__}.to: parameters must stay floating point, got dtype {dtype}")
        name = get_backend(device).name if device is not None else None
        for p in self.parameters():
            target = name or p.device
            p.data = asarray(p.data, target, dtype)
            if p.grad is not None:
                p.grad = asarray(p.grad, target, dtype)
            p.device = target
        return self

    def float(self) -> Module:
        return self.to(dtype="float32")

    def double(self) -> Module:
        return self.to(dtype="float64")

    # ---- printing -----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The settings shown between the parentheses of ``repr`` (layers override it)."""
        return ""

    def describe(self) -> str:
        """One line naming the module and its settings, e.g. ``Linear(in_features=16, out_features=4, bias=True)``."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return self.describe()
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append("  " + self.extra_repr())
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines + [")"])


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + ".")
