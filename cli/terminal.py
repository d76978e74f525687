"""Human terminal output of the CLI (rich): the catalog listing, sizes in words."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

import core as ev
from core import Event, format_exit_code

__all__ = ["TerminalView", "format_bytes", "print_listing"]


def format_bytes(n: int) -> str:
    """1536 -> '1.5 KB' (binary multiples, short English units)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError


def print_listing(organization: str, connection: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """The listing as a table; `rows` as `Listing.as_row()` gives them (the agent's rows)."""
    console = Console()
    table = Table(title=f"{organization} — Operating Systems ({connection} connection)")
    table.add_column("ID", no_wrap=True)
    table.add_column("Name")
    table.add_column("Purpose")
    table.add_column("Status")
    table.add_column("Download", justify="right", no_wrap=True)
    for row in rows:
        purpose = str(row.get("purpose", "")).capitalize()
        if row.get("deadline"):
            deadline = datetime.fromisoformat(str(row["deadline"]))
            purpose += f" (deadline {deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
        status = "[green]Available[/]" if row.get("eligible") else f"[red]Refused:[/] {row.get('message')}"
        table.add_row(str(row.get("id")), str(row.get("name")), purpose, status,
                      format_bytes(int(row.get("download_bytes") or 0)))
    console.print(table)


class TerminalView:
    """Consumes engine events and draws steps, download bars and the result on a terminal.

    One rich `Progress` (rich allows one live display) holds a bar per download and one
    for the running step's own progress; finished things are printed above it.
    """

    def __init__(self, console: Console | None = None) -> None:
        # Not a terminal (a pipe, a file): whole lines, never wrapped at 80 columns.
        self.console = console or Console(soft_wrap=not sys.stdout.isatty())
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            console=self.console,
            transient=True,
        )
        self._downloads: dict[str, TaskID] = {}
        self._step_task: TaskID | None = None

    def __call__(self, event: Event) -> None:  # the EventSink
        c = self.console
        if isinstance(event, ev.RunRefused):
            c.print(f"[red]Refused[/] ({event.reason}): {escape(event.message)}")
        elif isinstance(event, ev.RunStarted):
            self._progress.start()
            verb = "Resuming" if event.resumed else "Running"
            c.print(f"[bold]{verb}: {escape(event.name)}[/] ({event.deployment}, {event.connection} connection)")
        elif isinstance(event, ev.StepStarted):
            self._drop_step_bar()
            c.print(f"Step {event.index} of {event.total}: {escape(event.name)}")
        elif isinstance(event, ev.StepSkipped):
            c.print(f"  [dim]skipped {escape(event.name)} ({event.why})[/]")
        elif isinstance(event, ev.StepProgressed):
            if self._step_task is None:
                self._step_task = self._progress.add_task("", total=100, detail="")
            self._progress.update(
                self._step_task, completed=event.percent, description=f"  {escape(event.text)}",
                detail=f"{event.percent:3.0f}%",
            )
        elif isinstance(event, ev.StepFinished):
            self._drop_step_bar()
            mark = "[green]✓[/]" if event.status == "succeeded" else "[red]✗[/]"
            extra = f" — {escape(event.error)}" if event.error else ""
            code = f" (exit code {format_exit_code(event.exit_code)})" if event.exit_code is not None else ""
            c.print(f"  {mark} {escape(event.name)}{code}{extra}")
        elif isinstance(event, ev.DownloadStarted):
            self._downloads[event.package] = self._progress.add_task(
                f"  Downloading {event.package}", total=max(event.total_bytes, 1),
                completed=event.cached_bytes, detail=format_bytes(event.cached_bytes),
            )
        elif isinstance(event, ev.DownloadProgressed):
            task = self._downloads.get(event.package)
            if task is not None:
                detail = f"{format_bytes(event.bytes)} of {format_bytes(event.total_bytes)}"
                if event.rate_bps:
                    detail += f" · {format_bytes(int(event.rate_bps))}/s"
                if event.eta_s is not None:
                    detail += f" · {int(event.eta_s) // 60}:{int(event.eta_s) % 60:02d} left"
                self._progress.update(task, completed=event.bytes, detail=detail)
        elif isinstance(event, ev.DownloadFinished | ev.DownloadFailed):
            task = self._downloads.pop(event.package, None)
            if task is not None:
                self._progress.remove_task(task)
            if isinstance(event, ev.DownloadFinished):
                c.print(f"  {event.package}: {format_bytes(event.bytes_transferred)} downloaded, verified")
            else:
                c.print(f"  [red]{event.package}: download failed[/] — {escape(event.error)}")
        elif isinstance(event, ev.RestartPending):
            c.print(f"[yellow]Restart pending[/] after '{escape(event.after_step)}'. "
                    "Run `software-center resume` to continue.")
        elif isinstance(event, ev.RunFinished):
            self._drop_step_bar()
            self._progress.stop()
            if event.status == "succeeded":
                c.print("[bold green]The task sequence completed successfully.[/]")
            elif event.status == "failed":
                code = f" ({format_exit_code(event.error_code)})" if event.error_code is not None else ""
                c.print(f"[bold red]The task sequence failed{code}:[/] {escape(event.error or '')}")
            elif event.status == "cancelled":
                c.print("[yellow]Cancelled.[/] Run `software-center resume` to continue.")

    def _drop_step_bar(self) -> None:
        if self._step_task is not None:
            self._progress.remove_task(self._step_task)
            self._step_task = None
