"""The bad-input catalogue of the four newer features: the router, the dashboard, system members, name schemes.

Each case starts from one stack that uses all four (the e2e systems stack with an HTTP
service, ``router:`` and ``namespaces:``), breaks one thing - a hostile name in a system,
a member, a volume name template, a scheme template, an entity, the router's ``bind``; a
junk ``--tail`` or ``--interval``; a missing command after ``--`` - runs the real CLI
in-process with no engine on PATH, and checks: one line ``error: ... (fix: ...)``, the
code docs/exit-codes.md gives (2), no traceback, and the stack and the router's folder
byte for byte as they were.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from multistack.errors import EXIT_USAGE
from tests.catalogue import run_cli, snapshot

SOURCE = Path(__file__).resolve().parents[1] / "e2e" / "systems"
WEB = "services:\n  web: {port: 8000, compose: rest, container_port: 80, url: 'http://localhost:{{ port }}/'}\n"
ROUTER = "router: {port: 44080}\n"
NAMES = ("namespaces:\n  selectors: {web: site-a}\n  schemes:\n"
         "    alarms: {system: mqtt, template: \"{namespace}[/{selector}]/{plc}/alarms\"}\n"
         "  entities:\n    - {plc: Main PLC}\n")


def base_stack() -> str:
    """The e2e systems stack, with a routed HTTP service and declared names."""
    text = (SOURCE / "stack.yaml").read_text(encoding="utf-8")
    text = text.replace("compose:\n  files: [compose.yml]\n", "compose:\n  files: [compose.yml]\n" + WEB + ROUTER, 1)
    return text + NAMES


STACK = base_stack()


def edit(old: str, new: str, text: str = STACK) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def member(name: str) -> str:
    """The stack with member NODE-A renamed (topology links are by shape, so nothing else names it)."""
    return edit("      NODE-A: {slot: 0", f"      {name}: {{slot: 0")


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON is YAML): a newline or an escape arrives as itself."""
    return json.dumps(text)


def volume(template: str) -> str:
    return edit("      data: {rest: /data}", f"      data: {{name: {quoted(template)}, mounts: {{rest: /data}}}}")


def scheme(system: str, template: str) -> str:
    line = f"    x: {{system: {system}, template: {quoted(template)}}}\n"
    return edit("  entities:\n", line + "  entities:\n")


def entity(value: str) -> str:
    return edit("    - {plc: Main PLC}\n", f"    - {{plc: {quoted(value)}}}\n")


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    message: str  # a fragment of the one stderr line
    stack: str = STACK
    code: int = EXIT_USAGE
    extra: dict[str, str] = field(default_factory=dict)


LONG = "A" * 5000
LOGS = ["system.logs", "trio", "NODE-A"]
INFO = ["dev", "1", "info"]
PS = ["system.ps", "trio"]  # plans the system (volume names) before asking any engine

CASES = [
    # ---- the router's section
    Case("router-bind-injection", INFO, "router.bind: '127.0.0.1\\n    mode tcp' is not an IP address",
         edit(ROUTER, "router: {port: 44080, bind: \"127.0.0.1\\n    mode tcp\"}\n")),
    Case("router-bind-hostname", INFO, "is not an IP address", edit(ROUTER, "router: {bind: 'localhost; rm -rf ~'}\n")),
    Case("router-port-junk", INFO, "router.port", edit(ROUTER, "router: {port: '80; ls'}\n")),
    Case("router-port-range", INFO, "router.port", edit(ROUTER, "router: {port: 70000}\n")),
    Case("router-service-unknown", INFO, "'../web' is not a service", edit(ROUTER, "router: {services: ['../web']}\n")),
    Case("router-unknown-key", INFO, "unknown key 'prot'", edit(ROUTER, "router: {prot: 80}\n")),
    # ---- a member named on the command line
    Case("member-shell", ["system.logs", "trio", "NODE-A;rm -rf /"], "system trio has no member 'NODE-A;rm -rf /'"),
    Case("member-dotdot", ["system.logs", "trio", "../NODE-A"], "has no member '../NODE-A'"),
    Case("member-lookalike", ["system.logs", "trio", "NODE-\uff21"], "has no member"),  # a fullwidth A
    Case("member-zero-width", ["system.restart", "trio", "NODE-\u200bA"], "has no member"),
    Case("member-very-long", ["system.exec", "trio", LONG, "--", "true"], "has no member"),
    Case("system-shell", ["system.logs", "$(id)", "NODE-A"], "no system named '$(id)'"),
    Case("system-dotdot", ["system.down", "../trio"], "no system named '../trio'"),
    Case("two-members", ["system.logs", "trio", "NODE-A", "NODE-B"], "one member at a time"),
    # ---- --tail, --json, exec's command
    Case("tail-negative", [*LOGS, "--tail", "-5"], "--tail '-5' is not a number of lines"),
    Case("tail-junk", [*LOGS, "--tail", "x"], "--tail 'x' is not a number of lines"),
    Case("tail-empty", [*LOGS, "--tail", ""], "is not a number of lines"),
    Case("tail-fullwidth-digit", [*LOGS, "--tail", "\uff15"], "is not a number of lines"),
    Case("tail-shell", [*LOGS, "--tail", "5; rm -rf /"], "is not a number of lines"),
    Case("json-follow", [*LOGS, "--json", "--follow"], "--json and --follow do not go together"),
    Case("exec-no-command", ["system.exec", "trio", "NODE-A"], "no command to run"),
    Case("exec-no-member", ["system.exec", "trio"], "which member of system trio?"),
    Case("exec-unknown-service", ["system.exec", "trio", "NODE-A", "--service", "../rest", "--", "true"],
         "system trio has no service '../rest'"),
    # ---- names in stack.yaml: systems and members
    Case("stack-member-shell", PS, "'NODE-A;rm' is not a valid member name", member("'NODE-A;rm'")),
    Case("stack-member-dotdot", PS, "'../a' is not a valid member name", member("'../a'")),
    Case("stack-member-lookalike", PS, "is not a valid member name", member("NODE-\uff21")),
    Case("stack-member-too-long", PS, "is not a valid member name", member("a" * 64)),
    Case("stack-members-alike", PS, "are the same name once lowercased", member("node-b")),
    Case("stack-system-dotdot", INFO, "system names are lowercase letters", edit("  trio:\n", "  '../trio':\n")),
    Case("stack-system-shell", INFO, "system names are lowercase letters", edit("  trio:\n", "  'trio;id':\n")),
    Case("member-namespace-hostile", INFO, "namespace 'a;b-node-a'",
         edit("NODE-A: {slot: 0,", "NODE-A: {slot: 0, namespace: 'a;b-{{ name }}',")),
    Case("member-namespace-dotdot", INFO, "namespace '../node-a'",
         edit("NODE-A: {slot: 0,", "NODE-A: {slot: 0, namespace: '../{{ name }}',")),
    # ---- volume name templates
    Case("volume-dotdot", PS, "'../node-a' (member NODE-A) is not a valid docker volume name",
         volume("../{{ name }}")),
    Case("volume-shell", PS, "is not a valid docker volume name", volume("$(id)-{{ name }}")),
    Case("volume-slash", PS, "is not a valid docker volume name", volume("{{ name }}/data")),
    Case("volume-lookalike", PS, "is not a valid docker volume name", volume("\uff44ata-{{ name }}")),
    Case("volume-newline", PS, "is not a valid docker volume name", volume("data-{{ name }}\nx")),
    Case("volume-too-long", PS, "is not a valid docker volume name", volume("{{ name }}-" + "x" * 300)),
    Case("volume-same-for-all", PS, "would be both volume data of member NODE-A", volume("shared-data")),
    Case("volume-unknown-variable", PS, "unknown template variable", volume("{{ nope }}-{{ name }}")),
    # ---- scheme templates, selectors, entities
    Case("scheme-newline", INFO, "U+000A, a character that does not print", scheme("mqtt", "{namespace}/a\nb")),
    Case("scheme-escape", INFO, "U+001B, a character that does not print", scheme("redis", "{namespace}:\x1bc")),
    Case("scheme-zero-width", INFO, "U+200B", scheme("mqtt", "{namespace}/\u200bplc")),
    Case("scheme-no-break-space", INFO, "U+00A0", scheme("temporal", "{namespace}\u00a0q")),
    Case("scheme-kafka-shell", INFO, "which a kafka name cannot hold", scheme("kafka", "{namespace}-$(id)")),
    Case("scheme-kafka-lookalike", INFO, "which a kafka name cannot hold", scheme("kafka", "{namespace}-\u0430")),
    Case("scheme-mqtt-broker-topic", INFO, "starts with '$'", scheme("mqtt", "$SYS/{namespace}")),
    Case("scheme-mqtt-wildcard", INFO, "'#' that is not the whole last level", scheme("mqtt", "{namespace}/#/x")),
    Case("scheme-placeholder-dotdot", INFO, "'{../x}' is not a placeholder", scheme("mqtt", "{namespace}/{../x}")),
    Case("scheme-unbalanced", INFO, "unbalanced", scheme("mqtt", "{namespace}/{plc")),
    Case("scheme-unknown-system", INFO, "unknown system 'rm -rf'",
         edit("  entities:\n", "    x: {system: 'rm -rf', template: '{namespace}'}\n  entities:\n")),
    Case("scheme-key-hostile", INFO, "scheme keys are lowercase",
         edit("  entities:\n", "    '../x': {system: mqtt, template: '{namespace}/x'}\n  entities:\n")),
    Case("scheme-very-long-kafka", INFO, "allows 249", scheme("kafka", "{namespace}-" + "x" * 300)),
    Case("entity-slash", INFO, "is one MQTT topic level", entity("a/b")),
    Case("entity-wildcard", INFO, "is one MQTT topic level", entity("+")),
    Case("entity-newline", INFO, "U+000A", entity("Main\nPLC")),
    Case("entity-escape", INFO, "U+001B", entity("\x1b]0;pwned\x07")),
    Case("entity-zero-width", INFO, "U+200D", entity("Main\u200dPLC")),
    Case("entity-unknown-placeholder", INFO, "no declared scheme has this placeholder",
         edit("    - {plc: Main PLC}\n", "    - {'../plc': x}\n")),
    Case("selector-dotdot", INFO, "is not a valid selector",
         edit("selectors: {web: site-a}", "selectors: {web: ../a}")),
    Case("selector-lookalike", INFO, "is not a valid selector",
         edit("selectors: {web: site-a}", "selectors: {web: site-\uff41}")),
    Case("override-namespace-shell", INFO, "namespace 'a$(id)'",
         edit("namespaces:\n", "namespaces:\n  instances: {1: 'a$(id)'}\n")),
    # ---- the dashboard's options
    Case("interval-junk", ["dev.watch", "--interval", "x"], "--interval 'x' is not a number of seconds"),
    Case("interval-shell", ["dev.watch", "--interval", "1; rm -rf /"], "is not a number of seconds"),
    Case("interval-arabic-digit", ["dev.watch", "--interval", "\u0663"], "is not a number of seconds"),
    Case("interval-nan", ["dev.watch", "--interval", "nan"], "--interval nan is out of range"),
    Case("interval-inf", ["dev.watch", "--interval", "1e400"], "--interval inf is out of range"),
    Case("interval-zero", ["dev.watch", "--once", "--interval", "0"], "--interval 0 is out of range"),
    Case("interval-negative", ["dev.watch", "--json", "--interval=-2"], "--interval -2 is out of range"),
]


DATA = "      data: {rest: /data}"
MORE = [
    Case("stack-volume-key-hostile", PS, "volume names are lowercase", edit(DATA, "      '../d': {rest: /data}")),
    Case("stack-volume-mount-relative", PS, "must be an absolute path", edit(DATA, "      data: {rest: ../data}")),
    Case("stack-volume-mount-service-shell", PS, "is not a valid compose service name",
         edit(DATA, "      data: {'rest;id': /data}")),
    Case("stack-port-name-hostile", PS, "port names are lowercase",
         edit("      http: {port: 38080", "      'h$(id)': {port: 38080")
         .replace("topology:\n      shape: line\n      port: http", "topology:\n      shape: line")),
    Case("stack-vars-hostile", PS, "is not a valid template name",
         edit("    vars:\n      role: relay", "    vars:\n      '../role': relay")),
]
CASES.extend(MORE)


@pytest.fixture
def stack_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    for name in ("compose.yml", "peers.txt.j2", "tasks.py"):
        (root / name).write_bytes((SOURCE / name).read_bytes())
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(tmp_path / "router"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))  # nothing here may reach an engine
    monkeypatch.setattr(sys, "stdin", None)  # nobody answers a question
    return root


def test_the_base_stack_is_valid(stack_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every case breaks exactly one thing: the stack it starts from works."""
    (stack_root / "stack.yaml").write_text(STACK, encoding="utf-8")
    code, out, err = run_cli(INFO, capsys)
    assert code == 0, err
    assert "router" in out and "names.alarms" in out
    code, out, err = run_cli(["--dry", "system.graph", "trio"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, stack_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (stack_root / "stack.yaml").write_text(case.stack, encoding="utf-8")
    before = snapshot(tmp_path)
    code, out, err = run_cli(case.argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "(fix: " in lines[0], lines[0]
    assert case.message in lines[0], lines[0]
    assert code == case.code, (code, lines[0])
    assert len(lines[0]) < 1200, len(lines[0])  # a 5000-character name is cut, not echoed whole
    assert snapshot(tmp_path) == before


def test_the_catalogue_covers_every_feature() -> None:
    families = {"router": 0, "member": 0, "volume": 0, "scheme": 0, "entity": 0, "interval": 0, "tail": 0}
    for case in CASES:
        for family in families:
            if family in case.id:
                families[family] += 1
    assert len(CASES) >= 60 and all(n >= 4 for n in families.values()), families

