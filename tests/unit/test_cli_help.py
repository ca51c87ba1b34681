"""Every `zizhu` command and sub-command answers --help, found by walking the click tree: a new command is covered
without touching this test."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from service.cli import main

Path = tuple[str, ...]


def command_paths(command: click.Command, path: Path = ()) -> Iterator[tuple[Path, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


COMMANDS = list(command_paths(main))


def test_the_walk_finds_the_commands_and_their_sub_commands():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "serve", "worker", "db", "db upgrade", "import contracts", "receipts export"} <= paths


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "zizhu" for p, _ in COMMANDS])
def test_every_command_has_help(path, command):
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="zizhu")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('zizhu', *path))} ")
    summary = command.get_short_help_str(limit=1000)
    assert summary, f"`zizhu {' '.join(path)}` has no help text"
    assert " ".join(summary.split()[:4]) in " ".join(result.output.split())
