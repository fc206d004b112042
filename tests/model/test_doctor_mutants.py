"""The ``doctor:`` section (model/doctor.py): bind files to create and checks to ignore, and the exact
refusals (found by mutation testing, issue 11)."""
from __future__ import annotations

import pytest

from multistack.errors import StackError
from multistack.model.doctor import CHECKS, DoctorSettings, parse_doctor


def refused(raw) -> str:
    with pytest.raises(StackError) as info:
        parse_doctor(raw, "conf/s.yaml")
    return info.value.line()


def test_bind_files_keep_their_order_and_an_empty_template_means_an_empty_file():
    settings = parse_doctor({"bind_files": {"a.conf": "", "b.conf": "t/b.tpl", "/abs/c": None},
                             "ignore": ["engine", "pm2"]}, "s.yaml")
    assert settings == DoctorSettings((("a.conf", None), ("b.conf", "t/b.tpl"), ("/abs/c", None)), ("engine", "pm2"))
    assert parse_doctor(None, "s.yaml") == DoctorSettings()
    assert parse_doctor({"ignore": "image"}, "s.yaml").ignore == ("image",)


def test_a_home_relative_path_is_refused_naming_it():
    assert refused({"bind_files": {"~/x.conf": None}}) == (
        "error: conf/s.yaml: doctor.bind_files.~/x.conf: must be a path relative to the stack's folder (or absolute)")
    assert refused({"bind_files": {"": None}}).startswith("error: conf/s.yaml: doctor.bind_files: must be a path")


def test_a_template_that_is_not_a_file_name_says_how_to_write_one():
    assert refused({"bind_files": {"a.conf": 3}}) == (
        "error: conf/s.yaml: doctor.bind_files.a.conf: must be a template file or empty (an empty file), got an "
        "integer (fix: write `path: path/to/template` or `path: ''`)")


def test_an_unknown_check_lists_every_check_in_order():
    assert refused({"ignore": ["engine", "nope"]}) == (
        "error: conf/s.yaml: doctor.ignore: unknown check 'nope' (fix: checks: " + ", ".join(CHECKS) + ")")
    assert list(CHECKS)[:3] == ["compose", "engine", "pm2"] and list(CHECKS)[-1] == "port-taken"


def test_an_unknown_key_is_refused():
    assert refused({"bind_file": {}}).startswith("error: conf/s.yaml: doctor: unknown key 'bind_file'")
