"""Checkpoints: one ``.npz`` file that loads without running code, written atomically.

Inside: every array of the model (``model/<name>``) and of the optimizer state
(``optimizer/...``), and one ``__meta__`` entry holding UTF-8 JSON: the format version, the
model config, the tokenizer, the step, RNG states and anything else the caller passes.
``numpy.load(..., allow_pickle=False)`` reads it, so opening a checkpoint from a stranger
cannot execute their code.

Saving writes ``<name>.tmp`` next to the target, flushes it to disk and renames it over the
target: a crash mid-write leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy  # host-side by nature: a checkpoint is bytes on disk

from ..backend import asarray, is_array, to_numpy

FORMAT = "tinygrad_ft.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is missing, not a checkpoint, or does not fit the model it is loaded into."""


# ---- nested state (dicts, lists, numbers, arrays) <-> JSON skeleton + named arrays ---------


def _split(obj, prefix: str, arrays: dict):
    """Replace every array in ``obj`` by a reference, collecting the arrays by name."""
    if is_array(obj):
        arrays[prefix] = to_numpy(obj)
        return {"__array__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[k, _split(v, f"{prefix}/{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_split(v, f"{prefix}/{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, numpy.generic):
        return obj.item()
    return obj


def _join(obj, arrays, device: str):
    if isinstance(obj, dict) and "__array__" in obj:
        return asarray(arrays[obj["__array__"]], device)
    if isinstance(obj, dict) and "__dict__" in obj:
        return {k: _join(v, arrays, device) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_join(v, arrays, device) for v in obj]
    return obj


# ---- save / load ---------------------------------------------------------------------------


def save_checkpoint(path, model_state: dict, meta: dict, optimizer_state: dict | None = None) -> Path:
    """Write a checkpoint atomically. ``model_state`` maps names to arrays (``model.state_dict()``);
    ``meta`` is JSON-able; ``optimizer_state`` is an optimizer's ``state_dict()``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model/{name}": to_numpy(a) for name, a in model_state.items()}
    skeleton = _split(optimizer_state, "optimizer", arrays) if optimizer_state is not None else None
    header = {"format": FORMAT, "version": VERSION, "model_keys": list(model_state), "optimizer": skeleton, "meta": meta}
    arrays["__meta__"] = numpy.frombuffer(json.dumps(header).encode("utf-8"), dtype=numpy.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        numpy.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


class Checkpoint:
    """What ``load_checkpoint`` returns: ``model_state`` (name → array), ``optimizer_state``
    (or None) and ``meta`` (the JSON given at save time)."""

    def __init__(self, path, model_state, optimizer_state, meta):
        self.path, self.model_state, self.optimizer_state, self.meta = Path(path), model_state, optimizer_state, meta

    def __repr__(self):
        return f"Checkpoint({str(self.path)!r}, {len(self.model_state)} arrays, meta keys {sorted(self.meta)})"


def load_checkpoint(path, device: str = "cpu") -> Checkpoint:
    """Read a checkpoint (no pickle) with its arrays put on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            files = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (.npz): {e}") from e
    if "__meta__" not in files:
        raise CheckpointError(f"{path} is an .npz file but not a tinygrad_ft checkpoint (no __meta__ entry)")
    try:
        header = json.loads(files.pop("__meta__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: its header (__meta__) is damaged: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tinygrad_ft checkpoint (format {header.get('format')!r})")
    if header.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer tinygrad_ft (format version {header['version']} > {VERSION})")
    try:
        model_state = {name: asarray(files[f"model/{name}"], device) for name in header["model_keys"]}
        optimizer_state = _join(header["optimizer"], files, device) if header["optimizer"] is not None else None
        meta = header["meta"]
    except KeyError as e:
        raise CheckpointError(f"{path} is damaged: its header names {e.args[0]!r}, which is not in the file") from e
    return Checkpoint(path, model_state, optimizer_state, meta)


def export_weights(source, target, note: str = "") -> Path:
    """Copy a training checkpoint without its optimizer state: what a lesson needs to load a
    model (weights, config, tokenizer, loss history), at a third of the size."""
    ckpt = load_checkpoint(source)
    meta = dict(ckpt.meta, exported_from=str(source), note=note)
    return save_checkpoint(target, ckpt.model_state, meta)
