"""How the demo talks: step headings, lines, tables, and a live view that redraws on a
terminal. When stdout is not a terminal (CI logs, pipes) everything is plain text without
colours or redraws: a live view prints each change as its own line, then its final table."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

PLAIN_WIDTH = 120


class LiveView(Protocol):
    """A table being redrawn while something runs, plus lines for events along the way."""

    def update(self, rows: Sequence[Sequence[str]]) -> None: ...

    def event(self, text: str) -> None: ...


def make_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


class Narrator:
    """Writes the tour to stdout; `interactive` (a terminal) adds colour and live redraws."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        if self.interactive:
            self.console = Console(highlight=False)
        else:
            self.console = Console(no_color=True, force_terminal=False, highlight=False,
                                   width=PLAIN_WIDTH, soft_wrap=True)
        self._steps = 0

    def step(self, title: str) -> None:
        self._steps += 1
        self.console.print()
        self.console.print(f"[bold cyan]== {self._steps}. {title}[/bold cyan]")

    def say(self, text: str) -> None:
        self.console.print(text)

    def ok(self, text: str) -> None:
        self.console.print(f"[green]ok[/green] {text}")

    def fail(self, text: str) -> None:
        Console(stderr=True, no_color=not self.interactive, highlight=False, soft_wrap=True).print(
            f"[bold red]gpuctl demo: FAILED[/bold red] {text}"
        )

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.console.print(make_table(title, columns, rows))

    @contextmanager
    def live(self, title: str, columns: Sequence[str]) -> Iterator[LiveView]:
        """A live table; on a terminal redrawn in place, otherwise printed once at the end."""
        view: _TerminalLive | _PlainLive
        if self.interactive:
            view = _TerminalLive(self.console, title, columns)
        else:
            view = _PlainLive(self, title, columns)
        with view.running():
            yield view


class _TerminalLive:
    def __init__(self, console: Console, title: str, columns: Sequence[str]) -> None:
        self._console = console
        self._title = title
        self._columns = list(columns)
        self._live = Live(make_table(title, columns, []), console=console, refresh_per_second=10,
                          transient=False)

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._live:
            yield

    def update(self, rows: Sequence[Sequence[str]]) -> None:
        self._live.update(make_table(self._title, self._columns, rows))

    def event(self, text: str) -> None:
        self._live.console.print(text)


class _PlainLive:
    def __init__(self, narrator: Narrator, title: str, columns: Sequence[str]) -> None:
        self._narrator = narrator
        self._title = title
        self._columns = list(columns)
        self._rows: list[Sequence[str]] = []

    @contextmanager
    def running(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self._rows:
                self._narrator.table(self._title, self._columns, self._rows)

    def update(self, rows: Sequence[Sequence[str]]) -> None:
        self._rows = list(rows)

    def event(self, text: str) -> None:
        self._narrator.say(text)
