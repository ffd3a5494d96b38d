"""Process-wide memory tuning for training runs."""

from __future__ import annotations


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of giving it back to the OS.

    By default every array over 128 KiB gets fresh pages from the OS and returns them when
    freed, so a training step page-faults its big temporaries back in, every step (what that
    costs is in ``benchmarks/README.md``). Raising the mmap and
    trim thresholds keeps that memory in the process. Linux/glibc only; elsewhere a no-op.
    Returns whether it took effect. Process-wide, so the training commands call it, not import.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 512 << 20))
    except (OSError, AttributeError):
        return False
