"""GPT-2 in Hugging Face's format: a folder with ``config.json`` and ``model.safetensors``.

Our GPT is GPT-2's architecture: with ``bias=True``, ``tie_weights=True`` and the same weights
it computes the same logits (to float64 rounding), so moving weights is renaming them:

    ours                          Hugging Face (GPT2LMHeadModel)
    wte.weight, wpe.weight        transformer.wte.weight, transformer.wpe.weight
    blocks.{i}.<rest>             transformer.h.{i}.<rest>   (ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj)
    ln_f.weight, ln_f.bias        transformer.ln_f.weight, transformer.ln_f.bias
    lm_head.weight (C, V)         lm_head.weight (V, C): transposed; absent when tied to wte

Our ``Linear`` stores its weight (in, out), as GPT-2's ``Conv1D`` does, so only the untied
language-model head (a torch ``nn.Linear``, (out, in)) is transposed. Weights are read with
``safetensors`` (no torch, no pickle); a folder with only ``pytorch_model.bin`` (a pickle,
which can run code when loaded) is refused. A folder that is not GPT-2-shaped is refused
with a message that names the config field or the weight.

``from_pretrained(folder)`` gives the model and its tokenizer; ``save_pretrained(model,
tokenizer, folder)`` writes a folder that ``GPT2LMHeadModel.from_pretrained`` and
``AutoTokenizer.from_pretrained`` load as it is (a model with LoRA adapters is written merged;
``peft.save_peft_adapter`` writes the adapters on their own).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy  # host-side by nature: weights are bytes on disk

from ..backend import to_numpy
from ..models.gpt import GPT, GPTConfig, load_pretrained
from ..nn.checkpoint import CheckpointError, read_meta, save_checkpoint
from ..options import check_choice, option
from ..paths import BPE_CHECKPOINT, data_path, shown
from .peft import merged_state_dict, save_peft_adapter
from .tokenizer import TOKENIZER_FILES, load_hf_tokenizer, save_hf_tokenizer

WEIGHTS = "model.safetensors"
SHARD_INDEX = "model.safetensors.index.json"
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.ckpt", "model.pt", "model.pth")
BLOCK_KEYS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
              "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
BUFFERS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")  # old files store the causal mask: not weights
GELU_TANH = ("gelu_new", "gelu_pytorch_tanh")  # GPT-2's GELU, the tanh approximation (our "gelu")
DTYPES = ("float32", "float64")
FORMATS = ("hf",)


class HFFormatError(ValueError):
    """A folder that is not a GPT-2 in Hugging Face's format (the message names the file, field or weight)."""


# ---- config.json <-> GPTConfig --------------------------------------------------------------------


def read_hf_config(folder) -> dict:
    """config.json of a Hugging Face model folder, as a dict."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder (expected a Hugging Face model folder with config.json and "
                                f"{WEIGHTS})")
    path = folder / "config.json"
    if not path.is_file():
        raise HFFormatError(f"{folder} has no config.json: not a Hugging Face model folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HFFormatError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise HFFormatError(f"{path} does not hold a JSON object")
    return config


def gpt_config_from_hf(hf: dict, where: str = "config.json") -> GPTConfig:
    """Our config of a GPT-2 ``config.json``; anything GPT-2-shaped but different from our GPT
    (another activation, a feed-forward width other than 4·n_embd, ...) is refused by name."""
    def refuse(field: str, value, expected: str):
        raise HFFormatError(f"{where}: {field} is {value!r}; tinygrad_ft's GPT needs {expected}")

    if hf.get("model_type") != "gpt2":
        refuse("model_type", hf.get("model_type"), "'gpt2' (only GPT-2's architecture is supported)")
    for field in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
        value = hf.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            refuse(field, value, "a positive integer")
    checks = [
        ("activation_function", hf.get("activation_function", "gelu_new"), lambda v: v in GELU_TANH,
         "'gelu_new' (GELU, tanh approximation)"),
        ("n_inner", hf.get("n_inner"), lambda v: v is None or v == 4 * hf["n_embd"], f"null or 4 * n_embd = {4 * hf['n_embd']}"),
        ("layer_norm_epsilon", hf.get("layer_norm_epsilon", 1e-5), lambda v: v == 1e-5, "1e-05"),
        ("scale_attn_weights", hf.get("scale_attn_weights", True), lambda v: v is True, "true (scores divided by sqrt(D))"),
        ("scale_attn_by_inverse_layer_idx", hf.get("scale_attn_by_inverse_layer_idx", False), lambda v: v is False, "false"),
        ("add_cross_attention", hf.get("add_cross_attention", False), lambda v: v is False, "false (a decoder only)"),
        ("tie_word_embeddings", hf.get("tie_word_embeddings", True), lambda v: isinstance(v, bool), "true or false"),
    ]
    for field, value, ok, expected in checks:
        if not ok(value):
            refuse(field, value, expected)
    if hf["n_embd"] % hf["n_head"]:
        refuse("n_head", hf["n_head"], f"a divisor of n_embd ({hf['n_embd']})")
    rates = {}
    for field in ("embd_pdrop", "attn_pdrop", "resid_pdrop"):
        value = hf.get(field, 0.1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            refuse(field, value, "a probability in [0, 1)")
        rates[field] = float(value)
    return GPTConfig(vocab_size=hf["vocab_size"], block_size=hf["n_positions"], n_layer=hf["n_layer"], n_head=hf["n_head"],
                     n_embd=hf["n_embd"], dropout=rates["resid_pdrop"], bias=True,
                     tie_weights=hf.get("tie_word_embeddings", True), **rates)


def gpt_config_to_hf(config: GPTConfig, eot_id: int | None = None, dtype: str = "float32") -> dict:
    """The ``config.json`` of a GPT2LMHeadModel with our config's shape."""
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": config.vocab_size, "n_positions": config.block_size, "n_embd": config.n_embd,
        "n_layer": config.n_layer, "n_head": config.n_head, "n_inner": None, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
        "embd_pdrop": config.embd_pdrop, "attn_pdrop": config.attn_pdrop, "resid_pdrop": config.resid_pdrop,
        "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "tie_word_embeddings": config.tie_weights, "bos_token_id": eot_id, "eos_token_id": eot_id, "use_cache": True,
        "dtype": dtype,
    }


# ---- weights: names and layouts ------------------------------------------------------------------


def hf_name(name: str) -> str:
    """Our parameter name → GPT2LMHeadModel's: ``blocks.3.ln_1.weight`` → ``transformer.h.3.ln_1.weight``."""
    if name.startswith("lm_head."):
        return name
    if name.startswith("blocks."):
        name = "h." + name[len("blocks."):]
    return "transformer." + name


def our_name(name: str) -> str:
    """The inverse of ``hf_name`` (the ``transformer.`` prefix is optional: GPT-2's own file has none)."""
    name = name.removeprefix("transformer.")
    if name.startswith("h."):
        name = "blocks." + name[len("h."):]
    return name


def expected_shapes(config: GPTConfig) -> dict:
    """Every weight of a GPT-2 file with this config, by its Hugging Face name (without the
    ``transformer.`` prefix), and its shape there."""
    C, V = config.n_embd, config.vocab_size
    block = {"ln_1.weight": (C,), "ln_1.bias": (C,), "attn.c_attn.weight": (C, 3 * C), "attn.c_attn.bias": (3 * C,),
             "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,), "ln_2.weight": (C,), "ln_2.bias": (C,),
             "mlp.c_fc.weight": (C, 4 * C), "mlp.c_fc.bias": (4 * C,), "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,)}
    shapes = {"wte.weight": (V, C), "wpe.weight": (config.block_size, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for i in range(config.n_layer):
        shapes |= {f"h.{i}.{k}": s for k, s in block.items()}
    if not config.tie_weights:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def state_from_hf(tensors: dict, config: GPTConfig, where: str = WEIGHTS) -> dict:
    """Our state dict (names, layouts) from a GPT-2 file's tensors; every weight must be there,
    with its shape, and nothing else (the old causal-mask buffers aside)."""
    found = {}
    for key, array in tensors.items():
        short = key.removeprefix("transformer.")
        if BUFFERS.fullmatch(short):
            continue
        if short in found:
            raise HFFormatError(f"{where}: the weight {short!r} is there twice (with and without 'transformer.')")
        found[short] = (key, array)
    shapes = expected_shapes(config)
    if config.tie_weights and "lm_head.weight" in found:  # tied: the head is wte; a file may store it anyway
        key, head = found.pop("lm_head.weight")
        if head.shape != shapes["wte.weight"] or "wte.weight" not in found or not numpy.array_equal(head, found["wte.weight"][1]):
            raise HFFormatError(f"{where}: {key} differs from transformer.wte.weight, but config.json ties them "
                                "(tie_word_embeddings); set tie_word_embeddings to false to load an untied head")
    missing = [k for k in shapes if k not in found]
    if missing:
        first = missing[0] if missing[0] == "lm_head.weight" else "transformer." + missing[0]
        raise HFFormatError(f"{where}: the weight {first!r} is missing ({len(missing)} missing in all); is this a GPT-2 "
                            "with this config.json?")
    unexpected = [found[k][0] for k in found if k not in shapes]
    if unexpected:
        raise HFFormatError(f"{where}: unexpected weight {unexpected[0]!r} ({len(unexpected)} in all); "
                            "a GPT-2 language model has none such")
    state = {}
    for short, shape in shapes.items():
        key, array = found[short]
        if tuple(array.shape) != shape:
            raise HFFormatError(f"{where}: {key} has shape {tuple(array.shape)}, but config.json makes it {shape}")
        if array.dtype.kind != "f":
            raise HFFormatError(f"{where}: {key} has dtype {array.dtype}; expected floating-point weights")
        state[our_name(short)] = array.T if short == "lm_head.weight" else array
    return state


def state_to_hf(state: dict, config: GPTConfig, dtype: str = "float32") -> dict:
    """GPT2LMHeadModel's tensors (names, layouts, contiguous, ``dtype``) from our state dict. A model
    without biases (``bias=False``) gets zero biases: the same function."""
    tensors = {}
    for short, shape in expected_shapes(config).items():
        name = our_name(short)
        if name in state:
            array = to_numpy(state[name])
            array = array.T if short == "lm_head.weight" else array
        elif short.endswith(".bias") and not config.bias:
            array = numpy.zeros(shape)
        else:
            raise KeyError(f"the model has no parameter {name!r}")
        tensors[hf_name(name)] = numpy.ascontiguousarray(array, dtype=dtype)
    return tensors


# ---- reading and writing a folder ----------------------------------------------------------------


def read_safetensors(folder) -> dict:
    """Every tensor of a folder's ``model.safetensors`` (or of its shards, listed in
    ``model.safetensors.index.json``) as NumPy arrays. Pickled weights are refused."""
    folder = Path(folder)
    if (folder / WEIGHTS).is_file():
        files = [folder / WEIGHTS]
    elif (folder / SHARD_INDEX).is_file():
        try:
            index = json.loads((folder / SHARD_INDEX).read_text(encoding="utf-8"))
            files = [folder / name for name in sorted(set(index["weight_map"].values()))]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise HFFormatError(f"{folder / SHARD_INDEX} is not a safetensors index (no weight_map): {e}") from None
    else:
        pickles = [name for name in PICKLES if (folder / name).is_file()]
        if pickles:
            raise HFFormatError(f"{folder} has only {pickles[0]}, a pickle: loading one can run any code, so tinygrad_ft "
                                f"reads {WEIGHTS} only. If you trust the file, convert it with transformers: "
                                "GPT2LMHeadModel.from_pretrained(folder).save_pretrained(folder)")
        raise HFFormatError(f"{folder} has no {WEIGHTS} (nor {SHARD_INDEX})")
    from safetensors import SafetensorError, safe_open

    tensors = {}
    for path in files:
        if not path.is_file():
            raise HFFormatError(f"{folder / SHARD_INDEX} names {path.name}, which is not in the folder")
        try:
            with safe_open(str(path), framework="np") as f:
                for key in f.keys():
                    try:
                        tensors[key] = f.get_tensor(key)
                    except (TypeError, ValueError, SafetensorError) as e:
                        raise HFFormatError(f"{path.name}: cannot read {key} ({f.get_slice(key).get_dtype()}) as a NumPy "
                                            f"array: {e}; save the model in float32") from None
        except SafetensorError as e:
            raise HFFormatError(f"{path} is not a readable safetensors file: {e}") from None
    return tensors


def from_pretrained(folder, device: str = "cpu", dtype: str | None = None):
    """A GPT-2 from a Hugging Face folder (config.json, model.safetensors), in eval mode on
    ``device``, and its tokenizer (None if the folder has none). ``dtype``: the parameters'
    (default: the library's default, float32)."""
    folder = Path(folder)
    config = gpt_config_from_hf(read_hf_config(folder), str(folder / "config.json"))
    state = state_from_hf(read_safetensors(folder), config, str(folder / WEIGHTS))
    model = GPT(config)
    if dtype is not None:
        model.to(dtype=dtype)
    model.load_state_dict(state)
    model.to(device).eval()
    tokenizer = load_hf_tokenizer(folder)
    if tokenizer is not None and tokenizer.vocab_size > config.vocab_size:
        raise HFFormatError(f"{folder}: the tokenizer has {tokenizer.vocab_size} tokens, more than config.json's vocab_size "
                            f"{config.vocab_size}")
    return model, tokenizer


def save_pretrained(model: GPT, tokenizer, folder, dtype: str = "float32") -> Path:
    """Write ``model`` (merged, if it has LoRA adapters) and ``tokenizer`` (if not None) as a
    Hugging Face GPT-2 folder: config.json, model.safetensors, tokenizer.json,
    tokenizer_config.json."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    eot_id = getattr(tokenizer, "eot_id", None)
    config = gpt_config_to_hf(model.config, eot_id, dtype)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(state_to_hf(merged_state_dict(model), model.config, dtype), str(folder / WEIGHTS), metadata={"format": "pt"})
    if tokenizer is not None:
        save_hf_tokenizer(tokenizer, folder, model_max_length=model.config.block_size)
    return folder


# ---- the command line's two commands ---------------------------------------------------------------


@dataclass
class ImportConfig:
    """``tinygrad-ft import-hf FOLDER``: a Hugging Face GPT-2 folder into one of our checkpoints."""

    out: str | None = option(None, "the checkpoint to write (default: the folder's name + .npz)", flag="--out")
    dtype: str = option("float32", "the parameters' dtype", choices=DTYPES)

    def __post_init__(self):
        check_choice(self, "dtype")


def import_hf(folder, config: ImportConfig | None = None) -> Path:
    """Read a Hugging Face GPT-2 folder and save it as a checkpoint that ``tinygrad-ft generate``
    and ``finetune`` load (``--checkpoint``); returns its path."""
    config = config or ImportConfig()
    folder = Path(folder)
    model, tokenizer = from_pretrained(folder, dtype=config.dtype)
    if tokenizer is None:
        raise HFFormatError(f"{folder} has no tokenizer ({' or '.join(TOKENIZER_FILES)}); a checkpoint needs one")
    out = Path(config.out) if config.out else Path(folder.resolve().name + ".npz")
    meta = {"kind": "imported", "model_config": model.config.to_dict(), "tokenizer": tokenizer.to_json(),
            "imported_from": str(folder.resolve()), "format": "hf-gpt2"}
    return save_checkpoint(out, model.state_dict(), meta)


@dataclass
class ExportConfig:
    """``tinygrad-ft export --format hf OUT``: one of our checkpoints as a Hugging Face folder."""

    checkpoint: str | None = option(None, f"the checkpoint to export (default: the shipped BPE model, {shown(BPE_CHECKPOINT)})")
    format: str = option("hf", "the format to write (hf: config.json, model.safetensors, tokenizer.json)", choices=FORMATS)
    dtype: str = option("float32", "the weights' dtype in the files", choices=DTYPES)
    base: str | None = option(None, "for a checkpoint with LoRA adapters: the Hugging Face folder of the base model that "
                                    "adapter_config.json names (default: the folder it was imported from, else OUT/base, "
                                    "written)")

    def __post_init__(self):
        check_choice(self, "format")
        check_choice(self, "dtype")


def export_checkpoint(out, config: ExportConfig | None = None) -> dict:
    """Write a checkpoint as a Hugging Face folder ``out``; returns {what: path} of what was written.

    A language model (pre-trained, imported) becomes a GPT2LMHeadModel folder. A classifier
    fine-tuned with LoRA (``tinygrad-ft finetune --method lora``) becomes its GPT merged with
    the adapters (``out``), the adapters alone in PEFT's format (``out/adapter``), and its
    classification head (``out/classifier_head.safetensors``, with ``classifier_head.json``)."""
    config = config or ExportConfig()
    path = Path(config.checkpoint) if config.checkpoint else data_path(BPE_CHECKPOINT)
    meta = read_meta(path)
    out = Path(out)
    if meta.get("kind") == "lora-adapters":
        raise CheckpointError(f"{path} holds only LoRA adapters; export the whole model.npz written beside it")
    if meta.get("kind") != "classifier":
        model, tokenizer = load_pretrained(path)
        return {"model": save_pretrained(model, tokenizer, out, config.dtype)}
    from .peft import load_classifier

    classifier, tokenizer, class_names = load_classifier(path)
    written = {"model": save_pretrained(classifier.gpt, tokenizer, out, config.dtype)}
    written |= _save_head(classifier, class_names, out)
    if any(name.endswith("lora_A") for name, _ in classifier.gpt.named_parameters()):
        base = config.base or _imported_from(meta)
        if base is None:
            base = out / "base"
            _save_base(classifier.gpt, tokenizer, base, config.dtype)
            written["base"] = base
        written["adapter"] = save_peft_adapter(classifier.gpt, out / "adapter", base_model_name_or_path=str(base))
    return written


def _save_base(gpt: GPT, tokenizer, folder: Path, dtype: str) -> None:
    """The GPT without its LoRA updates (each adapted layer's frozen base weight)."""
    from .peft import unmerged_copy

    save_pretrained(unmerged_copy(gpt), tokenizer, folder, dtype)


def _save_head(classifier, class_names, out: Path) -> dict:
    from safetensors.numpy import save_file

    head = classifier.head
    tensors = {"weight": numpy.ascontiguousarray(to_numpy(head.weight.data).T)}  # torch's (classes, C)
    if head.bias is not None:
        tensors["bias"] = numpy.ascontiguousarray(to_numpy(head.bias.data))
    save_file(tensors, str(out / "classifier_head.safetensors"), metadata={"format": "pt"})
    note = {"pooling": classifier.pooling, "class_names": list(class_names),
            "how": "logits = pool(GPT2Model hidden states over the real tokens) @ weight.T + bias; pooling 'mean' averages "
                   "the real tokens, 'last' takes the last real token"}
    (out / "classifier_head.json").write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")
    return {"head": out / "classifier_head.safetensors"}


def _imported_from(meta: dict) -> str | None:
    """The Hugging Face folder a classifier's base checkpoint was imported from, if it still exists."""
    base_checkpoint = (meta.get("finetune_config") or {}).get("checkpoint")
    if not base_checkpoint or not Path(base_checkpoint).is_file():
        return None
    folder = read_meta(base_checkpoint).get("imported_from")
    return folder if folder and Path(folder).is_dir() else None

