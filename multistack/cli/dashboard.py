"""The terminal view of ``inv dev.watch``: a Textual app over :mod:`multistack.act.dashboard`.

Imported only by ``dev.watch`` on a terminal (Textual is the heaviest import multistack has).
The app draws; it never asks the machine itself: a thread worker calls ``source.tick()``
(one ``docker ps`` per engine, one ``pm2 jlist``) every interval, and each key's action
runs in a thread worker of its own (``source.run``: the CLI as a child process), so a
slow ``start`` never freezes the screen and the table keeps refreshing meanwhile.
"""
from __future__ import annotations

import time
from typing import Protocol

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, RichLog, Static

from multistack.act.dashboard import Done, Row, Snapshot, action_words, label, render_detail, why_not
from multistack.plan.masking import mask_text

#: What a key press shows in the status column until the next tick after the action.
PENDING = {"start": "starting…", "stop": "stopping…", "restart": "restarting…", "logs": "reading logs…"}
COLUMNS = (("what", "what"), ("status", "status"), ("summary", "summary"), ("url", "url"))


class Source(Protocol):
    """What the app polls and acts through (act/dashboard.py's ``Watch``; a fixture in tests)."""

    def tick(self) -> Snapshot: ...

    def run(self, row: Row, action: str) -> Done: ...


class Dashboard(App[None]):
    """Every instance, the mesh and the systems: a table, the selected row's detail, a message log."""

    TITLE = "multistack"
    CSS = """
    #head { height: 1; background: $boost; }
    #rows { height: 1fr; }
    #detail { height: auto; max-height: 14; border-top: solid $accent; }
    #log { height: 8; border-top: solid $accent; }
    """
    BINDINGS = [
        Binding("s", "act('start')", "start"),
        Binding("x", "act('stop')", "stop"),
        Binding("r", "act('restart')", "restart"),
        Binding("l", "act('logs')", "logs"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, source: Source, interval: float = 1.5) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.snapshot: Snapshot | None = None
        self.pending: dict[str, str] = {}  # row key -> the action running on it
        self._polling = False
        self._shown: dict[str, tuple[str, ...]] = {}  # row key -> its cells, as drawn

    def compose(self) -> ComposeResult:
        yield Static("reading the engines…", id="head")
        yield DataTable(id="rows", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield RichLog(id="log", max_lines=500, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#rows", DataTable)
        for heading, key in COLUMNS:
            table.add_column(heading, key=key)
        table.focus()
        self.poll()
        self.set_interval(self.interval, self.poll)

    # --- ticks ------------------------------------------------------------------
    def poll(self) -> None:
        """One tick in a thread; skipped while the previous one still runs (the engine is slow)."""
        if self._polling:
            return
        self._polling = True
        self.run_worker(self._fetch, thread=True, group="poll", exit_on_error=False)

    def _fetch(self) -> None:
        try:
            snapshot = self.source.tick()
        except Exception as exc:  # a tick that fails is said, and the next one tries again
            self.call_from_thread(self.say, f"refresh failed: {exc}")
            snapshot = None
        finally:
            self._polling = False
        if snapshot is not None:
            self.call_from_thread(self.show, snapshot)

    def show(self, snapshot: Snapshot) -> None:
        """Draw a snapshot: cells updated in place while the rows stay the same, the cursor kept."""
        self.snapshot = snapshot
        table = self.query_one("#rows", DataTable)
        cells = {r.key: self.cells(r) for r in snapshot.rows}
        if list(cells) == list(self._shown):
            for key, row in cells.items():
                for (_, column), old, new in zip(COLUMNS, self._shown[key], row):
                    if old != new:  # a column grows only when a cell outgrows it (a width pass redraws all)
                        grow = len(new) > table.columns[column].content_width  # type: ignore[index]
                        table.update_cell(key, column, new, update_width=grow)
        else:
            selected = self.selected_key()
            table.clear()
            for key, row in cells.items():
                table.add_row(*row, key=key)
            if selected in cells:
                table.move_cursor(row=list(cells).index(selected))
        self._shown = cells
        self.query_one("#head", Static).update(Text(mask_text(self.headline(snapshot))))
        self.show_detail()

    def cells(self, row: Row) -> tuple[str, ...]:
        what = label(row)
        status = self.pending.get(row.key) or row.status
        url = (row.urls[0].hostname or row.urls[0].url) if row.urls else ""
        return what, status, mask_text(row.summary), mask_text(url)  # a URL may carry a password

    def headline(self, snapshot: Snapshot) -> str:
        instances = sum(1 for r in snapshot.rows if r.kind == "instance")
        line = (f"{snapshot.project}: {instances} instances, {len(snapshot.rows) - instances} other rows | tick: "
                f"{snapshot.engine_calls} docker ps + {snapshot.pm2_calls} pm2 jlist, {snapshot.millis:.0f} ms, "
                f"every {self.interval:g}s | {time.strftime('%H:%M:%S')}")
        for engine, why in snapshot.unreachable.items():
            line += f" | engine {engine} unreachable: {why}"
        return line

    # --- selection ----------------------------------------------------------------
    def selected_key(self) -> str | None:
        table = self.query_one("#rows", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def selected(self) -> Row | None:
        key = self.selected_key()
        return self.snapshot.row(key) if self.snapshot and key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        row = self.selected()
        self.query_one("#detail", Static).update(Text(mask_text(render_detail(row)) if row else "no instances yet"))

    # --- actions --------------------------------------------------------------------
    def action_act(self, action: str) -> None:
        """The key's action on the selected row, in a thread; one action per row at a time."""
        row = self.selected()
        if row is None:
            self.say("nothing selected")
            return
        if action_words(row, action) is None:
            self.say(why_not(row, action))
            return
        if row.key in self.pending:
            self.say(f"{label(row)}: {self.pending[row.key]} already")
            return
        self.pending[row.key] = PENDING[action]
        self.say(f"{action} {self.cells(row)[0]}…")
        if self.snapshot is not None:
            self.show(self.snapshot)
        self.run_worker(lambda: self._perform(row, action), thread=True, group=f"act-{row.key}",
                        exit_on_error=False)

    def _perform(self, row: Row, action: str) -> None:
        try:
            done = self.source.run(row, action)
        except Exception as exc:  # the action's own failure is in done; this is ours: said, not fatal
            done = Done(tuple(action_words(row, action) or ()), 1, f"error: {exc}")
        self.call_from_thread(self.finished, row, action, done)

    def finished(self, row: Row, action: str, done: Done) -> None:
        self.pending.pop(row.key, None)
        if action == "logs":
            self.say(f"logs of {self.cells(row)[0]} (last lines):")
            for line in done.output.splitlines():
                self.say(f"  {line}")
        else:
            self.say(done.line())
            if not done.ok:
                for line in done.output.splitlines()[-5:]:
                    self.say(f"  {line}")
        self.poll()

    def say(self, message: str) -> None:
        self.query_one("#log", RichLog).write(Text(f"{time.strftime('%H:%M:%S')} {mask_text(message)}"))


def run_dashboard(source: Source, interval: float = 1.5) -> None:
    """Run the dashboard until ``q`` (or Ctrl-Q; Ctrl-C says how to quit, as in every Textual app)."""
    Dashboard(source, interval).run()
