"""stack.yaml's ``mesh:`` section, parsed and refused (pure): the values and the whole error lines a user sees.

Pins what :func:`multistack.model.mesh.parse_mesh` gives the mesh commands (defaults, names per
environment, profile lookup, init-data steps) and every refusal's exact line and hint, since a
user fixes stack.yaml from that one line. Written against the surviving mutants of model/mesh.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from multistack.errors import StackError
from multistack.model.mesh import (ALL, Environment, InitStep, fill_name, names_environment, parse_mesh,
                                   parse_profiles)

FILE = "stack.yaml"
ROOT = Path("/x")


def raw_of(**keys: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "compose": ["m.yml", "o.yml"],
        "profiles": {"db": ["pg", "pgb"], "mesh": ["gw", "pg"]},
        "environments": {"local": {"compose": "l.yml", "template": "env/local.env.example"},
                         "staging": {"compose": ["s.yml", "s2.yml"], "template": "env/staging.env.example",
                                     "address": "10.0.0.5", "vars": {"scheme": "https", "port": 8443}}},
    }
    raw.update(keys)
    return {k: v for k, v in raw.items() if v is not None}


def mesh_of(**keys: Any):
    return parse_mesh(raw_of(**keys), FILE, ROOT, "shop")


def refusal(**keys: Any) -> tuple[str, str | None]:
    with pytest.raises(StackError) as info:
        mesh_of(**keys)
    return info.value.message, info.value.hint


def env(**fields: Any) -> dict[str, Any]:
    return {"local": {"compose": "l.yml", "template": "t.env", **fields}}


# ---------------------------------------------------------------- parsed values


def test_defaults_of_a_minimal_mesh():
    mesh = mesh_of()
    assert mesh.root == ROOT and mesh.stack_file == FILE and mesh.stack_project == "shop"
    assert mesh.project == "shop-mesh"
    assert mesh.compose_files == ("m.yml", "o.yml")
    assert mesh.env_file == "env/.env"
    assert mesh.default_profile == ALL == "all"
    assert mesh.hostnames == ()
    assert mesh.url == "https://{{ host }}"
    assert mesh.init_data == ()
    assert not mesh.side_by_side
    assert mesh.env_path == Path("/x/env/.env")
    assert list(mesh.projects()) == ["shop-mesh"]  # one project for every environment


def test_environments_are_parsed_with_their_files_address_and_vars():
    mesh = mesh_of()
    assert mesh.environments == (
        Environment("local", ("l.yml",), "env/local.env.example", "127.0.0.1", ()),
        Environment("staging", ("s.yml", "s2.yml"), "env/staging.env.example", "10.0.0.5",
                    (("scheme", "https"), ("port", "8443"))))
    assert mesh.environment_names == ("local", "staging")
    assert mesh.environment("staging").address == "10.0.0.5"


def test_an_ipv6_address_is_accepted():
    mesh = mesh_of(environments=env(address="::1"))
    assert mesh.environment("local").address == "::1"


def test_profiles_services_and_profile_of():
    mesh = mesh_of()
    assert mesh.profile_names == ("db", "mesh")
    assert [(p.name, p.services) for p in mesh.profiles] == [("db", ("pg", "pgb")), ("mesh", ("gw", "pg"))]
    assert mesh.services == ("pg", "pgb", "gw")  # profile order, each once
    assert mesh.profile_of("pg") == "db,mesh"
    assert mesh.profile_of("gw") == "mesh"
    assert mesh.profile_of("redis") == ""


def test_explicit_keys_are_kept():
    mesh = mesh_of(project="shop-infra", env_file="mesh/.env", default_profile="db",
                   hostnames={"gateway": "gw.{{ env.D }}", "a.b-c_d": "x"}, url="{{ scheme }}://{{ host }}")
    assert mesh.project == "shop-infra" and mesh.env_file == "mesh/.env"
    assert mesh.env_path == Path("/x/mesh/.env") and mesh.env_path_of("local") == Path("/x/mesh/.env")
    assert mesh.default_profile == "db"
    assert mesh.hostnames == (("gateway", "gw.{{ env.D }}"), ("a.b-c_d", "x"))
    assert mesh.url == "{{ scheme }}://{{ host }}"


def test_side_by_side_names_per_environment():
    mesh = mesh_of(project="{{ project }}-mesh-{{ environment }}")
    assert mesh.side_by_side
    assert mesh.env_file == "env/.env.{{ environment }}"
    assert mesh.project_of("local") == "shop-mesh-local"
    assert mesh.env_file_of("staging") == "env/.env.staging"
    assert mesh.env_path_of("staging") == Path("/x/env/.env.staging")
    assert mesh.projects() == {"shop-mesh-local": "local", "shop-mesh-staging": "staging"}


def test_env_file_may_name_the_project():
    mesh = mesh_of(env_file="env/{{ project }}.env")
    assert mesh.env_path == Path("/x/env/shop.env")
    assert mesh.env_file_of("local") == "env/shop.env"


def test_fill_name_and_names_environment():
    assert fill_name("{{project}}-{{ environment }}-{{  project  }}", "local", "p") == "p-local-p"
    assert fill_name("plain", "local", "p") == "plain"
    assert names_environment("x-{{environment}}")
    assert names_environment("{{ project }}-{{ environment }}")
    assert not names_environment("x-{{ project }}")
    assert not names_environment("environment")


def test_unknown_environment_names_the_valid_ones():
    with pytest.raises(StackError) as info:
        mesh_of().environment("prod")
    assert info.value.message == "unknown environment 'prod'; valid: local, staging"
    assert info.value.hint == "use one of local, staging, or add it under mesh.environments in stack.yaml"


def test_init_data_steps():
    mesh = mesh_of(init_data=[
        {"service": "pg", "command": "psql -f x.sql", "name": "roles"},
        {"service": "gw", "command": ["traefik", "healthcheck"]},
    ])
    first, second = mesh.init_data
    assert first == InitStep("pg", ("sh", "-c", "psql -f x.sql"), "roles")
    assert second == InitStep("gw", ("traefik", "healthcheck"), "")
    assert first.describe(1) == "init-data step 1 (roles)"
    assert second.describe(2) == "init-data step 2 (gw)"


# ---------------------------------------------------------------- refusals: the whole section


def test_missing_compose():
    assert refusal(compose=None) == ("stack.yaml: mesh: missing required key 'compose'",
                                     "list the base compose file, then the default override")


def test_unknown_key_in_mesh():
    message, hint = refusal(profile="db")
    assert message == "stack.yaml: mesh: unknown key 'profile'"
    assert hint == "check the spelling against multistack/schema/stack.schema.json"


def test_unknown_default_profile_names_the_key():
    assert refusal(default_profile="web") == (
        "stack.yaml: mesh.default_profile: unknown profile 'web'; valid: all, db, mesh",
        "use --profile with one of all, db, mesh (several: --profile db,mesh)")


@pytest.mark.parametrize("keys, message, hint", [
    ({"project": "shop-{{ env }}"}, "stack.yaml: mesh.project: unknown placeholder '{{ env }}' in 'shop-{{ env }}'",
     "use {{ environment }} (and {{ project }}, stack.yaml's project)"),
    ({"env_file": "env/.env.{{ name }}"},
     "stack.yaml: mesh.env_file: unknown placeholder '{{ name }}' in 'env/.env.{{ name }}'",
     "use {{ environment }} (and {{ project }}, stack.yaml's project)"),
    ({"env_file": "env/.env.{{ environment }}"},
     "stack.yaml: mesh.env_file: 'env/.env.{{ environment }}' gives each environment its own env file, "
     "but they share one project 'shop-mesh'",
     'give each its own project too: project: "<name>-{{ environment }}", or one file: env/.env'),
    ({"project": "shop-{{ environment }}", "env_file": "env/.env"},
     "stack.yaml: mesh.env_file: every environment would write env/.env, but each has its own project",
     "leave env_file out (default env/.env.{{ environment }}) or put {{ environment }} in it"),
    ({"project": "Shop"},
     "stack.yaml: mesh.project: 'Shop' is not a valid compose project name (lowercase letters, digits, - and _)",
     None),
    ({"project": "Shop-{{ environment }}"},
     "stack.yaml: mesh.project: 'Shop-local' is not a valid compose project name (lowercase letters, digits, "
     "- and _) (environment local)", None),
    ({"env_file": "env/local.env.example"},
     "stack.yaml: mesh.environments.local.template: the active env file env/local.env.example cannot also be "
     "a template", "templates are committed; the active file is git-ignored"),
    ({"project": "s-{{ environment }}", "env_file": "env/{{ environment }}.env.example"},
     "stack.yaml: mesh.environments.local.template: the active env file env/local.env.example cannot also be "
     "a template", "templates are committed; the active file is git-ignored"),
])
def test_names_that_cannot_work(keys, message, hint):
    assert refusal(**keys) == (message, hint)


def test_a_template_of_a_later_environment_is_also_refused():
    environments = {"local": {"compose": "l.yml", "template": "env/local.env.example"},
                    "staging": {"compose": "s.yml", "template": "env/.env.staging"}}
    message, _hint = refusal(project="s-{{ environment }}", environments=environments)
    assert message == ("stack.yaml: mesh.environments.staging.template: the active env file env/.env.staging "
                       "cannot also be a template")


# ---------------------------------------------------------------- refusals: profiles


@pytest.mark.parametrize("profiles, message, hint", [
    (None, "stack.yaml: mesh.profiles: needs at least one profile", "e.g. `db: [postgres, pgbouncer]`"),
    ({}, "stack.yaml: mesh.profiles: needs at least one profile", "e.g. `db: [postgres, pgbouncer]`"),
    ({"all": ["pg"]}, "stack.yaml: mesh.profiles.all: 'all' is not a valid profile name (`all` means every profile)",
     None),
    ({"Db": ["pg"]}, "stack.yaml: mesh.profiles.Db: 'Db' is not a valid profile name", None),
    ({"db": "pg"}, "stack.yaml: mesh.profiles.db: must be a non-empty list of compose service names, got a string",
     None),
    ({"db": []}, "stack.yaml: mesh.profiles.db: must be a non-empty list of compose service names, got a list",
     None),
    ({"db": ["pg", "a b"]}, "stack.yaml: mesh.profiles.db: 'a b' is not a valid compose service name", None),
    ({"db": [5]}, "stack.yaml: mesh.profiles.db: 5 is not a valid compose service name", None),
    ({"db": ["pg", "pgb", "pg"]}, "stack.yaml: mesh.profiles.db: lists a service twice", None),
    ({"db_main": ["pg"], "db-main": ["pgb"]},
     "stack.yaml: mesh.profiles.db-main: profile names 'db_main' and 'db-main' differ only in case or - versus _ "
     "(they would share env keys, files or host names)", "rename one of them"),
])
def test_bad_profiles(profiles, message, hint):
    assert refusal(profiles=profiles, default_profile=None) == (message, hint)


# ---------------------------------------------------------------- refusals: environments


@pytest.mark.parametrize("environments, message, hint", [
    (None, "stack.yaml: mesh.environments: needs at least one environment",
     "e.g. `local: {compose: ..., template: env/local.env.example}`"),
    ({"Local": {"compose": "l.yml", "template": "t.env"}},
     "stack.yaml: mesh.environments.Local: environment names are lowercase letters, digits, - and _, not only "
     "digits (a number answers the prompt's menu)", None),
    ({1: {"compose": "l.yml", "template": "t.env"}},
     "stack.yaml: mesh.environments.1: environment names are lowercase letters, digits, - and _, not only "
     "digits (a number answers the prompt's menu)", None),
    ({"local": {"template": "t.env"}}, "stack.yaml: mesh.environments.local: missing required key 'compose'",
     "this environment's override file"),
    ({"local": {"compose": "l.yml"}}, "stack.yaml: mesh.environments.local: missing required key 'template'",
     "e.g. env/local.env.example"),
    (env(address="nowhere"), "stack.yaml: mesh.environments.local.address: 'nowhere' is not an IP address",
     "the address hosts-file lines point at"),
    (env(templat="x"), "stack.yaml: mesh.environments.local: unknown key 'templat'",
     "check the spelling against multistack/schema/stack.schema.json"),
    ({"db_1": {"compose": "l.yml", "template": "a.env"}, "db-1": {"compose": "l.yml", "template": "b.env"}},
     "stack.yaml: mesh.environments.db-1: environment names 'db_1' and 'db-1' differ only in case or - versus _ "
     "(they would share env keys, files or host names)", "rename one of them"),
])
def test_bad_environments(environments, message, hint):
    assert refusal(environments=environments) == (message, hint)


def test_a_name_of_letters_and_digits_is_fine():
    assert mesh_of(environments={"prod2": {"compose": "p.yml", "template": "t.env"}}).environment_names == ("prod2",)


@pytest.mark.parametrize("var", ["environment", "project", "mesh_project", "env", "host", "name"])
def test_vars_may_not_shadow_what_multistack_sets(var):
    assert refusal(environments=env(vars={"ok": 1, var: "x"})) == (
        f"stack.yaml: mesh.environments.local.vars.{var}: {var!r} is set by multistack", "rename the variable")


# ---------------------------------------------------------------- refusals: hostnames and init_data


@pytest.mark.parametrize("hostnames, message", [
    ({"a/b": "x"}, "stack.yaml: mesh.hostnames.a/b: is not a valid name (letters, digits, ., - and _)"),
    ({"gw": 5}, "stack.yaml: mesh.hostnames.gw: must be a hostname template string, got an integer"),
    ({"gw": ""}, "stack.yaml: mesh.hostnames.gw: must be a hostname template string, got a string"),
    ({"gw": ["x"]}, "stack.yaml: mesh.hostnames.gw: must be a hostname template string, got a list"),
])
def test_bad_hostnames(hostnames, message):
    assert refusal(hostnames=hostnames) == (message, None)


GOOD_STEP = {"service": "pg", "command": "true"}


@pytest.mark.parametrize("init_data, message, hint", [
    ({"service": "pg"}, "stack.yaml: mesh.init_data: must be a list of {service, command}, got a mapping", None),
    ("psql", "stack.yaml: mesh.init_data: must be a list of {service, command}, got a string", None),
    ([GOOD_STEP, {"command": "true"}], "stack.yaml: mesh.init_data[1]: missing required key 'service'",
     "the compose service to run the command in"),
    ([GOOD_STEP, {"service": "a b", "command": "true"}],
     "stack.yaml: mesh.init_data[1].service: 'a b' is not a valid compose service name",
     "write it without spaces, line breaks or other characters the name does not allow"),
    ([GOOD_STEP, {"service": "redis", "command": "true"}],
     "stack.yaml: mesh.init_data[1].service: 'redis' is in no profile; known: gw, pg, pgb", None),
    ([GOOD_STEP, {"service": "pg"}],
     "stack.yaml: mesh.init_data[1].command: must be a command string (run with sh -c) or a list of arguments", None),
    ([GOOD_STEP, {"service": "pg", "command": "  "}],
     "stack.yaml: mesh.init_data[1].command: must be a command string (run with sh -c) or a list of arguments", None),
    ([GOOD_STEP, {"service": "pg", "command": []}],
     "stack.yaml: mesh.init_data[1].command: must be a command string (run with sh -c) or a list of arguments", None),
    ([GOOD_STEP, {"service": "pg", "command": ["psql", 1]}],
     "stack.yaml: mesh.init_data[1].command: must be a command string (run with sh -c) or a list of arguments", None),
    ([GOOD_STEP, {"service": "pg", "command": 5}],
     "stack.yaml: mesh.init_data[1].command: must be a command string (run with sh -c) or a list of arguments", None),
    ([GOOD_STEP, {"service": "pg", "command": "true", "user": "root"}],
     "stack.yaml: mesh.init_data[1]: unknown key 'user'",
     "check the spelling against multistack/schema/stack.schema.json"),
    ([GOOD_STEP, {"service": "pg", "command": "true", "name": ""}],
     "stack.yaml: mesh.init_data[1].name: must be a non-empty string, got a string", None),
])
def test_bad_init_data(init_data, message, hint):
    assert refusal(init_data=init_data) == (message, hint)


# ---------------------------------------------------------------- --profile words


@pytest.mark.parametrize("text, expected", [
    (None, ("all",)),
    ("", ("all",)),
    ("all", ("all",)),
    ("db", ("db",)),
    (" mesh , ,db ", ("mesh", "db")),
    ("db,db,mesh", ("db", "mesh")),
])
def test_parse_profiles(text, expected):
    assert parse_profiles(mesh_of(), text) == expected


def test_parse_profiles_falls_back_to_the_default_profile():
    mesh = mesh_of(default_profile="db, mesh")
    assert mesh.default_profile == "db, mesh"
    assert parse_profiles(mesh, None) == ("db", "mesh")
    assert parse_profiles(mesh, "mesh") == ("mesh",)


@pytest.mark.parametrize("text, message, hint", [
    (",", "empty --profile", "use one of: all, db, mesh"),
    (" , ", "empty --profile", "use one of: all, db, mesh"),
    ("db,web", "unknown profile 'web'; valid: all, db, mesh",
     "use --profile with one of all, db, mesh (several: --profile db,mesh)"),
    ("DB", "unknown profile 'DB'; valid: all, db, mesh",
     "use --profile with one of all, db, mesh (several: --profile db,mesh)"),
    ("all,db", "`all` already means every profile: --profile all,db", "use --profile all alone"),
    ("db, all", "`all` already means every profile: --profile db,all", "use --profile all alone"),
    ("all,all", "`all` already means every profile: --profile all,all", "use --profile all alone"),
])
def test_parse_profiles_refusals(text, message, hint):
    with pytest.raises(StackError) as info:
        parse_profiles(mesh_of(), text)
    assert (info.value.message, info.value.hint) == (message, hint)
