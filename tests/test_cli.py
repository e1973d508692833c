import subprocess
import sys

import pytest

from bunjang_lab import __main__ as pipeline_cli
from bunjang_lab import score as serving_cli
from bunjang_lab.cli import main


@pytest.mark.parametrize("module, commands", [("bunjang_lab", pipeline_cli.COMMANDS), ("bunjang_lab.score", serving_cli.COMMANDS)])
def test_help_lists_every_command_with_one_line(module, commands):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True).stdout
    for command in commands:
        assert any(line.split()[:1] == [command.name] and command.help in line for line in out.splitlines())


def test_unknown_command_is_one_line_error(capsys):
    assert main("prog", "d", pipeline_cli.COMMANDS, ["nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown command 'nope'" in err


def test_every_registered_command_exists():
    import importlib

    for command in pipeline_cli.COMMANDS + serving_cli.COMMANDS:
        module, _, function = command.target.partition(":")
        assert callable(getattr(importlib.import_module(module), function or "run")), command.target


@pytest.mark.parametrize("module", ["bunjang_lab", "bunjang_lab.score"])
def test_version_names_the_installed_release(module):
    import tomllib
    from pathlib import Path

    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["version"]
    proc = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == f"bunjang_lab {declared}\n"
