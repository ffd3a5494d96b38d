'''The stubs you start from: a signature, the shapes, and the math you need, in the docstring.

``tinygrad_ft.exercises.stub(name)`` returns one of these as text, for a lesson to show or
to paste into a cell. Every stub takes and returns plain NumPy arrays.
'''

SOFTMAX = '''\
def softmax_backward(probs, d_probs):
    """The gradient with respect to the logits z, where probs = softmax(z) on each row.

    probs:   (N, C) softmax of each row of logits (each row sums to 1)
    d_probs: (N, C) dL/dprobs, the gradient arriving from above
    returns: d_logits (N, C), of the same dtype as probs

    Math: for one row, dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ), and dL/dzⱼ = Σᵢ (dL/dpᵢ) (dpᵢ/dzⱼ).
    Simplify the sum for one row, then write it for all rows at once: a sum over axis=-1 with
    keepdims=True stays broadcastable against (N, C). No loops needed.
    """
    raise NotImplementedError("your code here")
'''

CROSS_ENTROPY = '''\
def cross_entropy_backward(logits, targets):
    """The gradient of the MEAN cross-entropy loss with respect to the logits.

    logits:  (N, C) one row of class scores per example
    targets: (N,) integers, the correct class of each row
    returns: d_logits (N, C), of the same dtype as logits

    Math: L = (1/N) Σₙ ℓₙ with ℓₙ = -log softmax(zₙ)[tₙ] = log Σⱼ e^{zₙⱼ} - zₙ,ₜₙ, and the
    derivative of log Σⱼ e^{zⱼ} with respect to z is softmax(z).
    Careful: logits can be large (±1000), and e^1000 is inf even in float64.
    """
    raise NotImplementedError("your code here")
'''

SIGMOID = '''\
def sigmoid_backward(x, d_out):
    """The gradient through y = σ(x) = 1 / (1 + e⁻ˣ), element-wise.

    x:       (N, D) the input of the sigmoid;  d_out: (N, D) dL/dy
    returns: d_x (N, D), of the same dtype as x

    Math: dσ/dx = σ(x) (1 - σ(x)). x can be ±1000: compute σ without overflowing.
    """
    raise NotImplementedError("your code here")
'''

TANH = '''\
def tanh_backward(x, d_out):
    """The gradient through y = tanh(x), element-wise.

    x:       (N, D) the input;  d_out: (N, D) dL/dy
    returns: d_x (N, D), of the same dtype as x

    Math: d tanh(x)/dx = 1 - tanh(x)². x can be ±1000 (np.tanh copes; does your formula?).
    """
    raise NotImplementedError("your code here")
'''

RELU = '''\
def relu_backward(x, d_out):
    """The gradient through y = max(x, 0), element-wise.

    x:       (N, D) the input;  d_out: (N, D) dL/dy
    returns: d_x (N, D), of the same dtype as x

    Math: dy/dx is 1 where x > 0 and 0 elsewhere (take 0 at x = 0, as PyTorch does).
    """
    raise NotImplementedError("your code here")
'''

GELU = '''\
def gelu_backward(x, d_out):
    """The gradient through GPT-2's gelu (the tanh approximation), element-wise.

    x:       (N, D) the input;  d_out: (N, D) dL/dy
    returns: d_x (N, D), of the same dtype as x

    Math: y = ½ x (1 + t),  t = tanh(u),  u = c (x + k x³),  c = √(2/π),  k = 0.044715.
    Product rule on ½ x (1 + t), chain rule through t = tanh(u): dt/du = 1 - t².
    Use Python floats (math.sqrt) for the constants: they keep float32 arrays float32.
    """
    raise NotImplementedError("your code here")
'''

LINEAR = '''\
def linear_backward(x, W, b, d_out):
    """The gradients of the dense layer y = x @ W + b.

    x: (N, in) a batch of N inputs;  W: (in, out);  b: (out,);  d_out: (N, out) dL/dy
    returns: (d_x, d_W, d_b), shaped (N, in), (in, out), (out,) like x, W, b

    Math: y[n, o] = Σᵢ x[n, i] W[i, o] + b[o]. Each gradient has the shape of what it
    differentiates, which tells you the order of each matmul. b was added to every row.
    d_out already includes any mean the loss took: do not average again.
    """
    raise NotImplementedError("your code here")
'''

MSE = '''\
def mse_backward(pred, target):
    """The gradient of the MEAN squared error with respect to the predictions.

    pred, target: (N, D);  returns: d_pred (N, D), of the same dtype as pred

    Math: L = mean over all N·D elements of (pred - target)².
    """
    raise NotImplementedError("your code here")
'''

BCE_WITH_LOGITS = '''\
def binary_cross_entropy_with_logits_backward(logits, targets):
    """The gradient of the MEAN binary cross-entropy of σ(logits) against targets.

    logits: (N, D) real numbers;  targets: (N, D) of 0s and 1s
    returns: d_logits (N, D), of the same dtype as logits

    Math: per element, ℓ = -(t log σ(x) + (1 - t) log(1 - σ(x))) = softplus(x) - t x,
    with softplus(x) = log(1 + eˣ), whose derivative is σ(x). L is the mean over all elements.
    Logits can be ±1000.
    """
    raise NotImplementedError("your code here")
'''

ATTENTION = '''\
def attention_backward(q, k, v, d_out, causal):
    """The gradients of single-head attention O = softmax(q kᵀ / √D) v.

    q, k, v: (T, D);  d_out: (T, D) dL/dO;  causal: if True, query i sees only keys j ≤ i
    returns: (d_q, d_k, d_v), each (T, D), of the same dtype as q

    Math: S = q kᵀ / √D (T, T);  with causal, S[i, j] = -inf for j > i;  P = softmax(S) on
    each row;  O = P v. Recompute P (stably: S can be large). Then go backward one step at a
    time: O = P v is a matmul (like the dense layer); P = softmax(S) is your softmax_backward
    (a masked P is 0, so no gradient flows there); S = q kᵀ / √D is a matmul and a scale.
    """
    raise NotImplementedError("your code here")
'''

LAYER_NORM = '''\
def layer_norm_backward(x, w, b, d_out):
    """The gradients of layer normalisation over the last axis (C features), eps = 1e-5.

    x: (N, C);  w, b: (C,);  d_out: (N, C) dL/dy
    returns: (d_x, d_w, d_b), shaped (N, C), (C,), (C,)

    Math, for each row: μ = mean(x), σ = √(mean((x - μ)²) + eps), x̂ = (x - μ) / σ,
    y = x̂ w + b. w and b are used by every row. x̂ depends on each xᵢ directly and through
    μ and σ: dμ/dxᵢ = 1/C and dσ/dxᵢ = (xᵢ - μ) / (C σ); add the three paths up.
    The mean of x can be far larger than its spread (a million, give or take 1).
    """
    raise NotImplementedError("your code here")
'''

STUBS = {
    "softmax_backward": SOFTMAX,
    "cross_entropy_backward": CROSS_ENTROPY,
    "sigmoid_backward": SIGMOID,
    "tanh_backward": TANH,
    "relu_backward": RELU,
    "gelu_backward": GELU,
    "linear_backward": LINEAR,
    "mse_backward": MSE,
    "binary_cross_entropy_with_logits_backward": BCE_WITH_LOGITS,
    "attention_backward": ATTENTION,
    "layer_norm_backward": LAYER_NORM,
}
