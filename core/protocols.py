"""What a window needs of an engine host, as small Protocols; `LocalEngine` hosts it in-process.

The window's bridge and run controller are written against these, not against
`SoftwareCenter`: a test passes any object with the same members, and the agent can
later serve the same Protocol over a socket.

    RunSource     what showing a run's steps needs: the open catalog (the task sequence's
                  tree) and the data folder (the saved run state, for a run the window
                  did not watch)
    EngineHost    RunSource, plus the detected connection, the admin's restart command,
                  a deployment's verdict, and starting or resuming a run that reports
                  to an `EventSink`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .catalog import Catalog
    from .center import SoftwareCenter
    from .eligibility import ConnectionType, Verdict
    from .events import EventSink, RunResult

__all__ = ["EngineHost", "LocalEngine", "RunSource"]


class RunSource(Protocol):
    """What a view of a run's steps reads."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def catalog(self) -> Catalog | None: ...


class EngineHost(RunSource, Protocol):
    """What the window needs to start, watch and resume runs."""

    @property
    def connection(self) -> ConnectionType | None: ...

    @property
    def restart_command(self) -> Sequence[str] | None:
        """The admin's restart command; None: the run resumes after a countdown instead."""
        ...

    def verdict(self, deployment_id: str) -> Verdict: ...

    async def run(self, deployment_id: str, on_event: EventSink,
                  variables: Mapping[str, str] | None = None) -> RunResult:
        """Start a deployment; raises `RunError` (its `code` says why) when it cannot start."""
        ...

    async def resume(self, on_event: EventSink) -> RunResult:
        """Continue the saved run; raises `RunError` (`no_run`, ...) when it cannot."""
        ...


class LocalEngine:
    """`EngineHost` for an open `SoftwareCenter` in this process (each run: a TaskSequenceRunner)."""

    def __init__(self, center: SoftwareCenter) -> None:
        self.center = center

    @property
    def data_dir(self) -> Path:
        return self.center.data_dir

    @property
    def catalog(self) -> Catalog | None:
        return self.center.catalog

    @property
    def connection(self) -> ConnectionType | None:
        return self.center.connection

    @property
    def restart_command(self) -> Sequence[str] | None:
        return self.center.options.restart_command

    def verdict(self, deployment_id: str) -> Verdict:
        return self.center.verdict(deployment_id)

    async def run(self, deployment_id: str, on_event: EventSink,
                  variables: Mapping[str, str] | None = None) -> RunResult:
        from .engine import TaskSequenceRunner  # the engine loads when a run starts

        return await TaskSequenceRunner(self.center, on_event).run(deployment_id, variables=variables)

    async def resume(self, on_event: EventSink) -> RunResult:
        from .engine import TaskSequenceRunner

        return await TaskSequenceRunner(self.center, on_event).resume()
