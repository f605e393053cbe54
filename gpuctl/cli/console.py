"""The one way commands make a rich Console: on a terminal it follows the terminal's width;
in a pipe or a CI log (where rich would assume 80 columns and wrap every table) it uses a
wide fixed width so tables stay one line per row."""

from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 140


def make_console(*, stderr: bool = False) -> Console:
    """A Console for stdout (or stderr) sized for where the output goes."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)
