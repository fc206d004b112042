"""Properties of the pure core, checked by hypothesis on generated inputs.

1. Env rewriting changes no token but a declared base port in a port position
   (or a value a rule names), and what it writes reads back through python-dotenv.
2. Every override rendered for a random valid stack is accepted by Compose v2
   ``config`` and publishes exactly its instance's ports (a small sample: each
   example runs the real binary).
3. A port plan that validation accepts never puts two (service, instance) pairs
   on one port nor past 65535; and one it refuses really would.
4. Every namespace (and name derived from it) of a stack the namespace check
   accepts meets its charset; a plain project name is never refused.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from multistack.plan.envfiles import PortRule, read_env_values, rewrite_env
from multistack.errors import StackError
from multistack.plan.instance import plan_instance
from multistack.plan.ports import MAX_PORT, check_port_plan, port_of
from multistack.model.stack import Service, Stack, load_stack
from tests.conftest import compose_binary

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------
# 1. Env rewriting


@st.composite
def port_rules(draw: st.DrawFn) -> list[PortRule]:
    """1-4 services of a plan that validation accepts, moved to instance n."""
    bases = draw(st.lists(st.integers(1000, 9999), min_size=1, max_size=4, unique=True))
    n = draw(st.integers(1, 5))
    stride = 100
    assume(len({b % stride for b in bases}) == len(bases))  # no base is another's instance port
    keys = draw(st.lists(st.sampled_from(["API_LISTEN", "DEV_SERVER_PORT"]), max_size=1, unique=True))
    return [PortRule(b, b + n * stride, f"s{i}", tuple(keys) if i == 0 else ()) for i, b in enumerate(bases)]


def _value_token(rules: list[PortRule]) -> st.SearchStrategy[str]:
    bases = [str(r.base) for r in rules]
    number = st.sampled_from(bases) | st.integers(0, 99999).map(str)
    return st.one_of(
        st.tuples(st.sampled_from(["localhost:", "http://127.0.0.1:", "db:", ":", "[::1]:"]), number).map("".join),
        st.tuples(st.just("postgres://u:"), number, st.just("@h/db")).map("".join),  # a password, not a port
        number,  # digits without a colon
        st.tuples(number, number).map("".join),  # digits glued to digits
        st.text(alphabet="abcXYZ_.-/,;@", min_size=1, max_size=5),
    )


@st.composite
def env_texts(draw: st.DrawFn, rules: list[PortRule]) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["assign", "assign", "assign", "comment", "blank"]))
        value = "".join(draw(st.lists(_value_token(rules), max_size=3)))
        if kind == "blank":
            lines.append("")
        elif kind == "comment":
            lines.append("# " + value)
        else:
            key = draw(st.sampled_from(["URL", "HOSTS", "MINIO_PORT", "PGPORT", "TIMEOUT", "API_LISTEN",
                                        "DEV_SERVER_PORT", "SECRET"]))
            quote = draw(st.sampled_from(["", '"', "'"]))
            comment = draw(st.sampled_from(["", " # localhost:" + str(rules[0].base)])) if value or quote else ""
            lines.append(draw(st.sampled_from(["", "export "])) + f"{key}={quote}{value}{quote}{comment}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


def _bindings(text: str) -> list[tuple[str | None, str | None]]:
    from dotenv.parser import parse_stream
    import io

    return [(b.key, b.value) for b in parse_stream(io.StringIO(text)) if b.key is not None]


def _only_ports_changed(key: str, old: str | None, new: str | None, rules: list[PortRule]) -> bool:
    moved = {str(r.base): str(r.port) for r in rules}
    named = {k: str(r.port) for r in rules for k in r.keys}
    if key in named:
        return new == named[key]
    if old is None:
        return new is None
    if key.upper().endswith("PORT") and old in moved:
        return new == moved[old]
    before, after = re.split(r"(\d+)", old), re.split(r"(\d+)", new or "")
    if len(before) != len(after):
        return False
    for i, (a, b) in enumerate(zip(before, after)):
        if i % 2 == 0:  # not digits: never changes
            if a != b:
                return False
        elif a != b and not (a in moved and b == moved[a] and before[i - 1].endswith(":")
                             and not after[i + 1].startswith("@")):
            return False
    return True


@FAST
@given(st.data())
def test_env_rewriting_changes_only_declared_ports_in_port_positions(data: st.DataObject) -> None:
    rules = data.draw(port_rules())
    text = data.draw(env_texts(rules))
    overrides = data.draw(st.lists(st.tuples(st.sampled_from(["SECRET", "NEW_KEY"]),
                                             st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                                                     max_size=10)), max_size=2))
    out = rewrite_env(text, "app.env", rules, overrides)
    before, after = _bindings(text), _bindings(out)
    final = dict(overrides)
    kept = [(k, v) for k, v in after if k not in final]
    assert [k for k, _ in kept] == [k for k, _ in before if k not in final]
    for (key, old), (_, new) in zip([b for b in before if b[0] not in final], kept):
        assert _only_ports_changed(key, old, new, rules), (key, old, new)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert [line for line in out.splitlines() if line.startswith("# ") and line in comments] == comments
    # Round trip: python-dotenv reads the file back with the overrides exactly.
    values = read_env_values(out)
    for key, value in final.items():
        assert values[key] == value
    assert rewrite_env(out, "app.env", [], list(final.items())) == out  # already rewritten: stable


# --------------------------------------------------------------------------
# 2. Generated overrides against the real Compose v2 `config`


@st.composite
def compose_stacks(draw: st.DrawFn) -> tuple[str, str, int]:
    """(stack.yaml, compose.yml, instance) for a small valid stack."""
    count = draw(st.integers(1, 3))
    stride = draw(st.sampled_from([10, 100, 1000]))
    last = draw(st.integers(1, 5))
    host_ip = draw(st.sampled_from(["127.0.0.1", "0.0.0.0"]))
    compose_lines = ["services:"]
    declared = []
    used: set[int] = set()
    for i in range(count):
        name = f"svc{i}"
        targets = draw(st.lists(st.integers(1, 9000), min_size=0, max_size=3, unique=True))
        compose_lines += [f"  {name}:", "    image: busybox"]
        if draw(st.booleans()):
            compose_lines.append(f"    container_name: fixed-{name}")
        ports = []
        for target in targets:
            base = draw(st.integers(1024, 20000))
            assume(all((base - other) % stride or base == other for other in used) and base not in used)
            used.add(base)
            ports.append(f'"{base}:{target}"' if draw(st.booleans()) else f'"127.0.0.1:{base}:{target}/tcp"')
            if draw(st.booleans()):
                declared.append(f"  {name}-{target}: {{port: {base}, compose: {name}, container_port: {target}}}")
        if ports:
            compose_lines.append(f"    ports: [{', '.join(ports)}]")
    stack = (f"project: prop\ninstances: 0-{last}\nstride: {stride}\nhost_ip: {host_ip}\n"
             f"compose: {{files: [compose.yml]}}\nservices:\n" + ("\n".join(declared) or "  {}") + "\n")
    if not declared:
        stack = stack.replace("services:\n  {}\n", "")
    return stack, "\n".join(compose_lines) + "\n", draw(st.integers(0, last))


@pytest.mark.usefixtures("compose_bin")  # skips without the binary, fails under CI=true
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(compose_stacks())
def test_every_override_is_accepted_by_compose_and_publishes_only_its_ports(example: tuple[str, str, int]) -> None:
    from multistack.io.compose_files import read_compose_files
    from multistack.plan.render import render_override

    stack_text, compose_text, n = example
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "stack.yaml").write_text(stack_text)
        (root / "compose.yml").write_text(compose_text)
        try:
            stack = load_stack(root / "stack.yaml")
        except StackError:
            assume(False)
            return
        inst = plan_instance(stack, n)
        override = root / "override.yml"
        override.write_text(render_override(inst, read_compose_files(stack)))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": folder}
        result = subprocess.run([compose_binary() or "", "-p", inst.project_name, "-f", str(root / "compose.yml"),
                                 "-f", str(override), "config", "--format", "json"],
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        config = json.loads(result.stdout)
    published = sorted((p.get("host_ip", ""), int(p["published"]), int(p["target"]))
                       for svc in config["services"].values() for p in svc.get("ports", []))
    expected = sorted((stack.host_ip, inst.ports[s.name], s.container_port) for s in stack.services if s.compose)
    assert published == expected
    names = [svc.get("container_name") for svc in config["services"].values() if svc.get("container_name")]
    assert all(name.endswith(f"-{n}") for name in names)


# --------------------------------------------------------------------------
# 3. Port plans


@FAST
@given(st.lists(st.integers(1, 65535), min_size=1, max_size=6), st.integers(1, 2000), st.integers(0, 30),
       st.integers(0, 30))
def test_accepted_port_plans_never_collide(bases: list[int], stride: int, first: int, span: int) -> None:
    services = tuple(Service(f"s{i}", port) for i, port in enumerate(bases))
    stack = Stack(path=Path("stack.yaml"), project="p", first=first, last=first + span, stride=stride,
                  services=services)
    owners: dict[int, tuple[str, int]] = {}
    clean = True
    for n in stack.instance_range:
        for svc in services:
            port = port_of(svc.port, n, stride)
            clean &= 1 <= port <= MAX_PORT and port not in owners
            owners.setdefault(port, (svc.name, n))
    try:
        check_port_plan(stack)
    except StackError:
        assert not clean  # refused: there really was a collision or a port past 65535
    else:
        assert clean


# --------------------------------------------------------------------------
# 4. Namespaces


PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # what stack.yaml accepts as `project:`
KAFKA_TOPIC_RE = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def _stack(project: str, last: int) -> Stack:
    return Stack(path=Path("/nonexistent/stack.yaml"), project=project, first=0, last=last)


@FAST
@given(st.from_regex(PROJECT_RE, fullmatch=True).filter(lambda p: len(p) <= 70), st.integers(0, 30))
def test_accepted_namespaces_match_the_charset(project: str, last: int) -> None:
    namespaces = pytest.importorskip("multistack.model.namespaces")
    planned = pytest.importorskip("multistack.plan.namespaces")
    stack = _stack(project, last)
    try:
        accepted = planned.check_stack(stack)
    except StackError as exc:
        assert exc.hint and "\n" not in exc.line()  # refused in one line, with the fix
        return
    for n, ns in accepted.items():
        inst = plan_instance(stack, n)
        assert inst.namespace == ns
        assert namespaces.NAMESPACE_RE.match(ns) and namespaces.namespace_problem(ns) is None
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", ns)
        assert namespaces.DATABASE_RE.match(inst.database)
        names = planned.derived_names(inst)
        for topic in namespaces.kafka_topics(ns):
            assert KAFKA_TOPIC_RE.match(topic)
        assert names["redis_prefix"] == ns + ":"
        assert all("#" not in part and "+" not in part for part in names["mqtt_write_topic"].split("/")[:1])


@FAST
@given(st.from_regex(r"[a-z][a-z0-9]{0,15}(-[a-z0-9]{1,8}){0,2}", fullmatch=True), st.integers(0, 50))
def test_plain_project_names_are_never_refused(project: str, last: int) -> None:
    namespaces = pytest.importorskip("multistack.model.namespaces")
    planned = pytest.importorskip("multistack.plan.namespaces")
    assert len(planned.check_stack(_stack(project, last))) == last + 1
