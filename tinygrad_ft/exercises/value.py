"""The scalar autograd engine of chapter 4, for its exercise: a ``Value`` and ``backward``.

The same class as the chapter builds (micrograd-style): each ``Value`` holds a number
(``data``), the gradient of the final output with respect to it (``grad``), the values it was
made from (``_inputs``) and a function ``_backward`` that passes its gradient on to them,
*adding* (``+=``) so that a value used twice collects gradient along both paths.

``backward`` works on any object with those attributes (duck typing), so the chapter's own
``Value`` class and this one mix freely: an op you write with the chapter's class is graded
on graphs built with this one.
"""

from __future__ import annotations

import math


def is_value(x) -> bool:
    """A Value of any class: something with ``data``, ``grad``, ``_inputs`` and ``_backward``."""
    return all(hasattr(x, a) for a in ("data", "grad", "_inputs", "_backward"))


def _value(x):
    return x if is_value(x) else Value(x)


class Value:
    """A scalar that remembers how it was made."""

    def __init__(self, data, inputs=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._inputs = tuple(inputs)
        self._op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):
        other = _value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):  # k a constant number
        out = Value(self.data**k, (self,), f"**{k:g}")

        def _backward():  # d(aᵏ)/da = k aᵏ⁻¹
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():  # d tanh(a)/da = 1 - tanh²(a)
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d eᵃ/da = eᵃ
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_value(other))

    def __truediv__(self, other):
        return self * _value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return (-self) + other

    def backward(self):
        backward(self)


def topological_order(root) -> list:
    """Every value ``root`` depends on, each after its inputs (a depth-first search)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        for u in reversed(tuple(getattr(v, "_inputs", ()) or ())):
            if is_value(u) and id(u) not in seen:
                stack.append((u, False))
    return order


def backward(root) -> None:
    """Set ``grad`` of every value ``root`` depends on to d root / d value."""
    order = topological_order(root)
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        v._backward()
