"""Reading compose files: once each, tags kept (doctor) or dropped (render, systems), bad files as one line."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.io.compose_files import read_compose_file, read_compose_files
from multistack.model.compose_doc import ComposeDoc, base_networks, base_services, parse_compose, untag
from multistack.model.stack import load_stack
from multistack.model.yamldoc import Tagged

BASE = """\
services:
  web:
    image: busybox
    ports: ["8000:80"]
    networks: [front]
  db: {image: busybox}
networks:
  front: {driver: bridge}
"""
OVERRIDE = """\
services:
  web:
    ports: !override ["8100:80"]
    volumes: !reset []
    networks: {front: {aliases: [web-1]}}
networks:
  front: {name: front-1}
"""


def bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["x-lol: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\nservices:\n  web: {image: busybox, command: *l%d}\n" % (levels - 1)


def stack_with(make_stack, files: dict[str, str]) -> Path:
    listed = ", ".join(files)
    return make_stack(f"project: demo\ncompose: {{files: [{listed}]}}\nservices:\n"
                      "  web: {port: 8000, compose: web, container_port: 80}\n", files)


def test_tags_kept_in_the_document_and_dropped_in_its_plain_views(make_stack):
    path = stack_with(make_stack, {"base.yml": BASE, "over.yml": OVERRIDE})
    base, over = read_compose_files(load_stack(path))
    assert (base.name, over.name) == ("base.yml", "over.yml")
    web = over.data["services"]["web"]
    assert web["ports"] == Tagged("!override", ["8100:80"]) and web["volumes"] == Tagged("!reset", [])
    assert over.services()["web"]["ports"] == ["8100:80"]  # the plain view: tags dropped
    assert over.services()["web"]["volumes"] == []


def test_merged_services_and_networks_later_files_win(make_stack):
    docs = read_compose_files(load_stack(stack_with(make_stack, {"base.yml": BASE, "over.yml": OVERRIDE})))
    services = base_services(docs)
    assert services["web"] == {"image": "busybox", "ports": ["8100:80"], "networks": {"front": {"aliases": ["web-1"]}},
                               "volumes": []}
    assert services["db"] == {"image": "busybox"}
    assert base_networks(docs) == {"front": {"driver": "bridge", "name": "front-1"}}


def test_untag_reaches_nested_values():
    assert untag({"a": [Tagged("!override", {"b": Tagged("!reset", [])})]}) == {"a": [{"b": []}]}


def test_only_the_files_asked_for(make_stack):
    stack = load_stack(stack_with(make_stack, {"base.yml": BASE, "over.yml": OVERRIDE}))
    assert [doc.name for doc in read_compose_files(stack, ["over.yml"])] == ["over.yml"]
    assert read_compose_files(stack, []) == ()


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("services:\n  web:\n   - [\n", "c.yml:4:1: malformed YAML: did not find expected node content",
     "fix the compose file"),
    ("- services\n", "c.yml: a compose file must be a mapping", "start it with `services:`"),
    ("", "c.yml: no `services:` mapping", "a compose file needs a services: section"),
    ("services: [web]\n", "c.yml: no `services:` mapping", "a compose file needs a services: section"),
])
def test_bad_compose_files_are_one_line_errors(tmp_path, text, message, hint):
    (tmp_path / "c.yml").write_text(text)
    with pytest.raises(StackError) as info:
        read_compose_file(tmp_path, "c.yml")
    assert (info.value.message, info.value.hint) == (message, hint)


def test_an_override_needs_no_services():
    assert parse_compose("", "o.yml", base=False) == ComposeDoc("o.yml", {})
    assert parse_compose("networks: {}\n", "o.yml", base=False).services() == {}


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(StackError) as info:
        read_compose_file(tmp_path, "gone.yml")
    assert info.value.message == "cannot read compose file gone.yml: No such file or directory"
    assert info.value.hint == "create gone.yml or remove it from compose.files"


def test_alias_bomb_in_a_compose_file_is_refused(tmp_path):
    (tmp_path / "c.yml").write_text(bomb())
    with pytest.raises(StackError) as info:
        read_compose_file(tmp_path, "c.yml")
    assert info.value.message.startswith("c.yml: its YAML aliases expand to more than 100,000 nodes")


def test_alias_bomb_stops_doctor_and_start_before_compose(make_stack, capsys):
    from multistack.cli.program import build_program

    stack_with(make_stack, {"compose.yml": bomb()})
    for argv in (["doctor"], ["--dry", "dev", "1", "start"]):
        with pytest.raises(SystemExit) as exit_info:
            build_program().run(["multistack", *argv], exit=True)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: compose.yml: its YAML aliases expand to more than"), err


def count_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count Path.read_text and Path.read_bytes (the user-file reader's) by file name, whoever calls it."""
    reads: Counter[str] = Counter()
    originals = {name: getattr(Path, name) for name in ("read_text", "read_bytes")}

    def counting(name: str):  # type: ignore[no-untyped-def]
        def read(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
            reads[self.name] += 1
            return originals[name](self, *args, **kwargs)
        return read

    for name in originals:
        monkeypatch.setattr(Path, name, counting(name))
    return reads


def test_systems_reads_each_compose_file_once(make_stack, monkeypatch):
    from multistack.act.systems import read_compose

    stack = load_stack(stack_with(make_stack, {"base.yml": BASE, "over.yml": OVERRIDE}))
    reads = count_reads(monkeypatch)
    services, networks = read_compose(stack, ["base.yml", "over.yml"])
    assert reads == Counter({"base.yml": 1, "over.yml": 1})
    assert services["web"]["ports"] == ["8100:80"] and networks["front"] == {"driver": "bridge", "name": "front-1"}


def test_doctor_reads_each_compose_file_once_for_both_instances(make_stack, monkeypatch):
    from multistack.act.doctor import analyse

    stack = load_stack(stack_with(make_stack, {"base.yml": BASE, "over.yml": OVERRIDE}))
    reads = count_reads(monkeypatch)
    analyse(stack, 1)
    assert reads["base.yml"] == 1 and reads["over.yml"] == 1
