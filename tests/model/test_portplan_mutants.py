"""The port plan's check (model/portplan.py): the exact refusal a user reads, and its edges: the last
port allowed, where a port must be unique with and without ``engines:`` (found by mutation testing)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.portplan import check_ports, port_of

FILE = "shop.yaml"


def refusal(services, stride: int, instances: range, remote=None) -> StackError:
    with pytest.raises(StackError) as info:
        check_ports(FILE, services, stride, instances, remote)
    return info.value


def test_port_of_is_base_plus_n_strides():
    assert port_of(3000, 0, 100) == 3000
    assert port_of(3000, 7, 100) == 3700


def test_65535_itself_is_a_port_and_one_more_is_refused_naming_the_last_instance():
    check_ports(FILE, [("api", 65035, True)], 100, range(0, 6))  # instance 5: 65535
    error = refusal([("web", 3000, True), ("api", 65036, True)], 100, range(2, 6))
    assert error.message == "shop.yaml: services.api.port: instance 5 would get port 65536 (> 65535)"
    assert error.hint == "lower the base port, the stride or the last instance"


def test_two_services_on_one_port_name_both_and_the_stride():
    error = refusal([("api", 3000, True), ("web", 3200, True)], 100, range(0, 4))
    assert error.message == "shop.yaml: services: port 3200 is used by web of instance 0 and by api of instance 2"
    assert error.hint == "move one base port so that no two differ by a multiple of the stride (100)"


def test_with_engines_a_port_repeats_only_on_different_engines():
    # instances 0-1 on this machine's engine, 2-3 on "big": containers may reuse ports across engines
    remote = {2: "big", 3: "big"}
    check_ports(FILE, [("db", 3000, False), ("cache", 3200, False)], 100, range(0, 4), remote)
    error = refusal([("db", 3000, False), ("cache", 3100, False)], 100, range(0, 4), remote)
    assert error.message == ("shop.yaml: services: port 3100 is used by cache of instance 0 and by db of instance 1 "
                             "on this machine")  # the clash on big (3300: cache of 2, db of 3) comes later
    error = refusal([("db", 3000, False), ("cache", 3100, False)], 100, range(0, 4), {1: "big", 2: "big", 3: "big"})
    assert error.message.endswith("port 3200 is used by cache of instance 1 and by db of instance 2 on engine big")


def test_a_pm2_app_always_shares_this_machine_even_for_a_remote_instance():
    remote = {1: "big"}
    error = refusal([("api", 3000, True), ("db", 3100, False)], 100, range(0, 2), remote)
    assert error.message == ("shop.yaml: services: port 3100 is used by db of instance 0 and by api of instance 1 "
                             "on this machine")
    check_ports(FILE, [("db", 3000, False), ("cache", 3100, False)], 100, range(0, 2), remote)  # 3100 here and on big
