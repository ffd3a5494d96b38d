"""The command line is built from the config dataclasses: one default, one help text, per flag."""

import dataclasses
import subprocess
import sys

import pytest

from tinygrad_ft import paths
from tinygrad_ft.cli import build_parser, main
from tinygrad_ft.finetune.classification import FinetuneConfig
from tinygrad_ft.models.generate import GenerateConfig
from tinygrad_ft.options import flag_of
from tinygrad_ft.training.pretrain import TrainConfig

COMMANDS = [("pretrain", TrainConfig), ("generate", GenerateConfig), ("finetune", FinetuneConfig)]
FIELDS = [(command, config, f) for command, config in COMMANDS for f in dataclasses.fields(config)]


def subparser(command):
    return build_parser().commands[command]


@pytest.mark.parametrize("command, config, field", FIELDS, ids=lambda v: getattr(v, "name", str(v)))
def test_every_config_field_is_a_flag_with_the_configs_default(command, config, field):
    args = subparser(command).parse_args([])
    assert getattr(args, field.name) == field.default


@pytest.mark.parametrize("command, config, field", FIELDS, ids=lambda v: getattr(v, "name", str(v)))
def test_every_flag_has_a_help_text(command, config, field):
    action = next(a for a in subparser(command)._actions if a.dest == field.name)
    assert action.help


def test_help_shows_the_default_number_of_epochs():
    assert "(default: 3)" in subparser("finetune").format_help().replace("\n", " ").replace("  ", " ")


def test_the_flag_of_a_field_is_its_name_with_dashes():
    assert flag_of(FinetuneConfig, "batch_size") == "--batch-size"


def test_a_renamed_flag_is_the_one_named_in_errors():
    with pytest.raises(ValueError, match=r"max_iters \(--iters\) must be at least 1"):
        TrainConfig(max_iters=0)


def test_a_true_boolean_is_switched_off_by_its_no_flag():
    assert subparser("pretrain").parse_args(["--no-progress"]).progress is False


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("tinygrad-ft ")


def test_an_out_of_range_value_is_a_usage_error_naming_the_flag(capsys):
    assert main(["generate", "--max-tokens", "-5"]) == 2
    assert "--max-tokens" in capsys.readouterr().err


def test_the_data_folder_can_be_moved_with_an_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    assert paths.data_path(paths.SHAKESPEARE) == tmp_path / paths.SHAKESPEARE


def test_a_missing_data_folder_names_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=paths.ENV_VAR):
        paths.data_dir()


def test_the_cli_module_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "tinygrad_ft.cli", "--help"], capture_output=True, text=True)
    assert "pretrain" in result.stdout
