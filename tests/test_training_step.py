"""The one training step (training.step), the progress helper, and the loops built on them."""

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft import nn
from tinygrad_ft.optim import SGD, WarmupCosine, warmup_cosine_lr
from tinygrad_ft.training import Progress, TrainConfig, make_optimizer, train_step


def square_loss(model, x, y):
    diff = model(tg.Tensor(x)) - tg.Tensor(y)
    return (diff * diff).mean()


def tiny_linear():
    tg.manual_seed(0)
    return nn.Linear(3, 1)


BATCH = (np.ones((4, 3), dtype=np.float32), np.zeros((4, 1), dtype=np.float32))


def test_a_step_returns_the_loss_before_the_update():
    model = tiny_linear()
    before = float(square_loss(model, *BATCH).data)
    loss = train_step(model, BATCH, square_loss, SGD(model.parameters(), lr=0.1))
    assert float(loss.data) == pytest.approx(before)


def test_a_step_moves_the_weights_by_lr_times_the_gradient():
    model = tiny_linear()
    x, y = BATCH
    weight, bias = model.weight.numpy(), model.bias.numpy()
    d_weight = 2 * x.T @ (x @ weight + bias - y) / len(x)  # d mean((xW + b - y)²) / dW
    train_step(model, BATCH, square_loss, SGD(model.parameters(), lr=0.1))
    np.testing.assert_allclose(model.weight.numpy(), weight - 0.1 * d_weight, rtol=1e-5)


def test_gradients_do_not_pile_up_across_steps():
    model, other = tiny_linear(), tiny_linear()
    optimizer, other_optimizer = SGD(model.parameters(), lr=0.0), SGD(other.parameters(), lr=0.0)
    train_step(model, BATCH, square_loss, optimizer)
    train_step(model, BATCH, square_loss, optimizer)
    train_step(other, BATCH, square_loss, other_optimizer)
    np.testing.assert_array_equal(model.weight.grad, other.weight.grad)


def test_grad_clip_limits_the_global_gradient_norm():
    model = tiny_linear()
    train_step(model, (BATCH[0] * 100, BATCH[1]), square_loss, SGD(model.parameters(), lr=0.0), grad_clip=0.5)
    norm = np.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in model.parameters()))
    assert norm == pytest.approx(0.5, rel=1e-5)


def test_the_scheduler_moves_to_the_next_steps_learning_rate():
    model = tiny_linear()
    optimizer = SGD(model.parameters(), lr=1.0)
    scheduler = WarmupCosine(optimizer, warmup_steps=4, total_steps=10)
    train_step(model, BATCH, square_loss, optimizer, scheduler)
    assert optimizer.param_groups[0]["lr"] == warmup_cosine_lr(1, 1.0, 4, 10)


def test_pretraining_schedules_its_learning_rate_with_warmup_cosine():
    model = tiny_linear()
    config = TrainConfig(max_iters=50, lr=2e-3, progress=False)
    _, scheduler = make_optimizer(model, config)
    assert isinstance(scheduler, WarmupCosine)


def test_the_training_config_derives_warmup_and_final_learning_rate():
    config = TrainConfig(max_iters=300, lr=3e-3)
    assert (config.warmup_iters, config.min_lr) == (30, pytest.approx(3e-4))


def test_eval_interval_is_at_most_the_number_of_steps():
    assert TrainConfig(max_iters=40, eval_interval=250).eval_interval == 40


def test_a_learning_rate_that_is_not_a_positive_number_names_the_flag():
    with pytest.raises(ValueError, match=r"lr \(--lr\) must be a positive number, got nan"):
        TrainConfig(lr=float("nan"))


def test_progress_without_a_bar_still_writes_log_lines():
    lines = []
    Progress(10, "test", enabled=False, log=lines.append).write("step 5: val loss 1.0")
    assert lines == ["step 5: val loss 1.0"]


def test_progress_without_a_bar_ignores_updates():
    progress = Progress(10, "test", enabled=False, log=lambda line: None)
    progress.update(3, loss="1.0")
    assert progress.bar is None
