"""PM2 names carry the project (issue 13): the scheme, its exact inverse, and selections that
never reach another stack's apps (``shop`` vs ``myshop``, ``api`` vs ``api2``)."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.io.status import collect, instance_of_app
from multistack.model.appnames import DEFAULT_APP_NAME, check_pattern, parse_name
from multistack.model.stack import load_stack
from multistack.plan import pm2
from multistack.plan.instance import plan_instance


def stack_file(tmp_path: Path, project: str = "shop", pm2_section: str = "", apps: tuple[str, ...] = ("api", "admin"),
               instances: str = "0-12") -> Path:
    body = "".join(f"  {a}:\n    command: python3 app.py {a}\n" for a in apps)
    text = f"project: {project}\ninstances: {instances}\n{pm2_section}apps:\n{body}"
    folder = tmp_path / project
    folder.mkdir(exist_ok=True)
    (folder / "stack.yaml").write_text(textwrap.dedent(text))
    return folder / "stack.yaml"


def test_default_names_carry_project_app_and_instance(tmp_path):
    stack = load_stack(stack_file(tmp_path))
    assert stack.app_name_pattern == DEFAULT_APP_NAME
    assert plan_instance(stack, 1).app_names == ["shop-api-1", "shop-admin-1"]
    assert plan_instance(stack, 12).app_name("admin") == "shop-admin-12"


def test_the_inverse_is_exact(tmp_path):
    stack = load_stack(stack_file(tmp_path))
    for n in stack.instance_range:
        for name in plan_instance(stack, n).app_names:
            app = name.split("-")[1]
            assert stack.app_of_name(name) == (app, n)
    for other in ("myshop-api-1", "shop-api-01", "shop-api-1x", "xshop-api-1", "shop-api-", "api-1", "shop-api2-1",
                  "shop-worker-1", "shop-api-1-2", "SHOP-api-1", "shop-api-1\n"):
        assert stack.app_of_name(other) is None, other


def test_shop_and_myshop_never_claim_each_others_apps(tmp_path):
    shop = load_stack(stack_file(tmp_path, "shop"))
    myshop = load_stack(stack_file(tmp_path, "myshop"))
    mine = plan_instance(shop, 1).app_names
    theirs = plan_instance(myshop, 1).app_names
    processes = [{"name": n, "pid": 10 + i, "pm2_env": {"status": "online"}} for i, n in enumerate(mine + theirs)]
    assert [a.name for a in collect(shop, [], processes)[1].apps] == sorted(mine)
    assert [a.name for a in collect(myshop, [], processes)[1].apps] == sorted(theirs)
    for selection in (pm2.stop_names(mine), pm2.delete_names(mine), pm2.logs(plan_instance(shop, 1))):
        target = next(word for word in selection if word.startswith("/"))
        pattern = re.compile(target[1:-1])
        assert all(pattern.search(n) for n in mine)
        assert not any(pattern.search(n) for n in theirs + ["shop-api-10", "shop-api-1-old", "xshop-api-1"])


def test_an_app_of_another_namespace_is_not_ours(tmp_path):
    stack = load_stack(stack_file(tmp_path))
    ours = {1: "shop-dev-1"}.get
    assert instance_of_app(stack, "shop-api-1", "shop-dev-1", ours) == 1
    assert instance_of_app(stack, "shop-api-1", "other-dev-1", ours) is None
    assert instance_of_app(stack, "shop-api-1", "", ours) == 1  # PM2 that reports no namespace: names decide


def test_a_custom_pattern_is_parsed_and_inverted(tmp_path):
    stack = load_stack(stack_file(tmp_path, pm2_section='pm2: {app_name: "{app}.{project}.{n}"}\n'))
    assert plan_instance(stack, 3).app_names == ["api.shop.3", "admin.shop.3"]
    assert stack.app_of_name("admin.shop.3") == ("admin", 3)
    assert stack.app_of_name("admin.shop.3x") is None and stack.app_of_name("admin-shop-3") is None


@pytest.mark.parametrize("pattern, message", [
    ("{project}-{app}", "must contain {n}"),
    ("{project}-{n}", "must contain {app}"),
    ("{project}-{app}-{n}-{port}", "unknown placeholder {port}"),
    ("{project}-{app}-{n:03}", "unknown placeholder {n:03}"),
    ("{project}-{app}-{n", "pm2.app_name"),
    ("{app} {n}", "not a valid PM2 name"),
    ("{app}/{n}", "not a valid PM2 name"),
])
def test_bad_patterns_are_one_line_errors(tmp_path, pattern, message):
    with pytest.raises(StackError, match=re.escape(message)) as info:
        load_stack(stack_file(tmp_path, pm2_section=f"pm2: {{app_name: \"{pattern}\"}}\n"))
    assert info.value.message.startswith("stack.yaml: pm2.app_name")


def test_a_pattern_that_gives_two_apps_one_name_is_refused(tmp_path):
    """``{app}{n}``: app ``a1`` of instance 0 and app ``a`` of instance 10 are both ``a10``."""
    with pytest.raises(StackError, match="gives 'a10' to app a1 of instance 0 and to app a of instance 10"):
        load_stack(stack_file(tmp_path, pm2_section='pm2: {app_name: "{app}{n}"}\n', apps=("a", "a1")))
    load_stack(stack_file(tmp_path, pm2_section='pm2: {app_name: "{app}{n}"}\n', apps=("a", "b")))  # no clash: fine


def test_check_pattern_and_parse_name_directly():
    check_pattern("{project}_{app}_{n}", "p", ["x"], range(0, 3))
    assert parse_name("{project}_{app}_{n}", "p", ["x", "x_y"], "p_x_y_2") == ("x_y", 2)
    assert parse_name("{project}_{app}_{n}", "p", ["x"], "p_x_") is None
    assert parse_name(DEFAULT_APP_NAME, "p", [], "p-x-1") is None
