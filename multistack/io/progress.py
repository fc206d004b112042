"""What ``start`` shows while compose waits: one line per compose service, with seconds elapsed.

On a terminal a live table (rich, imported only here, only then); piped, one plain
line each time a service changes state, so a log or CI output reads top to bottom.
The states come from one ``docker ps`` of the project per tick (io.status parses it),
never a query per service.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable, Mapping, Protocol, TextIO

#: A service's state words, in the order a start goes through them.
WAITING, CREATED, STARTING, RUNNING, HEALTHY, UNHEALTHY, EXITED = (
    "waiting", "created", "starting", "running", "healthy", "unhealthy", "exited")
#: States in which a service counts as up for ``up --wait``.
UP = (RUNNING, HEALTHY)


def service_state(row: Mapping[str, str] | None) -> str:
    """One container row of ``docker ps`` (io.status.parse_containers) as a state word."""
    if row is None:
        return WAITING
    state = row.get("state", "")
    status = row.get("status", "")
    if state == "running":
        if "(healthy)" in status:
            return HEALTHY
        if "(unhealthy)" in status:
            return UNHEALTHY
        if "(health: starting)" in status:
            return STARTING
        return RUNNING
    if state in ("exited", "dead"):
        return EXITED
    if state in ("created", "restarting"):
        return CREATED if state == "created" else STARTING
    return state or WAITING


def service_states(services: Iterable[str], rows: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Every declared service's state (no container yet: waiting), plus any other container of the project."""
    by_service: dict[str, Mapping[str, str]] = {}
    for row in rows:
        by_service.setdefault(row.get("service", ""), row)
    states = {name: service_state(by_service.get(name)) for name in services}
    for name, row in by_service.items():
        if name and name not in states:
            states[name] = service_state(row)
    return states


class View(Protocol):
    def update(self, states: Mapping[str, str], elapsed: float) -> None: ...

    def close(self) -> None: ...


class PlainView:
    """A line per change: ``  [  3s] db: healthy``."""

    def __init__(self, out: TextIO, title: str) -> None:
        self.out = out
        self.seen: dict[str, str] = {}
        print(title, file=out, flush=True)

    def update(self, states: Mapping[str, str], elapsed: float) -> None:
        for name, state in states.items():
            if self.seen.get(name) != state:
                self.seen[name] = state
                print(f"  [{elapsed:4.0f}s] {name}: {state}", file=self.out, flush=True)

    def close(self) -> None:
        pass


class LiveView:
    """A rich table redrawn in place: service, state, seconds since it got there."""

    STYLE = {HEALTHY: "green", RUNNING: "green", UNHEALTHY: "red", EXITED: "red", STARTING: "yellow"}

    def __init__(self, out: TextIO, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.title = title
        self.since: dict[str, tuple[str, float]] = {}
        self.live = Live(self._table({}, 0.0), console=Console(file=out), refresh_per_second=4, transient=False)
        self.live.start()

    def _table(self, states: Mapping[str, str], elapsed: float) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None)
        for column in ("service", "state", "for"):
            table.add_column(column)
        for name, state in states.items():
            table.add_row(name, f"[{self.STYLE.get(state, 'dim')}]{state}[/]",
                          f"{elapsed - self.since[name][1]:.0f}s")
        return Group(Text(f"{self.title} ({elapsed:.0f}s)"), table)

    def update(self, states: Mapping[str, str], elapsed: float) -> None:
        for name, state in states.items():
            if self.since.get(name, ("", 0.0))[0] != state:
                self.since[name] = (state, elapsed)
        self.live.update(self._table(states, elapsed))

    def close(self) -> None:
        self.live.stop()


def view_for(out: TextIO | None, title: str) -> View:
    """Live on a terminal, plain lines otherwise (a pipe, a file, the [N] prefixes of a fan-out)."""
    stream = out or sys.stdout
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return LiveView(stream, title)
    return PlainView(stream, title)
