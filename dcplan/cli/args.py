"""Argument parsing shared by every subcommand: one-line usage errors, numbers people write.

Kept apart from :mod:`dcplan.cli.main` (which imports the subcommands) so that subcommand
modules never import main: no import circle.
"""

from __future__ import annotations

import argparse

from dcplan.errors import InputError
from dcplan.units import parse_quantity


class UsageError(InputError):
    """A command-line usage problem (argparse)."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError("", f"{self.prog}: {message} (see {self.prog} --help)")


def quantity(text: str) -> float:
    """argparse type for numbers written 70e9, 70B, 15T, 1.5M."""
    try:
        return parse_quantity(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def whole(text: str) -> int:
    """argparse type for whole numbers (also 4K, 16384, 1e3)."""
    value = quantity(text)
    if value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)
