"""LoRA adapters in PEFT's format (``adapter_config.json`` + ``adapter_model.safetensors``).

Our ``LoRALinear`` adds (x A) B · alpha/r to a Linear whose weight is (in, out), with A (in, r)
and B (r, out). PEFT's LoRA on GPT-2's ``Conv1D`` (also (in, out): ``fan_in_fan_out``) adds
lora_B(lora_A(x)) · alpha/r with torch Linears, whose weights are (out, in): lora_A.weight is
(r, in) = Aᵀ and lora_B.weight is (out, r) = Bᵀ. Names are GPT2LMHeadModel's under
``base_model.model.``, e.g. ``base_model.model.transformer.h.0.attn.c_attn.lora_A.weight``;
``target_modules`` lists every adapted layer by its full name.

``merged_state_dict`` is the other way to export: the adapters folded into the weights
(W + s A B), a plain GPT-2 that needs no PEFT.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy  # host-side by nature: weights are bytes on disk

from .. import nn
from ..backend import asarray, to_numpy
from ..finetune.classifier import GPTClassifier, set_trainable
from ..finetune.lora import LoRALinear, apply_lora
from ..models.gpt import GPT, GPTConfig
from ..nn.checkpoint import CheckpointError, load_checkpoint
from ..paths import BPE_CHECKPOINT, data_path
from ..tokenizers import Tokenizer

CONFIG, WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
PREFIX = "base_model.model."


def _hf_module_name(name: str) -> str:
    """Our module name → GPT2LMHeadModel's: ``blocks.0.attn.c_attn`` → ``transformer.h.0.attn.c_attn``."""
    if name == "lm_head":
        return name
    if name.startswith("blocks."):
        name = "h." + name[len("blocks."):]
    return "transformer." + name


def lora_modules(model: nn.Module) -> dict[str, LoRALinear]:
    """Every LoRA layer of a GPT, by its module name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def merged_state_dict(model: GPT) -> dict:
    """The GPT's state dict with every LoRA layer folded into a plain Linear's weight
    (W + s A B, unless already merged), under the plain Linear's names: a GPT without adapters
    loads it. The model is not changed."""
    state = model.state_dict()
    for name, layer in lora_modules(model).items():
        weight = state.pop(f"{name}.base.weight")
        state[f"{name}.weight"] = weight if layer.merged else weight + layer.delta_weight()
        if f"{name}.base.bias" in state:
            state[f"{name}.bias"] = state.pop(f"{name}.base.bias")
        del state[f"{name}.lora_A"], state[f"{name}.lora_B"]
    return state


def base_state_dict(model: GPT) -> dict:
    """The GPT's state dict without its LoRA updates: each adapted layer's frozen base weight."""
    state = model.state_dict()
    for name, layer in lora_modules(model).items():
        weight = state.pop(f"{name}.base.weight")
        state[f"{name}.weight"] = weight - layer.delta_weight() if layer.merged else weight
        if f"{name}.base.bias" in state:
            state[f"{name}.bias"] = state.pop(f"{name}.base.bias")
        del state[f"{name}.lora_A"], state[f"{name}.lora_B"]
    return state


def unmerged_copy(model: GPT) -> GPT:
    """A new GPT with the base weights of ``model`` (its LoRA updates left out)."""
    copy = GPT(GPTConfig.from_dict(model.config.to_dict()))
    copy.load_state_dict(base_state_dict(model))
    return copy.eval()


def save_peft_adapter(model: GPT, folder, base_model_name_or_path: str | None = None) -> Path:
    """Write the GPT's LoRA adapters as a PEFT adapter folder (``PeftModel.from_pretrained(base,
    folder)`` loads it onto the base GPT2LMHeadModel); returns the folder."""
    from safetensors.numpy import save_file

    layers = lora_modules(model)
    if not layers:
        raise ValueError("save_peft_adapter: the model has no LoRA layers (tinygrad_ft.finetune.apply_lora adds them)")
    settings = {(layer.rank, float(layer.alpha)) for layer in layers.values()}
    if len(settings) > 1:
        raise ValueError(f"save_peft_adapter: the LoRA layers differ in (rank, alpha): {sorted(settings)}; PEFT's format "
                         "here takes one of each")
    (rank, alpha), = settings
    tensors = {}
    for name, layer in layers.items():
        key = PREFIX + _hf_module_name(name)
        tensors[f"{key}.lora_A.weight"] = numpy.ascontiguousarray(to_numpy(layer.lora_A.data).T)  # (r, in)
        tensors[f"{key}.lora_B.weight"] = numpy.ascontiguousarray(to_numpy(layer.lora_B.data).T)  # (out, r)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_model_name_or_path,
        "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0, "fan_in_fan_out": True, "bias": "none",
        "target_modules": sorted(_hf_module_name(name) for name in layers), "modules_to_save": None,
        "inference_mode": True, "init_lora_weights": True, "use_rslora": False, "use_dora": False,
        "rank_pattern": {}, "alpha_pattern": {}, "layers_to_transform": None, "layers_pattern": None,
    }
    if any(layer.merged for layer in layers.values()):
        raise ValueError("save_peft_adapter: some LoRA layers are merged into their weights; unmerge_lora(model) first")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(tensors, str(folder / WEIGHTS), metadata={"format": "pt"})
    return folder


def load_peft_adapter(model: GPT, folder) -> list[str]:
    """Add a PEFT LoRA adapter (written by PEFT or by ``save_peft_adapter``) to a GPT whose
    Linears have none: ``apply_lora`` on the layers that ``target_modules`` names, then its
    weights. Returns our names of the adapted layers. Only plain LoRA is read (no DoRA, no
    rsLoRA, no per-layer ranks, no bias or modules_to_save)."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no {CONFIG}: not a PEFT adapter folder")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA":
        raise ValueError(f"{path}: peft_type is {config.get('peft_type')!r}; only LoRA adapters ('LORA') are read")
    for field in ("use_dora", "use_rslora", "rank_pattern", "alpha_pattern", "modules_to_save"):
        if config.get(field):
            raise ValueError(f"{path}: {field} is {config[field]!r}; only plain LoRA is read (no {field})")
    if config.get("bias", "none") != "none":
        raise ValueError(f"{path}: bias is {config['bias']!r}; only plain LoRA is read (bias 'none')")
    targets = config.get("target_modules")
    ours = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if isinstance(targets, str):
        chosen = [n for n in ours if re.fullmatch(targets, _hf_module_name(n))]
    elif isinstance(targets, list):
        chosen = [n for n in ours if any(_hf_module_name(n) == t or _hf_module_name(n).endswith("." + t) for t in targets)]
    else:
        raise ValueError(f"{path}: target_modules must be a list of module names or a regular expression, got {targets!r}")
    if not chosen:
        raise ValueError(f"{path}: target_modules {targets!r} names no Linear layer of this GPT")
    rank, alpha = config.get("r"), config.get("lora_alpha")
    if not isinstance(rank, int) or rank < 1 or not isinstance(alpha, (int, float)):
        raise ValueError(f"{path}: r must be a positive integer and lora_alpha a number, got r={rank!r}, lora_alpha={alpha!r}")
    tensors = load_file(str(folder / WEIGHTS))
    apply_lora(model, targets=tuple(chosen), rank=rank, alpha=float(alpha))  # as apply_lora does: only the adapters train
    layers = lora_modules(model)
    for name, layer in layers.items():
        key = PREFIX + _hf_module_name(name)
        for part, param in (("lora_A", layer.lora_A), ("lora_B", layer.lora_B)):
            weight_key = f"{key}.{part}.weight"
            if weight_key not in tensors:
                weight_key = weight_key.replace(".weight", ".default.weight")  # some PEFT versions keep the adapter's name
            if weight_key not in tensors:
                raise ValueError(f"{folder / WEIGHTS}: the weight {key}.{part}.weight is missing")
            array = tensors[weight_key].T
            if tuple(array.shape) != param.shape:
                raise ValueError(f"{folder / WEIGHTS}: {weight_key} has shape {tensors[weight_key].shape}, expected "
                                 f"{param.shape[::-1]}")
            param.data = asarray(array, param.device, param.dtype)
    return sorted(layers)


def load_classifier(path):
    """A classifier checkpoint (``tinygrad-ft finetune``) as the GPTClassifier it was, LoRA
    adapters included, with its tokenizer and class names. A classifier keeps no language-model
    head; an untied GPT gets its head back from the checkpoint it was fine-tuned from (the head
    never trains there), so that the GPT can be written as a GPT2LMHeadModel."""
    state = load_checkpoint(path)
    meta = state.meta
    if meta.get("kind") != "classifier":
        raise CheckpointError(f"{path} is not a classifier checkpoint (kind {meta.get('kind')!r})")
    finetune = meta.get("finetune_config") or {}
    gpt = GPT(GPTConfig.from_dict(meta["model_config"]))
    lm_head = gpt.lm_head
    model = GPTClassifier(gpt, len(meta["class_names"]), pooling=finetune.get("pooling", "last"))
    if finetune.get("method") == "lora":  # the adapters as they were trained (older checkpoints: the defaults)
        settings = {key: finetune[key] for key in ("lora_rank", "lora_alpha") if key in finetune}
        targets = [pattern.strip() for pattern in str(finetune.get("lora_targets", "")).split(",") if pattern.strip()]
        if targets:
            settings["lora_targets"] = targets
        set_trainable(model, "lora", **settings)
    heads = {name: value for name, value in state.model_state.items() if name == "gpt.lm_head.weight"}
    if heads:  # written before the classifier dropped the head: it loads as it was saved
        gpt.lm_head = lm_head
    model.load_state_dict(state.model_state)
    if lm_head is not None and not heads:
        base = finetune.get("checkpoint") or data_path(BPE_CHECKPOINT)
        try:
            base_state = load_checkpoint(base).model_state
        except CheckpointError as e:
            raise CheckpointError(f"{path}: a classifier keeps no language-model head, and its GPT's (untied) comes from the "
                                  f"checkpoint it was fine-tuned from, which cannot be read: {e}") from None
        if "lm_head.weight" not in base_state or tuple(base_state["lm_head.weight"].shape) != lm_head.weight.shape:
            raise CheckpointError(f"{path}: its base checkpoint {base} has no language-model head of shape "
                                  f"{lm_head.weight.shape}; is it the checkpoint this classifier was fine-tuned from?")
        lm_head.weight.data = asarray(base_state["lm_head.weight"], lm_head.weight.device, lm_head.weight.dtype)
        lm_head.freeze()
        gpt.lm_head = lm_head
    return model.eval(), Tokenizer.from_json(meta["tokenizer"]), meta["class_names"]
