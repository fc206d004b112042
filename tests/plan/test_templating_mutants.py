"""What a template may do, what it is refused, and the one error line a user reads.

Mutation testing of plan/templating.py found unchecked: the jinja2 options every generated
file relies on (trailing newline kept, block lines trimmed, no HTML escaping), the two
filters (``tojson`` sorted, ``yaml_str``), the limits on ``**`` and ``*`` at their exact
boundaries, each kind of run-time error becoming a StackError (instead of a traceback),
the template line in the message, and the user's folder searched before the package's.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.plan.templating import render_file, render_string

VARS = {"n": 3, "v": "<a&b>", "d": {"b": 1, "a": [1, "x"]}}
HINT = "use only: d, n, v"


def render(template: str) -> str:
    return render_string(template, VARS, where="stack.yaml: env.X")


def refusal(template: str) -> str:
    with pytest.raises(StackError) as info:
        render(template)
    assert info.value.hint == HINT
    return info.value.message


# --------------------------------------------------------------------------
# What a template may do


def test_values_are_not_html_escaped():
    assert render("{{ v | string }}") == "<a&b>"


def test_tojson_sorts_keys_and_yaml_str_quotes():
    assert render("{{ d | tojson }}") == '{"a": [1, "x"], "b": 1}'
    assert render("{{ n | yaml_str }}") == '"3"'
    assert render_string('{{ s | yaml_str }}', {"s": 'say "hi"'}, where="w") == '"say \\"hi\\""'


def test_comments_and_stray_braces_are_jinja_s():
    assert render("{# note #}{{ n }}") == "3"
    assert render("{{ '{' }}{{ n }}") == "{3"


def test_a_string_without_braces_is_returned_as_is():
    assert render_string("plain {text}", {}, where="w") == "plain {text}"
    assert render_string("no template", {}, where="w") == "no template"


@pytest.mark.parametrize("template, text", [
    ("{{ (2 ** 50000) % 7 }}", "4"),  # 2 has 2 bits: 50000 * 2 = 100000 bits, the limit itself
    ("{{ 1 ** 1000000 }}", "1"),  # 1 and -1 never grow
    ("{{ (-1) ** 1000001 }}", "-1"),
    ("{{ 2 ** -3 }}", "0.125"),
    ("{{ ('x' * 10000000) | length }}", "10000000"),  # the limit itself
    ("{{ (10000000 * 'x') | length }}", "10000000"),
    ("{{ 3 * [1] }}", "[1, 1, 1]"),
    ("{{ (5000000 * (1, 2)) | length }}", "10000000"),
    ("{{ true * 'x' }}", "x"),
    ("{{ 7 * 6 }}", "42"),
])
def test_powers_and_repetitions_up_to_the_limit(template, text):
    assert render(template) == text


# --------------------------------------------------------------------------
# What it is refused, in one line


@pytest.mark.parametrize("template, message", [
    ("{{ 2 ** 50001 }}", "2 ** 50001 is too large to compute"),
    ("{{ (-2) ** 50001 }}", "-2 ** 50001 is too large to compute"),
    ("{{ 3 ** 50001 }}", "3 ** 50001 is too large to compute"),
    ("{{ 'x' * 10000001 }}", "repeating a value 10000001 times is too large"),
    ("{{ 10000001 * 'x' }}", "repeating a value 10000001 times is too large"),
    ("{{ [] * 10000001 }}", "repeating a value 10000001 times is too large"),  # even an empty one
    ("{{ [1, 2] * 5000001 }}", "repeating a value 5000001 times is too large"),
    ("{{ 5000001 * (1, 2) }}", "repeating a value 5000001 times is too large"),
])
def test_huge_results_are_refused_before_they_are_computed(template, message):
    assert refusal(template) == f"stack.yaml: env.X: template error at line 1: {message}"


@pytest.mark.parametrize("template, message", [
    ("{{ n / 0 }}", "template error at line 1: ZeroDivisionError: division by zero"),
    ("{{ 'a' + 1 }}", 'template error at line 1: TypeError: can only concatenate str (not "int") to str'),
    ("{{ 'a'.index('z') }}", "template error at line 1: ValueError: substring not found"),
    ("{{ {}.pop('z') }}", "template error at line 1: KeyError: 'z'"),
    ("{{ n | dictsort }}", "template error at line 1: AttributeError: 'int' object has no attribute 'items'"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
     "template error at line 1: recursion too deep (a macro that calls itself?)"),
    ("{{ ''.__class__ }}", "template error at line 1: access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ n }}\n{{ n ", "template syntax error at line 2: unexpected end of template, expected 'end of print statement'."),
    ("{{ n }}\n{{ nope }}", "unknown template variable: 'nope' is undefined"),
    ("x\n\n{{ n / 0 }}", "template error at line 3: ZeroDivisionError: division by zero"),
    ("{{ 'a' ** 2 }}", "template error at line 1: TypeError: unsupported operand type(s) for ** or pow(): 'str' and 'int'"),
    ("{{ 'a' * 'b' }}", "template error at line 1: TypeError: can't multiply sequence by non-int of type 'str'"),
    ("{{ d.zz }}", "unknown template variable: 'dict object' has no attribute 'zz'"),
    ("{{ n.x }}", "unknown template variable: 'int object' has no attribute 'x'"),
])
def test_every_run_time_error_is_one_line_naming_where(template, message):
    assert refusal(template) == f"stack.yaml: env.X: {message}"


# --------------------------------------------------------------------------
# Template files


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    (tmp_path / "blocks.j2").write_text("x\n  {% if n %}\n  y\n  {% endif %}\nz\n")
    (tmp_path / "newline.j2").write_text("{{ n }}\n")
    (tmp_path / "broken.j2").write_text("one\n{{ n }}\n{{ n / 0 }}\n")
    (tmp_path / "syntax.j2").write_text("ok\n{{ n \n")
    (tmp_path / "pm2.config.cjs.j2").write_text("mine {{ n }}")
    return tmp_path


def test_block_lines_are_trimmed_and_the_last_newline_kept(user_dir: Path):
    assert render_file("blocks.j2", VARS, user_dir=user_dir) == "x\n  y\nz\n"
    assert render_file("newline.j2", VARS, user_dir=user_dir) == "3\n"


def test_a_file_error_names_the_file_and_its_line(user_dir: Path):
    with pytest.raises(StackError) as info:
        render_file("broken.j2", VARS, user_dir=user_dir)
    assert (info.value.message, info.value.hint) == (
        "broken.j2: template error at line 3: ZeroDivisionError: division by zero",
        "fix the template or the stack's variables")
    with pytest.raises(StackError) as info:
        render_file("syntax.j2", VARS, user_dir=user_dir)
    assert info.value.message == ("syntax.j2: template syntax error at line 2: unexpected end of template, "
                                  "expected 'end of print statement'.")


def test_a_missing_template_is_a_user_error(user_dir: Path):
    for folder in (user_dir, None):
        with pytest.raises(StackError) as info:
            render_file("nope.j2", VARS, user_dir=folder)
        assert (info.value.message, info.value.hint) == ("template nope.j2 not found",
                                                         "check the template path in stack.yaml")


def test_the_users_folder_comes_before_the_package(user_dir: Path):
    assert render_file("pm2.config.cjs.j2", VARS, user_dir=user_dir) == "mine 3"
    # a name only the package has is still found (and strict about its variables)
    with pytest.raises(StackError) as info:
        render_file("haproxy.cfg.j2", {}, user_dir=user_dir)
    assert info.value.message.startswith("haproxy.cfg.j2: unknown template variable: ")
