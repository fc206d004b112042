"""Systems: named groups of instances that work together (pure core).

A system lists its **members** (an application suite's ``storer`` and
``retriever``, a simulation's nodes ``DUN-A``, ``LON-B``, ``NYC-C``). Each
member runs as its own compose project ``<project>-<system>-<member>`` from
the system's compose files, with its ports on the port plan of its slot
(``base + slot * stride``), and two networks:

- its own project network (``appnet``, or compose's ``default``), where
  service names such as ``rest`` and ``mq`` stay private to the member;
- one shared external network (``meshnet`` unless configured) that only the
  services the system lists join, plus a generated HAProxy **gateway** that
  carries the member's name as its alias there and forwards the declared
  ports to the member's services. ``http://retriever:80/`` from ``storer``
  therefore reaches retriever's ``rest`` through retriever's gateway.

Per-member **overlays** (config files rendered from templates with the other
members' values, e.g. a node's peers along the topology's links) are
bind-mounted into the member's containers; ``system.down`` renders them again
in standalone form (no peers), so a member still runs alone.

The ``systems:`` section is validated when stack.yaml is loaded
(:mod:`multistack.model.systems`, :attr:`Stack.systems`). This module plans
each member (names, ports, forwards, peers), renders every generated file to
text, and builds the ``docker`` argument lists. It reads the system's compose
files and templates, and writes nothing: :mod:`multistack.cli.system` acts.

Files of a member, in ``.instances/system-<name>/<member>/``:

- ``docker-compose.member.yml``: ports of its slot, overlay mounts, data
  volumes, env; with the base files alone it runs the member on its own;
- ``docker-compose.system.yml``: the shared network (``external: true``), the
  services that join it, the gateway with the member's alias;
- ``haproxy.cfg`` (the gateway's), ``member.env``, and the overlay files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from multistack.plan.compose import DEFAULT_COMPOSE, ComposeCli, ComposeProject, DockerCli
from multistack.errors import StackError
from multistack.io.userfiles import read_user_text
from multistack.plan.gateway import COMMAND as GATEWAY_COMMAND
from multistack.plan.gateway import CONFIG_TARGET as GATEWAY_CONFIG_TARGET
from multistack.plan.gateway import check_forwards, haproxy_config, parse_forward
from multistack.plan.render import GeneratedFile
from multistack.plan.systems import (
    MemberPlan,
    SystemPlan,
    check_volume_names,
    member_basics,
    member_namespace,
    volume_names,
)
from multistack.model.stack import Stack
from multistack.model.systems import (  # noqa: F401 - the generated files' names, for the tasks
    ENV_FILE,
    GATEWAY_FILE,
    MEMBER_FILE,
    RECORD,
    SYSTEM_FILE,
    Member,
    Overlay,
    System,
    SystemPort,
    member_project,
    neighbours,
    shown_name,
)

#: Label put on the shared network when multistack creates it; only such a network is removed on down.
NETWORK_LABEL = "dev.multistack.shared-network"
RECORD_VERSION = 1


def project_name(stack: Stack, system: str, member: str) -> str:
    """The member's compose project: ``<project>-<system>-<member>``."""
    return member_project(stack.project, system, member)


def system_dir(stack: Stack, name: str) -> Path:
    return stack.root / stack.instances_dir / f"system-{name}"


def get_system(stack: Stack, name: str) -> System:
    """The declared system ``name``; a StackError listing the declared ones when there is none."""
    systems = stack.systems
    if name not in systems:
        known = ", ".join(systems) or "none"
        raise StackError(f"no system named {shown_name(name)!r} in {stack.path.name} (systems: {known})",
                         "`inv system.list` shows them; declare systems under `systems:` in stack.yaml")
    return systems[name]


# --------------------------------------------------------------------------
# Planning the members (reads the compose files)


def plan_system(stack: Stack, system: System) -> SystemPlan:
    """Every member's names, ports, forwards and peers, checked against the compose files."""
    where = f"{stack.path.name}: systems.{system.name}"
    for rel in system.compose_files:
        if not (stack.root / rel).is_file():
            raise StackError(f"{where}.compose_files: {rel} does not exist",
                             f"create {rel} or fix the path (relative to {stack.path.name})")
    base, networks = read_compose(stack, system.compose_files)
    _check_against_compose(stack, system, base, networks)
    check_volume_names(stack)
    from multistack.plan.templating import render_string

    folder = system_dir(stack, system.name)
    names = [m.name for m in system.members]
    members = []
    for index, m in enumerate(system.members):
        project = project_name(stack, system.name, m.name)
        variables = member_basics(stack, system, m)  # what forward templates may use
        ports, container_ports = variables["ports"], variables["container_ports"]
        forwards = []
        for i, text in enumerate(system.gateway.forward):
            at = f"{where}.gateway.forward[{i}]"
            fwd = parse_forward(render_string(text, variables, where=at), f"{at} (member {m.callsign})")
            if fwd.service not in base:
                raise StackError(f"{at}: no service {fwd.service!r} in {', '.join(system.compose_files)}",
                                 f"use one of: {', '.join(sorted(base))}")
            if not _on_network(base[fwd.service], system.project_network):
                raise StackError(f"{at}: service {fwd.service!r} is not on the project network "
                                 f"{system.project_network!r}, where the gateway reaches it",
                                 f"add {system.project_network} to its networks:")
            forwards.append(fwd)
        check_forwards(forwards, f"{where}.gateway.forward (member {m.callsign})")
        network_name = f"{project}_{system.project_network}"
        members.append(MemberPlan(m, index, project, folder / m.name, ports, container_ports, tuple(forwards),
                                  neighbours(system.topology.links, m.name, names), network_name,
                                  tuple(sorted(base)), volume_names(stack, system, m)))
    plan = SystemPlan(stack, system, folder, tuple(members), base)
    if system.topology.port:
        for mp in plan.members:
            listen = mp.container_ports[system.topology.port]
            if not any(f.port == listen for f in mp.forwards):
                raise StackError(f"{where}.topology.port: peers reach {mp.callsign} at {mp.name}:{listen}, "
                                 f"but its gateway does not forward port {listen}",
                                 f"forward it, e.g. \"{{{{ container_ports.{system.topology.port} }}}}:"
                                 f"{_port(system, system.topology.port).service}:"
                                 f"{{{{ container_ports.{system.topology.port} }}}}\"")
    return plan


def _port(system: System, name: str) -> SystemPort:
    return next(p for p in system.ports if p.name == name)


def read_compose(stack: Stack, files: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The services (merged by name) and top-level networks of compose files (each file read once)."""
    from multistack.io.compose_files import read_compose_files
    from multistack.model.compose_doc import base_networks, base_services

    docs = read_compose_files(stack, files)
    return base_services(docs), base_networks(docs)


def _on_network(spec: Mapping[str, Any], network: str) -> bool:
    """Is a service on ``network``? Without ``networks:`` a service is on ``default`` only."""
    nets = spec.get("networks")
    if not nets:
        return network == "default"
    return network in nets


def _check_against_compose(stack: Stack, system: System, base: Mapping[str, Any], networks: Mapping[str, Any]) -> None:
    where = f"{stack.path.name}: systems.{system.name}"
    files = ", ".join(system.compose_files)
    known = f"use one of: {', '.join(sorted(base))}"

    def need(service: str, key: str) -> None:
        if service not in base:
            raise StackError(f"{where}.{key}: no service {service!r} in {files}", known)

    for svc in system.shared_services:
        need(svc, "shared_services")
    for p in system.ports:
        need(p.service, f"ports.{p.name}.service")
    for o in system.overlays:
        for svc, _ in o.mounts:
            need(svc, f"overlays.{o.name}.mounts")
    for v in system.volumes:
        for svc, _ in v.mounts:
            need(svc, f"volumes.{v.name}")
    if system.gateway.service in base:
        raise StackError(f"{where}.gateway.service: {files} already has a service {system.gateway.service!r}",
                         "name the generated gateway otherwise: gateway: {service: member-gateway}")
    net = system.project_network
    if net != "default" and net not in networks:
        raise StackError(f"{where}.project_network: no network {net!r} in {files}",
                         f"declare it under networks:, or use one of: default, {', '.join(sorted(networks))}")
    if (networks.get(net) or {}).get("name") or (networks.get(net) or {}).get("external"):
        raise StackError(f"{where}.project_network: network {net!r} has a fixed name or is external, "
                         "so every member would share it", "remove its name:/external: so compose scopes it per project")
    if system.network in networks:
        raise StackError(f"{where}.network: {files} already declares a network {system.network!r}",
                         "the shared network is declared by multistack (external): remove it from the compose files "
                         "or choose another network: name")
    for svc in system.shared_services:
        if not _on_network(base[svc], net):
            raise StackError(f"{where}.shared_services: service {svc!r} is not on the project network {net!r}",
                             f"add {net} to its networks: in {files}")


# --------------------------------------------------------------------------
# Rendering


def member_dict(plan: SystemPlan, mp: MemberPlan) -> dict[str, Any]:
    """What templates know about a member (itself, a peer, the hub)."""
    system = plan.system
    listen = mp.container_ports.get(system.topology.port) if system.topology.port else None
    return {
        "name": mp.name, "callsign": mp.callsign, "slot": mp.member.slot, "index": mp.index,
        "node_id": mp.index + 1, "project_name": mp.project_name, "address": mp.name,
        "ports": dict(mp.ports), "container_ports": dict(mp.container_ports),
        "vars": {**system.vars, **mp.member.vars}, "is_hub": plan.hub == mp.name,
        "listen_port": listen, "peer_names": list(mp.peers),
        "namespace": member_namespace(plan.stack, system, mp.member),
        "volume_names": dict(mp.volume_names),
    }


def member_variables(plan: SystemPlan, mp: MemberPlan, standalone: bool = False) -> dict[str, Any]:
    """The names member templates use: ``{{ callsign }}``, ``{{ peers }}``, ``{{ vars.ebus }}``...

    Standalone (what ``system.down`` renders): the member alone, no peers, no
    links, no hub other than itself: a harmless configuration.
    """
    system = plan.system
    me = member_dict(plan, mp)
    everyone = {m.name: member_dict(plan, m) for m in plan.members}
    if standalone:
        everyone = {mp.name: me}
    peers = [] if standalone else [everyone[name] for name in mp.peers]
    port = system.topology.port
    hub = everyone.get(plan.hub) if plan.hub else None
    return {
        **me,
        "system": system.name, "description": system.description, "network": system.network,
        "project": plan.stack.project, "host_ip": plan.stack.host_ip, "standalone": standalone,
        "member": me, "members": list(everyone.values()), "member_by_name": everyone,
        "peers": peers, "links": [] if standalone else [list(link) for link in plan.links],
        "hub": hub, "peer_addresses": [f"{p['name']}:{p['container_ports'][port]}" for p in peers] if port else [],
    }


def member_env(plan: SystemPlan, mp: MemberPlan) -> list[tuple[str, str]]:
    """``member.env``: fixed variables, the ports, the system's env then the member's (member wins)."""
    from multistack.plan.templating import render_string

    system = plan.system
    variables = member_variables(plan, mp)
    pairs: dict[str, str] = {
        "COMPOSE_PROJECT_NAME": mp.project_name,
        "MULTISTACK_SYSTEM": system.name,
        "MULTISTACK_MEMBER": mp.name,
        "MULTISTACK_CALLSIGN": mp.callsign,
        "MULTISTACK_SLOT": str(mp.member.slot),
        "MULTISTACK_NETWORK": system.network,
    }
    namespace = variables["namespace"]
    if namespace is not None:
        pairs["MULTISTACK_NAMESPACE"] = namespace
    for name, port in mp.ports.items():
        pairs[f"MULTISTACK_PORT_{name.upper()}"] = str(port)
    where = f"{plan.stack.path.name}: systems.{system.name}"
    for key, template in system.env:
        pairs[key] = render_string(template, variables, where=f"{where}.env.{key}")
    for key, template in mp.member.env:
        pairs[key] = render_string(template, variables, where=f"{where}.members.{mp.callsign}.env.{key}")
    return list(pairs.items())


def _env_text(plan: SystemPlan, mp: MemberPlan) -> str:
    from multistack.plan.envfiles import rewrite_env

    header = f"# Generated by multistack: member {mp.callsign} of system {plan.system.name} ({mp.project_name})."
    return rewrite_env("", ENV_FILE, (), member_env(plan, mp), header=header)


def _compose_services(plan: SystemPlan, mp: MemberPlan, configs: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """What ``docker-compose.member.yml`` says about each service, in name order (``configs``: the
    overlays as plan.configs.InlineConfig, carried in the file, not bind-mounted: a remote engine
    has no .instances/)."""
    from multistack.plan.configs import configs_hash

    system = plan.system
    host_ip = plan.stack.host_ip
    out = []
    for name in sorted(plan.base):
        spec = plan.base[name]
        ports = [f"{host_ip}:{mp.ports[p.name]}:{mp.container_ports[p.name]}" for p in system.ports if p.service == name]
        container_name = spec.get("container_name")
        out.append({
            "name": name,
            "ports": ports,
            "reset_ports": bool(spec.get("ports")) and not ports,
            "container_name": f"{container_name}-{mp.name}" if container_name else None,
            "env_file": str(mp.dir / ENV_FILE),
            "configs": [(cfg.key, cfg.target) for cfg in configs if cfg.key.startswith(f"{name}/")],
            "configs_hash": configs_hash(cfg for cfg in configs if cfg.key.startswith(f"{name}/")),
            "volumes": [(v.name, target) for v in system.volumes for svc, target in v.mounts if svc == name],
        })
    return out


def _overlay_configs(plan: SystemPlan, mp: MemberPlan, standalone: bool) -> list[Any]:
    """Each overlay mount as an inline config keyed ``<service>/<overlay>`` (one per mount)."""
    from multistack.plan.configs import InlineConfig

    texts = {o.name: render_overlay(plan, mp, o, standalone) for o in plan.system.overlays}
    return [InlineConfig(f"{svc}/{o.name}", texts[o.name], target)
            for o in plan.system.overlays for svc, target in o.mounts]


def render_member_compose(plan: SystemPlan, mp: MemberPlan, standalone: bool = False) -> str:
    from multistack.plan.configs import HASH_LABEL, InlineConfig, config_key
    from multistack.plan.templating import render_file

    from multistack.plan.subnets import member_subnets

    subnet = member_subnets(plan.stack).get((plan.system.name, mp.name))
    configs = _overlay_configs(plan, mp, standalone)
    services = _compose_services(plan, mp, configs)
    keyed = {cfg.key: InlineConfig(config_key(cfg.key.replace("/", "_")), cfg.text, cfg.target) for cfg in configs}
    for svc in services:
        svc["configs"] = [(keyed[key].key, target) for key, target in svc["configs"]]
    variables = {**member_variables(plan, mp), "services": services, "configs": list(keyed.values()),
                 "configs_hash_label": HASH_LABEL,
                 "volume_names": [{"key": v.name, "name": mp.volume_names[v.name] if v.docker_name else None}
                                  for v in plan.system.volumes],
                 "networks": [{"name": plan.system.project_network, "subnet": str(subnet)}] if subnet else []}
    return render_file("system-member.yml.j2", variables)


def render_system_compose(plan: SystemPlan, mp: MemberPlan) -> str:
    from multistack.plan.templating import render_file

    from multistack.plan.configs import HASH_LABEL, InlineConfig, config_key, configs_hash

    system = plan.system
    gw = system.gateway
    config = InlineConfig(config_key(gw.service, GATEWAY_FILE), render_gateway(plan, mp), GATEWAY_CONFIG_TARGET)
    variables = {
        **member_variables(plan, mp),
        "gateway": {"service": gw.service, "image": gw.image, "pull_policy": gw.pull_policy,
                    "command": list(GATEWAY_COMMAND), "config_key": config.key, "config_content": config.content,
                    "hash_label": HASH_LABEL, "config_hash": configs_hash([config]),
                    "config_target": GATEWAY_CONFIG_TARGET, "forwards": [f.describe() for f in mp.forwards]},
        "project_network": system.project_network,
        "shared_services": list(system.shared_services),
    }
    return render_file("system-shared.yml.j2", variables)


def render_gateway(plan: SystemPlan, mp: MemberPlan) -> str:
    return haproxy_config(mp.forwards, member=mp.name, system=plan.system.name, project_name=mp.project_name,
                          network=plan.system.network, project_network=mp.project_network_name)


def render_overlay(plan: SystemPlan, mp: MemberPlan, overlay: Overlay, standalone: bool) -> str:
    """An overlay's text: ``template`` with the system, or ``reset`` (else ``template`` standalone) alone."""
    from multistack.plan.templating import render_file

    template = overlay.reset if standalone and overlay.reset else overlay.template
    path = plan.stack.root / template
    variables = member_variables(plan, mp, standalone=standalone)
    if path.is_file():
        return render_file(path.name, variables, user_dir=path.parent)
    if "/" not in template and template.startswith("system-") and template.endswith(".j2"):
        return render_file(template, variables)
    key = "reset" if template == overlay.reset else "template"
    raise StackError(f"{plan.stack.path.name}: systems.{plan.system.name}.overlays.{overlay.name}.{key}: "
                     f"{template} does not exist",
                     "give a path relative to stack.yaml, or a packaged template such as system-node.json.j2")


def render_overlays(plan: SystemPlan, standalone: bool) -> dict[str, GeneratedFile]:
    """The overlay files, and the member file that carries them (its configs: the same texts)."""
    files = {f"{mp.name}/{o.name}": GeneratedFile(render_overlay(plan, mp, o, standalone))
             for mp in plan.members for o in plan.system.overlays}
    if plan.system.overlays:
        files.update({f"{mp.name}/{MEMBER_FILE}": GeneratedFile(render_member_compose(plan, mp, standalone))
                      for mp in plan.members})
    return files


def render_system(plan: SystemPlan) -> dict[str, GeneratedFile]:
    """Every file of every member (overlays in their system form), by path in the system folder."""
    files: dict[str, GeneratedFile] = {}
    for mp in plan.members:
        files[f"{mp.name}/{MEMBER_FILE}"] = GeneratedFile(render_member_compose(plan, mp))
        files[f"{mp.name}/{SYSTEM_FILE}"] = GeneratedFile(render_system_compose(plan, mp))
        files[f"{mp.name}/{ENV_FILE}"] = GeneratedFile(_env_text(plan, mp), 0o600)
        files[f"{mp.name}/{GATEWAY_FILE}"] = GeneratedFile(render_gateway(plan, mp))
    files.update(render_overlays(plan, standalone=False))
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------
# The record of what was generated and started


@dataclass(frozen=True)
class SystemRecord:
    """``system.json``: which compose projects and network a system used, and the files' hashes.

    ``system.down`` reads it to take down members that stack.yaml no longer
    lists; the hashes tell a file we wrote from one edited by hand.
    """

    system: str
    network: str
    members: dict[str, str]  # member name -> compose project
    files: dict[str, str] = field(default_factory=dict)  # path in the system folder -> sha256
    version: int = RECORD_VERSION

    def to_text(self) -> str:
        data = {"version": self.version, "system": self.system, "network": self.network,
                "members": dict(sorted(self.members.items())), "files": dict(sorted(self.files.items()))}
        return json.dumps(data, indent=2) + "\n"


def parse_record(text: str, where: str) -> SystemRecord:
    try:
        data = json.loads(text)
        version = data["version"]
    except (ValueError, KeyError, TypeError):
        raise StackError(f"{where}: not a multistack system record", "remove the file and run `inv system.up`") from None
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise StackError(f"{where}: written by a newer multistack (record version {version}, "
                         f"this one reads {RECORD_VERSION})", "upgrade multistack")
    try:
        return SystemRecord(str(data["system"]), str(data["network"]),
                            {str(k): str(v) for k, v in data["members"].items()},
                            {str(k): str(v) for k, v in data.get("files", {}).items()}, version)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StackError(f"{where}: system record is damaged", "remove the file and run `inv system.up`") from None


def read_record(folder: Path) -> SystemRecord | None:
    text = read_user_text(folder / RECORD, missing_ok=True, hint="remove the file and run `inv system.up`")
    if text is None:
        return None
    return parse_record(text, str(folder / RECORD))


# --------------------------------------------------------------------------
# Argument lists (pure)


def member_compose(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
                   joined: bool = True) -> ComposeProject:
    """The member's compose project: the system's files, ``member.yml`` [, ``system.yml``], ``member.env``."""
    files = [*(plan.stack.root / rel for rel in plan.system.compose_files), mp.dir / MEMBER_FILE]
    if joined:
        files.append(mp.dir / SYSTEM_FILE)
    project = ComposeProject.for_member(mp.project_name, files, mp.dir / ENV_FILE)
    return ComposeProject(project.name, project.files, project.env_files, ComposeCli(tuple(compose)))


def compose_args(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
                 joined: bool = True) -> list[str]:
    """``docker compose -p PROJECT -f base... -f member.yml [-f system.yml] --env-file member.env``."""
    return member_compose(plan, mp, compose, joined).args()


def up_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
            recreate: bool = False) -> list[str]:
    """``up --wait``; ``recreate`` when a bind-mounted file changed under running containers."""
    return member_compose(plan, mp, compose).up(recreate=recreate)


def down_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE,
              volumes: bool = False) -> list[str]:
    return member_compose(plan, mp, compose).down(volumes=volumes)


def logs_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE, follow: bool = False,
              tail: int | None = None, with_files: bool = True) -> list[str]:
    """``logs`` of every service of the member (its gateway too); without its files (never up), by project name."""
    if not with_files:
        return ComposeProject(mp.project_name, cli=ComposeCli(tuple(compose))).logs(follow=follow, tail=tail)
    return member_compose(plan, mp, compose).logs(follow=follow, tail=tail)


def restart_argv(plan: SystemPlan, mp: MemberPlan, compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    return member_compose(plan, mp, compose).restart()


def exec_argv(plan: SystemPlan, mp: MemberPlan, service: str, command: Sequence[str],
              compose: Sequence[str] = DEFAULT_COMPOSE) -> list[str]:
    return member_compose(plan, mp, compose).exec(service, command)


def exec_service(plan: SystemPlan, service: str | None) -> str:
    """The service ``system.exec`` runs in: ``--service``, else the only one, else the first shared one."""
    system = plan.system
    services = sorted(plan.base)
    if service is not None:
        if service not in (*services, system.gateway.service):
            raise StackError(f"system {system.name} has no service {service!r}",
                             f"use one of: {', '.join([*services, system.gateway.service])}")
        return service
    if len(services) == 1:
        return services[0]
    if system.shared_services:
        return system.shared_services[0]
    raise StackError(f"which service of system {system.name}? its members run {', '.join(services)}",
                     f"name it: --service {services[0]}")


def parse_logs(text: str, project: str) -> list[dict[str, str]]:
    """``docker compose logs --no-color`` lines, ``node-1  | text``, as ``{service, container, text}``.

    The prefix is ``<service>-<index>`` (or, in older Compose versions, the container's
    full name ``<project>-<service>-<index>``); a line without the ``" | "`` separator
    belongs to no container and keeps its text.
    """
    lines = []
    for raw in text.splitlines():
        head, sep, rest = raw.partition(" | ")
        container = head.strip() if sep else ""
        service = container.removeprefix(f"{project}-")
        stem, _, index = service.rpartition("-")
        lines.append({"service": stem if stem and index.isdigit() else service, "container": container,
                      "text": rest if sep else raw})
    return lines


def down_project_argv(project: str, compose: Sequence[str] = DEFAULT_COMPOSE, volumes: bool = False) -> list[str]:
    """A member no longer declared (or without its files): down by project name."""
    return ComposeProject(project, cli=ComposeCli(tuple(compose))).down(volumes=volumes)


#: One query answers both questions about the shared network: is it ours, and is anything attached?
NETWORK_FORMAT = '{{json .Labels}} {{len .Containers}}'


def network_inspect_argv(network: str, docker: str = "docker") -> list[str]:
    return DockerCli(docker).network_inspect(network, NETWORK_FORMAT)


def network_create_argv(network: str, docker: str = "docker") -> list[str]:
    return DockerCli(docker).network_create(network, NETWORK_LABEL)


def network_rm_argv(network: str, docker: str = "docker") -> list[str]:
    return DockerCli(docker).network_rm(network)


@dataclass(frozen=True)
class NetworkState:
    exists: bool
    ours: bool = False  # created by multistack (labelled)
    attached: int = 0  # containers connected now, i.e. running members of any system

    @property
    def removable(self) -> bool:
        return self.exists and self.ours and self.attached == 0


def parse_network_state(ok: bool, stdout: str) -> NetworkState:
    """From ``network inspect --format NETWORK_FORMAT``; a failed inspect means no such network."""
    if not ok:
        return NetworkState(False)
    text = stdout.strip()
    labels_text, _, count = text.rpartition(" ")
    try:
        labels = json.loads(labels_text) or {}
        attached = int(count)
    except ValueError:
        return NetworkState(True, False, 0)
    return NetworkState(True, isinstance(labels, dict) and NETWORK_LABEL in labels, attached)
