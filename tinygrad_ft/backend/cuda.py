"""The GPU device: CuPy arrays on an NVIDIA GPU, created only when ``"cuda"`` is first asked for."""

from __future__ import annotations

from .numpy_backend import Backend, DeviceError


class CudaBackend(Backend):
    """CuPy on an NVIDIA GPU. Created only when ``"cuda"`` is first asked for."""

    name = "cuda"

    def __init__(self, seed: int = 0):
        try:
            import cupy
        except ImportError as e:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed: "
                "pip install 'tinygrad-ft[gpu]' (CuPy for CUDA 12), then run on a machine with an NVIDIA GPU"
            ) from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise DeviceError(f"device 'cuda' needs an NVIDIA GPU, but CUDA reports: {e}") from e
        if count == 0:
            raise DeviceError("device 'cuda' needs an NVIDIA GPU, and CUDA found none on this machine")
        self.xp = cupy
        self.array_type = cupy.ndarray
        super().__init__(seed)

    def from_host(self, array):
        return self.xp.asarray(array)

    def to_host(self, array):
        return self.xp.asnumpy(array)

    def scatter_add(self, target, index, values):
        import cupyx

        cupyx.scatter_add(target, index, values)

    def erf(self, x):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)

    def seed(self, seed):
        self.generator = self.xp.random.default_rng(seed)

    def random(self, shape, dtype):
        return self.generator.random(shape, dtype=dtype)
