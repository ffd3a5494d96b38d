"""The optimizer base class: parameter groups, ``zero_grad``, ``step`` and resumable state.

An optimizer holds the parameters it updates in *parameter groups*: lists of parameters
that share hyper-parameters. ``Adam(model.parameters(), lr=1e-3)`` makes one group;
``Adam([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
lr=1e-3)`` makes two, and each group's own keys win over the defaults given to the
constructor. A scheduler changes ``group["lr"]`` between steps.

``step()`` visits every parameter that wants a gradient and has one, and hands it to the
subclass's ``update(param, grad, state, group)``, which writes the new value into
``param.data`` *in place*. In place matters: the model, the optimizer and anything else
holding the parameter keep seeing the same array. ``grad`` is never written to: after
``a + b`` both inputs may be handed the very same gradient array.

``state_dict()`` / ``load_state_dict()`` save and restore everything an update depends on
(moment arrays, step counts, each group's hyper-parameters), so a run stopped and resumed
from a checkpoint continues bit for bit.
"""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..backend import asarray, get_backend, is_array, is_floating


class Optimizer:
    """Base class: keeps ``param_groups`` and per-parameter ``state``; subclasses write ``update``.

    ``params``: an iterable of parameters (one group), or a list of dicts, each with a
    ``"params"`` list and any hyper-parameters of its own. ``defaults``: the hyper-parameters
    of a group that does not set them.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}  # parameter -> its state (moments, step count); filled on first update
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__} takes an iterable of parameters (e.g. model.parameters()), "
                "not a single tensor; wrap it in a list: [param]"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list: there is nothing to optimize")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)
        if not any(group["params"] for group in self.param_groups):
            raise ValueError(f"{type(self).__name__}: every parameter group is empty: there is nothing to optimize")

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters; hyper-parameters it leaves out come from the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group is a dict with a 'params' list, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"parameter group {len(self.param_groups)}: item {i} is a {type(p).__name__}, not a Tensor")
            if not is_floating(p.dtype):
                raise TypeError(f"parameter group {len(self.param_groups)}: item {i} is {p.dtype}; only floating-point tensors "
                                "can be optimized")
            if id(p) in seen:
                raise ValueError(f"parameter group {len(self.param_groups)}: item {i} (shape {p.shape}) is already in a group; "
                                 "a parameter may be in one group only")
            seen.add(id(p))
        # keys beyond the hyper-parameters (a name, a layer index) are kept, as in PyTorch
        full = {**self.defaults, **group, "params": params}
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group: dict) -> None:
        """Refuse values that cannot be right (a negative learning rate, ...); subclasses add theirs."""
        if not group["lr"] >= 0:  # NaN fails this too
            raise ValueError(f"{type(self).__name__}: learning rate must be a number >= 0, got {group['lr']}")
        if not group.get("weight_decay", 0.0) >= 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {group['weight_decay']}")

    # ---- one training step ------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``; the arrays are not written to)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that requires grad and has a gradient (frozen ones are skipped)."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if not p.requires_grad or p.grad is None:
                        continue
                    if p.grad.shape != p.data.shape:
                        raise RuntimeError(f"{type(self).__name__}: a gradient of shape {tuple(p.grad.shape)} for a parameter "
                                           f"of shape {p.shape}")
                    state = self.state.setdefault(p, {})
                    if state:
                        _follow_parameter(p, state)
                    self.update(p, p.grad, state, group)

    def update(self, param: Tensor, grad, state: dict, group: dict) -> None:
        """Write the new value of one parameter into ``param.data`` in place (subclasses)."""
        raise NotImplementedError

    # ---- saving and resuming ----------------------------------------------------------------

    def state_dict(self) -> dict:
        """A snapshot of everything the next updates depend on, PyTorch's layout:

            {"state": {index: {"step": int, "<name>": array, ...}, ...},
             "param_groups": [{"lr": ..., ..., "params": [index, ...]}, ...]}

        Parameters are numbered in the order of the groups. Arrays are copies on their device
        (later steps do not change the snapshot); step counts are Python ints.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: v.copy() if is_array(v) else v for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a ``state_dict()``: hyper-parameters, step counts and state arrays.

        The optimizer must hold the same parameters, in the same groups and order, as the one
        that was saved; what does not fit is listed in one error. Arrays are copied onto each
        parameter's device and dtype.
        """
        saved_groups = state_dict["param_groups"]
        problems = []
        if len(saved_groups) != len(self.param_groups):
            problems.append(f"the saved state has {len(saved_groups)} parameter group(s), this optimizer "
                            f"{len(self.param_groups)}")
        else:
            for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
                if len(saved["params"]) != len(group["params"]):
                    problems.append(f"group {g}: the saved state has {len(saved['params'])} parameters, this optimizer "
                                    f"{len(group['params'])}")
        params = [p for group in self.param_groups for p in group["params"]]
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        if not problems:
            for i, entry in saved_state.items():
                if i >= len(params):
                    problems.append(f"state for parameter {i}, but there are only {len(params)} parameters")
                    continue
                for name, value in entry.items():
                    if is_array(value) and tuple(value.shape) != params[i].shape:
                        problems.append(f"parameter {i}: state {name!r} has shape {tuple(value.shape)}, the parameter "
                                        f"{params[i].shape}")
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state does not fit this optimizer:\n  "
                             + "\n  ".join(problems))

        for saved, group in zip(saved_groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if isinstance(value, list) else value  # JSON turns betas into a list
        self.state = {}
        for i, entry in saved_state.items():
            p = params[i]
            self.state[p] = {
                k: asarray(v, p.device, p.dtype).copy() if is_array(v) else v for k, v in entry.items()
            }

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines + [")"])


def _follow_parameter(p: Tensor, state: dict) -> None:
    """Put a parameter's state arrays on its device and dtype, if the model moved since they
    were made (``model.to("cuda")`` or ``model.double()`` after some steps): the state follows
    the parameters, as in PyTorch. A check of each array's type and dtype when nothing moved."""
    array_type = get_backend(p.device).array_type
    for key, value in list(state.items()):
        if isinstance(value, array_type):
            if value.dtype == p.dtype or not is_floating(value.dtype):
                continue
        elif not is_array(value):
            continue  # step counts and other numbers
        state[key] = asarray(value, p.device, p.dtype if is_floating(value.dtype) else None)
