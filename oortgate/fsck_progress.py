"""The progress bar of ``oortgate fsck`` on a terminal: rich, with an ETA, on stderr
(imported only when stderr is a terminal). Problems are printed above it."""

from __future__ import annotations

import sys

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _AmountColumn(ProgressColumn):
    """Done and total: "12.3/45.6 MB" for bytes, "120/4,000 objects" for counts."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if unit == "bytes":
            done = filesize.decimal(int(task.completed))
            total = "?" if task.total is None else filesize.decimal(int(task.total))
            return Text(f"{done}/{total}")
        total = "" if task.total is None else f"/{int(task.total):,}"
        return Text(f"{int(task.completed):,}{total} {unit}")


class TerminalProgress:
    """A rich progress bar with ETA on stderr, one task per phase."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                             TaskProgressColumn(), _AmountColumn(), TimeElapsedColumn(),
                             TimeRemainingColumn(), console=console, transient=False,
                             redirect_stdout=False, redirect_stderr=False)  # fmt: skip
        self._task: TaskID | None = None
        self._stdout_is_terminal = sys.stdout.isatty()

    def __enter__(self) -> TerminalProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_task()
        self._bar.stop()

    def phase(self, name: str, total: int | None, unit: str) -> None:
        self._finish_task()
        self._task = self._bar.add_task(name, total=total, unit=unit)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)

    def say(self, line: str) -> None:
        if self._stdout_is_terminal:  # above the bar, not through it
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, flush=True)

    def _finish_task(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[-1]
            self._bar.update(self._task, total=task.completed)  # a count known only now
            self._task = None
