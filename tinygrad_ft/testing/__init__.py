"""Test aids that ship with the library.

``strict``: the ``"strict"`` device, a CPU stand-in for CuPy that refuses to mix with NumPy
(imported on first use of ``device="strict"``). ``composed``: the functional ops composed
from primitive ops, the reference the fused ops are checked against.
"""
