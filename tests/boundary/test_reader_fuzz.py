"""Fuzzing the readers: arbitrary bytes as stack.yaml, an env file or a compose file.

Whatever the bytes, the real CLI either succeeds or prints one line
``error: ...`` with a documented exit code (2 for bad input), never a
traceback, and the stack's folder is byte for byte as it was (the commands
used, ``dev ports`` and ``--dry dev 1 init``, write nothing). Inputs are a
mix of raw bytes, valid files with random bytes spliced in (so the fuzzer
reaches the YAML, env and template layers, not only the UTF-8 check) and
YAML-looking text. Examples and sizes are kept small: the file runs in
seconds.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.boundary.test_readers import DRY_INIT, PORTS, make_stack, run_cli, snapshot
from tests.catalogue import BASE, COMPOSE, ENV, STACK

#: Codes a refused reader may exit with (docs/exit-codes.md): bad input, or a doctor finding for compose files.
DOCUMENTED = {0, 2, 5}
#: ``READER_FUZZ_EXAMPLES=2000`` for a long, random run; by default a short, repeatable one.
EXAMPLES = int(os.environ.get("READER_FUZZ_EXAMPLES", "0") or 0)
FUZZ = settings(max_examples=EXAMPLES or 60, deadline=None, derandomize=not EXAMPLES,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def spliced(valid: str) -> st.SearchStrategy[bytes]:
    """``valid`` with a few random bytes written over or into it at random places."""
    data = valid.encode()

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(out)))
            chunk = draw(st.binary(min_size=1, max_size=6))
            if draw(st.booleans()):
                out[at:at + len(chunk)] = chunk
            else:
                out[at:at] = chunk
        return bytes(out)

    return build()


YAMLISH = st.text(alphabet=st.sampled_from(list("ab:- \n\t{}[],&*!<>'\"#%|@`09\u00e9\u2028\x00\ufeff")),
                  max_size=80).map(lambda text: text.encode("utf-8", "surrogatepass"))


def inputs(valid: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=200), spliced(valid), YAMLISH)


def check(files: dict[str, bytes], argv: list[str], capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "stack"
        root.mkdir()
        make_stack(root, dict(files))
        monkeypatch.chdir(root)
        before = snapshot(root)
        code, out, err = run_cli(argv, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        assert "Traceback" not in out + err, err
        assert code in DOCUMENTED, (code, err)
        if code:
            assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert snapshot(root) == before


@pytest.fixture
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))
    return monkeypatch


@FUZZ
@given(data=inputs(STACK))
def test_any_bytes_as_stack_yaml(data: bytes, capsys, quiet_env) -> None:
    check({"stack.yaml": data}, PORTS, capsys, quiet_env)


@FUZZ
@given(data=inputs(ENV))
def test_any_bytes_as_an_env_file(data: bytes, capsys, quiet_env) -> None:
    check({"app.env": data}, DRY_INIT, capsys, quiet_env)


@FUZZ
@given(data=inputs(COMPOSE))
def test_any_bytes_as_a_compose_file(data: bytes, capsys, quiet_env) -> None:
    check({"compose.yml": data}, DRY_INIT, capsys, quiet_env)


def test_the_base_stack_is_valid(capsys, quiet_env) -> None:
    """The fuzzers start from a stack that works, so a refusal is the fuzzed file's doing."""
    check({name: text.encode() for name, text in BASE.items()}, DRY_INIT, capsys, quiet_env)
