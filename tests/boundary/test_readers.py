"""The readers' catalogue: every hostile byte, key, name, number, template and manifest gets one line.

Issue 12, "one reader for every user file". Like tests/boundary/test_bad_input.py,
each case starts from a small valid stack in tmp_path, breaks one thing, runs
the real CLI in-process (:func:`multistack.cli.build_program`), and checks:
exactly one line on stderr, starting with ``error:`` and carrying a
``(fix: ...)``; the exit code docs/exit-codes.md gives for it; no traceback;
and the folder byte for byte as it was (files, modes, folders). Cases that
need an instance (a damaged ``instance.json``) run ``inv dev 1 init`` first,
then break the file, then snapshot.

Families: encodings (invalid UTF-8 in every file the tool reads), YAML that
lies (duplicate keys), names (fullmatch, one normalisation), numbers (ASCII
digits only), templates (run-time errors), manifests (damaged, newer,
edited by hand).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from multistack.errors import EXIT_CONFLICT, EXIT_USAGE
from tests.catalogue import BASE, COMPOSE, STACK, run_cli, snapshot  # noqa: F401 - the catalogue's harness, for its neighbours

OVERRIDE = "files: [compose.yml]\n  override_template: o.yml.j2"
MANIFEST = ".instances/instance-1/instance.json"
DEFAULT = ".instances/.default-instance"
FOLDER = object()  # in ``after``: make a folder at that path
INIT = ["dev", "1", "init"]
DRY_INIT = ["--dry", "dev", "1", "init"]
PORTS = ["dev", "ports"]


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    message: str  # a fragment of the one stderr line
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # changes to BASE; None deletes
    env: dict[str, str] = field(default_factory=dict)
    setup: tuple[tuple[str, ...], ...] = ()  # commands run (and expected to pass) before ``after``
    after: dict[str, object] = field(default_factory=dict)  # files (text, bytes, FOLDER, None) set after setup


def replace(old: str, new: str, text: str = STACK) -> str:
    assert old in text, old
    return text.replace(old, new)


def stack_bytes(old: str, new: bytes) -> bytes:
    """STACK with ``old`` replaced by raw bytes (a Latin-1 character, a broken sequence)."""
    assert old in STACK, old
    head, tail = STACK.split(old, 1)
    return head.encode() + new + tail.encode()


def good_manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text())


def edited_manifest(root: Path) -> str:
    """instance.json as a person would edit it: one port changed, the formatting kept."""
    return (root / MANIFEST).read_text().replace("8100", "8111")


def manifest_with(**changes: object):  # type: ignore[no-untyped-def]
    def make(root: Path) -> str:
        return json.dumps({**good_manifest(root), **changes}, indent=2) + "\n"
    return make


U = "not valid UTF-8 at line"
CASES = [
    # ---- encodings: every file the tool reads, decoded strictly
    Case("stack-latin1-comment", PORTS, EXIT_USAGE, f"stack.yaml: {U} 3 (byte 0xe9)",
         {"stack.yaml": stack_bytes("compose:\n", b"# caf\xe9\ncompose:\n")}),
    Case("stack-latin1-value", PORTS, EXIT_USAGE, f"stack.yaml: {U} 1 (byte 0xe9)",
         {"stack.yaml": stack_bytes("project: demo", b"project: d\xe9mo")}),
    Case("stack-truncated-sequence", PORTS, EXIT_USAGE, f"stack.yaml: {U} 15 (byte 0xc3)",
         {"stack.yaml": STACK.encode() + b"# \xc3"}),
    Case("stack-utf16", PORTS, EXIT_USAGE, f"stack.yaml: {U} 1 (byte 0xff)",
         {"stack.yaml": STACK.encode("utf-16")}),
    Case("stack-overlong", PORTS, EXIT_USAGE, f"stack.yaml: {U} 2 (byte 0xc0)",
         {"stack.yaml": stack_bytes("instances: 0-5", b"instances: 0-5 # \xc0\xaf")}),
    Case("stack-surrogate", PORTS, EXIT_USAGE, f"stack.yaml: {U} 14 (byte 0xed)",
         {"stack.yaml": stack_bytes("env:\n", b"env:\n  X: \"\xed\xa0\x80\"\n")}),
    Case("stack-via-variable", PORTS, EXIT_USAGE, f"other.yaml: {U} 1 (byte 0xfe)",
         {"other.yaml": b"\xfe" + STACK.encode()}, env={"MULTISTACK_FILE": "other.yaml"}),
    Case("env-latin1", DRY_INIT, EXIT_USAGE, f"app.env: {U} 2 (byte 0xe9)",
         {"app.env": b"PORT=3000\nNAME=caf\xe9\n"}),
    Case("env-latin1-first-line", DRY_INIT, EXIT_USAGE, f"app.env: {U} 1 (byte 0xff)",
         {"app.env": b"\xff\xfeP\x00=\x001\x00"}),
    Case("env-latin1-real-init", INIT, EXIT_USAGE, f"app.env: {U} 3 (byte 0xa3)",
         {"app.env": b"PORT=3000\n# price\nPRICE=\xa35\n"}),
    Case("compose-latin1-init", DRY_INIT, EXIT_USAGE, f"compose.yml: {U} 3 (byte 0xe9)",
         {"compose.yml": COMPOSE.encode().replace(b"image: ", b"image: \xe9")}),
    Case("compose-latin1-doctor", ["doctor"], EXIT_USAGE, f"compose.yml: {U} 1 (byte 0xe9)",
         {"compose.yml": b"# \xe9\n" + COMPOSE.encode()}),
    Case("override-template-latin1", DRY_INIT, EXIT_USAGE, f"o.yml.j2: {U} 1 (byte 0xe9)",
         {"stack.yaml": replace("files: [compose.yml]", OVERRIDE), "o.yml.j2": b"# \xe9\nname: x\n"}),
    Case("default-instance-latin1", ["dev", "info"], EXIT_USAGE, f".default-instance: {U} 1 (byte 0xb9)",
         {DEFAULT: b"\xb9\n"}),
    Case("manifest-latin1", INIT, EXIT_USAGE, f"instance.json: {U} 2 (byte 0xe9)",
         setup=(tuple(INIT),), after={MANIFEST: b"{\n\xe9\n}"}),
    # ---- YAML that lies: a key written twice
    Case("dup-host-ip", PORTS, EXIT_USAGE, "stack.yaml: duplicate key 'host_ip' at lines 2 and 3",
         {"stack.yaml": replace("instances: 0-5\n", "host_ip: 127.0.0.1\nhost_ip: 0.0.0.0\ninstances: 0-5\n")}),
    Case("dup-top-level-far-apart", PORTS, EXIT_USAGE, "duplicate key 'project' at lines 1 and 15",
         {"stack.yaml": STACK + "project: other\n"}),
    Case("dup-service", PORTS, EXIT_USAGE, "duplicate key 'api' at lines 8 and 9",
         {"stack.yaml": replace("  api: {port: 3000}\n", "  api: {port: 3000}\n  api: {port: 3001}\n")}),
    Case("dup-in-flow-mapping", PORTS, EXIT_USAGE, "duplicate key 'port' at lines 7 and 7",
         {"stack.yaml": replace("web: {port: 8000,", "web: {port: 8000, port: 9000,")}),
    Case("dup-quoted-and-plain", PORTS, EXIT_USAGE, "duplicate key 'project' at lines 1 and 2",
         {"stack.yaml": replace("project: demo\n", "project: demo\n\"project\": evil\n")}),
    Case("dup-env-key", PORTS, EXIT_USAGE, "duplicate key 'API_URL' at lines 14 and 15",
         {"stack.yaml": STACK + "  API_URL: other\n"}),
    Case("dup-compose-image", DRY_INIT, EXIT_USAGE, "compose.yml: duplicate key 'image' at lines 3 and 4",
         {"compose.yml": replace("    ports:", "    image: evil/other:1\n    ports:", COMPOSE)}),
    Case("dup-compose-service", ["doctor"], EXIT_USAGE, "compose.yml: duplicate key 'web' at lines 2 and 5",
         {"compose.yml": COMPOSE + "  web:\n    image: x\n"}),
    # ---- names: fullmatch, and one normalisation for uniqueness
    Case("project-trailing-newline", PORTS, EXIT_USAGE, "is not a valid project name",
         {"stack.yaml": replace("project: demo", 'project: "demo\\n"')}),
    Case("service-trailing-newline", PORTS, EXIT_USAGE, "services.'api\\n': service names are lowercase letters",
         {"stack.yaml": replace("  api: {port: 3000}", '  "api\\n": {port: 3000}')}),
    Case("app-trailing-newline", PORTS, EXIT_USAGE, "apps.'api\\n': app names are lowercase letters",
         {"stack.yaml": replace("  api:\n    command", '  "api\\n":\n    command')}),
    Case("env-key-trailing-newline", PORTS, EXIT_USAGE, "env.'API_URL\\n': is not a valid environment variable name",
         {"stack.yaml": replace("  API_URL:", '  "API_URL\\n":')}),
    Case("compose-name-trailing-newline", PORTS, EXIT_USAGE, "compose service name",
         {"stack.yaml": replace("compose: web,", 'compose: "web\\n",')}),
    Case("services-normalise-to-one", PORTS, EXIT_USAGE, "'temporal_ui' and 'temporal-ui' differ only",
         {"stack.yaml": replace("  api: {port: 3000}", "  api: {port: 3000}\n  temporal_ui: {port: 4000}\n"
                                "  temporal-ui: {port: 4001}")}),
    Case("apps-normalise-to-one", PORTS, EXIT_USAGE, "app names 'api-x' and 'api_x' differ only",
         {"stack.yaml": replace("env:\n", "  api-x:\n    command: python3 x.py\n  api_x:\n    command: python3 y.py\n"
                                "env:\n")}),
    Case("env-copies-dash-underscore-are-fine", PORTS, EXIT_USAGE, "'other.env' is not an instance env file",
         {"stack.yaml": replace("[instance.env, app.env]", "[instance.env, other.env]")
          .replace("env_files: [app.env]", "env_files: [app.env, my_app.env, my-app.env]"),
          "my_app.env": "X=1\n", "my-app.env": "X=2\n"}),
    Case("apps-dash-underscore", PORTS, EXIT_USAGE, "app names 'my_app' and 'my-app' differ only",
         {"stack.yaml": replace("env:\n", "  my_app:\n    command: python3 a.py\n  my-app:\n    command: python3 b.py\n"
                                "env:\n")}),
    Case("env-file-named-instance-env", PORTS, EXIT_USAGE, "would be copied to instance.env",
         {"stack.yaml": replace("env_files: [app.env]", "env_files: [app.env, conf/instance.env]"),
          "conf/instance.env": "X=1\n"}),
    Case("env-file-named-instance-env-case", PORTS, EXIT_USAGE, "would be copied to instance.env",
         {"stack.yaml": replace("env_files: [app.env]", "env_files: [app.env, conf/Instance.env]"),
          "conf/Instance.env": "X=1\n"}),
    Case("env-copies-differ-by-case", PORTS, EXIT_USAGE, "one file on a case-insensitive disk",
         {"stack.yaml": replace("env_files: [app.env]", "env_files: [app.env, other/App.env]"),
          "other/App.env": "X=1\n"}),
    Case("cli-instance-trailing-newline", ["dev", "1\n", "ports"], EXIT_USAGE, "unknown action or instance '1\\n'"),
    # ---- numbers: ASCII digits only
    Case("cli-superscript", ["dev", "\u00b2", "ports"], EXIT_USAGE, "unknown action or instance '\u00b2'"),
    Case("cli-fullwidth", ["dev", "\uff11", "ports"], EXIT_USAGE, "unknown action or instance '\uff11'"),
    Case("cli-arabic-indic", ["dev", "\u0661", "ports"], EXIT_USAGE, "unknown action or instance '\u0661'"),
    Case("use-superscript", ["dev.use", "\u00b2"], EXIT_USAGE, "instance '\u00b2' is not a number"),
    Case("doctor-arabic-indic", ["doctor", "\u0661"], EXIT_USAGE, "instance '\u0661' is not a number"),
    Case("instance-variable-fullwidth", PORTS, EXIT_USAGE, "MULTISTACK_INSTANCE=\uff12",
         env={"MULTISTACK_INSTANCE": "\uff12"}),
    Case("default-instance-fullwidth", ["dev", "info"], EXIT_USAGE, "is not a number", {DEFAULT: "\uff12\n"}),
    Case("instances-fullwidth", PORTS, EXIT_USAGE, "instances: must be a range",
         {"stack.yaml": replace("instances: 0-5", "instances: \uff10-\uff15")}),
    Case("port-fullwidth", PORTS, EXIT_USAGE, "services.api.port",
         {"stack.yaml": replace("port: 3000", "port: \"\uff13000\"")}),
    Case("tail-superscript", ["dev", "1", "logs", "--tail", "\u00b2"], EXIT_USAGE, "--tail '\u00b2' is not a number"),
    Case("namespace-key-arabic-indic", PORTS, EXIT_USAGE, "is not an instance number",
         {"stack.yaml": STACK + "namespaces:\n  instances: {\"\u0661\": shop}\n"}),
    # ---- templates: run-time errors are one line naming the template
    Case("template-division-by-zero", DRY_INIT, EXIT_USAGE, "env.API_URL: template error at line 1: ZeroDivisionError",
         {"stack.yaml": replace("{{ ports.api }}", "{{ ports.api / 0 }}")}),
    Case("template-huge-power", DRY_INIT, EXIT_USAGE, "is too large to compute",
         {"stack.yaml": replace("{{ ports.api }}", "{{ 7 ** 123456789 }}")}),
    Case("template-huge-repeat", DRY_INIT, EXIT_USAGE, "is too large",
         {"stack.yaml": replace("{{ ports.api }}", "{{ 'x' * 10 ** 12 }}")}),
    Case("template-recursive-macro", DRY_INIT, EXIT_USAGE, "recursion too deep",
         {"stack.yaml": replace("{{ ports.api }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")}),
    Case("template-filter-wrong-type", DRY_INIT, EXIT_USAGE, "template error at line 1: TypeError",
         {"stack.yaml": replace("{{ ports.api }}", "{{ ports.api | first }}")}),
    Case("template-python-internals", DRY_INIT, EXIT_USAGE, "env.API_URL:",
         {"stack.yaml": replace("{{ ports.api }}", "{{ ports.__class__.__mro__ }}")}),
    Case("override-template-division", DRY_INIT, EXIT_USAGE, "o.yml.j2: template error at line 2: ZeroDivisionError",
         {"stack.yaml": replace("files: [compose.yml]", OVERRIDE), "o.yml.j2": "name: x\nn: {{ 1 // 0 }}\n"}),
    Case("override-template-missing-variable", DRY_INIT, EXIT_USAGE, "o.yml.j2: unknown template variable",
         {"stack.yaml": replace("files: [compose.yml]", OVERRIDE), "o.yml.j2": "name: {{ nothing.here }}\n"}),
    # ---- manifests: damaged, newer, a folder, edited by hand
    Case("manifest-huge-number", INIT, EXIT_USAGE, "manifest is damaged: number 1e400 is too large",
         setup=(tuple(INIT),), after={MANIFEST: '{"version": 1e400}'}),
    Case("manifest-deep-nesting", INIT, EXIT_USAGE, "manifest is damaged: nested too deeply",
         setup=(tuple(INIT),), after={MANIFEST: "[" * 100_000}),
    Case("manifest-not-json", INIT, EXIT_USAGE, "manifest is damaged", setup=(tuple(INIT),),
         after={MANIFEST: "hello\n"}),
    Case("manifest-nan", INIT, EXIT_USAGE, "NaN is not a JSON number", setup=(tuple(INIT),),
         after={MANIFEST: '{"version": NaN}'}),
    Case("manifest-a-list", INIT, EXIT_USAGE, "not a multistack manifest", setup=(tuple(INIT),),
         after={MANIFEST: "[1, 2]\n"}),
    Case("manifest-wrong-types", INIT, EXIT_USAGE, "ports, apps missing or of the wrong type",
         setup=(tuple(INIT),), after={MANIFEST: manifest_with(ports={"web": "8100"}, apps="demo-api-1")}),
    Case("manifest-bool-port", INIT, EXIT_USAGE, "ports missing or of the wrong type",
         setup=(tuple(INIT),), after={MANIFEST: manifest_with(ports={"web": True})}),
    Case("manifest-huge-integer", INIT, EXIT_USAGE, "manifest is damaged", setup=(tuple(INIT),),
         after={MANIFEST: '{"version": ' + "9" * 5000 + "}"}),
    Case("manifest-bool-version", INIT, EXIT_USAGE, "not a multistack manifest", setup=(tuple(INIT),),
         after={MANIFEST: manifest_with(version=True)}),
    Case("manifest-newer", INIT, EXIT_USAGE, "written by a newer multistack (manifest version 9",
         setup=(tuple(INIT),), after={MANIFEST: manifest_with(version=9)}),
    Case("manifest-a-folder", INIT, EXIT_USAGE, "instance.json: Is a directory", setup=(tuple(INIT),),
         after={MANIFEST: FOLDER}),
    Case("manifest-a-folder-force", [*INIT, "--force"], EXIT_USAGE, "instance.json: Is a directory",
         setup=(tuple(INIT),), after={MANIFEST: FOLDER}),
    Case("manifest-hand-edited", INIT, EXIT_CONFLICT, "instance.json: edited by hand", setup=(tuple(INIT),),
         after={MANIFEST: edited_manifest}),
    Case("manifest-reformatted", INIT, EXIT_CONFLICT, "instance.json: edited by hand", setup=(tuple(INIT),),
         after={MANIFEST: lambda root: json.dumps(good_manifest(root)) + "\n"}),
    Case("manifest-checksum-wrong", INIT, EXIT_CONFLICT, "edited by hand", setup=(tuple(INIT),),
         after={MANIFEST: manifest_with(checksum="0" * 64)}),
]


def write(path: Path, content: object) -> None:
    if content is FOLDER:
        if path.exists():
            path.unlink()
        path.mkdir(parents=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        path.unlink()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(str(content))


def make_stack(root: Path, files: dict[str, str | bytes | None]) -> None:
    for rel, content in {**BASE, **files}.items():
        if content is not None:
            write(root / rel, content)


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))  # nothing here may reach an engine
    return root


def check_one_line(code: int, out: str, err: str, case: Case) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    assert "(fix: " in lines[0], lines[0]
    assert case.message in lines[0], lines[0]
    assert code == case.code, (code, lines[0])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reader_refuses(case: Case, stack_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    make_stack(stack_dir, case.files)
    for argv in case.setup:
        code, _out, err = run_cli(argv, capsys)
        assert code == 0, err
    for rel, content in case.after.items():
        write(stack_dir / rel, content(stack_dir) if callable(content) else content)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = snapshot(stack_dir)
    code, out, err = run_cli(case.argv, capsys)
    check_one_line(code, out, err, case)
    assert snapshot(stack_dir) == before


def test_the_catalogue_covers_every_family():
    families = {"encoding": ("latin1", "utf16", "truncated", "overlong", "surrogate", "via-variable"),
                "yaml": ("dup-",), "names": ("newline", "normalise", "instance-env", "case", "dash"),
                "numbers": ("superscript", "fullwidth", "arabic"), "templates": ("template-",),
                "manifests": ("manifest-",)}
    counts = {name: sum(any(word in c.id for word in words) for c in CASES) for name, words in families.items()}
    assert len(CASES) >= 45 and all(n >= 5 for n in counts.values()), counts


# --------------------------------------------------------------------------
# What the readers must keep working


def test_a_bom_is_accepted_in_stack_yaml(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {"stack.yaml": "\ufeff" + STACK})
    code, out, err = run_cli(PORTS, capsys)
    assert code == 0, err


def test_a_merge_key_may_be_overridden(stack_dir: Path, capsys) -> None:
    compose = ("x-base: &base\n  image: multistack-test/busybox:1\n  restart: always\n"
               "services:\n  web:\n    <<: *base\n    restart: unless-stopped\n    ports: [\"8000:8080\"]\n")
    make_stack(stack_dir, {"compose.yml": compose})
    code, out, err = run_cli(DRY_INIT, capsys)
    assert code == 0, err


def test_a_crlf_env_file_stays_crlf_in_its_copy(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {"app.env": b"PORT=3000\r\nNAME=x\r\n"})
    code, _out, err = run_cli(INIT, capsys)
    assert code == 0, err
    copy = (stack_dir / ".instances/instance-1/app.env").read_bytes()
    assert b"NAME=x\r\n" in copy and b"PORT=3100\r\n" in copy, copy


def test_utf8_text_is_kept_as_written(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {"app.env": "PORT=3000\nNAME=caf\u00e9 \u2615\n"})
    code, _out, err = run_cli(INIT, capsys)
    assert code == 0, err
    assert "NAME=caf\u00e9 \u2615\n" in (stack_dir / ".instances/instance-1/app.env").read_text(encoding="utf-8")


def test_a_manifest_reads_back_unchanged(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {})
    assert run_cli(INIT, capsys)[0] == 0
    before = snapshot(stack_dir)
    code, out, err = run_cli(INIT, capsys)
    assert code == 0 and "update" not in out and "create" not in out, out + err
    assert snapshot(stack_dir) == before


def test_a_manifest_without_checksum_from_before_is_still_read(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {})
    assert run_cli(INIT, capsys)[0] == 0
    path = stack_dir / MANIFEST
    data = {k: v for k, v in json.loads(path.read_text()).items() if k != "checksum"}
    path.write_text(json.dumps(data, indent=2) + "\n")  # exactly what the previous multistack wrote
    before = snapshot(stack_dir)
    code, out, err = run_cli(INIT, capsys)
    assert code == 0, err
    assert snapshot(stack_dir) == before  # still fresh: read, trusted, left alone until something changes


@pytest.mark.parametrize("damage", ["1e400", "{\n\xe9\n}", "edited"])
def test_force_rewrites_a_bad_manifest_keeping_the_users_copy(damage: str, stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {})
    assert run_cli(INIT, capsys)[0] == 0
    path = stack_dir / MANIFEST
    bad = edited_manifest(stack_dir).encode() if damage == "edited" else damage.encode("latin-1")
    path.write_bytes(bad)
    code, out, err = run_cli([*INIT, "--force"], capsys)
    assert code == 0, err
    assert (stack_dir / (MANIFEST + ".bak")).read_bytes() == bad
    assert json.loads(path.read_text())["instance"] == 1
    assert run_cli(INIT, capsys)[0] == 0  # and it reads back


def test_force_never_overwrites_an_earlier_backup(stack_dir: Path, capsys) -> None:
    make_stack(stack_dir, {})
    assert run_cli(INIT, capsys)[0] == 0
    copy = stack_dir / ".instances/instance-1/app.env"
    for edit in ("first", "second", "third"):
        copy.write_text(copy.read_text() + f"# {edit}\n")
        code, out, err = run_cli([*INIT, "--force"], capsys)
        assert code == 0, err
    backups = {p.name: p.read_text() for p in copy.parent.glob("app.env.bak*")}
    assert sorted(backups) == ["app.env.bak", "app.env.bak.1", "app.env.bak.2"]
    assert backups["app.env.bak"].endswith("# first\n")
    assert backups["app.env.bak.1"].endswith("# second\n")
    assert backups["app.env.bak.2"].endswith("# third\n")
