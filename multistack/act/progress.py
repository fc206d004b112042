"""A bounded ``compose up --wait`` with live progress, and what its failure says.

``up --wait`` runs in the background (io.shell ``start``); meanwhile one ``docker ps``
of the project per tick (never one per service) feeds the view (io.progress). When
it fails, the services that did not come up are named from the last poll, and a pull
failure is told apart from an unhealthy service by compose's own lines.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from invoke import Result

from multistack.io.progress import EXITED, STARTING, UNHEALTHY, UP, View, service_states
from multistack.io.status import parse_containers

#: Seconds between two ``docker ps`` of the project while compose waits.
TICK = 1.0


@dataclass(frozen=True)
class Outcome:
    """How ``up --wait`` ended: its result, the services' last states, the seconds it took."""

    result: Result
    states: dict[str, str]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result.exited == 0

    def not_up(self) -> list[str]:
        """The services that did not become healthy (or running, without a healthcheck)."""
        return [name for name, state in self.states.items() if state not in UP]

    def blocking(self, project: str) -> list[str]:
        """The services to blame: unhealthy or exited ones, else those compose names
        (``container <project>-web-1 is unhealthy``), else every one not up."""
        bad = [name for name in self.not_up() if self.states[name] in (UNHEALTHY, EXITED)]
        if bad:
            return bad
        text = f"{self.result.stdout or ''}\n{self.result.stderr or ''}"
        named = re.findall(r"container " + re.escape(project) + r"-(\S+?)-[0-9]+ ", text)
        return sorted(set(named)) or self.not_up()


class Running:
    """A command run to its end on a thread (io.shell ``run``: off the main thread it reads no
    stdin), so that the main thread can poll beside it; ``join()`` hands back its Result."""

    def __init__(self, command: Callable[[], Result]) -> None:
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(command,), daemon=True)
        self._thread.start()

    def _run(self, command: Callable[[], Result]) -> None:
        try:
            self._box["result"] = command()
        except BaseException as exc:  # handed to the caller by join()
            self._box["error"] = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self) -> Result:
        self._thread.join()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["result"]


def follow(handle: Running, poll: Callable[[], Result], services: Sequence[str], view: View,
           tick: float = TICK, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, project: str | None = None) -> Outcome:
    """Poll until ``handle`` ends; one ``poll()`` (``docker ps`` of the project) per tick."""
    began = clock()
    states = {name: "waiting" for name in services}
    try:
        while True:
            finished = handle.done()
            answer = poll()
            if answer.ok:  # rows of this project only (the label filter asked for it; say it twice)
                rows = [r for r in parse_containers(answer.stdout) if project is None or r.get("project") == project]
                states = service_states(services, rows)
            view.update(states, clock() - began)
            if finished:
                break
            sleep(tick)
    finally:
        view.close()
    result = handle.join()
    return Outcome(result, states, clock() - began)


def settle(outcome: Outcome, poll: Callable[[], Result], services: Sequence[str], seconds: float,
           tick: float = TICK, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, project: str | None = None) -> Outcome:
    """Compose said yes while a healthcheck still said ``starting`` (seen with Compose 2.40: ``up --wait``
    exited 0 a second after the container started): keep polling until it passes or the bound ends."""
    if not outcome.ok or STARTING not in outcome.states.values():
        return outcome
    began = clock() - outcome.seconds
    states = outcome.states
    while STARTING in states.values():
        if clock() - began >= seconds:
            late = Result(command=outcome.result.command, exited=1,
                          stderr=f"not healthy after {seconds:g}s (compose's --wait returned early)\n")
            return Outcome(late, states, clock() - began)
        sleep(tick)
        answer = poll()
        if answer.ok:
            rows = [r for r in parse_containers(answer.stdout) if project is None or r.get("project") == project]
            states = service_states(services, rows)
    return Outcome(outcome.result, states, clock() - began)


# --------------------------------------------------------------------------
# Pull failures


@dataclass(frozen=True)
class PullFailure:
    service: str
    image: str
    error: str

    def describe(self) -> str:
        image = "the image" if self.image == "?" else f"image {self.image}"
        return f"{image} of service {self.service} could not be pulled: {self.error}"


def pull_failures(text: str, images: Mapping[str, str]) -> list[PullFailure]:
    """The images compose could not get, from its output (checked with Compose 2.40).

    A pull: `` nope Pulling`` then `` nope Error Get "https://registry-1...": ...no such host``.
    ``pull_policy: never`` and no local image: ``Error response from daemon: No such image: X``.
    ``images``: service -> image, from the compose files.
    """
    found: dict[str, PullFailure] = {}
    by_image = {image: service for service, image in images.items()}
    pulling: set[str] = set()  # services compose said it pulls (their image may be unknown to the caller)
    for raw in text.splitlines():
        line = raw.strip()
        started = re.match(r"(\S+) Pulling\s*$", line)
        if started:
            pulling.add(started.group(1))
            continue
        match = re.match(r"(\S+) Error (.+)$", line)
        if match and (match.group(1) in images or match.group(1) in pulling):
            service = match.group(1)
            found.setdefault(service, PullFailure(service, images.get(service, "?"), match.group(2).strip()))
            continue
        missing = re.search(r"No such image: (\S+)", line)
        if missing:
            image = missing.group(1)
            service = by_image.get(image) or next((s for s, i in images.items() if image.startswith(i)), "?")
            found.setdefault(service, PullFailure(service, image, "no such image here, and pulling is off"))
    return list(found.values())


def pull_hint(failures: Sequence[PullFailure]) -> str:
    images = " ".join(sorted({f.image for f in failures if f.image != "?"})) or "IMAGE"
    return (f"provide the image without a registry: `docker load -i FILE.tar` (or `docker import ROOTFS.tar "
            f"{images}`), then give the service `pull_policy: never`; or fix the name/registry and "
            f"`docker pull {images}`")


def exited_services(states: Mapping[str, str]) -> list[str]:
    return [name for name, state in states.items() if state == EXITED]


class Deadline:
    """One bound for the whole start: compose's ``--wait-timeout`` and the PM2 apps' wait share it."""

    def __init__(self, seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.began = clock()

    def left(self) -> int:
        """Whole seconds still allowed (at least 1: a step always gets a try)."""
        return max(1, int(self.seconds - (self.clock() - self.began) + 0.999))
