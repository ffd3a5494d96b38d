"""Fast mode for the lessons: the same notebooks, with smaller training budgets.

Read as a book, a lesson trains at full size. In the test run every notebook is executed from
a fresh kernel, and all sixteen must fit in CI's time budget beside the tests, so there they
run in fast mode: ``TINYGRAD_FT_FAST=1`` in the environment (``lessons/conftest.py`` sets it).
A lesson picks its numbers with ``budget``; its asserts hold in both modes.

    from tinygrad_ft.course import budget
    epochs = budget(full=3, fast=1)

    TINYGRAD_FT_FAST=0 python -m pytest lessons/     # check the lessons at full size
"""

from __future__ import annotations

import os

ENV_VAR = "TINYGRAD_FT_FAST"


def fast_mode() -> bool:
    """True when the environment asks for the lessons' fast mode (any value but "", 0, false, no)."""
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def budget(full, fast):
    """``fast`` in fast mode, ``full`` otherwise: iteration counts, epochs, example counts."""
    return fast if fast_mode() else full


def mode_name() -> str:
    return "fast" if fast_mode() else "full"
