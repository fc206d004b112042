"""The doctor's fs.aio-max-nr check: Redpanda's async I/O reservations against the kernel's cap (pure parts,
with recorded counters), and the counters read from a /proc-like folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.act.doctor.machine import AIO_PER_SHARD, AIO_PER_SHARD_EPOLL, Redpanda, aio_findings, redpanda_services
from multistack.io.compose_files import read_compose_files
from multistack.io.kernel import aio_counters
from multistack.model.stack import load_stack

COMPOSE = """\
services:
  broker:
    image: docker.redpanda.com/redpandadata/redpanda:v24.2.7
    command: redpanda start --mode dev-container --smp 1 --memory 512M
  console:
    image: redpandadata/console:v2.7.2
  other:
    image: custom/kafka:1
    command: ["redpanda", "start", "--smp=2", "--reactor-backend=epoll"]
  web:
    image: nginx
"""

STACK = """\
project: shop
instances: 0-9
compose:
  files: [compose.yml]
"""


@pytest.fixture
def stack(make_stack):
    return load_stack(make_stack(STACK, {"compose.yml": COMPOSE}))


def test_redpanda_services_are_found_by_image_or_command_with_their_shards(stack):
    found = redpanda_services(stack, read_compose_files(stack))
    assert found == [Redpanda("broker", 1, False), Redpanda("other", 2, True)]  # the console is not Seastar
    assert found[0].slots(cpus=8) == AIO_PER_SHARD == 11026
    assert found[1].slots(cpus=8) == 2 * AIO_PER_SHARD_EPOLL
    assert Redpanda("x", None, False).slots(cpus=4) == 4 * AIO_PER_SHARD  # no --smp: a shard per CPU


def test_stack_yaml_command_is_the_one_that_runs(make_stack):
    stack = load_stack(make_stack(STACK + "  services:\n    broker:\n      command: redpanda start --smp 3\n",
                                  {"compose.yml": COMPOSE}))
    assert redpanda_services(stack, read_compose_files(stack))[0] == Redpanda("broker", 3, False)


def test_ten_instances_do_not_fit_the_ci_default_of_65536(stack):
    """redpanda-data/redpanda#19936: several --smp=1 containers under 65536 fail."""
    (finding,) = aio_findings(stack, [Redpanda("broker", 1, False)], (65536, 0), cpus=2)
    assert finding.severity == "warning" and finding.check == "aio-max-nr"
    assert "fs.aio-max-nr is 65536: 10 Redpanda instances need about 110260" in finding.message
    assert "about 5 fit, the next fails" in finding.message and "sysctl -w fs.aio-max-nr" in finding.fix
    assert finding.key == "services.broker.command"


def test_epoll_fits_and_one_more_must_fit_beside_what_is_reserved(stack):
    assert aio_findings(stack, [Redpanda("broker", 1, True)], (65536, 0), cpus=2)[0].severity == "info"
    (full,) = aio_findings(stack, [Redpanda("broker", 1, False)], (1048576, 1040000), cpus=2)
    assert full.severity == "warning" and "8576 left, one more Redpanda instance needs about 11026" in full.message


def test_nothing_to_say_without_redpanda_or_counters(stack):
    assert aio_findings(stack, [], (65536, 0), cpus=2) == []
    assert aio_findings(stack, [Redpanda("broker", 1, False)], None, cpus=2) == []  # not Linux


def test_shared_mode_runs_one_redpanda_for_every_instance(make_stack):
    stack = load_stack(make_stack(STACK + "mode: shared\n", {"compose.yml": COMPOSE}))
    assert aio_findings(stack, [Redpanda("broker", 1, False)], (65536, 0), cpus=2)[0].severity == "info"


def test_counters_are_read_from_proc(tmp_path: Path):
    (tmp_path / "aio-max-nr").write_text("65536\n")
    (tmp_path / "aio-nr").write_text("22052\n")
    assert aio_counters(tmp_path) == (65536, 22052)
    (tmp_path / "aio-nr").write_text("garbage\n")
    assert aio_counters(tmp_path) is None
    assert aio_counters(tmp_path / "missing") is None
