"""Refusing a solution that calls the library's own implementation of what the exercise asks for.

An exercise asks you to *write* the softmax, the AdamW step or the causal mask; calling
``F.softmax`` or ``AdamW.update`` from your function would pass every numeric check and teach
nothing. So the checker runs your function under a watch (``sys.setprofile``: every Python
function and every C function it calls, however deep, through any alias or helper) and refuses
it if one of the exercise's ``Forbidden`` implementations was called.

    Forbidden("F.softmax", files=("functional/softmax.py",))   # any function of that module
    Forbidden("the autograd engine's backward", names=("backward",), files=LIBRARY)
    Forbidden("Hugging Face tokenizers", c_modules=("tokenizers",))
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../tinygrad_ft
EXERCISES_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Forbidden:
    """One implementation the student's function may not call.

    - ``label``: how the refusal names it ("F.softmax", "the library's AdamW");
    - ``files``: module files, relative to the package (``"optim/adam.py"``) or to a folder
      (``"optim/"``); a function defined there counts, unless ``names`` narrows it down;
    - ``names``: function names (``"backward"``); with ``files`` empty, anywhere in the package
      except this exercises folder;
    - ``c_modules``: module prefixes of C functions and methods (``"tokenizers"``), and of
      Python files in an installed package of that name.
    """

    label: str
    files: tuple = ()
    names: tuple = ()
    c_modules: tuple = ()

    def matches_code(self, code) -> bool:
        filename = os.path.abspath(code.co_filename)
        if self.names and code.co_name not in self.names:
            return False
        if self.files:
            inside = filename[len(PACKAGE_DIR) + 1:].replace(os.sep, "/") if filename.startswith(PACKAGE_DIR) else None
            if inside is not None and any(inside == f or (f.endswith("/") and inside.startswith(f)) for f in self.files):
                return True
        elif self.names and filename.startswith(PACKAGE_DIR) and not filename.startswith(EXERCISES_DIR):
            return True
        return any(f"{os.sep}{m}{os.sep}" in filename and "site-packages" in filename for m in self.c_modules)

    def matches_c(self, function) -> bool:
        if not self.c_modules:
            return False
        module = getattr(function, "__module__", None)
        if not module:
            owner = getattr(function, "__self__", None)
            module = getattr(type(owner), "__module__", None) if owner is not None else None
        return bool(module) and any(module == m or module.startswith(m + ".") for m in self.c_modules)


LIBRARY_BACKWARD = Forbidden("the library's autograd (Tensor.backward and the ops' backward methods)", names=("backward",))


def watch(fn, args, forbidden=()):
    """Call ``fn(*args)`` and note which ``forbidden`` implementations it called.

    Returns ``(result, calls)``: ``calls`` is the sorted list of the labels of the forbidden
    implementations that were called (empty: none). Exceptions from ``fn`` propagate.
    """
    if not forbidden:
        return fn(*args), []
    seen = set()
    checked = {}

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code not in checked:
                checked[code] = [f.label for f in forbidden if f.matches_code(code)]
            seen.update(checked[code])
        elif event == "c_call":
            for f in forbidden:
                if f.matches_c(arg):
                    seen.add(f.label)
        if previous is not None:
            previous(frame, event, arg)
        if seen:  # the verdict is known: stop watching (the rest may be slow to watch, e.g. a JIT compiler)
            sys.setprofile(previous)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(previous)
    return result, sorted(seen)
