"""How a stage refuses: one line on stderr, never a traceback, for the errors a user can fix.

Every ``stages/<x>.py`` ends in ``run_stage(main)``. The project's own errors (a bad data file,
bad params, a refused label version, any ``ValueError`` raised by ``ilr`` or ``stages`` code),
model-loading errors and OS errors (a missing file, a full disk) become one line naming the file
and line or the params key, what was expected and the fix, and exit status 1; a usage error
(a missing argument) is one line too, with exit status 2. Anything else is a bug and keeps its
traceback. ``ILR_DEBUG=1`` shows the traceback for every error.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Callable

EXIT_REFUSED = 1
EXIT_USAGE = 2
PROJECT_FOLDERS = tuple(str(Path(__file__).resolve().parents[2] / name) + os.sep
                        for name in ("ilr", "stages"))


class ModelLoadError(ValueError):
    """A model that cannot be loaded; the message names the setting, what is missing and the fix."""


class UsageError(ValueError):
    """Command-line arguments a stage cannot run with."""


def raised_in_project(error: BaseException) -> bool:
    """Whether ``error`` was raised by the project's own code (its innermost frame)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(
        PROJECT_FOLDERS)


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is one a user fixes (printed as one line) rather than a bug."""
    if isinstance(error, OSError) or (isinstance(error, ValueError)
                                      and type(error).__module__.startswith("ilr.")):
        return True  # DataFileError, ParamsError, QualityGateError, ModelLoadError, UsageError
    return isinstance(error, ValueError) and raised_in_project(error)


def one_line(error: BaseException) -> str:
    """The error's message on one line: a multi-line message's lines joined by '; '."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0]
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    if isinstance(error, OSError) and not isinstance(error, ModelLoadError):
        text += "; check the path, its permissions and the free disk space"
    return text


@contextlib.contextmanager
def usage_errors_raise(stage: str):
    """While a stage parses its arguments, ``parser.error`` raises :class:`UsageError`
    instead of printing the usage block and exiting."""
    def error(parser, message):
        raise UsageError(f"{message}; see `python -m stages.{stage} --help`")

    original = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = error
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original


def run_stage(main: Callable, argv: list[str] | None = None) -> None:
    """Run a stage's ``main(argv)``; a refusal prints one line to stderr and exits non-zero."""
    name = Path(main.__code__.co_filename).stem
    try:
        with usage_errors_raise(name):
            main(argv)
    except Exception as error:  # sorted below: refusals become one line, bugs keep a traceback
        if os.environ.get("ILR_DEBUG", "") not in ("", "0") or not is_refusal(error):
            raise
        print(f"{name}: error: {one_line(error)}", file=sys.stderr)
        sys.exit(EXIT_USAGE if isinstance(error, UsageError) else EXIT_REFUSED)
