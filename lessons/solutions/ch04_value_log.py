"""Worked solution of chapter 4's exercise (``tinygrad_ft.exercises``): a log op for the scalar engine.

Check it with ``tinygrad_ft.exercises.check(value_log)``.
"""

import math

from tinygrad_ft.exercises import Value


# out = log(a). Its backward passes the gradient on to a: dL/da += dL/dout · dout/da, with the
# local derivative d log(a)/da = 1/a, and dL/dout = out.grad (the chain rule: out may feed
# other ops). It adds (+=): a may be used elsewhere, and every use contributes.
def value_log(a):
    out = Value(math.log(a.data), (a,), "log")

    def _backward():
        a.grad += (1 / a.data) * out.grad

    out._backward = _backward
    return out
