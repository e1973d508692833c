"""The small dispatcher shared by both command-line entry points.

Commands are registered by name with the function that implements them, so ``--help``
and every command import only what they need. A command is ``run(argv: list[str]) -> int
| None`` of its module, or ``module:function`` for a module holding several commands; it
builds its parser with :func:`parser`.

User mistakes raise :class:`UserError`; library code raises the domain's errors
(:mod:`bunjang_lab.errors`). Both, and a missing or unreadable file, are printed as one
line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NamedTuple, Sequence

from bunjang_lab.errors import BunjangError

EXIT_USAGE = 2


class UserError(BunjangError):
    """A mistake in how a command was called: a bad or missing argument."""


class Command(NamedTuple):  # not a dataclass: importing dataclasses costs serving commands 10 ms
    name: str
    target: str  # "package.module" (its run function) or "package.module:function"
    help: str


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print the whole usage block
        raise UserError(f"{message} (see {self.prog} --help)")

    def _get_formatter(self):  # the width told: argparse imports shutil to find it, 4 ms of `score text`
        return self.formatter_class(prog=self.prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size finds it ($COLUMNS, the terminal, 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
        if columns > 0:
            return columns
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose errors become one-line :class:`UserError`."""
    return _Parser(prog=prog, description=description)


def _usage(prog: str, description: str, commands: Sequence[Command]) -> str:
    width = max(len(c.name) for c in commands)
    lines = [f"usage: {prog} <command> [options]", "", description, "", "commands:"]
    lines += [f"  {c.name:<{width}}  {c.help}" for c in commands]
    lines += ["", f"Run '{prog} <command> --help' for a command's options; '{prog} --version' names the installed version."]
    return "\n".join(lines)


def main(prog: str, description: str, commands: Sequence[Command], argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(prog, description, commands))
        return 0 if argv else EXIT_USAGE
    if argv[0] in ("-V", "--version"):
        from bunjang_lab import __version__

        print(f"bunjang_lab {__version__}")
        return 0
    by_name = {c.name: c for c in commands}
    command = by_name.get(argv[0])
    if command is None:
        print(f"{prog}: error: unknown command {argv[0]!r}; known: {', '.join(by_name)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        module, _, function = command.target.partition(":")
        run = getattr(importlib.import_module(module), function or "run")
        return int(run(argv[1:]) or 0)
    except BunjangError as exc:
        print(f"{prog} {command.name}: error: {exc}", file=sys.stderr)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prog} {command.name}: error: {exc.strerror or exc}{where}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog} {command.name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    return EXIT_USAGE
