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


class OutputError(ValueError):
    """An output folder that cannot be written: said before any work starts, so none is lost."""


NAME_MAX = 255  # the longest file or folder name most file systems allow


def check_output_folder(folder, what: str = "the output folder") -> Path:
    """Make sure ``folder`` can hold a run's files, before the run starts; returns it as a Path.

    Creates it (and its parents) if needed and writes and removes a probe file, so a path
    that is a file, lies under a file, has a name too long for the file system, or is not
    writable fails now, with ``what`` (e.g. the flag) in the message, not after training.
    """
    folder = Path(folder)
    too_long = [part for part in folder.parts if len(part.encode()) > NAME_MAX]
    if too_long:
        raise OutputError(f"{what} {folder}: the name {too_long[0][:20]}... is {len(too_long[0].encode())} bytes long; "
                          f"file systems allow {NAME_MAX}")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{what} {folder} is a file, not a folder; choose another path or remove the file")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{what} {folder} lies under {parent}, which is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".tinygrad-ft-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"{what} {folder} cannot be written: {e.strerror or e}") from None
    return folder


def remove_stale_temporary(path) -> Path | None:
    """Delete ``<path>.tmp`` left by a save that was killed mid-write (the checkpoint itself is
    whole: saves write the temporary file, then rename it); returns the path removed, if any."""
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    if tmp.exists():
        tmp.unlink()
        return tmp
    return None


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
        raise CheckpointError(f"checkpoint {path} {'is a folder, not a file' if path.is_dir() else 'does not exist'}")
    with open(path, "rb") as f:
        start = f.read(4)
    if start != b"PK\x03\x04":  # every .npz is a zip file, and every zip file starts so
        raise CheckpointError(f"{path} is not a checkpoint: a checkpoint is an .npz (zip) file, and this file starts "
                              f"with {start!r}" + (" (a text file?)" if start.isascii() else ""))
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            files = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (.npz): {e}") from e
    header = _header(path, files.pop("__meta__", None))
    try:
        model_state = {name: asarray(files[f"model/{name}"], device) for name in header["model_keys"]}
        optimizer_state = _join(header["optimizer"], files, device) if header["optimizer"] is not None else None
        meta = header["meta"]
    except KeyError as e:
        raise CheckpointError(f"{path} is damaged: its header names {e.args[0]!r}, which is not in the file") from e
    return Checkpoint(path, model_state, optimizer_state, meta)


def _header(path: Path, raw) -> dict:
    """The checked JSON header of a checkpoint from its ``__meta__`` bytes (None: there was none)."""
    if raw is None:
        raise CheckpointError(f"{path} is an .npz file but not a tinygrad_ft checkpoint (no __meta__ entry)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: its header (__meta__) is damaged: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tinygrad_ft checkpoint (format {header.get('format')!r})")
    if header.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer tinygrad_ft (format version {header['version']} > {VERSION})")
    return header


def read_meta(path) -> dict:
    """Only the ``meta`` of a checkpoint (the JSON given at save time), without reading its
    arrays: what kind of checkpoint it is, its config, its tokenizer."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            raw = npz["__meta__"] if "__meta__" in npz.files else None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (.npz): {e}") from e
    return _header(path, raw)["meta"]


def export_weights(source, target, note: str = "") -> Path:
    """Copy a training checkpoint without its optimizer state: what a lesson needs to load a
    model (weights, config, tokenizer, loss history), at a third of the size."""
    ckpt = load_checkpoint(source)
    meta = dict(ckpt.meta, exported_from=str(source), note=note)
    return save_checkpoint(target, ckpt.model_state, meta)
