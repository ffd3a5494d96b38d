"""The lessons' fast mode: TINYGRAD_FT_FAST picks the smaller budgets."""

import pytest

from tinygrad_ft.course import ENV_VAR, budget, fast_mode, mode_name


@pytest.mark.parametrize("value", ["1", "yes", "true", "fast"])
def test_fast_mode_is_on_for_a_set_variable(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert fast_mode()
    assert budget(full=2000, fast=20) == 20
    assert mode_name() == "fast"


@pytest.mark.parametrize("value", [None, "", "0", "false", "No"])
def test_full_mode_is_the_default_and_zero_turns_fast_mode_off(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, value)
    assert not fast_mode()
    assert budget(full=2000, fast=20) == 2000
    assert mode_name() == "full"


def test_the_lessons_conftest_turns_fast_mode_on_unless_told_otherwise():
    from pathlib import Path

    conftest = Path(__file__).resolve().parents[1] / "lessons" / "conftest.py"
    assert f'os.environ.setdefault("{ENV_VAR}", "1")' in conftest.read_text()
