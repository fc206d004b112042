"""PM2 argument lists (plan/pm2.py): what PM2 is really asked, with the PM2 binary a user's machine
has (``npx pm2``), found by mutation testing (issue 11).

These lists are the commands ``--dry`` prints and io/shell.py runs: ``startOrRestart`` with
``--update-env`` (else a restart keeps the old ports), selections by one anchored regex of exact
names (a dot in a name is a dot), ``--nostream`` unless following.
"""
from __future__ import annotations

import re
from pathlib import Path

from multistack.model.stack import parse_stack
from multistack.plan import pm2
from multistack.plan.instance import plan_instance

NPX = ("npx", "pm2")


def instance():
    raw = {"project": "shop", "instances": "0-3", "pm2": {"app_name": "{app}.{project}.{n}"},
           "apps": {"api": {"command": "python3 a.py"}, "web": {"command": "python3 w.py"}}}
    return plan_instance(parse_stack(raw, Path("/tmp/s/stack.yaml")), 2)


ECOSYSTEM = "/tmp/s/.instances/instance-2/pm2.config.cjs"


def test_the_instance_is_started_stopped_and_deleted_through_its_own_ecosystem_file():
    inst = instance()
    assert pm2.start(inst) == ["pm2", "startOrRestart", ECOSYSTEM, "--update-env"]
    assert pm2.start(inst, NPX) == ["npx", "pm2", "startOrRestart", ECOSYSTEM, "--update-env"]
    assert pm2.stop(inst, NPX) == ["npx", "pm2", "stop", ECOSYSTEM]
    assert pm2.delete(inst, NPX) == ["npx", "pm2", "delete", ECOSYSTEM]
    assert pm2.stop(inst) == ["pm2", "stop", ECOSYSTEM] and pm2.delete(inst) == ["pm2", "delete", ECOSYSTEM]


def test_selections_by_name_are_one_anchored_regex_of_exact_names():
    assert pm2.stop_names(["api.shop.2", "web.shop.2"], NPX) == ["npx", "pm2", "stop", r"/^(api\.shop\.2|web\.shop\.2)$/"]
    assert pm2.delete_names(["api.shop.2"]) == ["pm2", "delete", r"/^(api\.shop\.2)$/"]
    target = re.compile(pm2.app_regex(["api.shop.2"])[1:-1])
    assert target.search("api.shop.2") and not target.search("apiXshop.2") and not target.search("api.shop.21")


def test_logs_show_the_last_50_lines_once_unless_told_otherwise():
    inst = instance()
    regex = r"/^(api\.shop\.2|web\.shop\.2)$/"
    assert pm2.logs(inst) == ["pm2", "logs", regex, "--lines", "50", "--nostream"]
    assert pm2.logs(inst, NPX, follow=True, tail=0) == ["npx", "pm2", "logs", regex, "--lines", "0"]
    assert pm2.logs(inst, tail=200)[-3:] == ["--lines", "200", "--nostream"]


def test_jlist_asks_the_given_pm2():
    assert pm2.jlist() == ["pm2", "jlist"] and pm2.jlist(NPX) == ["npx", "pm2", "jlist"]
