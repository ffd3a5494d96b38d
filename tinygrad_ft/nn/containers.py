"""Containers: ``ModuleList`` (a list of modules a model can see) and ``Sequential`` (a chain)."""

from __future__ import annotations

from .module import Module


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner: ``self.blocks = ModuleList([...])``
    gives names ``blocks.0....``, ``blocks.1....``. (A plain Python list would hide them from
    ``parameters()``, and the optimizer would never see them.) Index, iterate and append as
    with a list; it has no ``forward``: loop over it in yours."""

    def __init__(self, modules=()):
        super().__init__()
        self._items: list = []
        self.extend(modules)

    @staticmethod
    def _check(module):
        if not isinstance(module, Module):
            raise TypeError(f"a ModuleList holds modules, got {type(module).__name__}")
        return module

    def append(self, module: Module) -> ModuleList:
        self._items.append(self._check(module))
        return self

    def extend(self, modules) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[index] = self._check(module)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def named_children(self):
        for i, module in enumerate(self._items):
            yield str(i), module

    def forward(self, *args, **kwargs):
        raise TypeError("a ModuleList is a list, not a layer: call its modules in your forward (for block in self.blocks: ...)")


class Sequential(ModuleList):
    """Modules applied one after the other: ``Sequential(Linear(4, 16), ReLU(), Linear(16, 2))(x)``."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def __getitem__(self, index):
        return Sequential(*self._items[index]) if isinstance(index, slice) else self._items[index]

    def forward(self, x):
        for module in self:
            x = module(x)
        return x
