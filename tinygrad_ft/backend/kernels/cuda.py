"""Fused CUDA kernels for CuPy arrays: GELU (tanh), softmax, layer norm, cross-entropy, Adam.

Each public function takes and returns ``cupy.ndarray`` s of float32 or float64 and names,
in its docstring, the plain op it must equal; ``tests/test_gpu.py`` holds it to that
(float64 to 1e-10, float32 to a few ulps of the row's scale). Nothing here is wired into the
ops: an op asks ``tinygrad_ft.backend.kernels.get_kernel(name)`` and calls the function when the
arrays are CuPy's (see the package docstring for the pattern).

Importing this module does not import CuPy; the kernels are built on their first call
(``_cupy()``), and CuPy compiles each one once per dtype (and caches it on disk).

Three kinds, all documented CuPy APIs:

* element-wise (GELU, Adam): ``cupy.ElementwiseKernel`` with a type placeholder ``T``. The
  bodies are in ``ELEMENTWISE`` so that they can be read (and checked) on their own.
* a column reduction (layer norm's dL/dweight): ``cupy.ReductionKernel``, map-reduce over
  the rows, no (N, C) temporary.
* row-wise (softmax, layer norm, cross-entropy): CUDA C in ``ROW_SOURCE``, compiled with
  ``cupy.RawModule`` once per dtype. One warp (32 threads) owns one row of the last axis:
  each lane walks the row with stride 32 and keeps a partial sum or max; a butterfly of
  ``__shfl_xor_sync`` gives every lane the row's total (bitwise the same in every lane,
  since a + b == b + a). No shared memory and no ``__syncthreads``: a block is 8 independent
  warps (256 threads), 8 rows. Rows are the leading axes flattened; the data must be
  C-contiguous (the wrappers make it so).

Every row kernel computes in the input's precision, in the same order of operations as the
plain op where that is cheap (e.g. ``(x - mean) * rstd``, the max subtracted before ``exp``),
so float64 agrees to rounding.
"""

from __future__ import annotations

import math

import numpy  # host-side only: dtypes and the scalar arguments of kernel launches

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715
WARP = 32
THREADS = 256  # per block: 8 warps, 8 rows
ROWS_PER_BLOCK = THREADS // WARP

_cp = None


def _cupy():
    """CuPy, imported on first use (this module imports on a machine without it)."""
    global _cp
    if _cp is None:
        import cupy

        _cp = cupy
    return _cp


def _check_float(*arrays) -> None:
    for a in arrays:
        if a.dtype not in (numpy.float32, numpy.float64):
            raise TypeError(f"fused kernels take float32 or float64 arrays, got {a.dtype}")


# ---- element-wise: GELU and Adam --------------------------------------------------------------
#
# name -> (in_params, out_params, body). Constants are Python floats written out in full and
# cast to T, as the plain ops' Python-float constants are cast to the array's dtype.

ELEMENTWISE = {
    "gelu_tanh_forward": (
        "T x",
        "T y",
        f"""
        const T c = (T){_SQRT_2_OVER_PI!r};
        const T kc = (T){_GELU_CUBIC * _SQRT_2_OVER_PI!r};
        T u = x * x;
        u = u * kc + c;
        u = u * x;
        const T t = tanh(u);
        y = ((t + (T)1) * x) * (T)0.5;
        """,
    ),
    "gelu_tanh_backward": (
        "T x, T dy",
        "T dx",
        f"""
        const T c = (T){_SQRT_2_OVER_PI!r};
        const T kc = (T){_GELU_CUBIC * _SQRT_2_OVER_PI!r};
        const T kc3 = (T){3 * _GELU_CUBIC * _SQRT_2_OVER_PI!r};
        const T x2 = x * x;
        const T t = tanh((x2 * kc + c) * x);
        const T du = x2 * kc3 + c;
        T d = ((t * t - (T)1) * x) * du;
        d = (d - t) - (T)1;
        dx = (d * (T)(-0.5)) * dy;
        """,
    ),
    "adam_update": (
        "T grad, T decay, T l2, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, T eps, T step_size, T bias2_sqrt",
        "T param, T m, T v",
        """
        const T g = grad + l2 * param;
        param = param * decay;
        m = m * beta1 + g * one_minus_beta1;
        v = v * beta2 + (g * g) * one_minus_beta2;
        param = param - (m / (sqrt(v) / bias2_sqrt + eps)) * step_size;
        """,
    ),
}

_elementwise_cache: dict = {}


def _elementwise(name: str):
    kernel = _elementwise_cache.get(name)
    if kernel is None:
        in_params, out_params, body = ELEMENTWISE[name]
        kernel = _cupy().ElementwiseKernel(in_params, out_params, body, f"tgft_{name}")
        _elementwise_cache[name] = kernel
    return kernel


def gelu_tanh_forward(x):
    """y = ½ x (1 + tanh(u)),  u = c (x + k x³),  c = √(2/π), k = 0.044715 (GPT-2's gelu).

    One read of x, one write of y (the plain op makes three temporaries). The backward
    recomputes tanh(u) from x, so the op needs to keep only x.

    Reference: ``tinygrad_ft.functional.activations.GELUTanh.forward``.
    """
    _check_float(x)
    return _elementwise("gelu_tanh_forward")(x)


def gelu_tanh_backward(x, d_y):
    """dL/dx = g · (½ (1 + t) + ½ x (1 - t²) c (1 + 3k x²)),  t = tanh(c (x + k x³)),  g = dL/dy.

    Reference: ``tinygrad_ft.functional.activations.GELUTanh.backward``.
    """
    _check_float(x, d_y)
    return _elementwise("gelu_tanh_backward")(x, d_y)


def adam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """One Adam/AdamW step for one parameter, in place on ``param``, ``exp_avg`` (m) and
    ``exp_avg_sq`` (v), in one pass (the plain update makes ten passes over memory):

        g = grad + λ θ                        (Adam, ``decoupled=False``; λ = weight_decay)
        θ ← θ (1 - η λ)                       (AdamW, ``decoupled=True``)
        m ← β₁ m + (1 - β₁) g
        v ← β₂ v + (1 - β₂) g²
        θ ← θ - (η / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε)

    ``step`` is t after incrementing (1 on the first step); every scalar is a Python number,
    computed on the host, so nothing waits for the device. ``grad`` is only read.

    Reference: ``tinygrad_ft.optim.adam.Adam.update`` (the same formula, in the same order).
    """
    _check_float(param, grad, exp_avg, exp_avg_sq)
    for name, a in (("grad", grad), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
        if a.shape != param.shape or a.dtype != param.dtype:
            raise ValueError(f"adam_update: {name} is {a.dtype}{tuple(a.shape)}, the parameter {param.dtype}{tuple(param.shape)}")
    t = param.dtype.type
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    l2 = weight_decay if not decoupled else 0.0
    _elementwise("adam_update")(
        grad, t(decay), t(l2), t(beta1), t(1 - beta1), t(beta2), t(1 - beta2), t(eps),
        t(lr / (1 - beta1**step)), t(math.sqrt(1 - beta2**step)),
        param, exp_avg, exp_avg_sq,
    )


# ---- a column reduction: layer norm's dL/dweight -----------------------------------------------

_reduction_cache: dict = {}


def _layer_norm_d_weight_kernel():
    kernel = _reduction_cache.get("layer_norm_d_weight")
    if kernel is None:
        kernel = _cupy().ReductionKernel(
            "T dy, T x, T mean, T rstd",  # mean and rstd broadcast as (N, 1)
            "T dw",
            "dy * ((x - mean) * rstd)",  # g ⊙ x̂, x̂ recomputed as in the forward
            "a + b",
            "dw = a",
            "0",
            "tgft_layer_norm_d_weight",
        )
        _reduction_cache["layer_norm_d_weight"] = kernel
    return kernel


# ---- row-wise: softmax, layer norm, cross-entropy (one warp per row) ---------------------------

_PRELUDE = {
    numpy.dtype("float32"): """
typedef float T;
#define EXP expf
#define LOG logf
#define SQRT sqrtf
#define FMAX fmaxf
#define NEG_INF (__int_as_float(0xff800000))
#define QNAN (__int_as_float(0x7fffffff))
""",
    numpy.dtype("float64"): """
typedef double T;
#define EXP exp
#define LOG log
#define SQRT sqrt
#define FMAX fmax
#define NEG_INF (__longlong_as_double(0xfff0000000000000LL))
#define QNAN (__longlong_as_double(0x7ff8000000000000LL))
""",
}

ROW_SOURCE = r"""
#define WARP 32
#define FULL_MASK 0xffffffffu

// Every lane ends with the sum (max) over the 32 lanes' values: a butterfly of xor shuffles.
__device__ __forceinline__ T warp_sum(T v) {
    for (int offset = WARP / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ T warp_max(T v) {
    for (int offset = WARP / 2; offset > 0; offset >>= 1) v = FMAX(v, __shfl_xor_sync(FULL_MASK, v, offset));
    return v;
}

// The row this warp owns (blockDim.x is a multiple of 32), and this thread's lane in the warp.
__device__ __forceinline__ long long warp_row() {
    return (long long)blockIdx.x * (long long)(blockDim.x / WARP) + (long long)(threadIdx.x / WARP);
}

__device__ __forceinline__ int lane_id() { return (int)(threadIdx.x % WARP); }

// p = softmax(x) along the last axis: p_j = e^{x_j - m} / sum_k e^{x_k - m}, m = max x.
extern "C" __global__ void softmax_forward(const T* __restrict__ x, T* __restrict__ y,
                                           const long long n_rows, const int n_cols) {
    const long long row = warp_row();
    if (row >= n_rows) return;  // the whole warp leaves together: no shuffle is left waiting
    const int lane = lane_id();
    const T* xr = x + row * n_cols;
    T* yr = y + row * n_cols;
    T m = NEG_INF;
    for (int j = lane; j < n_cols; j += WARP) m = FMAX(m, xr[j]);
    m = warp_max(m);
    T s = 0;
    for (int j = lane; j < n_cols; j += WARP) {
        const T e = EXP(xr[j] - m);
        yr[j] = e;
        s += e;
    }
    s = warp_sum(s);
    for (int j = lane; j < n_cols; j += WARP) yr[j] = yr[j] / s;  // each lane rereads only what it wrote
}

// dx_j = p_j (g_j - sum_k g_k p_k), with p = softmax(x) from the forward and g = dL/dp.
extern "C" __global__ void softmax_backward(const T* __restrict__ p, const T* __restrict__ g, T* __restrict__ dx,
                                            const long long n_rows, const int n_cols) {
    const long long row = warp_row();
    if (row >= n_rows) return;
    const int lane = lane_id();
    const T* pr = p + row * n_cols;
    const T* gr = g + row * n_cols;
    T* dr = dx + row * n_cols;
    T dot = 0;
    for (int j = lane; j < n_cols; j += WARP) dot += gr[j] * pr[j];
    dot = warp_sum(dot);
    for (int j = lane; j < n_cols; j += WARP) dr[j] = (gr[j] - dot) * pr[j];
}

// Layer norm of each row: mean, rstd = 1/sqrt(var + eps), y = (x - mean) rstd * w + b.
// weight and bias are read only when has_weight / has_bias (else any pointer may be given).
extern "C" __global__ void layer_norm_forward(const T* __restrict__ x, const T* __restrict__ weight,
                                              const T* __restrict__ bias, T* __restrict__ y,
                                              T* __restrict__ mean_out, T* __restrict__ rstd_out,
                                              const long long n_rows, const int n_cols, const T eps,
                                              const int has_weight, const int has_bias) {
    const long long row = warp_row();
    if (row >= n_rows) return;
    const int lane = lane_id();
    const T* xr = x + row * n_cols;
    T* yr = y + row * n_cols;
    T s = 0;
    for (int j = lane; j < n_cols; j += WARP) s += xr[j];
    const T mean = warp_sum(s) / (T)n_cols;
    T q = 0;
    for (int j = lane; j < n_cols; j += WARP) {
        const T d = xr[j] - mean;
        q += d * d;
    }
    const T var = warp_sum(q) / (T)n_cols;
    const T rstd = (T)1 / SQRT(var + eps);
    for (int j = lane; j < n_cols; j += WARP) {
        T v = (xr[j] - mean) * rstd;
        if (has_weight) v = v * weight[j];
        if (has_bias) v = v + bias[j];
        yr[j] = v;
    }
    if (lane == 0) {
        mean_out[row] = mean;
        rstd_out[row] = rstd;
    }
}

// dL/dx of layer norm, one row: with x^ = (x - mean) rstd and g^ = g * w (or g),
// dx = rstd (g^ - mean(g^) - x^ mean(g^ x^)).
extern "C" __global__ void layer_norm_backward(const T* __restrict__ dy, const T* __restrict__ x,
                                               const T* __restrict__ mean_in, const T* __restrict__ rstd_in,
                                               const T* __restrict__ weight, T* __restrict__ dx,
                                               const long long n_rows, const int n_cols, const int has_weight) {
    const long long row = warp_row();
    if (row >= n_rows) return;
    const int lane = lane_id();
    const T* gr = dy + row * n_cols;
    const T* xr = x + row * n_cols;
    T* dr = dx + row * n_cols;
    const T mean = mean_in[row];
    const T rstd = rstd_in[row];
    T sum_g = 0, sum_gx = 0;
    for (int j = lane; j < n_cols; j += WARP) {
        const T gh = has_weight ? gr[j] * weight[j] : gr[j];
        const T xh = (xr[j] - mean) * rstd;
        sum_g += gh;
        sum_gx += gh * xh;
    }
    const T mean_g = warp_sum(sum_g) / (T)n_cols;
    const T mean_gx = warp_sum(sum_gx) / (T)n_cols;
    for (int j = lane; j < n_cols; j += WARP) {
        const T gh = has_weight ? gr[j] * weight[j] : gr[j];
        const T xh = (xr[j] - mean) * rstd;
        dr[j] = ((gh - mean_g) - xh * mean_gx) * rstd;
    }
}

// Cross-entropy of each row of logits z (C classes) with target t and label smoothing e:
//   loss = (1 - e)(m - z_t) - (e / C) sum_j (z_j - m) + log sum_j e^{z_j - m},  m = max z
// (= (1 - e)(lse - z_t) + e (lse - mean z)); lse = m + log sum_j e^{z_j - m} is kept for the
// backward. An ignored row (t == ignore_index) has loss 0; a target outside 0..C-1 gives NaN
// (the kernel cannot raise; the caller checks the range if it wants an error).
extern "C" __global__ void cross_entropy_forward(const T* __restrict__ logits, const long long* __restrict__ targets,
                                                 T* __restrict__ losses, T* __restrict__ lse_out,
                                                 const long long n_rows, const int n_cols,
                                                 const long long ignore_index, const T smoothing) {
    const long long row = warp_row();
    if (row >= n_rows) return;
    const int lane = lane_id();
    const T* zr = logits + row * n_cols;
    const long long t = targets[row];
    T m = NEG_INF;
    for (int j = lane; j < n_cols; j += WARP) m = FMAX(m, zr[j]);
    m = warp_max(m);
    T s = 0, shifted_sum = 0;
    for (int j = lane; j < n_cols; j += WARP) {
        const T d = zr[j] - m;
        s += EXP(d);
        shifted_sum += d;
    }
    s = warp_sum(s);
    shifted_sum = warp_sum(shifted_sum);
    if (lane == 0) {
        const T log_s = LOG(s);
        lse_out[row] = m + log_s;
        T loss;
        if (t == ignore_index) {
            loss = 0;
        } else if (t < 0 || t >= n_cols) {
            loss = QNAN;
        } else {
            loss = m - zr[t];
            if (smoothing != (T)0) loss = loss * ((T)1 - smoothing) - (smoothing / (T)n_cols) * shifted_sum;
            loss = loss + log_s;
        }
        losses[row] = loss;
    }
}

// dL/dz of one row: w (p - (1 - e) onehot(t) - e / C), p = e^{z - lse}, w = row_weight[row]
// (dL/dloss of this row: g, or g / count for "mean"). An ignored or out-of-range row gets 0.
extern "C" __global__ void cross_entropy_backward(const T* __restrict__ logits, const long long* __restrict__ targets,
                                                  const T* __restrict__ lse_in, const T* __restrict__ row_weight,
                                                  T* __restrict__ d_logits, const long long n_rows, const int n_cols,
                                                  const long long ignore_index, const T smoothing) {
    const long long row = warp_row();
    if (row >= n_rows) return;
    const int lane = lane_id();
    const T* zr = logits + row * n_cols;
    T* dr = d_logits + row * n_cols;
    const long long t = targets[row];
    if (t == ignore_index || t < 0 || t >= n_cols) {
        for (int j = lane; j < n_cols; j += WARP) dr[j] = 0;
        return;
    }
    const T lse = lse_in[row];
    const T w = row_weight[row];
    const T on_target = ((T)1 - smoothing) * w;
    const T uniform = (smoothing / (T)n_cols) * w;
    for (int j = lane; j < n_cols; j += WARP) {
        T d = EXP(zr[j] - lse) * w;
        if (j == t) d = d - on_target;
        if (smoothing != (T)0) d = d - uniform;
        dr[j] = d;
    }
}
"""

ROW_KERNELS = ("softmax_forward", "softmax_backward", "layer_norm_forward", "layer_norm_backward",
               "cross_entropy_forward", "cross_entropy_backward")

_modules: dict = {}


def row_source(dtype) -> str:
    """The CUDA C of the row kernels for ``dtype`` (float32 or float64): prelude + ROW_SOURCE."""
    return _PRELUDE[numpy.dtype(dtype)] + ROW_SOURCE


def _row_kernel(name: str, dtype):
    dtype = numpy.dtype(dtype)
    module = _modules.get(dtype)
    if module is None:
        module = _cupy().RawModule(code=row_source(dtype), options=("--std=c++14",))
        _modules[dtype] = module
    return module.get_function(name)


def _launch_rows(name: str, dtype, n_rows: int, args: tuple) -> None:
    if n_rows == 0:
        return
    blocks = (n_rows + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK
    _row_kernel(name, dtype)((blocks,), (THREADS,), args)


def _rows(x):
    """x as a C-contiguous array and its (rows, cols) over the last axis."""
    x = _cupy().ascontiguousarray(x)
    n_cols = x.shape[-1] if x.ndim else 1
    n_rows = x.size // n_cols if n_cols else 0
    return x, n_rows, n_cols


def _check_cols(n_cols: int) -> None:
    if n_cols >= 2**31:
        raise ValueError(f"a row of {n_cols} elements is too long for the row kernels (int32 columns)")


def softmax_forward(x):
    """p = softmax(x) along the LAST axis: pⱼ = e^{xⱼ - m} / Σₖ e^{xₖ - m},  m = max x.

    One warp per row: the max, the sum of exponentials and the division in one kernel.
    -inf entries (masked) get probability 0.

    Reference: ``tinygrad_ft.functional.softmax.Softmax.forward`` with ``axis=-1``.
    """
    _check_float(x)
    x, n_rows, n_cols = _rows(x)
    _check_cols(n_cols)
    y = _cupy().empty_like(x)
    _launch_rows("softmax_forward", x.dtype, n_rows, (x, y, numpy.int64(n_rows), numpy.int32(n_cols)))
    return y


def softmax_backward(probs, d_probs):
    """dL/dxⱼ = pⱼ (gⱼ - Σᵢ gᵢ pᵢ) along the last axis, from the forward's p and g = dL/dp.

    Reference: ``tinygrad_ft.functional.softmax.Softmax.backward`` with ``axis=-1``.
    """
    _check_float(probs, d_probs)
    if probs.shape != d_probs.shape or probs.dtype != d_probs.dtype:
        raise ValueError(f"softmax_backward: probs {probs.dtype}{probs.shape} and d_probs {d_probs.dtype}{d_probs.shape} differ")
    probs, n_rows, n_cols = _rows(probs)
    d_probs = _cupy().ascontiguousarray(d_probs)
    d_x = _cupy().empty_like(probs)
    _launch_rows("softmax_backward", probs.dtype, n_rows, (probs, d_probs, d_x, numpy.int64(n_rows), numpy.int32(n_cols)))
    return d_x


def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Over the last axis (C) of each row: μ = mean(x), rstd = 1/√(var(x) + eps),
    x̂ = (x - μ) rstd, y = x̂ ⊙ w + b (w, b of shape (C,), either may be None).

    Returns ``(y, mean, rstd)``, mean and rstd of shape x.shape[:-1]: the backward needs
    only x, mean and rstd (x̂ is recomputed, not stored).

    Reference: ``tinygrad_ft.functional.normalization.LayerNorm.forward`` (its ``inv_std``
    is rstd, its ``x_hat`` is (x - mean) * rstd).
    """
    cp = _cupy()
    _check_float(x)
    x, n_rows, n_cols = _rows(x)
    _check_cols(n_cols)
    dummy = cp.empty(1, dtype=x.dtype)
    w = cp.ascontiguousarray(weight.astype(x.dtype, copy=False)) if weight is not None else dummy
    b = cp.ascontiguousarray(bias.astype(x.dtype, copy=False)) if bias is not None else dummy
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != (n_cols,):
            raise ValueError(f"layer_norm_forward: {name} has shape {p.shape}, expected ({n_cols},)")
    y = cp.empty_like(x)
    mean = cp.empty(x.shape[:-1], dtype=x.dtype)
    rstd = cp.empty(x.shape[:-1], dtype=x.dtype)
    _launch_rows("layer_norm_forward", x.dtype, n_rows, (
        x, w, b, y, mean, rstd, numpy.int64(n_rows), numpy.int32(n_cols), x.dtype.type(eps),
        numpy.int32(weight is not None), numpy.int32(bias is not None),
    ))
    return y, mean, rstd


def layer_norm_backward(d_y, x, mean, rstd, weight=None, needs_input_grad=(True, True, True)):
    """The three gradients of layer norm, with x̂ = (x - μ) rstd and ĝ = g ⊙ w (g = dL/dy):

        dL/dx = rstd (ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))     (row kernel, one warp per row)
        dL/dw = Σ_rows g ⊙ x̂                              (ReductionKernel over the rows)
        dL/db = Σ_rows g

    ``needs_input_grad`` = (x, weight, bias), as ``Function.needs_input_grad``; a gradient not needed is
    returned as None (and dL/dw is None whenever ``weight`` is None, as dL/db is not: the
    caller knows whether it has a bias). ``mean`` and ``rstd`` are the forward's.

    Reference: ``tinygrad_ft.functional.normalization.LayerNorm.backward``.
    """
    cp = _cupy()
    _check_float(d_y, x, mean, rstd)
    x, n_rows, n_cols = _rows(x)
    d_y = cp.ascontiguousarray(d_y)
    mean = cp.ascontiguousarray(mean)
    rstd = cp.ascontiguousarray(rstd)
    d_x = d_weight = d_bias = None
    if needs_input_grad[0]:
        d_x = cp.empty_like(x)
        w = cp.ascontiguousarray(weight.astype(x.dtype, copy=False)) if weight is not None else cp.empty(1, dtype=x.dtype)
        _launch_rows("layer_norm_backward", x.dtype, n_rows, (
            d_y, x, mean, rstd, w, d_x, numpy.int64(n_rows), numpy.int32(n_cols), numpy.int32(weight is not None),
        ))
    d_y_rows = d_y.reshape(n_rows, n_cols)
    if len(needs_input_grad) > 1 and needs_input_grad[1] and weight is not None:
        d_weight = _layer_norm_d_weight_kernel()(
            d_y_rows, x.reshape(n_rows, n_cols), mean.reshape(n_rows, 1), rstd.reshape(n_rows, 1), axis=0
        )
    if len(needs_input_grad) > 2 and needs_input_grad[2]:
        d_bias = d_y_rows.sum(axis=0)
    return d_x, d_weight, d_bias


def cross_entropy_forward(logits, targets, ignore_index=-100, label_smoothing=0.0):
    """Per-position losses of logits (..., C) against integer targets (...), class axis last:

        lossᵢ = (1 - ε)(lse - z[t]) + ε (lse - mean z),   lse = log Σⱼ e^{zⱼ}

    0 where the target is ``ignore_index``; NaN where a target is outside 0..C-1 (the plain
    op raises ValueError there; the kernel cannot, and a check would cost a sync).

    Returns ``(losses, lse)``, both of shape targets.shape, both on the device: reduce on the
    device too, e.g. for "mean" ``losses.sum() / cupy.maximum((targets != ignore_index).sum(), 1).astype(losses.dtype)``
    (no ``int(count)`` on the host; the cast keeps float32 from being promoted by the int64 count). Keep ``lse`` for the
    backward: softmax(z) is recomputed
    there as e^{z - lse}, so no (N, C) probabilities are stored.

    Reference: ``tinygrad_ft.functional.cross_entropy.CrossEntropy.forward`` (its per-row
    ``losses`` before the reduction).
    """
    cp = _cupy()
    _check_float(logits)
    if tuple(targets.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"cross_entropy_forward: targets {tuple(targets.shape)} do not match logits {tuple(logits.shape)}")
    shape = tuple(targets.shape)  # before ascontiguousarray, which makes a 0-d array 1-d
    logits, n_rows, n_cols = _rows(logits)
    _check_cols(n_cols)
    targets = cp.ascontiguousarray(targets.astype(cp.int64, copy=False))
    losses = cp.empty(shape, dtype=logits.dtype)
    lse = cp.empty(shape, dtype=logits.dtype)
    _launch_rows("cross_entropy_forward", logits.dtype, n_rows, (
        logits, targets, losses, lse, numpy.int64(n_rows), numpy.int32(n_cols),
        numpy.int64(ignore_index), logits.dtype.type(label_smoothing),
    ))
    return losses, lse


def cross_entropy_backward(logits, targets, lse, row_weights, ignore_index=-100, label_smoothing=0.0):
    """dL/dz = wᵢ (softmax(z) - (1 - ε) onehot(t) - ε/C) for each row i, with softmax(z)
    recomputed as e^{z - lse} and wᵢ = ``row_weights``[i] = dL/dlossᵢ (the incoming gradient
    g for "sum", g / count for "mean", g[i] for "none"); ignored rows get 0.

    ``row_weights`` has the shape of ``targets`` (broadcast a 0-d one first:
    ``cupy.broadcast_to(g / count, targets.shape)``).

    Reference: ``tinygrad_ft.functional.cross_entropy.CrossEntropy.backward``.
    """
    cp = _cupy()
    _check_float(logits, lse, row_weights)
    logits, n_rows, n_cols = _rows(logits)
    targets = cp.ascontiguousarray(targets.astype(cp.int64, copy=False))
    lse = cp.ascontiguousarray(lse.astype(logits.dtype, copy=False))
    row_weights = cp.ascontiguousarray(cp.broadcast_to(row_weights.astype(logits.dtype, copy=False), targets.shape))
    d_logits = cp.empty_like(logits)
    _launch_rows("cross_entropy_backward", logits.dtype, n_rows, (
        logits, targets, lse, row_weights, d_logits, numpy.int64(n_rows), numpy.int32(n_cols),
        numpy.int64(ignore_index), logits.dtype.type(label_smoothing),
    ))
    return d_logits


__all__ = [
    "ELEMENTWISE", "ROW_KERNELS", "ROW_SOURCE", "adam_update", "cross_entropy_backward", "cross_entropy_forward",
    "gelu_tanh_backward", "gelu_tanh_forward", "layer_norm_backward", "layer_norm_forward", "row_source",
    "softmax_backward", "softmax_forward",
]
