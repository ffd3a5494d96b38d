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

# ---- the exercises of the other chapters: the model's and the training's pieces --------------

SOFTMAX_WITH_TEMPERATURE = '''\
def softmax_with_temperature(logits, temperature):
    \"\"\"The probabilities softmax(z / T) of each row of logits, computed stably.

    logits:      (N, C) one row of class scores per example
    temperature: T > 0, a Python float: T < 1 sharpens the distribution, T > 1 flattens it
    returns:     probs (N, C), each row summing to 1, of the same dtype as logits

    Math: pᵢ = e^{zᵢ/T} / Σⱼ e^{zⱼ/T}, over the C classes of one row. Logits can be ±3000:
    e^{3000} is inf even in float64, but softmax(z) = softmax(z - c) for any c, so shift each
    row by its own maximum (axis=-1, keepdims=True) before exponentiating.
    Do not call the library's softmax: write it with np.exp and sums.
    \"\"\"
    raise NotImplementedError("your code here")
'''

VALUE_LOG = '''\
def value_log(a):
    \"\"\"The natural logarithm as an op of chapter 4's scalar engine: a new Value, with its backward.

    a:       a Value (chapter 4's class, or `from tinygrad_ft.exercises import Value`), a.data > 0
    returns: out, a new Value with out.data = log(a.data), made from (a,), whose _backward
             passes the gradient on to a

    Math: d log(a)/da = 1/a. As in __mul__ and tanh: out = Value(..., (a,), "log"), then
    def _backward(): a.grad += (local derivative) * out.grad, and out._backward = _backward.
    Add (+=), never assign: a may be used elsewhere in the graph too.
    \"\"\"
    raise NotImplementedError("your code here")
'''

ADAMW_STEP = '''\
def adamw_step(param, grad, m, v, step, lr, betas, eps, weight_decay):
    \"\"\"One AdamW update of one parameter array; returns new arrays, changes none of its inputs.

    param, grad, m, v: arrays of one shape: θ, its gradient g, and the running means m (of g)
                       and v (of g²) before this step (zeros before step 1)
    step:    t = 1, 2, ...: the number of this step;  lr: η;  betas: (β₁, β₂);  eps: ε
    weight_decay: λ, decoupled from the gradient
    returns: (param, m, v) after the step, of the same dtype as param

    Math:  θ ← θ - η λ θ                               (decoupled weight decay, first)
           m ← β₁ m + (1 - β₁) g,   v ← β₂ v + (1 - β₂) g²
           m̂ = m / (1 - β₁ᵗ),       v̂ = v / (1 - β₂ᵗ)    (bias correction: m and v start at 0)
           θ ← θ - η m̂ / (√v̂ + ε)                      (ε outside the square root)
    \"\"\"
    raise NotImplementedError("your code here")
'''

WARMUP_COSINE = '''\
def warmup_cosine_schedule(step, base_lr, warmup_steps, total_steps, min_lr):
    \"\"\"The learning rate at one step (0, 1, 2, ...): a linear warmup, then a cosine decay.

    step: the step, an int ≥ 0;  base_lr: the peak;  min_lr: the floor
    warmup_steps: W ≥ 0 steps of warmup;  total_steps: T > W, where the decay ends
    returns: the learning rate, a Python float

    Math:  step < W:        lr = base_lr · step / W                    (0 at step 0)
           W ≤ step < T:    p = (step - W) / (T - W)                    (0 → 1)
                            lr = min_lr + (base_lr - min_lr) · (1 + cos(π p)) / 2
           step ≥ T:        lr = min_lr
    \"\"\"
    raise NotImplementedError("your code here")
'''

CAUSAL_MASK = '''\
def causal_mask(T):
    \"\"\"The causal mask of a sequence of T tokens: which keys each query may NOT see.

    T:       the number of positions, an int ≥ 1
    returns: a boolean array (T, T): mask[i, j] is True where query i must not see key j

    Math: query i sees keys j ≤ i (itself and the past), never the future j > i.
    \"\"\"
    raise NotImplementedError("your code here")
'''

CAUSAL_ATTENTION = '''\
def causal_attention(q, k, v):
    \"\"\"Single-head causal self-attention O = softmax(mask(q kᵀ / √D)) v, in NumPy.

    q, k:    (T, D) queries and keys;  v: (T, Dv) values
    returns: O (T, Dv), of the same dtype as q

    Math: S = q kᵀ / √D (T, T), with D = q.shape[-1];  S[i, j] = -inf for j > i (query i sees
    keys j ≤ i);  P = softmax(S) over each row (stably: S can be in the hundreds);  O = P v.
    \"\"\"
    raise NotImplementedError("your code here")
'''

MOST_FREQUENT_PAIR = '''\
def most_frequent_pair(ids):
    \"\"\"The adjacent pair of token ids that occurs most often: the next merge of BPE.

    ids:     a list of ints (at least two)
    returns: the pair (a, b), a tuple of two ints; ties go to the pair that occurs first

    Math: count every adjacent pair (ids[i], ids[i + 1]) for i = 0 .. len(ids) - 2 (in
    [a, a, a] the pair (a, a) occurs twice). Do not modify ids.
    \"\"\"
    raise NotImplementedError("your code here")
'''

BPE_MERGE = '''\
def bpe_merge(ids, pair, new_id):
    \"\"\"One BPE merge: replace each occurrence of the adjacent pair by the new token.

    ids:     a list of ints;  pair: (a, b), two ints;  new_id: the id of the merged token
    returns: a new list; ids itself is left unchanged

    Math: scan from the left; where ids[i], ids[i + 1] == a, b, emit new_id and skip both
    (so [a, a, a] with pair (a, a) becomes [new_id, a]); otherwise emit ids[i] and move on.
    \"\"\"
    raise NotImplementedError("your code here")
'''

TOP_K_FILTER = '''\
def top_k_filter(logits, k):
    \"\"\"Top-k sampling's filter: keep the k largest logits, set the others to -inf.

    logits:  (V,) one score per token of the vocabulary;  k: an int ≥ 1
    returns: (V,) a new array: the kept logits unchanged, the rest -inf (so e^-inf = 0)

    Math: let kth be the k-th largest logit; keep every logit ≥ kth (tokens tied with the
    k-th are all kept, as in GPT-2's sampler). If k ≥ V, nothing is filtered.
    \"\"\"
    raise NotImplementedError("your code here")
'''

TOP_P_FILTER = '''\
def top_p_filter(probs, p):
    \"\"\"Top-p (nucleus) sampling's filter: keep the likeliest tokens that together hold p.

    probs:   (V,) probabilities summing to 1 (not sorted);  p: a float in (0, 1)
    returns: (V,) a new array: the kept probabilities renormalised to sum to 1, the rest 0

    Math: sort the tokens by probability, largest first; keep a token if the tokens before
    it (likelier ones) hold less than p in total. So the likeliest token is always kept,
    and so is the token whose probability crosses p. Then divide by the kept total.
    \"\"\"
    raise NotImplementedError("your code here")
'''

MEAN_POOL = '''\
def mean_pool(hidden, mask):
    \"\"\"The mean of each text's hidden states over its real tokens, never its padding.

    hidden:  (B, T, C) hidden states;  mask: (B, T) booleans, True on real tokens (padding on
             the right, every row has at least one real token)
    returns: (B, C), of the same dtype as hidden

    Math: pooled[b] = Σₜ mask[b, t] hidden[b, t] / Σₜ mask[b, t]. The hidden states at
    padding positions are not zero: they must not count at all.
    \"\"\"
    raise NotImplementedError("your code here")
'''

LAST_TOKEN_POOL = '''\
def last_token_pool(hidden, mask):
    \"\"\"The hidden state of each text's last real token (the one that has read the whole text).

    hidden:  (B, T, C) hidden states;  mask: (B, T) booleans, True on real tokens (padding on
             the right, every row has at least one real token)
    returns: (B, C), of the same dtype as hidden

    Math: for row b, the last real position is mask[b].sum() - 1; pick hidden[b, that position]
    (fancy indexing with np.arange(B) and the positions does all rows at once).
    \"\"\"
    raise NotImplementedError("your code here")
'''

LORA_FORWARD = '''\
def lora_forward(x, W, b, A, B, alpha):
    \"\"\"A LoRA-adapted linear layer: the frozen layer plus a scaled low-rank update.

    x: (N, in);  W: (in, out), b: (out,) frozen;  A: (in, r), B: (r, out) trained
    alpha: a float; the rank r is A.shape[1]
    returns: y (N, out), of the same dtype as x

    Math: y = x W + b + s (x A) B,   s = alpha / r.
    \"\"\"
    raise NotImplementedError("your code here")
'''

LORA_BACKWARD = '''\
def lora_backward(x, A, B, alpha, d_out):
    \"\"\"The gradients of LoRA's trained matrices (W and b are frozen: no gradient for them).

    x: (N, in);  A: (in, r);  B: (r, out);  alpha: a float;  d_out: (N, out) dL/dy
    returns: (d_A, d_B), shaped (in, r) and (r, out) like A and B

    Math: y = x W + b + s (x A) B with s = alpha / r. Write h = x A (N, r): the update is
    s h B, a dense layer on h, and h = x A another. Each gradient has the shape of what it
    differentiates, which tells you the order of each matmul; both carry s.
    \"\"\"
    raise NotImplementedError("your code here")
'''

LORA_MERGE = '''\
def lora_merge(W, A, B, alpha):
    \"\"\"Fold LoRA's update into the weight, for inference: a new W, W itself left unchanged.

    W: (in, out);  A: (in, r);  B: (r, out);  alpha: a float
    returns: W' (in, out) with x W' = x W + s (x A) B for every x

    Math: s = alpha / r, and (x A) B = x (A B).
    \"\"\"
    raise NotImplementedError("your code here")
'''

SFT_COLLATE = '''\
def sft_collate(examples, pad_id):
    \"\"\"A batch for supervised fine-tuning: inputs, next-token targets with the loss mask, padding.

    examples: a list of (prompt_ids, answer_ids) pairs, lists of ints (the answer ends with
              its end-of-text token);  pad_id: the id to pad the inputs with
    returns:  (ids, targets, mask), each (B, T) with T the longest input of the batch:
              ids int64, targets int64, mask bool (True on real input tokens)

    Math: for one example, seq = prompt + answer; the input is seq[:-1] and the target at
    position t is seq[t + 1] (the next token); a target counts only if it is a token of the
    answer: every other target is -100, the loss's ignore_index. So targets =
    [-100] * (len(prompt) - 1) + answer. Pad on the right: ids with pad_id, targets with -100,
    mask with False.
    \"\"\"
    raise NotImplementedError("your code here")
'''

GELU_XP = '''\
def gelu_xp(x):
    \"\"\"GPT-2's gelu (the tanh approximation), on whichever device x lives: NumPy or CuPy.

    x:       an array of NumPy (the CPU) or CuPy (a GPU), any shape
    returns: gelu(x), an array of the same module, device, shape and dtype as x

    Math: y = ½ x (1 + tanh(c (x + k x³))), c = √(2/π), k = 0.044715.
    Device-agnostic: xp = get_array_module(x) (from tinygrad_ft import get_array_module) is
    numpy or cupy; use xp.tanh, never np.tanh (CuPy refuses NumPy, NumPy refuses a GPU array).
    Python floats for the constants (math.sqrt), so float32 stays float32.
    \"\"\"
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
    "softmax_with_temperature": SOFTMAX_WITH_TEMPERATURE,
    "value_log": VALUE_LOG,
    "adamw_step": ADAMW_STEP,
    "warmup_cosine_schedule": WARMUP_COSINE,
    "causal_mask": CAUSAL_MASK,
    "causal_attention": CAUSAL_ATTENTION,
    "most_frequent_pair": MOST_FREQUENT_PAIR,
    "bpe_merge": BPE_MERGE,
    "top_k_filter": TOP_K_FILTER,
    "top_p_filter": TOP_P_FILTER,
    "mean_pool": MEAN_POOL,
    "last_token_pool": LAST_TOKEN_POOL,
    "lora_forward": LORA_FORWARD,
    "lora_backward": LORA_BACKWARD,
    "lora_merge": LORA_MERGE,
    "sft_collate": SFT_COLLATE,
    "gelu_xp": GELU_XP,
}
