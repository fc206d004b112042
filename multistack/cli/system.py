"""Systems: instances that reach each other by name, e.g. `inv system.up suite`, `inv system.down sim`.

A system (under `systems:` in stack.yaml) runs each member as its own compose
project <project>-<system>-<member>. A shared Docker network joins them; on it
each member's HAProxy gateway answers as the member's name (`http://retriever/`).
  system.up NAME        write the members' files, create the network, start them
  system.down NAME      stop them, reset their overlays, remove the network if unused
  system.ps NAME        the members' containers
  system.list           the systems of stack.yaml
  system.graph NAME     members, networks and links as Mermaid text (and SVG/PNG with Graphviz)
  system.logs NAME [MEMBER]       the members' logs (--follow, --tail N, --json)
  system.restart NAME [MEMBER]    restart the members' containers
  system.exec NAME MEMBER -- CMD  run CMD in a member's service (--service S)
See docs/systems.md.
"""
from __future__ import annotations

import json as jsonlib
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from invoke import Collection, Context
from invoke.exceptions import ThreadException

from multistack.cli.exits import task, user_errors
from multistack.plan.masking import mask_json, mask_text

if TYPE_CHECKING:
    from multistack.io.tools import Engines
    from multistack.plan.render import GeneratedFile
    from multistack.model.stack import Stack
    from multistack.act.systems import NetworkState, SystemPlan, SystemRecord
    from multistack.io.writer import FileAction

NAME_HELP = "the system's name, given positionally: `inv system.up suite` (`inv system.list` shows them)"


def _system_name(arg: list[str] | None, stack: Stack, task_name: str) -> str:
    """The one system named on the command line; none is fine when stack.yaml declares exactly one."""
    from multistack.errors import StackError

    words = arg or []
    if len(words) > 1:
        raise StackError(f"one system at a time, got {' '.join(words)}", f"use `inv system.{task_name} NAME`")
    if words:
        return words[0]
    declared = list(stack.systems)
    if len(declared) == 1:
        return declared[0]
    raise StackError(f"which system? {stack.path.name} declares " + (", ".join(declared) or "none"),
                     f"name it: `inv system.{task_name} NAME`")


# --------------------------------------------------------------------------
# Tasks: parse arguments, plan with the core, act below.


@task(iterable=["arg"],
      help={"arg": NAME_HELP, "force": "overwrite generated files edited by hand, keeping them as .bak"})
@user_errors
def up(c: Context, arg: list[str] | None = None, force: bool = False) -> None:
    """Start a system: generate each member's files, create the shared network if missing, start every member."""
    stack, plan = _load(arg, "up")
    name = plan.system.name
    _on_engine(c, stack, plan.system.engine)  # the system's engine: (act/engines.py)
    engines = _engines(c, stack)
    with _lock(c, stack, name, "system.up"):
        system_up(c, plan, engines, force=force)


@task(iterable=["arg"],
      help={"arg": NAME_HELP, "volumes": "also remove the members' volumes (their data), after confirmation",
            "yes": "do not ask before removing volumes"})
@user_errors
def down(c: Context, arg: list[str] | None = None, volumes: bool = False, yes: bool = False) -> None:
    """Stop a system: take every member down, reset its overlays to standalone, remove the shared network when unused."""
    from multistack.errors import StackError
    from multistack.io.shell import assume_yes
    from multistack.model.stack import load_stack
    from multistack.act.lifecycle import confirm
    from multistack.act.systems import get_system, plan_system, read_record, system_dir

    stack = load_stack()
    name = _system_name(arg, stack, "down")
    record = read_record(system_dir(stack, name))
    system = stack.systems.get(name)
    plan = None
    if system is None and record is None:
        get_system(stack, name)  # raises: no such system, nothing recorded either
    if system is not None:
        try:
            plan = plan_system(stack, system)
        except StackError:
            if record is None:
                raise
    _on_engine(c, stack, system.engine if system else None)  # the system's engine: (act/engines.py)
    engines = _engines(c, stack)
    if volumes:
        confirm(f"Remove the volumes (the data) of every member of system {name}?", assume_yes(c, yes),
                what="system.down --volumes")
    with _lock(c, stack, name, "system.down"):
        system_down(c, stack, name, plan, record, engines, volumes=volumes)


MEMBER_HELP = ("the system's name, then a member (LON-B or lon-b): `inv system.logs sim LON-B`; "
               "the system's name may be left out when stack.yaml declares one")


@task(iterable=["arg"],
      help={"arg": MEMBER_HELP, "follow": "keep streaming", "tail": "number of lines to show per service",
            "json": "print the lines as JSON (not with --follow)"})
@user_errors
def logs(c: Context, arg: list[str] | None = None, follow: bool = False, tail: str | None = None,
         json: bool = False) -> None:
    """Show the logs of a system's members, or of one member: `inv system.logs sim [LON-B] [--follow] [--tail N]`."""
    from multistack.errors import StackError
    from multistack.io.shell import probe, run
    from multistack.act.systems import MEMBER_FILE, SYSTEM_FILE, logs_argv, parse_logs

    stack, plan, member = _load_member(arg, "logs")
    lines = _line_count(tail)
    if json and follow:
        raise StackError("--json and --follow do not go together", "drop --follow to get the lines as JSON")
    _on_engine(c, stack, plan.system.engine)  # the system's engine: (act/engines.py)
    engines = _engines(c, stack)
    members = [member] if member else [mp.name for mp in plan.members]
    def argv(name: str, follow: bool = False) -> list[str]:
        mp = plan.member(name)
        written = (mp.dir / MEMBER_FILE).is_file() and (mp.dir / SYSTEM_FILE).is_file()
        return logs_argv(plan, mp, engines.compose, follow=follow, tail=lines, with_files=written)

    if json:
        # The lines are the containers' own output, passed through as plain `system.logs` shows them
        # (docs/secrets.md): masking them here would make --json and the text disagree.
        data: dict[str, Any] = {"system": plan.system.name, "members": []}
        for name in members:
            mp = plan.member(name)
            result = probe(c, argv(name))
            if not result.ok:
                _failed(result, f"inv system.ps {plan.system.name}")
            data["members"].append({"name": mp.name, "callsign": mp.callsign, "project_name": mp.project_name,
                                    "lines": parse_logs(result.stdout, mp.project_name)})
        print(jsonlib.dumps(data, indent=2))
        return
    if len(members) == 1:
        run(c, argv(members[0], follow))
        return

    def show(name: str, out: TextIO, err: TextIO) -> None:
        run(c, argv(name, follow), out_stream=out, err_stream=err)

    _all_or_fail(plan, "logs", _each_member(c, members, show))


@task(iterable=["arg"], help={"arg": MEMBER_HELP})
@user_errors
def restart(c: Context, arg: list[str] | None = None) -> None:
    """Restart the containers of a system's members, or of one member: `inv system.restart sim [LON-B]`."""
    from multistack.io.shell import run
    from multistack.act.systems import restart_argv

    stack, plan, member = _load_member(arg, "restart")
    _on_engine(c, stack, plan.system.engine)  # the system's engine: (act/engines.py)
    engines = _engines(c, stack)
    members = [member] if member else [mp.name for mp in plan.members]
    _require_running(c, plan, members)
    with _lock(c, stack, plan.system.name, "system.restart"):
        def again(name: str, out: TextIO, err: TextIO) -> None:
            run(c, restart_argv(plan, plan.member(name), engines.compose), out_stream=out, err_stream=err)

        _all_or_fail(plan, "restart", _each_member(c, members, again))
    print(f"system {plan.system.name}: restarted " + ", ".join(plan.member(m).callsign for m in members))


@task(name="exec", iterable=["arg"],
      help={"arg": MEMBER_HELP, "service": "the service to run in (default: the only one, else the first shared one)"})
@user_errors
def exec_(c: Context, arg: list[str] | None = None, service: str | None = None) -> None:
    """Run a command in a member's service: `inv system.exec sim DUN-A -- ping -c1 lon-b` (exits with its code)."""
    from invoke import Exit

    from multistack.cli.argv import remainder_words
    from multistack.errors import StackError
    from multistack.io.shell import run
    from multistack.act.systems import exec_argv, exec_service

    stack, plan, member = _load_member(arg, "exec", required=True)
    assert member is not None
    mp = plan.member(member)
    command = remainder_words(c)
    if not command:
        raise StackError("no command to run",
                         f"put it after --: `inv system.exec {plan.system.name} {mp.callsign} -- ping -c1 {(mp.peers or (mp.name,))[0]}`")
    target = exec_service(plan, service)
    _on_engine(c, stack, plan.system.engine)  # the system's engine: (act/engines.py)
    engines = _engines(c, stack)
    _require_running(c, plan, [member])
    result = run(c, exec_argv(plan, mp, target, command, engines.compose), warn=True)
    if not result.ok:
        raise Exit(code=result.exited)


@task(iterable=["arg"], help={"arg": NAME_HELP, "json": "print JSON"})
@user_errors
def ps(c: Context, arg: list[str] | None = None, json: bool = False) -> None:
    """Show each member's containers (one `docker ps` for all of them)."""
    stack, plan = _load(arg, "ps")
    _on_engine(c, stack, plan.system.engine)  # the system's engine: (act/engines.py)
    rows = _containers(c)
    data = ps_data(plan, rows)
    print(jsonlib.dumps(mask_json(data), indent=2) if json else mask_text(render_ps(data)))


@task(name="list", help={"json": "print JSON"})
@user_errors
def list_(c: Context, json: bool = False) -> None:
    """List the systems of stack.yaml: members, topology, network, and how many members run."""
    from multistack.io.shell import for_real
    from multistack.model.stack import load_stack
    from multistack.act.systems import project_name

    stack = load_stack()
    systems = stack.systems
    running: dict[str, set[str]] | None = None
    if systems:
        from multistack.act.engines import systems_rows

        rows = for_real(c, lambda: systems_rows(c, stack))  # every system's engine; --dry: not asked, running unknown
        if rows is not None:
            running = {}
            for row in rows:
                if row.get("state") == "running":
                    running.setdefault(row.get("project", ""), set()).add(row.get("service", ""))
    data = []
    for system in systems.values():
        projects = [project_name(stack, system.name, m.name) for m in system.members]
        data.append({
            "name": system.name, "description": system.description, "network": system.network,
            "topology": system.topology.shape, "hub": system.topology.hub,
            "members": [m.callsign for m in system.members],
            "running": None if running is None else sum(1 for p in projects if p in running),
        })
    if json:
        print(jsonlib.dumps(mask_json(data), indent=2))
        return
    if not data:
        print(f"no systems in {stack.path.name} (see docs/systems.md)")
        return
    from multistack.io.tables import table

    rows_out = [[d["name"], ", ".join(d["members"]), d["topology"] + (f" (hub {d['hub']})" if d["hub"] else ""),
                 d["network"], "?" if d["running"] is None else f"{d['running']}/{len(d['members'])}",
                 d["description"]] for d in data]
    print(mask_text(table(["system", "members", "topology", "network", "running", "description"], rows_out)))


@task(iterable=["arg"],
      help={"arg": NAME_HELP,
            "output": "picture to write with Graphviz, *.svg or *.png (default: .instances/system-NAME/graph.svg)",
            "format": "text to print: mermaid (default) or dot"})
@user_errors
def graph(c: Context, arg: list[str] | None = None, output: str | None = None, format: str = "mermaid") -> None:
    """Draw a system: members, networks and links as Mermaid text, and as SVG/PNG where Graphviz is installed."""
    from multistack.errors import EngineError, StackError
    from multistack.io.shell import for_real, run
    from multistack.plan.topology import dot, dot_argv, mermaid, picture_format
    from multistack.io.writer import atomic_write

    if format not in ("mermaid", "dot"):
        raise StackError(f"unknown --format {format!r}", "use --format mermaid or --format dot")
    if output:
        picture_format(output)  # a wrong file name fails before anything is printed
    stack, plan = _load(arg, "graph")
    dot_text = dot(plan)
    print(mermaid(plan) if format == "mermaid" else dot_text, end="")
    target = Path(output) if output else plan.dir / "graph.svg"
    binary = shutil.which("dot")
    if binary is None:
        if output:
            raise EngineError("Graphviz is not installed: cannot draw " + output,
                              "install it (apt-get install graphviz), or paste the Mermaid text into mermaid.live")
        print("(Graphviz not installed: no picture; paste the Mermaid text into mermaid.live)", file=sys.stderr)
        return
    dot_file = target.with_suffix(".dot")
    for_real(c, lambda: atomic_write(dot_file, dot_text))
    run(c, dot_argv(str(dot_file), str(target), "dot"), hide=True)
    print(f"picture: {target}", file=sys.stderr)


for _task in (up, down, ps, graph, logs, restart, exec_):
    _task.optional_positionals = True  # type: ignore[attr-defined]
ns = Collection("system", up, down, ps, list_, graph, logs, restart, exec_)


# --------------------------------------------------------------------------
# Acting: the engine commands, through shell.run/probe so that --dry shows them.


def _load(arg: list[str] | None, task_name: str) -> tuple[Stack, SystemPlan]:
    from multistack.model.stack import load_stack
    from multistack.act.systems import get_system, plan_system

    stack = load_stack()
    return stack, plan_system(stack, get_system(stack, _system_name(arg, stack, task_name)))


def _load_member(arg: list[str] | None, task_name: str, required: bool = False) -> tuple[Stack, SystemPlan, str | None]:
    """``NAME [MEMBER]`` (or ``MEMBER`` alone when stack.yaml declares one system): the plan and the member's name.

    The first word is the system when it names one; a member is written as the
    document writes it (``LON-B``) or as its host name (``lon-b``).
    """
    from multistack.errors import StackError
    from multistack.model.stack import load_stack
    from multistack.act.systems import get_system, plan_system

    stack = load_stack()
    words = list(arg or [])
    if words and (words[0] in stack.systems or len(stack.systems) != 1 or len(words) > 1):
        name = _system_name(words[:1], stack, task_name)
        words = words[1:]
    else:
        name = _system_name(None, stack, task_name)
    system = get_system(stack, name)
    if len(words) > 1:
        raise StackError(f"one member at a time, got {' '.join(words)}", f"use `inv system.{task_name} {name} MEMBER`")
    if not words and required:
        raise StackError(f"which member of system {name}? ({', '.join(m.callsign for m in system.members)})",
                         f"name it: `inv system.{task_name} {name} {system.members[0].callsign}`")
    member = system.member(words[0]).name if words else None
    return stack, plan_system(stack, system), member


def _line_count(tail: str | int | None) -> int | None:
    """invoke gives ``--tail`` as text (its default is None); a bad value is a user error, not compose's."""
    from multistack.errors import StackError
    from multistack.model.names import is_number

    if tail is None:
        return None
    if not is_number(str(tail).strip()):
        raise StackError(f"--tail {tail!r} is not a number of lines", "give a whole number, e.g. --tail 50")
    return int(str(tail).strip())


def _require_running(c: Context, plan: SystemPlan, members: Sequence[str]) -> None:
    """A member with no running container cannot be restarted or exec'd into: say so (one `docker ps`)."""
    from multistack.errors import StackError
    from multistack.io.shell import for_real

    rows = for_real(c, lambda: _containers(c), dry=lambda: None)
    if rows is None:
        return
    running = {r.get("project") for r in rows if r.get("state") == "running"}
    stopped = [plan.member(m).callsign for m in members if plan.member(m).project_name not in running]
    if stopped:
        raise StackError(f"system {plan.system.name}: {', '.join(stopped)} not running",
                         f"start it with `inv system.up {plan.system.name}`")


def _all_or_fail(plan: SystemPlan, action: str, failed: dict[str, str]) -> None:
    if failed:
        from multistack.errors import CommandFailed

        raise CommandFailed(f"system {plan.system.name}: {action} failed for {', '.join(sorted(failed))}",
                            "see the lines prefixed with their names")


def _failed(result: Any, hint: str) -> None:
    from multistack.errors import CommandFailed
    from multistack.io.tools import last_line

    raise CommandFailed(f"command failed with exit code {result.exited}: {result.command} "
                        f"({last_line(result.stderr)})", f"is the engine up? `{hint}`")


def _engines(c: Context, stack: Stack) -> Engines:
    from multistack.io.tools import detect

    return detect(c, stack.root, need_compose=True, need_pm2=False, need_engine=True)


def _on_engine(c: Context, stack: Stack, engine: str | None) -> None:
    """The system's ``engine:`` for every command of this run (an SSH engine: opened now)."""
    from multistack.act.engines import use_system_engine

    use_system_engine(c, stack, engine)


def _lock(c: Context, stack: Stack, name: str, action: str) -> Any:
    """One system command at a time per system (not under --dry, which writes nothing)."""
    from multistack.io.locks import named_lock
    from multistack.io.shell import guard

    return guard(c, lambda: named_lock(stack, f"system-{name}", f"system {name}", action))


def _write(c: Context, folder: Path, files: dict[str, GeneratedFile], record: SystemRecord | None,
           force: bool) -> tuple[set[str], dict[str, str]]:
    """Render -> plan -> apply; print one line per changed file.

    Returns the files that were there and changed, and the hashes now on disk.
    """
    from multistack.io.shell import for_real
    from multistack.io.writer import plan_writes

    actions = plan_writes(folder, files, record.files if record else {})
    return for_real(c, lambda: _apply(folder, files, actions, force), dry=lambda: _say_writes(folder, actions)) \
        or (set(), {})


def _say_writes(folder: Path, actions: list[FileAction]) -> tuple[set[str], dict[str, str]]:
    """``--dry``: what would change, written nowhere."""
    for action in actions:
        if action.state != "identical":
            print(f"would {action.state:>7}  {folder.name}/{action.name}")
    return set(), {}


def _apply(folder: Path, files: dict[str, GeneratedFile], actions: list[FileAction],
           force: bool) -> tuple[set[str], dict[str, str]]:
    from multistack.io.manifest import sha256
    from multistack.io.writer import apply_writes

    done: list[FileAction] = apply_writes(folder, files, actions, force=force)
    for action in done:
        if action.state != "identical":
            print(action.line().replace(action.name, f"{folder.name}/{action.name}", 1))
    changed = {a.name for a in done if a.state in ("update", "conflict")}
    return changed, {name: sha256(f.text) for name, f in files.items()}


def _save_record(c: Context, plan: SystemPlan, hashes: dict[str, str], previous: SystemRecord | None,
                 members: dict[str, str]) -> None:
    """``system.json``: the members' compose projects (exactly ``members``) and the hashes of the files."""
    from multistack.io.shell import for_real
    from multistack.act.systems import RECORD, SystemRecord
    from multistack.io.writer import atomic_write

    files = {**(previous.files if previous else {}), **hashes}
    record = SystemRecord(plan.system.name, plan.system.network, members, files)
    for_real(c, lambda: atomic_write(plan.dir / RECORD, record.to_text()))


def _containers(c: Context, required: bool = True) -> list[dict[str, str]] | None:
    """Every compose container on the engine, from one `docker ps`."""
    from multistack.plan.compose import DockerCli
    from multistack.io.shell import probe
    from multistack.io.status import parse_containers
    from multistack.io.tools import engine_unreachable, last_line

    result = probe(c, DockerCli().ps_all())  # --dry: shown, not run: an empty success, no containers yet
    if result.ok:
        return parse_containers(result.stdout)
    if not required:
        return None
    raise engine_unreachable(last_line(result.stderr))


def _network_state(c: Context, network: str, docker: str = "docker") -> NetworkState:
    from multistack.io.shell import probe
    from multistack.act.systems import network_inspect_argv, parse_network_state

    result = probe(c, network_inspect_argv(network, docker))
    return parse_network_state(result.ok, result.stdout)


def _each_member(c: Context, members: Sequence[str], job: Callable[[str, TextIO, TextIO], None]) -> dict[str, str]:
    """Run ``job(member, out, err)`` for every member side by side, output prefixed ``[member] ``.

    Returns member name -> error line for those that failed. Under --dry, one
    after the other, so that the printed commands come in member order.
    """
    from multistack.act.parallel import fan_out, failures
    from multistack.cli.exits import OutputFailed
    from multistack.io.shell import workers

    lost: list[OSError] = []  # stdout's reader went away (`system.logs sim | head -1`) or its disk is full

    def guarded(member: str, out: TextIO, err: TextIO) -> None:
        try:
            job(member, out, err)
        except (OutputFailed, ThreadException) as exc:
            error = _output_error(exc)
            if error is None:
                raise
            lost.append(error)  # not a member's failure: said once, after all, as every command says it

    # fan_out is typed for instance numbers; it only formats them into the prefix.
    failed = failures(fan_out(members, guarded, max_workers=workers(c, 8)))
    if lost:
        raise OutputFailed(lost[0])
    return failed


def _output_error(exc: BaseException) -> OSError | None:
    """The stdout error inside ``exc`` (invoke wraps its output thread's in a ThreadException), or None."""
    from multistack.cli.exits import OutputFailed

    if isinstance(exc, OutputFailed):
        return exc.error
    found = [w.value for w in getattr(exc, "exceptions", ()) if isinstance(w.value, OutputFailed)]
    return found[0].error if found else None


def system_up(c: Context, plan: SystemPlan, engines: Engines, force: bool = False) -> None:
    """Write every member's files (overlays included) before anything starts, then start the members."""
    from multistack.errors import CommandFailed, ConflictError
    from multistack.io.shell import for_real, run
    from multistack.act.systems import GATEWAY_FILE, network_create_argv, read_record, render_system, up_argv

    system = plan.system
    record = read_record(plan.dir)
    changed, hashes = _write(c, plan.dir, render_system(plan), record, force)
    # Members recorded earlier and no longer declared stay recorded until a down takes them down.
    _save_record(c, plan, hashes, record,
                 {**(record.members if record else {}), **{mp.name: mp.project_name for mp in plan.members}})
    rows = _containers(c) or []
    running = {r.get("project") for r in rows if r.get("state") == "running"}
    # A bind-mounted file is pinned by its inode, and atomic_write replaces the inode: a running
    # member whose mounted files changed only sees them in new containers.
    mounted = {GATEWAY_FILE, *(o.name for o in system.overlays)}
    recreate = {mp.name for mp in plan.members if mp.project_name in running
                and any(f"{mp.name}/{name}" in changed for name in mounted)}
    def check_ports() -> None:
        from multistack.io.hostports import taken_ports

        taken = [f"{mp.callsign}: {t.describe()}" for mp in plan.members if mp.project_name not in running
                 for t in taken_ports(mp.ports, plan.stack.host_ip)]
        if taken:
            raise ConflictError(f"system {system.name} cannot start: " + "; ".join(taken),
                                "stop what holds the port, or move the member to another slot")

    for_real(c, check_ports)
    state = _network_state(c, system.network, engines.docker)
    create = for_real(c, lambda: not state.exists, dry=lambda: True)  # --dry: shown, "if missing"
    if create:
        run(c, network_create_argv(system.network, engines.docker), hide="stdout")
        print(f"network {system.network}: " + (for_real(c, lambda: "created", dry=lambda: "created if missing") or ""))

    def start(member: str, out: TextIO, err: TextIO) -> None:
        mp = plan.member(member)
        run(c, up_argv(plan, mp, engines.compose, recreate=member in recreate), out_stream=out, err_stream=err)

    failed = _each_member(c, [mp.name for mp in plan.members], start)
    if failed:
        started = [mp for mp in plan.members if mp.project_name not in running]
        print(f"system {system.name}: {len(failed)} member(s) failed to start; taking down the "
              f"{len(started)} this command started", file=sys.stderr)
        _down_members(c, plan, [mp.name for mp in started], {}, engines, volumes=False)
        _remove_network_if_unused(c, system.network, engines.docker)
        raise CommandFailed(f"system {system.name}: {', '.join(sorted(failed))} did not start "
                            "(`docker compose up --wait` failed; its output above names the service)",
                            f"fix it, then rerun `inv system.up {system.name}`")
    if not create:
        print(f"network {system.network}: present")
    print(mask_text(members_table(plan)))


def system_down(c: Context, stack: Stack, name: str, plan: SystemPlan | None, record: SystemRecord | None,
                engines: Engines, volumes: bool = False) -> None:
    """Down every member (declared, or only recorded), reset overlays, then the network if nothing else uses it."""
    from multistack.io.shell import for_real
    from multistack.act.systems import render_overlays, system_dir

    declared = [mp.name for mp in plan.members] if plan else []
    recorded = dict(record.members) if record else {}
    leftovers = {member: project for member, project in recorded.items() if member not in declared}
    failed = _down_members(c, plan, declared, leftovers, engines, volumes=volumes)
    kept = {m: p for m, p in leftovers.items() if m in failed}  # forgotten once taken down
    if plan is not None:
        _, hashes = _write(c, plan.dir, render_overlays(plan, standalone=True), record, force=True)
        if record is not None or hashes:
            _save_record(c, plan, hashes, record, {**{mp.name: mp.project_name for mp in plan.members}, **kept})
    elif record is not None:
        from multistack.act.systems import RECORD, SystemRecord
        from multistack.io.writer import atomic_write

        text = SystemRecord(record.system, record.network, kept, record.files).to_text()
        for_real(c, lambda: atomic_write(system_dir(stack, name) / RECORD, text))
    networks = dict.fromkeys([n for n in (plan.system.network if plan else None,
                                          record.network if record else None) if n])
    for network in networks:
        _remove_network_if_unused(c, network, engines.docker)
    if failed:
        from multistack.errors import CommandFailed

        raise CommandFailed(f"system {name}: down failed for {', '.join(sorted(failed))}",
                            "see the lines prefixed with their names, then rerun `inv system.down`")
    print(f"system {name}: down")


def _down_members(c: Context, plan: SystemPlan | None, members: Sequence[str], leftovers: dict[str, str],
                  engines: Engines, volumes: bool) -> dict[str, str]:
    from multistack.io.shell import run
    from multistack.act.systems import MEMBER_FILE, SYSTEM_FILE, down_argv, down_project_argv

    by_name = {mp.name: mp for mp in plan.members} if plan else {}
    jobs: list[str] = [*members, *leftovers]

    def stop(member: str, out: TextIO, err: TextIO) -> None:
        mp = by_name.get(member)
        if plan is not None and mp is not None and (mp.dir / MEMBER_FILE).is_file() and (mp.dir / SYSTEM_FILE).is_file():
            argv = down_argv(plan, mp, engines.compose, volumes=volumes)
        else:
            project = mp.project_name if mp else leftovers[member]
            argv = down_project_argv(project, engines.compose, volumes=volumes)
        run(c, argv, out_stream=out, err_stream=err)

    return _each_member(c, jobs, stop)


def _remove_network_if_unused(c: Context, network: str, docker: str) -> None:
    """One `docker network inspect`: remove the network only if multistack made it and nothing is attached."""
    from multistack.io.shell import for_real

    state = _network_state(c, network, docker)
    for_real(c, lambda: _remove_network(c, network, docker, state),
             dry=lambda: _remove_network(c, network, docker, None))


def _remove_network(c: Context, network: str, docker: str, state: NetworkState | None) -> None:
    """``state`` None: unknown (``--dry``), the removal is shown "if unused"."""
    from multistack.io.shell import run
    from multistack.act.systems import network_rm_argv

    if state is None:
        run(c, network_rm_argv(network, docker), hide="stdout")
        print(f"network {network}: removed if no other running system uses it")
    elif not state.exists:
        print(f"network {network}: already gone")
    elif state.attached:
        print(f"network {network}: kept ({state.attached} container(s) of other running systems use it)")
    elif not state.ours:
        print(f"network {network}: kept (not created by multistack)")
    else:
        result = run(c, network_rm_argv(network, docker), hide="stdout", warn=True)
        print(f"network {network}: removed" if result.ok else
              f"network {network}: kept (`docker network rm` failed: something attached meanwhile)")


# --------------------------------------------------------------------------
# Output


def members_table(plan: SystemPlan) -> str:
    from multistack.io.tables import table

    rows = []
    for mp in plan.members:
        ports = ", ".join(f"{name} {port}" for name, port in mp.ports.items()) or "-"
        forwards = ", ".join(f"{mp.name}:{f.port}" for f in mp.forwards)
        rows.append([mp.callsign, mp.member.slot, mp.project_name, ports, forwards, ", ".join(mp.peers) or "-"])
    return table(["member", "slot", "compose project", "host ports", f"on {plan.system.network}", "peers"], rows,
                 title=f"system {plan.system.name}")


def ps_data(plan: SystemPlan, rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Containers grouped by member (pure, from the rows of one `docker ps`)."""
    from multistack.io.status import health_of

    members = []
    for mp in plan.members:
        services = sorted(({"service": r.get("service", ""), "container": r.get("name", ""),
                            "state": r.get("state", ""), "health": health_of(r.get("status", "")),
                            "ports": r.get("ports", "")} for r in rows if r.get("project") == mp.project_name),
                          key=lambda s: (s["service"], s["container"]))
        members.append({"name": mp.name, "callsign": mp.callsign, "slot": mp.member.slot,
                        "project_name": mp.project_name, "ports": mp.ports,
                        "peers": [plan.member(p).callsign for p in mp.peers], "volumes": dict(mp.volume_names),
                        "running": bool(services) and all(s["state"] == "running" for s in services),
                        "services": services})
    return {"system": plan.system.name, "network": plan.system.network, "members": members}


def render_ps(data: dict[str, Any]) -> str:
    from multistack.io.tables import table

    rows = []
    for m in data["members"]:
        if not m["services"]:
            rows.append([m["callsign"], "-", "-", "not running", "-", "-"])
        for s in m["services"]:
            rows.append([m["callsign"], s["service"], s["container"], s["state"], s["health"] or "-", s["ports"] or "-"])
    return table(["member", "service", "container", "state", "health", "ports"], rows,
                 title=f"system {data['system']} (network {data['network']})")
