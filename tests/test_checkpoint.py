"""Checkpoints: no pickle, atomic writes, clear errors, and a model gets back what it saved."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.models.gpt import GPT, GPTConfig
from tinygrad_ft.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

TINY = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)


def model():
    tg.manual_seed(0)
    return GPT(TINY)


def test_checkpoint_round_trips_weights_and_metadata(tmp_path):
    m = model()
    path = save_checkpoint(tmp_path / "c.npz", m.state_dict(), {"step": 3, "note": "hi"})
    ckpt = load_checkpoint(path)
    assert ckpt.meta == {"step": 3, "note": "hi"}
    for name, array in m.state_dict().items():
        np.testing.assert_array_equal(ckpt.model_state[name], array)


def test_checkpoint_round_trips_nested_optimizer_state_with_integer_keys(tmp_path):
    state = {"state": {0: {"m": np.ones(3), "step": 2}}, "groups": [{"lr": 0.1, "params": [0]}]}
    save_checkpoint(tmp_path / "c.npz", {}, {}, state)
    loaded = load_checkpoint(tmp_path / "c.npz").optimizer_state
    assert loaded["groups"] == [{"lr": 0.1, "params": [0]}]
    assert loaded["state"][0]["step"] == 2
    np.testing.assert_array_equal(loaded["state"][0]["m"], np.ones(3))


def test_checkpoint_loads_without_pickle(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", model().state_dict(), {})
    with np.load(path, allow_pickle=False) as npz:  # would raise if anything needed pickle
        assert "__meta__" in npz.files


def test_checkpoint_write_is_atomic_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", model().state_dict(), {"step": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        save_checkpoint(path, model().state_dict(), {"step": 2})
    assert load_checkpoint(path).meta == {"step": 1}


def test_loading_a_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nope.npz does not exist"):
        load_checkpoint(tmp_path / "nope.npz")


def test_loading_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match=r"bad.npz is not a checkpoint: a checkpoint is an .npz \(zip\) file"):
        load_checkpoint(bad)


def test_loading_an_npz_without_metadata_says_it_is_not_ours(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="not a tinygrad_ft checkpoint"):
        load_checkpoint(tmp_path / "plain.npz")


def test_a_damaged_header_names_the_file(tmp_path):
    np.savez(tmp_path / "torn.npz", __meta__=np.frombuffer(b"{not json", dtype=np.uint8))
    with pytest.raises(CheckpointError, match="torn.npz: its header"):
        load_checkpoint(tmp_path / "torn.npz")


def test_an_array_the_header_names_but_the_file_lacks_is_reported(tmp_path):
    import zipfile

    path = save_checkpoint(tmp_path / "c.npz", model().state_dict(), {})
    cut = tmp_path / "cut.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(cut, "w") as dst:
        for item in src.infolist():
            if item.filename != "model/wte.weight.npy":
                dst.writestr(item, src.read(item.filename))
    with pytest.raises(CheckpointError, match="cut.npz is damaged.*model/wte.weight"):
        load_checkpoint(cut)


def test_weights_of_another_shape_are_refused_by_name(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", model().state_dict(), {})
    other = GPT(GPTConfig(vocab_size=9, block_size=4, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(Exception, match="wte.weight"):
        other.load_state_dict(load_checkpoint(path).model_state)
