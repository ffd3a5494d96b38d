"""The exercises of chapters 1, 4, 7, 8 and 10-15: the pieces of the model and of its training.

Not backward passes this time, but the functions the LLM track is built from: a stable
softmax with temperature (1), a log op for the scalar engine (4), the AdamW step and the
warmup-cosine schedule (7), the causal mask and causal attention (8), a BPE merge step (10),
top-k and top-p filtering (11), padding-aware pooling (12), LoRA's forward, backward and merge
(13), the SFT collate with its loss mask (14), and a device-agnostic op (15).

Each draws seeded inputs that include the edge cases a first attempt gets wrong (ties, a pair
at the very end, a one-token prompt, a parameter whose gradient was always 0, a step past the
end of the schedule), computes the right result (with the library where it has the function,
else with a reference kept here, private), and knows the nearby functions, regions and cases
that say what to fix. Each refuses a solution that calls the library's own implementation.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import asarray, backend_of, cuda_is_available, is_array, to_numpy
from ..finetune.data import IGNORE_INDEX, sft_batch
from ..models.generate import nucleus
from ..optim.schedules import warmup_cosine_lr
from .backward import SOFTMAX_HINT, normal, plain_ops, softmax_rows
from .checker import Diagnosis
from .guard import LIBRARY_BACKWARD, Forbidden
from .runner import Exercise, Verdict
from .structure import Nearby, Probe, Region, Term
from .stubs import STUBS
from .value import Value, backward, is_value


def _with_tag(hints: dict):
    """An ``explain`` that names the mistake from the case that failed: ``hints`` maps a case's
    ``tag`` to ``(cause, what to fix)``."""

    def explain(probe: Probe):
        tag = probe.case.get("tag")
        if tag in hints:
            cause, text = hints[tag]
            return probe.verdict(cause, text)
        return None

    return explain


def _first_of(*explainers):
    def explain(probe: Probe):
        for e in explainers:
            found = e(probe)
            if found is not None:
                return found
        return None

    return explain


def _refuse(label, *files):
    return (Forbidden(label, files=files), LIBRARY_BACKWARD)


def _tensor_value(op, *arrays):
    with no_grad(), plain_ops():
        return op(*(Tensor(np.asarray(a, dtype=np.float64)) for a in arrays)).numpy()


# ---- chapter 1: a stable softmax with temperature ------------------------------------------


def _draw_softmax_t(rng, large=False, temperature=1.0):
    logits = normal(rng, (4, 6), 2.0)
    if large:  # rows far apart: each needs its own shift
        logits = normal(rng, (4, 6), 1000.0) + np.array([[0.0], [2000.0], [-2000.0], [500.0]])
    return {"logits": logits, "temperature": temperature}


def _softmax_t_nearby(case):
    z, t = case["logits"], case["temperature"]
    e = np.exp(z / t - (z / t).max(-1, keepdims=True))
    return [
        Nearby("temperature", "is softmax(z · T): divide the logits by the temperature, softmax(z / T) (T < 1 sharpens, "
                              "T > 1 flattens)", {"probs": softmax_rows(z * t)}),
        Nearby("temperature", "is softmax(z), without the temperature: divide the logits by T before exponentiating "
                              "(dividing the exponentials or the probabilities by T cancels in the normalisation)",
               {"probs": softmax_rows(z)}),
        Nearby("wrong axis", "sums to 1 over each column (axis=0): the softmax is over the C classes of each row, "
                             "so sum over axis=-1 with keepdims=True", {"probs": softmax_rows(z / t, axis=0)}),
        Nearby("not normalised", "is e^{z/T - max} without the division: divide each row by its sum, so it sums to 1",
               {"probs": e}),
        Nearby("normalised over everything", "divides by the sum of the whole array: divide each row by its own sum "
                                             "(axis=-1, keepdims=True)", {"probs": e / e.sum()}),
        Nearby("log-softmax", "is log-softmax: the probabilities are its exponential", {"probs": np.log(softmax_rows(z / t))}),
    ]


def fitted_multiplier(log_probs, scores, visible=None):
    """The c with log p = c · scores + (a constant per row), fitted by least squares over the
    visible entries, or None when no single c fits: how a softmax's input was scaled."""
    visible = np.isfinite(scores) if visible is None else visible & np.isfinite(scores)
    xs, ys = [], []
    for row in range(scores.shape[0]):
        keep = visible[row]
        if keep.sum() < 2:
            continue
        xs.append(scores[row, keep] - scores[row, keep].mean())
        ys.append(log_probs[row, keep] - log_probs[row, keep].mean())
    if not xs:
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    if not np.isfinite(y).all() or (x * x).sum() == 0:
        return None
    c = float((x * y).sum() / (x * x).sum())
    return c if np.allclose(c * x, y, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(y).max())) else None


def _softmax_scale(probe: Probe):
    got = np.asarray(probe.got[probe.index], dtype=np.float64)
    z, t = probe.case["logits"], probe.case["temperature"]
    if got.shape != z.shape or not (got > 0).all():
        return None
    c = fitted_multiplier(np.log(got), z)
    if c is None or abs(c * t - 1) < 1e-6:
        return None
    for value, what in ((t, "T: you multiplied by the temperature"), (1 / t**2, "1/T²: you divided by T twice"),
                        (1.0, "1: the temperature is missing")):
        if abs(c - value) <= 1e-6 * abs(value):
            return probe.verdict("temperature", f"{probe.name} is softmax(c · z) with c = {c:.4g} = {what}. It should be "
                                                f"softmax(z / T), c = 1/T = {1 / t:.4g}")
    return probe.verdict("temperature", f"{probe.name} is softmax(c · z) with c = {c:.4g}, where it should be softmax(z / T), "
                                        f"c = 1/T = {1 / t:.4g}: look at how the temperature enters")


def _rows_sum_to_one(probe: Probe):
    got = np.asarray(probe.got[probe.index], dtype=np.float64)
    if got.ndim != 2 or not np.isfinite(got).all():
        return None
    sums = got.sum(-1)
    if not np.allclose(sums, 1, rtol=1e-6, atol=1e-9):
        worst = int(np.abs(sums - 1).argmax())
        return probe.verdict("not normalised", f"row {worst} of {probe.name} sums to {sums[worst]:.6g}, not 1: divide "
                                               "each row's exponentials by that row's sum")
    return None


SOFTMAX_T = Exercise(
    name="softmax_with_temperature", chapter=1, stub=STUBS["softmax_with_temperature"], outputs=("probs",),
    draw=_draw_softmax_t, variants=({"temperature": 0.5}, {"temperature": 2.0}),
    reference=lambda c: (_tensor_value(F.softmax, c["logits"] / c["temperature"]),),
    large="for logits as large as ±3000, rows thousands apart",
    stability_hint=SOFTMAX_HINT + " Each row needs its own maximum: max(axis=-1, keepdims=True), not the max of the "
                                  "whole array.",
    nearby=_softmax_t_nearby, explain=_first_of(_rows_sum_to_one, _softmax_scale),
    forbidden=_refuse("the library's softmax (tinygrad_ft.functional.softmax)", "functional/softmax.py"),
    solution="ch01_softmax",
)


# ---- chapter 4: an op of the scalar engine -------------------------------------------------

VALUE_POINTS = np.array([0.5, 1.0, 2.0, 3.7])
GRAPHS = ("L = log(a)", "L = 3 · log(a)", "L = log(a) + a · a", "L = log(a · a)")


def _value_call(student, args, case):
    values, gradients = [], []
    for x in case["a"]:
        row = []
        for graph in range(len(GRAPHS)):
            a = Value(float(x), label="a")
            out = student(Value.__mul__(a, a) if graph == 3 else a)
            if not is_value(out):
                raise Verdict(Diagnosis(False, "not an array", f"value_log returned {type(out).__name__}, not a Value: "
                                                               "return out = Value(math.log(a.data), (a,), 'log'), with its "
                                                               "_backward", "value"))
            if graph == 0:
                values.append(out.data)
                root = out
            elif graph == 1:
                root = Value.__mul__(out, Value(3.0))
            elif graph == 2:
                root = Value.__add__(out, Value.__mul__(a, a))
            else:
                root = out
            backward(root)
            row.append(a.grad)
        gradients.append(row)
    return np.array(values, dtype=np.float64), np.array(gradients, dtype=np.float64)


def _value_reference(case):
    x = case["a"]
    return np.log(x), np.stack([1 / x, 3 / x, 1 / x + 2 * x, 2 / x], axis=1)


def _value_regions(case):
    n = len(case["a"])
    column = np.zeros((n, len(GRAPHS)), dtype=bool)
    scaled, shared, inner = column.copy(), column.copy(), column.copy()
    scaled[:, 1], shared[:, 2], inner[:, 3] = True, True, True
    return [
        Region("grad", scaled, "chain rule", f"where log(a) is not the last op ({GRAPHS[1]}: out.grad = 3, not 1): "
                                             "multiply the local derivative by out.grad (chain rule): a.grad += (1 / "
                                             "a.data) * out.grad"),
        Region("grad", shared, "+= instead of =", f"where a is used twice ({GRAPHS[2]}): the gradient from a · a was "
                                                  "overwritten. Add to a.grad with +=, never assign it: a value used twice "
                                                  "collects gradient along both paths"),
        Region("grad", inner, "graph not recorded", f"where log's input is itself computed ({GRAPHS[3]}): the gradient "
                                                    "stops at log. Record the input, Value(..., (a,), 'log'), so that "
                                                    "backward visits it (and runs its _backward after yours)"),
    ]


def _value_explain(probe: Probe):
    if probe.name == "value":
        return probe.verdict("wrong forward value", "out.data should be log(a.data) (math.log, the natural logarithm)")
    grad = np.asarray(probe.got[1], dtype=np.float64)
    x = probe.case["a"]
    if not grad[:, 0].any():
        a = Value(2.0)
        out = _call_value_op(probe, a)
        if out is None or not any(u is a for u in getattr(out, "_inputs", ())):
            return probe.verdict("graph not recorded", "no gradient reaches a, because out does not list a as an input: "
                                                       "make it with Value(math.log(a.data), (a,), 'log')")
        before = out.data
        try:
            out.grad, a.grad = 1.0, 0.0
            out._backward()
            changed = out.grad != 1.0 or out.data != before
        except Exception:  # noqa: BLE001
            changed = False
        if changed:
            return probe.verdict("gradient sent to the wrong value", "your _backward changes out (its grad or data) "
                                                                     "instead of passing the gradient on to the input: "
                                                                     "a.grad += (1 / a.data) * out.grad")
        return probe.verdict("backward not attached", "no gradient reaches a: out._backward does not change a.grad. "
                                                      "Define _backward to add to a.grad and attach it: "
                                                      "out._backward = _backward")
    local = grad[:, 0]
    if np.allclose(local, 1 / x, rtol=1e-6, atol=1e-9):
        return None  # right on its own: the regions say which graph goes wrong
    for value, what in ((np.log(x), "out.data = log(a), the op's output (that is the rule for exp, whose derivative is "
                                    "itself)"), (x, "a.data itself"), (np.ones_like(x), "1"), (-1 / x, "-1/a: a sign"),
                        (1 / x**2, "1/a²")):
        if np.allclose(local, value, rtol=1e-6, atol=1e-9):
            return probe.verdict("wrong local derivative", f"the local derivative your _backward uses is {what}; "
                                                           "d log(a)/da = 1/a: a.grad += (1 / a.data) * out.grad")
    values = ", ".join(f"{v:.4g} at a = {a:g}" for v, a in zip(local, x))
    return probe.verdict("wrong local derivative", f"in L = log(a) alone, your _backward gives a.grad = {values}; the local "
                                                   "derivative of log is d log(a)/da = 1/a: a.grad += (1 / a.data) * "
                                                   "out.grad")


def _call_value_op(probe, a):
    try:
        return probe.fn(a) if probe.fn is not None else None
    except Exception:  # noqa: BLE001
        return None


VALUE_LOG = Exercise(
    name="value_log", chapter=4, stub=STUBS["value_log"], outputs=("value", "grad"),
    draw=lambda rng, large=False: {"a": VALUE_POINTS.copy()},
    reference=_value_reference, call=_value_call, dtypes=("float64",),
    context=lambda c: f"for a = {', '.join(f'{x:g}' for x in c['a'])}",
    regions=_value_regions, explain=_value_explain, solution="ch04_value_log",
)


# ---- chapter 7: AdamW and the warmup-cosine schedule ---------------------------------------

ADAM_HYPER = {"lr": 0.05, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}


def _draw_adamw(rng, large=False, step=1):
    shape = (4, 5)
    param, grad = normal(rng, shape), normal(rng, shape, 0.1)
    if step == 1:
        m, v = np.zeros(shape), np.zeros(shape)
    else:
        m, v = normal(rng, shape, 0.05), np.abs(normal(rng, shape, 0.01)) + 1e-4
    grad.flat[:2], m.flat[:2], v.flat[:2] = 0.0, 0.0, 0.0  # never had a gradient: only the decay moves it
    if step > 1:
        grad.flat[2], m.flat[2], v.flat[2] = 1e-7, 1e-7, 1e-14  # a tiny v: where ε matters
    return {"param": param, "grad": grad, "m": m, "v": v, "step": step, **ADAM_HYPER}


def adamw_reference(param, grad, m, v, step, lr, betas, eps, weight_decay, correct=True, correct_m=True, correct_v=True,
                    eps_inside=False,
                    decoupled=True, decay_lr=True, decay_after=False, t_offset=0, squared=True, lerp_swapped=False):
    """The AdamW step, and its nearby variants (one flag changed each)."""
    beta1, beta2 = betas
    t = step + t_offset
    if not decoupled:
        grad = grad + weight_decay * param
    decay = 1 - (lr if decay_lr else 1.0) * weight_decay if decoupled else 1.0
    if decoupled and not decay_after:
        param = param * decay
    if lerp_swapped:
        m = (1 - beta1) * m + beta1 * grad
    else:
        m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * (grad * grad if squared else grad)
    with np.errstate(all="ignore"):
        m_hat = m / (1 - beta1**t) if correct and correct_m else m
        v_hat = v / (1 - beta2**t) if correct and correct_v else v
        step_size = m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
    param = param - lr * step_size
    if decoupled and decay_after:
        param = param * decay
    return param, m, v


def _adamw_args(case):
    return tuple(case[k] for k in ("param", "grad", "m", "v", "step", "lr", "betas", "eps", "weight_decay"))


def _adamw_nearby(case):
    args = _adamw_args(case)

    def near(cause, text, **flags):
        p, m, v = adamw_reference(*args, **flags)
        return Nearby(cause, text, {"param": p, "m": m, "v": v})

    return [
        near("no bias correction", "is the step without bias correction: m and v start at 0, so divide them by "
                                   "(1 - β₁ᵗ) and (1 - β₂ᵗ) before using them: m̂ = m / (1 - β₁ᵗ), v̂ = v / (1 - β₂ᵗ)",
             correct=False),
        near("no bias correction", "applies the bias correction to m but not to v: both start at 0, so both need it, "
                                   "v̂ = v / (1 - β₂ᵗ)", correct_v=False),
        near("no bias correction", "applies the bias correction to v but not to m: both start at 0, so both need it, "
                                   "m̂ = m / (1 - β₁ᵗ)", correct_m=False),
        near("bias correction off by one", "uses β^(t + 1) in the bias correction: t is the number of this step "
                                           "(1 on the first): m̂ = m / (1 - β₁ᵗ)", t_offset=1),
        near("bias correction off by one", "uses β^(t - 1) in the bias correction: t is the number of this step "
                                           "(1 on the first): m̂ = m / (1 - β₁ᵗ)", t_offset=-1),
        near("eps inside the square root", "puts ε inside the square root: AdamW divides by √v̂ + ε (ε outside)",
             eps_inside=True),
        near("L2 instead of decoupled decay", "adds λ θ to the gradient (Adam's L2 penalty): AdamW decays the weight "
                                              "directly, θ ← θ - η λ θ, apart from the moments", decoupled=False),
        near("decay without the learning rate", "decays with θ ← θ - λ θ: the decoupled decay is scaled by the learning "
                                                "rate too, θ ← θ - η λ θ", decay_lr=False),
        near("decay after the step", "decays the weight after the Adam step: AdamW decays θ first, then takes the "
                                     "step (θ ← θ - η λ θ, then θ ← θ - η m̂ / (√v̂ + ε))", decay_after=True),
        near("g instead of g²", "updates v with g: v is the running mean of the squared gradient, "
                                "v ← β₂ v + (1 - β₂) g²", squared=False),
        near("β₁ on the wrong side", "swaps β₁ and 1 - β₁: m ← β₁ m + (1 - β₁) g keeps most of the old m",
             lerp_swapped=True),
    ]


def _adamw_terms(case):
    grad, m, v = case["grad"], case["m"], case["v"]
    beta1, beta2 = case["betas"]
    return [
        Term("m", "the old mean β₁ m", beta1 * m, "m ← β₁ m + (1 - β₁) g: most of the old running mean stays"),
        Term("m", "the new gradient (1 - β₁) g", (1 - beta1) * grad, "m ← β₁ m + (1 - β₁) g: m is the running mean of g",
             factors=(("g", grad, "m is the running mean of the gradient g itself"),)),
        Term("v", "the old mean β₂ v", beta2 * v, "v ← β₂ v + (1 - β₂) g²: most of the old running mean stays"),
        Term("v", "the new square (1 - β₂) g²", (1 - beta2) * grad * grad,
             "v ← β₂ v + (1 - β₂) g²: v is the running mean of the squared gradient",
             factors=(("g", grad, "v is the running mean of g², g times g"),)),
    ]


ADAMW = Exercise(
    name="adamw_step", chapter=7, stub=STUBS["adamw_step"], outputs=("param", "m", "v"),
    draw=_draw_adamw, variants=({"step": 1}, {"step": 10}), args=_adamw_args,
    reference=lambda c: adamw_reference(*_adamw_args(c)),
    context=lambda c: f"at step t = {c['step']}" + (" (m = v = 0 before it)" if c["step"] == 1 else ""),
    nearby=_adamw_nearby, terms=_adamw_terms, order=("m", "v", "param"),
    forbidden=_refuse("the library's optimizers (tinygrad_ft.optim)", "optim/"),
    solution="ch07_optimisation",
)


SCHEDULE = {"base_lr": 1e-3, "total_steps": 20, "min_lr": 1e-4}


def _draw_schedule(rng, large=False, warmup_steps=5):
    return {"step": np.arange(SCHEDULE["total_steps"] + 4), "base_lr": SCHEDULE["base_lr"], "warmup_steps": warmup_steps,
            "total_steps": SCHEDULE["total_steps"], "min_lr": SCHEDULE["min_lr"]}


def _schedule_call(student, args, case):
    out = []
    for step in case["step"]:
        lr = student(int(step), case["base_lr"], case["warmup_steps"], case["total_steps"], case["min_lr"])
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
            raise Verdict(Diagnosis(False, "not an array", f"at step {int(step)} warmup_cosine_schedule returned "
                                                           f"{type(lr).__name__}; return the learning rate, a float", "lr"))
        out.append(float(lr))
    return np.array(out)


def schedule_reference(case, warmup_shift=0, floor=True, half=True, progress_from_zero=False, clamp=True):
    """The warmup-cosine learning rates at every step, and their nearby variants."""
    base, w, total, low = case["base_lr"], case["warmup_steps"], case["total_steps"], case["min_lr"]
    rates = []
    for step in case["step"]:
        step = int(step)
        if step < w:
            rates.append(base * (step + warmup_shift) / w)
            continue
        if step >= total and clamp:
            rates.append(low)
            continue
        p = step / total if progress_from_zero else (step - w) / (total - w)
        shape = (1 + math.cos(math.pi * p)) / 2 if half else math.cos(math.pi * p)
        rates.append((low + (base - low) * shape) if floor else base * shape)
    return np.array(rates)


def _schedule_nearby(case):
    def near(cause, text, **flags):
        return Nearby(cause, text, {"lr": schedule_reference(case, **flags)})

    return [
        near("warmup off by one", "ramps up as base_lr · (step + 1) / W: the warmup starts from 0 at step 0, "
                                  "lr = base_lr · step / W", warmup_shift=1),
        near("min_lr missing", "decays to 0 instead of min_lr: lr = min_lr + (base_lr - min_lr) · (1 + cos(π p)) / 2",
             floor=False),
        near("cosine not halved", "uses cos(π p), which goes from 1 to -1: (1 + cos(π p)) / 2 goes from 1 to 0", half=False),
        near("progress from step 0", "measures the progress from step 0: the decay starts when the warmup ends, "
                                     "p = (step - W) / (T - W)", progress_from_zero=True),
        near("not clamped after the end", "keeps following the cosine after total_steps (it rises again): from step T on, "
                                          "lr = min_lr", clamp=False),
    ]


def _schedule_regions(case):
    steps, w, total = case["step"], case["warmup_steps"], case["total_steps"]
    return [
        Region("lr", steps == 0, "warmup start", "at step 0: the warmup starts from lr = base_lr · 0 / W = 0"),
        Region("lr", steps < w, "warmup", f"during the warmup (steps 0 to {w - 1}): lr = base_lr · step / W, a straight "
                                          "line from 0"),
        Region("lr", steps == w, "end of warmup", f"at step {w}, the first after the warmup: the cosine starts there at "
                                                  "p = 0, lr = base_lr"),
        Region("lr", (steps >= w) & (steps < total), "decay", f"during the decay (steps {w} to {total - 1}): p = (step - W) "
                                                              "/ (T - W), lr = min_lr + (base_lr - min_lr) (1 + cos π p) / 2"),
        Region("lr", steps >= total, "after the end", f"from step {total} = total_steps on: the schedule is over, lr = "
                                                      "min_lr"),
    ]


WARMUP_COSINE = Exercise(
    name="warmup_cosine_schedule", chapter=7, stub=STUBS["warmup_cosine_schedule"], outputs=("lr",),
    draw=_draw_schedule, variants=({"warmup_steps": 5}, {"warmup_steps": 0}),
    reference=lambda c: (np.array([warmup_cosine_lr(int(s), c["base_lr"], c["warmup_steps"], c["total_steps"], c["min_lr"])
                                   for s in c["step"]]),),
    call=_schedule_call, dtypes=("float64",),
    context=lambda c: f"with warmup_steps={c['warmup_steps']}, total_steps={c['total_steps']}",
    nearby=_schedule_nearby, regions=_schedule_regions,
    forbidden=_refuse("the library's schedules (tinygrad_ft.optim.schedules)", "optim/schedules.py"),
    solution="ch07_optimisation",
)


# ---- chapter 8: the causal mask, causal attention ------------------------------------------


def _mask_regions(case):
    t = case["T"]
    i, j = np.indices((t, t))
    return [
        Region("mask", i == j, "mask off by one", "on the diagonal: query i must see key i, itself: hide j > i (np.triu "
                                                  "with k=1), not j ≥ i (k=0)"),
        Region("mask", j == i + 1, "mask off by one", "just above the diagonal (j = i + 1): the mask starts one position "
                                                      "too late: hide every j > i, np.triu(..., k=1)"),
        Region("mask", j < i, "mask on the wrong side", "below the diagonal: the past (j < i) must stay visible"),
    ]


def _mask_nearby(case):
    t = case["T"]
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    return [
        Nearby("mask inverted", "marks the visible keys: True must mark the keys a query may NOT see (j > i)",
               {"mask": ~future}),
        Nearby("mask on the wrong side", "hides the past: it must hide the future, j > i (np.triu, not np.tril)",
               {"mask": np.tril(np.ones((t, t), dtype=bool), k=-1)}),
    ]


CAUSAL_MASK = Exercise(
    name="causal_mask", chapter=8, stub=STUBS["causal_mask"], outputs=("mask",),
    draw=lambda rng, large=False, T=5: {"T": T}, variants=({"T": 5}, {"T": 1}),
    reference=lambda c: (np.triu(np.ones((c["T"], c["T"]), dtype=bool), k=1),),
    exact=True, dtypes=("float64",), context=lambda c: f"for T = {c['T']}",
    nearby=_mask_nearby, regions=_mask_regions,
    forbidden=_refuse("the library's attention (tinygrad_ft.functional.attention)", "functional/attention.py"),
    solution="ch08_attention",
)


def _draw_causal_attention(rng, large=False):
    q, k = normal(rng, (5, 8), 30.0 if large else 1.0), normal(rng, (5, 8), 30.0 if large else 1.0)
    return {"q": q, "k": k, "v": normal(rng, (5, 6))}


def _causal_attention_reference(case):
    return (_tensor_value(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True), case["q"], case["k"],
                          case["v"]),)


def _causal_weights(q, k, scale, band=1, axis=-1):
    s = q @ k.T * scale
    s = np.where(np.triu(np.ones(s.shape, dtype=bool), k=band), -np.inf, s)
    return softmax_rows(s, axis=axis)


def _causal_attention_explain(probe: Probe):
    """Read the student's attention weights: with v = the identity (T × T), O = P v = P."""
    q, k = probe.case["q"], probe.case["k"]
    t, d = q.shape
    out = probe.call((q, k, np.eye(t, dtype=q.dtype)))
    if out is None:
        return None
    p_mine = np.asarray(out[0], dtype=np.float64)
    if p_mine.shape != (t, t):
        return None
    p_right = _causal_weights(q, k, 1 / math.sqrt(d))
    if probe.same(p_mine, p_right, reference=p_right):
        return probe.verdict("output", "your attention weights P are right (read with v = the identity), so the last "
                                       "step is wrong: O = P @ v")
    bad_rows = np.flatnonzero(~np.isfinite(p_mine).all(axis=1))
    if len(bad_rows):
        return probe.verdict("mask off by one", f"row {int(bad_rows[0])} of your attention weights is NaN: that query sees "
                                                "no key at all (softmax of all -inf is 0/0). A query must see itself: "
                                                "hide j > i (np.triu(..., k=1)), not j ≥ i")
    seen = np.abs(p_mine) > 1e-12
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    if (seen & future).any():
        i, j = (int(a) for a in np.argwhere(seen & future)[0])
        one_late = not (seen & np.triu(np.ones((t, t), dtype=bool), k=2)).any()  # nothing seen at j ≥ i + 2
        return probe.verdict("mask off by one" if one_late else "mask ignored",
                             f"your attention weights let query {i} see key {j}, in its future"
                             f"{' (one position past the diagonal: the mask is off by one)' if one_late else ''}: set "
                             "S[i, j] = -inf for every j > i before the softmax (np.triu(..., k=1))")
    if not seen[np.tril(np.ones((t, t), dtype=bool))].all():
        return probe.verdict("mask on the wrong side", "your attention weights hide some keys j ≤ i (the past or the "
                                                       "diagonal): only the future j > i is hidden")
    for scale, what in ((1.0, "without the 1/√D: the scores are q kᵀ / √D"), (1 / d, "divided by D: the scale is 1/√D, "
                                                                                     "not 1/D")):
        if probe.same(p_mine, _causal_weights(q, k, scale), reference=p_right):
            return probe.verdict("scale", f"your attention weights are the softmax of the scores {what}")
    with np.errstate(all="ignore"):
        c = fitted_multiplier(np.log(p_mine), q @ k.T, visible=~future)
    if c is not None and abs(c * math.sqrt(d) - 1) > 1e-6:
        return probe.verdict("scale", f"your attention weights are softmax(c · q kᵀ) with c = {c:.4g} = 1/√{1 / c**2:.4g}; "
                                      f"the scale is 1/√D with D = q.shape[-1] = {d}, c = {1 / math.sqrt(d):.4g}")
    if probe.same(p_mine, _causal_weights(q, k, 1 / math.sqrt(d), axis=0), reference=p_right):
        return probe.verdict("wrong axis", "your attention weights are normalised over each column (axis=0): each query's "
                                           "row must sum to 1, softmax over axis=-1")
    sums = p_mine.sum(-1)
    if not np.allclose(sums, 1, rtol=1e-6):
        return probe.verdict("not normalised", f"the rows of your attention weights sum to {_few(sums)}, not 1: divide by "
                                               "each row's sum")
    return None


def _few(values) -> str:
    return ", ".join(f"{v:.4g}" for v in values[:5])


CAUSAL_ATTENTION = Exercise(
    name="causal_attention", chapter=8, stub=STUBS["causal_attention"], outputs=("O",),
    draw=_draw_causal_attention, reference=_causal_attention_reference,
    large="for q and k as large as ±100 (scores in the hundreds)", stability_hint=SOFTMAX_HINT,
    explain=_causal_attention_explain,
    nearby=lambda c: [Nearby("transpose", "is Pᵀ v: query i's output is Σⱼ P[i, j] v_j, that is P @ v",
                             {"O": _causal_weights(c["q"], c["k"], 1 / math.sqrt(c["q"].shape[1])).T @ c["v"]})],
    forbidden=_refuse("the library's attention (tinygrad_ft.functional.attention / nn.attention)",
                      "functional/attention.py", "nn/attention.py"),
    solution="ch08_attention",
)


# ---- chapter 10: a BPE merge step ----------------------------------------------------------

PAIR_CASES = {
    "plain": [1, 2, 3, 1, 2, 4, 1, 2],
    "tie": [9, 8, 1, 2, 9, 8, 1, 2],
    "at the end": [4, 7, 3, 5, 1, 2, 6, 1, 2],
    "overlapping": [3, 3, 3, 3, 5, 6, 5, 6],
}
PAIR_HINTS = {
    "tie": ("ties", "when several pairs are equally frequent, return the one that occurs first in ids (a dict keeps "
                    "the order pairs were first seen, and max keeps the first of equal counts; sorting by the pair does "
                    "not)"),
    "at the end": ("last pair missed", "the last pair (ids[-2], ids[-1]) is not counted: count i = 0 .. len(ids) - 2, "
                                       "e.g. zip(ids, ids[1:])"),
    "overlapping": ("overlapping pairs", "in [a, a, a, a] the pair (a, a) occurs three times (at 0, 1 and 2): count every "
                                         "adjacent position, not only non-overlapping ones"),
}


def _pair_reference(case):
    counts = {}
    for pair in zip(case["ids"], case["ids"][1:]):
        counts[pair] = counts.get(pair, 0) + 1
    best = max(counts, key=counts.get)
    return (np.array(best),)


def _pair_call(student, args, case):
    got = student(*args)
    if isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(i, (int, np.integer)) for i in got):
        return np.array([int(i) for i in got])
    if isinstance(got, (int, np.integer, float)):
        raise Verdict(Diagnosis(False, "not an array", f"most_frequent_pair returned the number {got!r}: return the pair "
                                                       "itself, a tuple (a, b)", "pair"))
    return got


MOST_FREQUENT_PAIR = Exercise(
    name="most_frequent_pair", chapter=10, stub=STUBS["most_frequent_pair"], outputs=("pair",),
    draw=lambda rng, large=False, tag="plain": {"ids": list(PAIR_CASES[tag]), "tag": tag},
    args=lambda c: (c["ids"],), variants=tuple({"tag": t} for t in PAIR_CASES),
    reference=_pair_reference, call=_pair_call, exact=True, dtypes=("float64",),
    context=lambda c: f"for ids {c['ids']}", explain=_with_tag(PAIR_HINTS),
    forbidden=(Forbidden("the library's tokenizers (tinygrad_ft.tokenizers, Hugging Face tokenizers)",
                         files=("tokenizers/",), c_modules=("tokenizers",)), LIBRARY_BACKWARD),
    solution="ch10_bpe",
)

MERGE_CASES = {
    "plain": ([1, 2, 3, 1, 2], (1, 2)),
    "at the start": ([1, 2, 7, 7], (1, 2)),
    "at the end": ([7, 3, 1, 2], (1, 2)),
    "overlapping": ([5, 5, 5], (5, 5)),
    "back to back": ([1, 2, 1, 2], (1, 2)),
    "absent": ([1, 3, 2, 1], (1, 2)),
    "one token": ([1], (1, 2)),
    "empty": ([], (1, 2)),
}
MERGE_HINTS = {
    "at the start": ("first pair missed", "the pair at the very start (positions 0, 1) is not merged: start the scan at "
                                          "i = 0"),
    "at the end": ("last pair missed", "the pair at the very end is not merged (or its last token lost): scan while "
                                       "i < len(ids) - 1 for pairs, and copy a token left over at the end"),
    "overlapping": ("overlapping merge", "after merging the pair at i, continue at i + 2: in [a, a, a] the pair (a, a) "
                                         "merges once, from the left, giving [new_id, a]"),
    "back to back": ("skip after a merge", "after a merge, continue right after the pair (i += 2), and check the next "
                                           "two tokens again: [a, b, a, b] becomes [new_id, new_id]"),
    "absent": ("no occurrence", "when the pair does not occur, the ids come back unchanged (a new list, same tokens)"),
    "one token": ("short input", "a list of one token has no pair: return it unchanged (as a new list)"),
    "empty": ("short input", "an empty list has no pair: return []"),
}


def _merge_reference(case):
    ids, (a, b), out, i = case["ids"], case["pair"], [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
            out.append(case["new_id"])
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return (np.array(out, dtype=np.int64),)


def _merge_explain(probe: Probe):
    try:
        got = [int(i) for i in probe.got[0]]
    except (TypeError, ValueError):
        return None
    expected = [int(i) for i in probe.expected[0]]
    ids, new_id = probe.case["ids"], probe.case["new_id"]
    if expected and got == expected[:-1]:
        return probe.verdict("last token dropped", "the last token is lost: when the scan stops, a token left over at the "
                                                   "end (not part of a pair) must still be copied")
    if expected and got == expected[1:]:
        return probe.verdict("first token dropped", "the first token is lost: start the scan at i = 0")
    if got.count(new_id) > expected.count(new_id) and len(got) < len(expected):
        return probe.verdict("overlapping merge", "merges overlapping pairs: after merging the pair at i, continue at "
                                                  "i + 2, so a token is merged at most once ([a, a, a] → [new_id, a])")
    if got.count(new_id) == expected.count(new_id) and len(got) > len(expected):
        return probe.verdict("skip after a merge", "after a merge the second token of the pair is copied too: continue at "
                                                   "i + 2, past both tokens of the pair")
    if 0 < got.count(new_id) < expected.count(new_id):
        return probe.verdict("not every occurrence", f"merges {got.count(new_id)} of the {expected.count(new_id)} "
                                                     "occurrences of the pair: scan the whole list, and merge each "
                                                     "occurrence (not only the first)")
    if got == list(ids) and expected != list(ids):
        return probe.verdict("nothing merged", "nothing was merged: compare each adjacent pair (ids[i], ids[i + 1]) with "
                                               "pair, as a tuple (a list [a, b] never equals a tuple (a, b))")
    return None


BPE_MERGE = Exercise(
    name="bpe_merge", chapter=10, stub=STUBS["bpe_merge"], outputs=("ids",),
    draw=lambda rng, large=False, tag="plain": {"ids": list(MERGE_CASES[tag][0]), "pair": MERGE_CASES[tag][1],
                                                "new_id": 256, "tag": tag},
    args=lambda c: (c["ids"], c["pair"], c["new_id"]), variants=tuple({"tag": t} for t in MERGE_CASES),
    reference=_merge_reference, exact=True, dtypes=("float64",),
    context=lambda c: f"for ids {c['ids']} and pair {c['pair']}", explain=_first_of(_merge_explain, _with_tag(MERGE_HINTS)),
    forbidden=MOST_FREQUENT_PAIR.forbidden, solution="ch10_bpe",
)


# ---- chapter 11: top-k and top-p -----------------------------------------------------------

TOP_K_CASES = {
    "plain": (None, 3),
    "tie at the k-th": ([5.0, 3.0, 1.0, 3.0, -2.0, 0.5], 2),
    "k = 1": (None, 1),
    "k = V": (None, 10),
    "k > V": (None, 50),
}
TOP_K_HINTS = {
    "tie at the k-th": ("ties", "when logits tie with the k-th largest, keep them all: compare with the k-th largest "
                                "value (logits < kth → -inf) rather than keeping exactly k indices"),
    "k = 1": ("k = 1", "with k = 1 only the largest logit is kept"),
    "k = V": ("k ≥ V", "with k equal to the vocabulary size nothing is filtered: every logit is kept"),
    "k > V": ("k ≥ V", "with k larger than the vocabulary nothing is filtered: return the logits unchanged (np.partition "
                       "needs k ≤ V, so check first)"),
}


def _top_k_reference(case, keep_more=0, zeros=False, smallest=False):
    logits, k = case["logits"], case["k"] + keep_more
    if k >= logits.size:
        return (logits.copy(),)
    if smallest:
        kth = np.partition(logits, k - 1)[k - 1]
        keep = logits <= kth
    else:
        kth = np.partition(logits, -k)[-k]
        keep = logits >= kth
    return (np.where(keep, logits, 0.0 if zeros else -np.inf),)


def _top_k_nearby(case):
    k = case["k"]
    near = [
        Nearby("zeros instead of -inf", "sets the filtered logits to 0: a logit of 0 still gets probability e⁰ / Σ; set "
                                        "them to -inf (np.where(keep, logits, -np.inf))",
               {"logits": _top_k_reference(case, zeros=True)[0]}),
        Nearby("smallest kept", "keeps the k smallest logits: keep the k largest", {"logits": _top_k_reference(case,
                                                                                                           smallest=True)[0]}),
        Nearby("off by one", "keeps k + 1 logits: the k-th largest is np.partition(logits, -k)[-k]",
               {"logits": _top_k_reference(case, keep_more=1)[0]}),
    ]
    if k > 1:
        near.append(Nearby("off by one", "keeps k - 1 logits: the k-th largest is np.partition(logits, -k)[-k], and "
                                         "logits equal to it are kept (≥, not >)",
                           {"logits": _top_k_reference(case, keep_more=-1)[0]}))
    return near


def _draw_top_k(rng, large=False, tag="plain"):
    logits, k = TOP_K_CASES[tag]
    return {"logits": normal(rng, (10,), 2.0) if logits is None else np.array(logits), "k": k, "tag": tag}


def _top_k_count(probe: Probe):
    got = np.asarray(probe.got[0], dtype=np.float64)
    expected = probe.expected[0]
    if got.shape != expected.shape:
        return None
    kept, right = int(np.isfinite(got).sum()), int(np.isfinite(expected).sum())
    if kept == right:
        return None
    return probe.verdict("count", f"{probe.name} keeps {kept} logits where it should keep {right}, the k = {probe.case['k']} "
                                  "largest (and any tied with the k-th largest, np.partition(logits, -k)[-k])")


TOP_K = Exercise(
    name="top_k_filter", chapter=11, stub=STUBS["top_k_filter"], outputs=("logits",),
    draw=_draw_top_k, args=lambda c: (c["logits"], c["k"]), variants=tuple({"tag": t} for t in TOP_K_CASES),
    reference=_top_k_reference, context=lambda c: f"for k = {c['k']}, V = {c['logits'].size} ({c['tag']})",
    nearby=_top_k_nearby, explain=_first_of(_with_tag(TOP_K_HINTS), _top_k_count),
    forbidden=_refuse("the library's sampler (tinygrad_ft.models.generate)", "models/generate.py"),
    solution="ch11_sampling",
)

TOP_P_CASES = {
    "plain": (None, 0.6),
    "crossing p": ([0.5, 0.25, 0.125, 0.0625, 0.0625], 0.6),
    "p below the top token": ([0.05, 0.6, 0.1, 0.25], 0.1),
    "unsorted": ([0.1, 0.4, 0.05, 0.3, 0.15], 0.65),
}
TOP_P_HINTS = {
    "crossing p": ("crossing token dropped", "the token whose probability crosses p is kept: keep a token if the tokens "
                                             "likelier than it hold less than p (cumulative sum minus itself < p)"),
    "p below the top token": ("top token dropped", "when the likeliest token alone holds more than p it is still kept "
                                                   "(the likelier tokens before it hold 0 < p), so nothing is empty"),
    "unsorted": ("not sorted", "sort the tokens by probability, largest first, before accumulating (np.argsort(-probs)), "
                               "then map the kept ones back to their positions"),
}


def _top_p_reference(case, cumulative_includes_self=False, renormalise=True, ascending=False, unsorted=False):
    probs, p = case["probs"], case["p"]
    if not (cumulative_includes_self or not renormalise or ascending or unsorted):
        return (nucleus(probs, p),)
    order = np.arange(probs.size) if unsorted else np.argsort(probs if ascending else -probs, kind="stable")
    sorted_probs = probs[order]
    before = np.cumsum(sorted_probs) - (0 if cumulative_includes_self else sorted_probs)
    kept = np.zeros_like(probs)
    keep = order[before < p] if not cumulative_includes_self else order[before <= p]
    kept[keep] = probs[keep]
    with np.errstate(all="ignore"):
        return (kept / kept.sum() if renormalise else kept,)


def _top_p_nearby(case):
    return [
        Nearby("not renormalised", "is not renormalised: divide the kept probabilities by their sum, so they sum to 1",
               {"probs": _top_p_reference(case, renormalise=False)[0]}),
        Nearby("crossing token dropped", "drops the token whose probability crosses p (cumsum ≤ p keeps only tokens "
                                         "entirely below p): keep a token if the likelier tokens hold less than p",
               {"probs": _top_p_reference(case, cumulative_includes_self=True)[0]}),
        Nearby("least likely kept", "keeps the least likely tokens: sort largest first (np.argsort(-probs))",
               {"probs": _top_p_reference(case, ascending=True)[0]}),
        Nearby("not sorted", "accumulates the probabilities in vocabulary order: sort the tokens by probability, largest "
                             "first (np.argsort(-probs)), then keep them until they hold p",
               {"probs": _top_p_reference(case, unsorted=True)[0]}),
    ]


def _draw_top_p(rng, large=False, tag="plain"):
    probs, p = TOP_P_CASES[tag]
    return {"probs": softmax_rows(normal(rng, (8,), 1.5)) if probs is None else np.array(probs), "p": p, "tag": tag}


TOP_P = Exercise(
    name="top_p_filter", chapter=11, stub=STUBS["top_p_filter"], outputs=("probs",),
    draw=_draw_top_p, args=lambda c: (c["probs"], c["p"]), variants=tuple({"tag": t} for t in TOP_P_CASES),
    reference=_top_p_reference, context=lambda c: f"for p = {c['p']} ({c['tag']})",
    nearby=_top_p_nearby, explain=_with_tag(TOP_P_HINTS),
    stability_hint="A division by zero: is any token kept? The likeliest one always is.",
    forbidden=TOP_K.forbidden, solution="ch11_sampling",
)


# ---- chapter 12: padding-aware pooling -----------------------------------------------------

POOL_LENGTHS = (6, 3, 1, 4)


def _draw_pool(rng, large=False):
    b, t, c = len(POOL_LENGTHS), max(POOL_LENGTHS), 3
    mask = np.arange(t)[None, :] < np.array(POOL_LENGTHS)[:, None]
    return {"hidden": normal(rng, (b, t, c)), "mask": mask}  # the padding's hidden states are not zero


def mean_pool_reference(hidden, mask, divide_by_t=False, sum_only=False, include_padding=False):
    weights = np.ones(mask.shape) if include_padding else mask.astype(np.float64)
    total = (hidden * weights[:, :, None]).sum(axis=1)
    if sum_only:
        return total
    count = np.full((mask.shape[0], 1), mask.shape[1]) if divide_by_t else mask.sum(axis=1, keepdims=True)
    return total / count


def last_token_reference(hidden, mask, position=None):
    last = mask.sum(axis=1) - 1 if position is None else position(mask)
    return hidden[np.arange(hidden.shape[0]), last]


def _pool_regions(case):
    padded = ~case["mask"].all(axis=1)
    rows = np.broadcast_to(padded[:, None], (len(padded), case["hidden"].shape[2]))
    return [Region("pooled", rows, "padding", "for the rows that have padding: the padding positions must not count, "
                                              "use the mask (the full row is right)")]


def _mean_pool_nearby(case):
    h, m = case["hidden"], case["mask"]
    return [
        Nearby("padding counted", "is the mean over all T positions, padding included: multiply by the mask and divide "
                                  "by the number of real tokens, mask.sum(axis=1)",
               {"pooled": mean_pool_reference(h, m, include_padding=True, divide_by_t=True)}),
        Nearby("divides by T", "sums the real tokens but divides by T, the padded length: divide by each row's number of "
                               "real tokens, mask.sum(axis=1, keepdims=True)", {"pooled": mean_pool_reference(h, m,
                                                                                                             divide_by_t=True)}),
        Nearby("padding counted", "sums every position, padding included, over the real tokens' count: the padding's "
                                  "hidden states are not zero: multiply by the mask first",
               {"pooled": mean_pool_reference(h, m, include_padding=True)}),
        Nearby("no division", "is the sum, not the mean: divide by each row's number of real tokens",
               {"pooled": mean_pool_reference(h, m, sum_only=True)}),
    ]


def _last_pool_nearby(case):
    h, m = case["hidden"], case["mask"]
    return [
        Nearby("last column", "is the hidden state of the last column, which is padding in the shorter rows: pick each "
                              "row's last real token, at position mask.sum(axis=1) - 1",
               {"pooled": h[:, -1]}),
        Nearby("first token", "is the hidden state of the first token: pick each row's last real token, at position "
                              "mask.sum(axis=1) - 1", {"pooled": h[:, 0]}),
        Nearby("off by one", "is the hidden state one past the last real token (the first pad): the last real position "
                             "is mask.sum(axis=1) - 1",
               {"pooled": last_token_reference(h, m, lambda mk: np.minimum(mk.sum(1), mk.shape[1] - 1))}),
    ]


MEAN_POOL = Exercise(
    name="mean_pool", chapter=12, stub=STUBS["mean_pool"], outputs=("pooled",),
    draw=_draw_pool, reference=lambda c: (mean_pool_reference(c["hidden"], c["mask"]),),
    nearby=_mean_pool_nearby, regions=_pool_regions,
    forbidden=_refuse("the library's classifier pooling (tinygrad_ft.finetune.classifier)", "finetune/classifier.py"),
    solution="ch12_pooling",
)
LAST_TOKEN_POOL = Exercise(
    name="last_token_pool", chapter=12, stub=STUBS["last_token_pool"], outputs=("pooled",),
    draw=_draw_pool, reference=lambda c: (last_token_reference(c["hidden"], c["mask"]),),
    nearby=_last_pool_nearby, regions=_pool_regions, forbidden=MEAN_POOL.forbidden, solution="ch12_pooling",
)


# ---- chapter 13: LoRA ----------------------------------------------------------------------

LORA_ALPHA = 6.0


def _draw_lora(rng, large=False):
    n, d_in, d_out, r = 6, 8, 5, 3
    return {"x": normal(rng, (n, d_in)), "W": normal(rng, (d_in, d_out)), "b": normal(rng, (d_out,)),
            "A": normal(rng, (d_in, r)), "B": normal(rng, (r, d_out)),  # B ≠ 0: the update is seen
            "alpha": LORA_ALPHA, "d_out": normal(rng, (n, d_out))}


def _scale(case):
    return case["alpha"] / case["A"].shape[1]


def _lora_factors(case):
    r, s = case["A"].shape[1], _scale(case)
    return ((r, f"r = {r}, the rank: the scale is s = alpha / r = {s:g}, not alpha"),
            (s, f"s = alpha / r = {s:g}: the update is scaled by s"))


def _scale_factor(case):
    s = _scale(case)
    return (("s = alpha / r", s, f"the low-rank update is scaled by s = alpha / r = {s:g}"),)


def _lora_forward_terms(case):
    x, s = case["x"], _scale(case)
    shape = (x.shape[0], case["W"].shape[1])
    return [
        Term("y", "the frozen layer x W", x @ case["W"], "the pre-trained layer, unchanged"),
        Term("y", "the bias b", np.broadcast_to(case["b"], shape), "the frozen layer's bias, added to every row"),
        Term("y", "the LoRA term s (x A) B", s * (x @ case["A"]) @ case["B"],
             f"the low-rank update, scaled by s = alpha / r = {s:g}", factors=_scale_factor(case)),
    ]


def _lora_backward_reference(case):
    x, a, b, s, g = case["x"], case["A"], case["B"], _scale(case), case["d_out"]
    return s * x.T @ (g @ b.T), s * (x @ a).T @ g


def _lora_backward_terms(case):
    d_a, d_b = _lora_backward_reference(case)
    return [
        Term("d_A", "s xᵀ (d_out Bᵀ)", d_a, "h = x A, so dL/dA = xᵀ dL/dh, and dL/dh = s d_out Bᵀ", factors=_scale_factor(case)),
        Term("d_B", "s (x A)ᵀ d_out", d_b, "the update is s h B with h = x A: a dense layer on h, dL/dB = s hᵀ d_out",
             factors=_scale_factor(case)),
    ]


def _lora_merge_terms(case):
    s = _scale(case)
    return [
        Term("W_merged", "the frozen weight W", case["W"], "W' starts from the pre-trained weight"),
        Term("W_merged", "the update s A B", s * case["A"] @ case["B"], f"x (A B) = (x A) B, scaled by s = alpha / r = {s:g}",
             factors=_scale_factor(case)),
    ]


def _lora_forward_reference(case):
    x, s = case["x"], _scale(case)
    return (x @ case["W"] + case["b"] + s * (x @ case["A"]) @ case["B"],)


_LORA_FORBIDDEN = _refuse("the library's LoRA (tinygrad_ft.finetune.lora)", "finetune/lora.py")

LORA_FORWARD = Exercise(
    name="lora_forward", chapter=13, stub=STUBS["lora_forward"], outputs=("y",),
    draw=_draw_lora, args=lambda c: tuple(c[k] for k in ("x", "W", "b", "A", "B", "alpha")),
    reference=_lora_forward_reference, factors=_lora_factors, terms=_lora_forward_terms,
    forbidden=_LORA_FORBIDDEN, solution="ch13_lora",
)
LORA_BACKWARD = Exercise(
    name="lora_backward", chapter=13, stub=STUBS["lora_backward"], outputs=("d_A", "d_B"),
    draw=_draw_lora, args=lambda c: tuple(c[k] for k in ("x", "A", "B", "alpha", "d_out")),
    reference=_lora_backward_reference, factors=_lora_factors, terms=_lora_backward_terms, cotangent="d_out",
    batch_size=lambda c: len(c["x"]), forbidden=_LORA_FORBIDDEN, solution="ch13_lora",
)
LORA_MERGE = Exercise(
    name="lora_merge", chapter=13, stub=STUBS["lora_merge"], outputs=("W_merged",),
    draw=_draw_lora, args=lambda c: tuple(c[k] for k in ("W", "A", "B", "alpha")),
    reference=lambda c: (c["W"] + _scale(c) * c["A"] @ c["B"],), factors=_lora_factors, terms=_lora_merge_terms,
    forbidden=_LORA_FORBIDDEN, solution="ch13_lora",
)


# ---- chapter 14: the SFT collate -----------------------------------------------------------

SFT_EXAMPLES = [
    ([11, 12, 13, 14, 15], [21, 22, 0]),
    ([31], [41, 0]),  # a one-token prompt: no target is -100
    ([51, 52, 53], [61, 62, 63, 0]),
]
SFT_PAD = 1


def sft_reference(examples, pad_id, shift=True, mask_prompt=True, first_answer_masked=False, pad_targets=IGNORE_INDEX):
    pairs = []
    for prompt, answer in examples:
        seq = list(prompt) + list(answer)
        inputs = seq[:-1]
        if not shift:
            targets = [IGNORE_INDEX] * len(prompt) + list(answer[:-1])
        elif first_answer_masked:
            targets = [IGNORE_INDEX] * len(prompt) + list(answer[1:])
        else:
            targets = [IGNORE_INDEX] * (len(prompt) - 1) + list(answer)
        if not mask_prompt:
            targets = seq[1:]
        pairs.append((inputs, targets))
    ids, targets, mask = sft_batch(pairs, pad_id)
    targets = np.where(mask, targets, pad_targets) if pad_targets != IGNORE_INDEX else targets
    return ids, targets, mask


def _sft_regions(case):
    examples = case["examples"]
    length = max(len(p) + len(a) - 1 for p, a in examples)
    prompt, first, answer, padding = (np.zeros((len(examples), length), dtype=bool) for _ in range(4))
    for row, (p, a) in enumerate(examples):
        prompt[row, : len(p) - 1] = True
        first[row, len(p) - 1] = True
        answer[row, len(p) - 1 : len(p) + len(a) - 1] = True
        padding[row, len(p) + len(a) - 1 :] = True
    return [
        Region("targets", padding, "padding targets", "at the padding positions: their targets must be -100 (ignored by "
                                                      "the loss), not pad_id: padding is not something to predict"),
        Region("targets", first, "first answer token masked", "at the last prompt position (t = len(prompt) - 1): that is "
                                                              "where the model predicts the answer's first token, so its "
                                                              "target is answer[0], not -100"),
        Region("targets", prompt, "loss on the prompt", "at the prompt positions: their targets must be -100, the loss is "
                                                        "only on the answer"),
        Region("targets", answer, "answer targets", "at the answer positions: the target at t is the next token, "
                                                    "seq[t + 1]"),
        Region("ids", padding, "padding ids", "at the padding positions: pad the inputs with pad_id"),
        Region("mask", padding, "padding mask", "at the padding positions: the mask is False there (True on real tokens)"),
    ]


def _sft_nearby(case):
    examples, pad = case["examples"], case["pad_id"]

    def near(cause, text, **flags):
        ids, targets, mask = sft_reference(examples, pad, **flags)
        return Nearby(cause, text, {"ids": ids, "targets": targets, "mask": mask})

    ids, targets, mask = sft_reference(examples, pad)
    full = [list(p) + list(a) for p, a in examples]
    longest = max(map(len, full))
    full_ids = np.array([s + [pad] * (longest - len(s)) for s in full])
    return [
        near("targets not shifted", "line up with the inputs: the target at position t is the NEXT token, seq[t + 1], "
                                    "so the answer's first token is the target of the last prompt position",
             shift=False),
        near("loss on the prompt", "has no -100 on the prompt: every target that is not a token of the answer is -100",
             mask_prompt=False),
        near("first answer token masked", "masks one target too many: the first answer token is predicted at the last "
                                          "prompt position, t = len(prompt) - 1: targets = [-100] * (len(prompt) - 1) + "
                                          "answer", first_answer_masked=True),
        near("padding targets", "pads the targets with pad_id: pad them with -100, so the loss ignores them",
             pad_targets=pad),
        Nearby("mask inverted", "is True on the padding: the mask is True on real tokens", {"mask": ~mask}),
        Nearby("last token kept", "is prompt + answer: the input is all but the last token (nothing follows it to "
                                  "predict): seq[:-1]", {"ids": full_ids}),
        Nearby("left padding", "pads on the left: pad on the right (the targets line up with the inputs from position 0)",
               {"ids": np.array([[pad] * int((~m).sum()) + list(r[m]) for r, m in zip(ids, mask)])}),
    ]


SFT_COLLATE = Exercise(
    name="sft_collate", chapter=14, stub=STUBS["sft_collate"], outputs=("ids", "targets", "mask"),
    draw=lambda rng, large=False: {"examples": [(list(p), list(a)) for p, a in SFT_EXAMPLES], "pad_id": SFT_PAD},
    reference=lambda c: sft_reference(c["examples"], c["pad_id"]), exact=True, dtypes=("float64",),
    context=lambda c: f"for prompts of {', '.join(str(len(p)) for p, _ in c['examples'])} tokens",
    nearby=_sft_nearby, regions=_sft_regions,
    forbidden=_refuse("the library's SFT batching (tinygrad_ft.finetune.data)", "finetune/data.py"),
    solution="ch14_sft",
)


# ---- chapter 15: a device-agnostic op ------------------------------------------------------


def _devices():
    return ("strict", "cuda") if cuda_is_available() else ("strict",)


def _gelu_xp_call(student, args, case):
    x = args[0]
    host = student(x)
    outputs = [host]
    for device in _devices():
        on_device = asarray(x, device)
        try:
            y = student(on_device)
        except TypeError as e:
            raise Verdict(Diagnosis(False, "host code on a device array",
                                    f"on a {device} array (a GPU array, or the strict stand-in that behaves like CuPy) "
                                    f"gelu_xp raised TypeError: {e}. A device array refuses to become a NumPy array "
                                    "(np.asarray, np.array, float(x)) or to be mixed with one (x + np.ones(...)): take the "
                                    "array module of the input, xp = get_array_module(x), and build everything with it "
                                    "(xp.tanh, xp.asarray, xp.ones)", f"y_on_{device}", "numpy on a device array")) from None
        if isinstance(y, np.ndarray) or not is_array(y) or backend_of(y).name != device:
            raise Verdict(Diagnosis(False, "host code on a device array",
                                    f"for an input on the {device} device gelu_xp returned "
                                    f"{'a NumPy (host) array' if isinstance(y, np.ndarray) else type(y).__name__}: the "
                                    "result must stay on the input's device. Build it with xp = get_array_module(x), "
                                    "never np, and do not copy to the host", f"y_on_{device}", "result left the device"))
        outputs.append(to_numpy(y))
    return tuple(outputs)


def _gelu_reference(case):
    y = _tensor_value(lambda x: F.gelu(x, approximate="tanh"), case["x"])
    return (y,) * (1 + len(_devices()))


def _gelu_terms(case):
    x = case["x"]
    t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))
    return [term for name in ("y", *(f"y_on_{d}" for d in _devices()))
            for term in (Term(name, "the term ½ x", 0.5 * x, "y = ½ x (1 + tanh(u)) = ½ x + ½ x tanh(u)"),
                         Term(name, "the term ½ x tanh(u)", 0.5 * x * t, "y = ½ x (1 + tanh(u)) = ½ x + ½ x tanh(u), "
                                                                        "u = c (x + k x³)"))]


GELU_XP = Exercise(
    name="gelu_xp", chapter=15, stub=STUBS["gelu_xp"], outputs=("y", *(f"y_on_{d}" for d in _devices())),
    draw=lambda rng, large=False: {"x": normal(rng, (4, 6), 2.0)},
    reference=_gelu_reference, call=_gelu_xp_call, terms=_gelu_terms,
    forbidden=_refuse("the library's gelu (tinygrad_ft.functional / nn activations)", "functional/activations.py",
                      "nn/activations.py"),
    solution="ch15_devices",
)


TASKS = [SOFTMAX_T, VALUE_LOG, ADAMW, WARMUP_COSINE, CAUSAL_MASK, CAUSAL_ATTENTION, MOST_FREQUENT_PAIR, BPE_MERGE, TOP_K,
         TOP_P, MEAN_POOL, LAST_TOKEN_POOL, LORA_FORWARD, LORA_BACKWARD, LORA_MERGE, SFT_COLLATE, GELU_XP]

