"""Strict templates, and the jinja2-free fast path read commands use."""
from __future__ import annotations


import jinja2
import pytest

from multistack.errors import StackError
from multistack.plan.templating import _render_simple, render_string

VARS = {"n": 3, "ports": {"backend": 3511, "temporal-ui": 8381}, "namespace": "demo-dev-3", "port": 80}


@pytest.mark.parametrize("template", [
    "http://localhost:{{ port }}/api", "{{ports.backend}}", "{{ namespace }}:{{ n }}", "no braces", "{ not a tag }",
])
def test_fast_path_matches_jinja(template):
    assert _render_simple(template, VARS) == jinja2.Environment().from_string(template).render(VARS)


@pytest.mark.parametrize("template", ["{{ ports['temporal-ui'] }}", "{{ n | string }}", "{% if n %}x{% endif %}",
                                      "{{ ports.temporal-ui }}", "{{ nope }}", "{{ ports }}"])
def test_anything_else_goes_to_jinja(template):
    assert _render_simple(template, VARS) is None


def test_unknown_variable_is_a_user_error_naming_the_key():
    with pytest.raises(StackError) as info:
        render_string("{{ nope }}", VARS, where="stack.yaml: env.X")
    assert info.value.message == "stack.yaml: env.X: unknown template variable: 'nope' is undefined"
    assert "namespace" in info.value.hint


def test_syntax_error_is_a_user_error():
    with pytest.raises(StackError, match="template syntax error"):
        render_string("{{ n ", VARS, where="w")


def test_brackets_for_dashed_names():
    assert render_string("{{ ports['temporal-ui'] }}", VARS, where="w") == "8381"
