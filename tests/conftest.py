"""Shared fixtures: the devices every op test runs on, and seeded random inputs.

Each op test is parametrized over ``cpu``, ``strict`` (the CuPy stand-in that refuses NumPy
leaks, see ``tinygrad_ft.backend.strict``) and ``cuda``; without a GPU the ``cuda`` cases show
as skipped, never vanish.
"""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.backend import get_default_dtype, set_default_dtype


def _cuda_skip_reason():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "CuPy is not installed (pip install 'tinygrad-ft[gpu]')"
    return None if tg.cuda_is_available() else "no CUDA GPU on this machine"


_CUDA_SKIP = _cuda_skip_reason()
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("strict", id="strict"),
    pytest.param("cuda", id="cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(_CUDA_SKIP is not None, reason=str(_CUDA_SKIP))]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device in turn: cpu, strict (CuPy stand-in), cuda (skipped without a GPU)."""
    return request.param


@pytest.fixture
def float64():
    """New tensors default to float64 inside the test (precise comparisons between devices)."""
    previous = get_default_dtype()
    set_default_dtype("float64")
    yield
    set_default_dtype(previous)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A small text file for pre-training runs (read only)."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 40)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seeded():
    tg.manual_seed(0)
    yield


@pytest.fixture
def plain_ops():
    """The fused kernels switched off inside the test: every op runs its plain lines."""
    from tinygrad_ft.backend import kernels

    previous = kernels.set_enabled(False)
    yield
    kernels.set_enabled(previous)
