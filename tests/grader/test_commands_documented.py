"""Every ``grader`` subcommand is in the README and its help, and none is a stub."""

from __future__ import annotations

import pytest

from grader import cli, pristine

README = (pristine.default_root() / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_is_in_the_readme_and_loads(command, capsys):
    assert f"grader {command}" in README, f"the README never shows `grader {command}`"
    parser, module = cli._parser(command)
    assert module is not None, f"grader {command} has no module {cli.COMMANDS[command][0]}"
    assert callable(module.run) and callable(module.add_arguments)
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    assert cli.COMMANDS[command][1] in " ".join(capsys.readouterr().out.split())
