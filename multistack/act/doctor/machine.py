"""The doctor's machine checks: Compose, the engine, PM2, networks, address pools, host ports.

Every engine query goes through :func:`multistack.io.shell.probe` (one
``docker info``, one ``docker network ls``), so ``inv --dry doctor`` shows
them and runs none. What the answers mean is decided by pure functions
(:func:`pool_capacity`, :func:`address_pool_findings`, :func:`port_findings`...)
that the tests call with recorded answers. The stack's own files on disk are
looked at here too: what is at a path (for the static checks), whether the
declared templates exist, and the bind-mounted files to create before ``up``.
"""
from __future__ import annotations

import ipaddress
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, TextIO

from multistack.act.doctor.report import Finding
from multistack.act.doctor.static import StaticReport
from multistack.errors import EngineError, StackError
from multistack.io.hostports import taken_ports
from multistack.io.shell import for_real, probe
from multistack.io.status import collect, held_services, parse_containers, parse_jlist
from multistack.io.tools import (DOCKERD_HINT, OVERRIDE_TAG_MIN, PLUGIN, SETUP_HINT, engine_unreachable_message,
                                 find_compose, find_pm2, last_line, version_at_least)
from multistack.io.writer import atomic_write
from multistack.model.doctor import DoctorSettings
from multistack.model.stack import Stack
from multistack.plan.compose import DockerCli
from multistack.plan import pm2 as pm2_argv

if TYPE_CHECKING:
    from invoke import Context

    from multistack.plan.instance import Instance

#: Docker's default address pools (libnetwork ipamutils): 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
DEFAULT_ADDRESS_POOLS = tuple({"Base": f"172.{i}.0.0/16", "Size": 16} for i in range(17, 32)) + (
    {"Base": "192.168.0.0/16", "Size": 20},)
POOLS_FIX = ("remove unused networks (`docker network prune`), lower `instances:` in stack.yaml, or give "
             "dockerd more pools: \"default-address-pools\": [{\"base\": \"10.200.0.0/16\", \"size\": 24}] "
             "in /etc/docker/daemon.json (256 networks), or give the stack a pool of its own: "
             "`networks: {pool: 10.212.0.0/16, size: 24}` in stack.yaml (docs/many-instances.md)")
#: Above this share of its subnets in use, a declared pool is reported as nearly full.
POOL_WARN_SHARE = 0.9



def engine_info_argv(docker: str = "docker") -> list[str]:
    """Everything the engine says about itself (version, address pools) as one JSON line."""
    return DockerCli(docker).args("info", "--format", "{{json .}}")


def network_ls_argv(docker: str = "docker") -> list[str]:
    """Every network of the engine, one JSON line each (name, driver, scope)."""
    return DockerCli(docker).args("network", "ls", "--format", "{{json .}}")


def parse_json_lines(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                rows.append(value)
    return rows


def pool_capacity(info: Mapping[str, Any]) -> int:
    """How many networks the engine's address pools hold (its DefaultAddressPools, else Docker's defaults)."""
    pools = info.get("DefaultAddressPools") or DEFAULT_ADDRESS_POOLS
    total = 0
    for pool in pools:
        try:
            prefix = ipaddress.ip_network(str(pool.get("Base")), strict=False).prefixlen
            size = int(pool.get("Size"))
        except (ValueError, TypeError, AttributeError):
            continue
        if size >= prefix:
            total += 2 ** (size - prefix)
    return total


def address_pool_findings(stack: Stack, report: StaticReport, info: Mapping[str, Any],
                          networks: Sequence[Mapping[str, Any]], n: int | None) -> list[Finding]:
    """Instances × networks per instance against the pools left (pure).

    With ``networks:`` in stack.yaml the instances' networks take fixed subnets
    of that pool (:func:`declared_pool_finding`); only networks with a fixed
    name still draw from the engine's pools.
    """
    per = report.networks_per_instance
    own: list[Finding] = []
    if stack.networks is not None:
        own = [declared_pool_finding(stack, per)]
        per = 0
    if not per and not report.shared_networks:
        return own
    capacity = pool_capacity(info)
    bridges = [net for net in networks if net.get("Driver") == "bridge" and net.get("Scope", "local") == "local"]
    names = {str(net.get("Name", "")) for net in networks}
    free = max(capacity - len(bridges), 0)
    with_networks = {m for m in stack.instance_range
                     if any(name.startswith(stack.compose_project(m) + "_") for name in names)}
    shared_missing = sum(1 for name in report.shared_networks if name not in names)
    total = len(stack.instance_range)
    needed_all = (total - len(with_networks)) * per + shared_missing
    needed_next = (0 if n is not None and n in with_networks else per) + shared_missing
    key = "instances"
    who = f"instance {n}" if n is not None else "the next instance"
    if free < needed_next:
        return own + [Finding("error", "address-pools", stack.path.name, key,
                        f"{who} needs {needed_next} network(s) and the engine has {free} address pool(s) left "
                        f"({len(bridges)} of {capacity} in use): compose fails with \"all predefined address pools "
                        "have been fully subnetted\"", POOLS_FIX)]
    if free < needed_all:
        fits = (free - shared_missing) // per if per else total
        return own + [Finding("warning", "address-pools", stack.path.name, key,
                        f"{free} address pool(s) left ({len(bridges)} of {capacity} in use): only {fits} more "
                        f"instance(s) of {per} network(s) each can start, of the {total} in instances "
                        f"{stack.first}-{stack.last}", POOLS_FIX)]
    return own + [Finding("info", "address-pools", stack.path.name, key,
                          f"{free} of {capacity} address pools free; every instance needs {per} network(s)")]


def declared_pool_finding(stack: Stack, per_instance: int) -> Finding:
    """How much of the stack's ``networks:`` pool its instance range takes; a warning when nearly full."""
    pool = stack.networks
    assert pool is not None
    per = pool.per_instance or max(per_instance, 1)
    used = len(stack.instance_range) * per
    where = (stack.path.name, "networks.pool")
    if used > pool.capacity:  # the override refuses it too (plan.subnets)
        return Finding("error", "address-pools", *where,
                       f"pool {pool.pool} holds {pool.capacity} /{pool.size} subnets; instances {stack.first}-"
                       f"{stack.last} x {per} network(s) need {used}", "give a bigger pool or smaller subnets")
    if used > pool.capacity * POOL_WARN_SHARE:
        more = (pool.capacity - used) // per
        return Finding("warning", "address-pools", *where,
                       f"pool {pool.pool} is nearly full: instances {stack.first}-{stack.last} x {per} network(s) "
                       f"take {used} of its {pool.capacity} /{pool.size} subnets; the range can grow by {more} "
                       "instance(s) only", "give a bigger pool (or smaller subnets: size) before adding instances")
    return Finding("info", "address-pools", *where,
                   f"pool {pool.pool}: instances {stack.first}-{stack.last} x {per} network(s) take {used} of "
                   f"{pool.capacity} /{pool.size} subnets (none from Docker's default pools)")


def external_network_findings(report: StaticReport, names: set[str]) -> list[Finding]:
    return [Finding("error", "external-network", file, key,
                    f"external network {name!r} does not exist: compose refuses to start",
                    f"create it once: docker network create {name}")
            for file, key, name in report.external_networks if name not in names]


def port_findings(stack: Stack, inst: Instance, taken: Sequence[Any], own: Mapping[str, str]) -> list[Finding]:
    """Each taken port of the instance's plan, by whom; what the instance runs itself is fine.

    ``own``: service -> who holds its port legitimately (``instance 1 itself``, ``the shared infra``).
    """
    out = []
    for item in taken:
        where = (stack.path.name, f"services.{item.service}.port")
        if item.service in own:
            out.append(Finding("info", "port-taken", *where,
                               f"port {item.port} ({item.service}) is held by {own[item.service]} (running)"))
            continue
        who = f"held by {item.holder}" if item.holder else "held by another process (the OS does not say which)"
        out.append(Finding("error", "port-taken", *where,
                           f"port {item.port} ({item.service} of instance {inst.n}) is already in use, {who}",
                           "stop what holds it, or use another instance number"))
    return out


def machine_checks(c: Context, stack: Stack, report: StaticReport, inst: Instance | None = None) -> list[Finding]:
    """Compose, engine, PM2, networks, pools and ports: one ``docker info``, one ``docker network ls``.

    Under ``--dry`` the engine queries are shown, not run (their answers would be empty).
    """
    found = for_real(c, lambda: _asked(c, stack, report, inst), dry=lambda: _shown(c, stack, inst))
    return found or []


def _shown(c: Context, stack: Stack, inst: Instance | None) -> list[Finding]:
    """``--dry``: show the engine queries, check only the host ports (no engine answer to go by)."""
    findings: list[Finding] = []
    if stack.compose_files:
        for argv in ([*PLUGIN, "version", "--short"], engine_info_argv(), network_ls_argv()):
            probe(c, argv)
        findings.append(Finding("info", "engine", "", "", "--dry: the engine queries above were shown, not run"))
    if inst is not None:
        findings += _port_checks(c, stack, inst, engine_ok=False, pm2=None)
    return findings


def _asked(c: Context, stack: Stack, report: StaticReport, inst: Instance | None) -> list[Finding]:
    """Every machine check, from the engine's and the tools' answers."""
    findings: list[Finding] = []
    if stack.compose_files:
        minimum = ".".join(map(str, OVERRIDE_TAG_MIN))
        try:
            argv, version = find_compose(c)
        except EngineError as exc:
            findings.append(Finding("error", "compose", "", "", exc.message, exc.hint or ""))
        else:
            if version_at_least(version, OVERRIDE_TAG_MIN):
                findings.append(Finding("info", "compose", "", "",
                                        f"Docker Compose {version} (`{' '.join(argv)}`; needs >= {minimum})"))
            else:
                findings.append(Finding("error", "compose", "", "",
                                        f"Docker Compose {version} is too old: the override uses !override and "
                                        f"!reset (Compose >= {minimum})", "upgrade Docker Compose"))
        findings += _engine_checks(c, stack, report, inst)
    pm2: tuple[str, ...] | None = None
    if stack.apps:
        try:
            pm2 = find_pm2(stack.root)
            findings.append(Finding("info", "pm2", stack.path.name, "apps", f"PM2: {pm2[0]}"))
        except EngineError as exc:
            findings.append(Finding("error", "pm2", stack.path.name, "apps", exc.message, exc.hint or ""))
    if inst is not None:
        findings += _port_checks(c, stack, inst, engine_ok=not any(f.check == "engine" and f.severity == "error"
                                                                    for f in findings), pm2=pm2)
    return findings


def _engine_checks(c: Context, stack: Stack, report: StaticReport, inst: Instance | None) -> list[Finding]:
    if not shutil.which("docker"):
        return [Finding("error", "engine", "", "", "the docker command is not installed", SETUP_HINT)]
    result = probe(c, engine_info_argv())
    info: dict[str, Any] = {}
    if result.ok:
        rows = parse_json_lines(result.stdout)
        info = rows[0] if rows else {}
    if not info.get("ServerVersion"):
        return [Finding("error", "engine", "", "", engine_unreachable_message(last_line(result.stderr)), DOCKERD_HINT)]
    findings = [Finding("info", "engine", "", "", f"Docker engine {info['ServerVersion']}")]
    listing = probe(c, network_ls_argv())
    networks = parse_json_lines(listing.stdout) if listing.ok else []
    if not listing.ok:
        return findings
    findings += external_network_findings(report, {str(net.get("Name", "")) for net in networks})
    findings += address_pool_findings(stack, report, info, networks, inst.n if inst else None)
    findings += _image_checks(c, stack)
    findings += _aio_checks(stack)
    if inst is not None and stack.networks is not None:
        findings += _subnet_findings(c, inst)
    return findings


# --------------------------------------------------------------------------
# fs.aio-max-nr and Redpanda

#: AIO requests one Seastar shard reserves with the default linux-aio reactor: 1024 for disk I/O
#: (reactor::max_aio), 2 for preemption, 10000 for networking (max-networking-io-control-blocks),
#: per scylladb/seastar#925 and #858. Redpanda is a Seastar program: redpanda-data/redpanda#19936
#: (several `--smp=1` containers fail at the CI default fs.aio-max-nr of 65536) and #17104 (three nodes
#: fail under a cap of 11520; `--reactor-backend=epoll` starts them) match about 11k per shard.
AIO_PER_SHARD = 1024 + 2 + 10000
#: With ``--reactor-backend=epoll`` the networking blocks are not reserved; disk I/O still uses linux-aio.
AIO_PER_SHARD_EPOLL = 1024 + 2
AIO_FIX = ("raise the cap: `sudo sysctl -w fs.aio-max-nr=1048576` (persist it in /etc/sysctl.d/), or start "
           "Redpanda with `--reactor-backend=epoll` and `--smp 1` (redpanda-data/redpanda#17104)")


@dataclass(frozen=True)
class Redpanda:
    """A compose service that runs Redpanda: its shards (``--smp``; None: one per CPU) and reactor."""

    service: str
    smp: int | None
    epoll: bool

    def slots(self, cpus: int) -> int:
        """AIO requests one instance of the service reserves."""
        return (self.smp or cpus) * (AIO_PER_SHARD_EPOLL if self.epoll else AIO_PER_SHARD)


def redpanda_services(stack: Stack, docs: Sequence[Any]) -> list[Redpanda]:
    """The services whose image or command is Redpanda, read from the command the instance runs
    (stack.yaml's ``compose.services.X.command`` if set, else the compose file's)."""
    import re

    from multistack.model.compose_doc import base_services

    patched = {p.service: p.command for p in stack.compose_patches if p.command}
    found = []
    for name, body in sorted(base_services(docs).items()):
        raw = patched.get(name) or body.get("command") or ""
        command = " ".join(map(str, raw)) if isinstance(raw, list) else str(raw)
        image = str(body.get("image") or "").lower().rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        if image != "redpanda" and not re.search(r"\bredpanda start\b", command):
            continue  # redpanda-console is not a Seastar program
        smp = re.search(r"--smp[= ](\d+)", command)
        epoll = re.search(r"--reactor-backend[= ]epoll\b", command) is not None
        found.append(Redpanda(name, int(smp.group(1)) if smp else None, epoll))
    return found


def aio_findings(stack: Stack, redpandas: Sequence[Redpanda], counters: tuple[int, int] | None,
                 cpus: int) -> list[Finding]:
    """Whether fs.aio-max-nr holds every Redpanda instance the stack would run (each isolated instance
    runs its own; shared mode one for all), and whether one more fits beside what is reserved now."""
    if not redpandas or counters is None:
        return []
    cap, used = counters
    instances = 1 if stack.mode == "shared" else sum(1 for n in stack.instance_range if stack.engine_for(n).local)
    if instances == 0:
        return []  # every instance's containers run on another machine, with its own kernel
    one = sum(r.slots(cpus) for r in redpandas)
    where = (stack.compose_files[0] if stack.compose_files else stack.path.name,
             f"services.{redpandas[0].service}.command")
    shards = ", ".join(f"{r.service}: {r.smp or cpus} shard{'s' if (r.smp or cpus) != 1 else ''}"
                       f"{' (epoll)' if r.epoll else ''}" for r in redpandas)
    if cap < instances * one:
        return [Finding("warning", "aio-max-nr", *where,
                        f"fs.aio-max-nr is {cap}: {instances} Redpanda instance{'s' if instances != 1 else ''} "
                        f"need about {instances * one} async I/O requests ({one} each; {shards}): about {cap // one} "
                        "fit, the next fails with 'Could not setup Async I/O'", AIO_FIX)]
    if cap - used < one:
        return [Finding("warning", "aio-max-nr", *where,
                        f"fs.aio-max-nr is {cap} and {used} are reserved: {cap - used} left, one more Redpanda "
                        f"instance needs about {one} ({shards})", AIO_FIX)]
    return [Finding("info", "aio-max-nr", *where,
                    f"fs.aio-max-nr {cap} ({used} reserved) holds {instances} Redpanda instance"
                    f"{'s' if instances != 1 else ''} of about {one} async I/O requests each")]


def _aio_checks(stack: Stack) -> list[Finding]:
    from multistack.io.compose_files import read_compose_files
    from multistack.io.kernel import aio_counters, cpu_count

    try:
        redpandas = redpanda_services(stack, read_compose_files(stack))
    except StackError:
        return []  # the static checks report an unreadable compose file
    return aio_findings(stack, redpandas, aio_counters() if redpandas else None, cpu_count())


def compose_images(docs: Sequence[Any]) -> dict[str, tuple[str, str]]:
    """Service -> (image, pull_policy) of the base compose files (services without ``image:``: built)."""
    from multistack.model.compose_doc import base_services

    return {name: (str(body["image"]), str(body.get("pull_policy") or "missing"))
            for name, body in base_services(docs).items() if isinstance(body, dict) and body.get("image")}


def missing_images(stderr: str) -> set[str]:
    """The images ``docker image inspect A B ...`` did not find (``Error: No such image: X``, one a line)."""
    import re

    return {m.group(1) for m in re.finditer(r"No such image: (\S+)", stderr)}


def image_findings(stack: Stack, images: Mapping[str, tuple[str, str]], missing: set[str]) -> list[Finding]:
    """A start cannot get an image that is not here when it may not pull it (``pull_policy: never``);
    one that is not here is pulled from its registry, which may not be reachable: say so first."""
    out = []
    hint = ("provide it without a registry: `docker load -i FILE.tar` or `docker import ROOTFS.tar IMAGE`, "
            "then `pull_policy: never`; or `docker pull IMAGE` where the registry is reachable")
    for service, (image, policy) in sorted(images.items()):
        if image not in missing:
            continue
        where = (stack.compose_files[0] if stack.compose_files else stack.path.name, f"services.{service}.image")
        if policy == "never":
            out.append(Finding("error", "image", *where, f"image {image} is not on this engine and "
                               "`pull_policy: never` forbids pulling it: start will fail", hint.replace("IMAGE", image)))
        else:
            out.append(Finding("warning", "image", *where, f"image {image} is not on this engine: start pulls it "
                               "from its registry and fails if that cannot be reached", hint.replace("IMAGE", image)))
    return out


def _image_checks(c: Context, stack: Stack) -> list[Finding]:
    """One ``docker image inspect`` for every image of the stack's compose files."""
    from multistack.io.compose_files import read_compose_files

    try:
        images = compose_images(read_compose_files(stack))
    except StackError:
        return []  # the static checks report an unreadable compose file
    names = sorted({image for image, _ in images.values()})
    if not names:
        return []
    result = probe(c, ["docker", "image", "inspect", "--format", "{{.Id}}", *names])
    return image_findings(stack, images, set() if result.ok else missing_images(result.stderr or ""))


def _subnet_findings(c: Context, inst: Instance) -> list[Finding]:
    """Instance N's fixed subnets against the engine's networks (what ``start`` refuses, exit 4)."""
    from multistack.act.networks import engine_overlaps
    from multistack.io.compose_files import read_stack_files
    from multistack.plan.subnets import instance_subnets

    stack = inst.stack
    try:
        subnets = instance_subnets(stack, inst.n, read_stack_files(stack).compose)
    except StackError as exc:
        return [Finding("error", "address-pools", stack.path.name, "networks", exc.message, exc.hint or "")]
    found = engine_overlaps(c, inst, subnets, DockerCli.on(inst.engine).args())
    if not found:
        return [Finding("info", "address-pools", stack.path.name, "networks.pool",
                        f"subnets of instance {inst.n} ({', '.join(str(s) for s in subnets.values())}) are free")]
    return [Finding("error", "address-pools", stack.path.name, "networks.pool",
                    f"instance {inst.n}: {o.describe()}: start refuses",
                    f"remove it (`docker network rm {o.other}`) if unused, or give the stack another pool")
            for o in found]


def _port_checks(c: Context, stack: Stack, inst: Instance, engine_ok: bool,
                 pm2: tuple[str, ...] | None) -> list[Finding]:
    taken = taken_ports(inst.ports, stack.host_ip)
    own: dict[str, str] = {}
    if taken:
        own.update(dict.fromkeys(_own_services(c, stack, inst, engine_ok, pm2), f"instance {inst.n} itself"))
    if getattr(inst, "mode", "isolated") == "shared":
        own.update(dict.fromkeys((svc.name for svc in stack.services if svc.compose), "the shared infra"))
    findings = port_findings(stack, inst, taken, own)
    if not taken:
        findings.append(Finding("info", "port-taken", stack.path.name, "services",
                                f"{len(inst.ports)} port(s) of instance {inst.n}, all free on {stack.host_ip}"))
    return findings


def _own_services(c: Context, stack: Stack, inst: Instance, engine_ok: bool, pm2: tuple[str, ...] | None) -> set[str]:
    """Services whose ports the instance holds itself (its containers run, its apps are online)."""
    containers: list[dict[str, str]] = []
    processes: list[dict[str, Any]] = []
    if stack.compose_files and engine_ok:
        result = probe(c, DockerCli().ps_all())
        containers = parse_containers(result.stdout) if result.ok else []
    if stack.apps and pm2:
        result = probe(c, pm2_argv.jlist(pm2))
        processes = parse_jlist(result.stdout) if result.ok else []
    return held_services(stack, collect(stack, containers, processes, {inst.n}).get(inst.n))


# --------------------------------------------------------------------------
# The stack's files on disk


def path_kind(path: Path) -> str | None:
    """What is at ``path``; the only file-system access of the static checks."""
    if path.is_file():
        return "file"
    if path.is_dir():
        try:
            return "dir" if any(path.iterdir()) else "empty-dir"
        except OSError:
            return "dir"
    return None


def check_settings_files(stack: Stack, settings: DoctorSettings) -> None:
    """Every declared bind-file template exists (I/O, like stack.check_files)."""
    for path, template in settings.bind_files:
        if template and not (stack.root / template).is_file():
            raise StackError(f"{stack.path.name}: doctor.bind_files.{path}: template {template} does not exist",
                             f"create {template}, or write `{path}: ''` for an empty file")


def create_bind_files(report: StaticReport, dry: bool = False, out: TextIO | None = None) -> list[Path]:
    """Create each missing bind-mounted file (never replacing one that appeared meanwhile)."""
    created = []
    for bind in report.bind_files:
        what = f"a copy of {bind.template.name}" if bind.template else "empty"
        users = f", bind-mounted by {', '.join(bind.services)}" if bind.services else ""
        if bind.path.exists():
            continue
        if dry:
            print(f"would create {bind.display} ({what}{users})", file=out or sys.stdout)
            continue
        try:
            data = bind.template.read_bytes() if bind.template else b""
            mode = (bind.template.stat().st_mode & 0o777) if bind.template else 0o644
            done = atomic_write(bind.path, data, mode, exclusive=True)
        except OSError as exc:  # e.g. a parent that is a file, or a folder we may not write
            raise StackError(f"cannot create bind-mounted file {bind.display}: {_os_reason(exc)}",
                             "fix its path (compose volumes: or doctor.bind_files), or create it yourself") from None
        if done:
            created.append(bind.path)
            print(f"created {bind.display} ({what}{users}; Docker would have made a directory)",
                  file=out or sys.stdout)
    return created


def _os_reason(exc: OSError) -> str:
    """``File exists: /x/stack.yaml``: the OS's reason and the path it is about."""
    return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
