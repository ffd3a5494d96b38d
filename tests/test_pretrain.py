"""Pre-training, generation and the command line, on a tiny config and a tiny corpus."""

import numpy as np
import pytest

from tinygrad_ft.cli import main
from tinygrad_ft.models import load_pretrained
from tinygrad_ft.models.generate import generate, sample_next
from tinygrad_ft.models.gpt import GPTConfig
from tinygrad_ft.training.pretrain import TrainConfig, pretrain


def tiny_run(corpus, out, iters=6, **kw):
    config = TrainConfig(max_iters=iters, batch_size=4, eval_interval=3, eval_iters=2, warmup_iters=2,
                         data_path=str(corpus), out_dir=str(out), progress=False, **kw)
    return pretrain(GPTConfig(block_size=8, n_layer=1, n_head=2, n_embd=16), config, log=lambda *a: None)


def test_pretraining_lowers_the_loss(corpus, tmp_path):
    result = tiny_run(corpus, tmp_path / "run", iters=30, lr=1e-2)
    losses = result.history["train_loss"]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5


def test_the_same_seed_gives_the_same_losses(corpus, tmp_path):
    a = tiny_run(corpus, tmp_path / "a").history["train_loss"]
    b = tiny_run(corpus, tmp_path / "b").history["train_loss"]
    assert a == b


def test_resuming_continues_the_same_loss_curve(corpus, tmp_path):
    full = tiny_run(corpus, tmp_path / "full", iters=6).history
    half = tiny_run(corpus, tmp_path / "half", iters=3)
    resumed = pretrain(None, TrainConfig(max_iters=6, batch_size=4, eval_interval=3, eval_iters=2, warmup_iters=2,
                                         data_path=str(corpus), out_dir=str(tmp_path / "half"), progress=False),
                       resume=str(half.checkpoint), log=lambda *a: None).history
    np.testing.assert_array_equal(resumed["train_loss"], full["train_loss"])
    np.testing.assert_array_equal(resumed["eval_val"], full["eval_val"])


def test_training_writes_a_checkpoint_and_a_loss_curve(corpus, tmp_path):
    result = tiny_run(corpus, tmp_path / "run")
    assert result.checkpoint.is_file()
    assert (tmp_path / "run" / "loss.png").is_file()


def test_a_checkpoint_reloads_to_the_same_model_and_tokenizer(corpus, tmp_path):
    result = tiny_run(corpus, tmp_path / "run")
    model, tokenizer = load_pretrained(result.checkpoint)
    x = np.asarray([tokenizer.encode("Speak, sp")[:8]])
    np.testing.assert_allclose(model(x)[0].numpy(), result.model(x)[0].numpy(), atol=1e-6)


def test_generation_with_a_seed_is_repeatable_and_has_the_asked_length(corpus, tmp_path):
    result = tiny_run(corpus, tmp_path / "run")
    prompt = result.tokenizer.encode("All:")
    a = generate(result.model, prompt, max_new_tokens=20, temperature=0.8, top_k=5, seed=1)
    b = generate(result.model, prompt, max_new_tokens=20, temperature=0.8, top_k=5, seed=1)
    assert a == b
    assert len(a) == len(prompt) + 20
    assert a[: len(prompt)] == prompt


def test_generation_stops_at_the_stop_token(corpus, tmp_path):
    result = tiny_run(corpus, tmp_path / "run")
    ids = generate(result.model, [0], max_new_tokens=50, temperature=0, stop_id=None)
    stop = ids[3]
    assert generate(result.model, [0], max_new_tokens=50, temperature=0, stop_id=stop)[-1] == stop


def test_top_k_one_is_greedy():
    logits = np.array([0.1, 3.0, 2.0])
    rng = np.random.default_rng(0)
    assert {sample_next(logits, 1.0, 1, rng) for _ in range(20)} == {1}


def test_temperature_zero_is_argmax():
    assert sample_next(np.array([0.1, 3.0, 2.0]), 0.0, None, None) == 1


def test_cli_pretrain_runs_and_prints_a_sample(corpus, tmp_path, capsys):
    code = main(["pretrain", "--config", "tiny", "--iters", "4", "--data", str(corpus), "--out", str(tmp_path / "cli"),
                 "--eval-iters", "1", "--no-progress", "--sample-tokens", "10"])
    out = capsys.readouterr().out
    assert code == 0
    assert "a sample" in out
    assert "val loss" in out


def test_cli_generate_from_a_checkpoint(corpus, tmp_path, capsys):
    result = tiny_run(corpus, tmp_path / "run")
    assert main(["generate", "--checkpoint", str(result.checkpoint), "--prompt", "All", "--max-tokens", "5"]) == 0
    assert capsys.readouterr().out.startswith("All")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pretrain", "--bogus"], "unrecognized arguments: --bogus"),
        (["pretrain", "--config", "huge"], "unknown --config 'huge'"),
        (["pretrain", "--tokenizer", "word"], "unknown --tokenizer 'word'; choose one of char, bpe"),
        (["pretrain", "--iters", "many"], "invalid int value: 'many'"),
        (["pretrain", "--data", "/no/such/file.txt", "--no-progress"], "/no/such/file.txt"),
        (["generate", "--checkpoint", "/no/such.npz"], "/no/such.npz does not exist"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_cli_mistakes_end_in_one_clear_line(argv, message, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_resuming_from_exported_weights_says_they_cannot_be_resumed(corpus, tmp_path):
    from tinygrad_ft.nn.checkpoint import CheckpointError, export_weights

    run = tiny_run(corpus, tmp_path / "run")
    exported = export_weights(run.checkpoint, tmp_path / "weights.npz")
    with pytest.raises(CheckpointError, match="weights.npz holds no optimizer state"):
        pretrain(None, TrainConfig(max_iters=8, data_path=str(corpus), out_dir=str(tmp_path / "again"), progress=False),
                 resume=str(exported), log=lambda *a: None)


def test_cli_asking_for_cuda_without_a_gpu_says_how_to_install(capsys, monkeypatch):
    from tinygrad_ft.backend import BACKENDS, FACTORIES, DeviceError

    class NoCuda:
        def __init__(self, seed=0):
            raise DeviceError("device 'cuda' needs CuPy, which is not installed: pip install 'tinygrad-ft[gpu]'")

    monkeypatch.setitem(FACTORIES, "cuda", NoCuda)
    monkeypatch.delitem(BACKENDS, "cuda", raising=False)
    assert main(["generate", "--device", "cuda"]) != 0
    assert "pip install 'tinygrad-ft[gpu]'" in capsys.readouterr().err
