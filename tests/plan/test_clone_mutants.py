"""What a clone copies, the labels its volumes get, its helper image and its SQL, exactly.

``clone`` creates the target's volumes itself, so their names and labels must be the ones
Compose would give (or ``compose up`` refuses or recreates them), the helper container must
find an image that is really on the engine, and the SQL must quote every name. Mutation
testing left the merge of several compose files, the skip reasons, the image matching and
parts of the SQL unchecked.
"""
from __future__ import annotations

from multistack.model.compose_doc import parse_compose
from multistack.plan.clone import (
    CLONE_LABEL,
    Skipped,
    VolumeCopy,
    VolumeSpec,
    copy_mounts,
    copy_script,
    database_exists_sql,
    declared_volumes,
    helper_image,
    identifier,
    literal,
    plan_copies,
    psql_argv,
    rename_sql,
    reopen_sql,
    volume_labels,
    volume_name,
)


def docs(*texts: str):
    return [parse_compose(text, f"{i}.yml", base=False) for i, text in enumerate(texts)]


def test_a_later_file_adds_to_a_volume_and_keeps_what_the_earlier_said() -> None:
    own, skipped = declared_volumes(docs(
        "volumes:\n  data: {driver: fast, labels: {a: '1'}}\n  plain:\n  zed: {}\n",
        "volumes:\n  data: {labels: {b: ~, a: 2}}\n  plain: {driver: ''}\n"))
    assert own == [VolumeSpec("data", "fast", (("a", "2"), ("b", ""))), VolumeSpec("plain", "local", ()),
                   VolumeSpec("zed", "local", ())]
    assert skipped == []


def test_a_later_file_can_make_a_volume_not_the_instances_own() -> None:
    own, skipped = declared_volumes(docs("volumes:\n  data: {}\n  b: {}\n  c: {}\n",
                                         "volumes:\n  data: {external: true}\n  b: {name: fixed}\n"
                                         "  c: {driver_opts: {type: none}}\n  d: {external: false, name: ''}\n"))
    assert own == [VolumeSpec("d")]
    assert skipped == [
        Skipped("b", "fixed name 'fixed': one volume for every instance"),
        Skipped("c", "driver_opts: its data is where the options say, not in the volume"),
        Skipped("data", "external: not the instance's own"),
    ]


def test_labels_as_a_list_split_at_the_first_equals_sign_and_are_sorted() -> None:
    own, _ = declared_volumes(docs("volumes:\n  v: {labels: ['z=1=2', 'a', 'm=']}\n"))
    assert own == [VolumeSpec("v", "local", (("a", ""), ("m", ""), ("z", "1=2")))]
    own, _ = declared_volumes(docs("volumes:\n  v: {labels: oops}\n"))
    assert own == [VolumeSpec("v")]


def test_no_volumes_section_is_nothing_to_copy() -> None:
    assert declared_volumes(docs("services: {}\n")) == ([], [])


def test_a_volume_key_written_as_a_number_is_named_as_text() -> None:
    assert declared_volumes(docs("volumes:\n  2024: {}\n")) == ([VolumeSpec("2024")], [])


def test_volume_names_and_labels_are_composes_own_sorted() -> None:
    assert volume_name("shop-dev-3", "data") == "shop-dev-3_data"
    spec = VolumeSpec("data", labels=(("com.docker.compose.volume", "x"), ("a", "1"), ("zz", "2")))
    assert volume_labels("shop-dev-3", spec, "2.40.3") == (
        ("a", "1"), ("com.docker.compose.project", "shop-dev-3"), ("com.docker.compose.version", "2.40.3"),
        ("com.docker.compose.volume", "data"), ("zz", "2"))
    assert volume_labels("p", VolumeSpec("k")) == (("com.docker.compose.project", "p"),
                                                   ("com.docker.compose.volume", "k"))


def test_a_copy_carries_the_driver_and_the_targets_labels() -> None:
    spec = VolumeSpec("data", "fast", (("team", "shop"),))
    assert plan_copies([spec], "shop-dev-1", "shop-dev-3", "2.40.3", present={"shop-dev-1_data", "x"}) == [
        VolumeCopy("data", "shop-dev-1_data", "shop-dev-3_data", "fast",
                   (("com.docker.compose.project", "shop-dev-3"), ("com.docker.compose.version", "2.40.3"),
                    ("com.docker.compose.volume", "data"), ("team", "shop")))]


def test_the_copy_script_of_nothing_only_sets_e_and_one_copy_has_no_trailing_separator() -> None:
    assert copy_script([]) == "set -e; "
    assert copy_mounts([]) == []
    one = plan_copies([VolumeSpec("data")], "s", "t")
    assert copy_script(one) == "set -e; cp -a /from/0/. /to/0/"
    assert CLONE_LABEL == "multistack.clone"


def test_the_helper_image_is_the_first_on_the_engine_as_docker_lists_it() -> None:
    candidates = ["localhost:5000/team/app", "pg@sha256:abc", "redis:7", "localhost:5000/team/app"]
    assert helper_image(None, candidates, {"redis:7", "localhost:5000/team/app:latest"}) == "localhost:5000/team/app"
    assert helper_image(None, candidates, {"redis:7", "pg@sha256:abc"}) == "pg@sha256:abc"
    assert helper_image(None, candidates, {"redis:7", "localhost:5000/team/app", "pg@sha256:abc:latest"}) == "redis:7"
    assert helper_image("", ["redis"], {"redis:latest"}) == "redis"  # an empty clone.image is not an image
    assert helper_image(None, [], None) is None


def test_names_and_values_are_quoted_for_sql() -> None:
    assert identifier('a"b') == '"a""b"'
    assert literal("it's") == "'it''s'"
    assert database_exists_sql("shop_instance_3") == "SELECT 1 FROM pg_database WHERE datname = 'shop_instance_3'"


def test_the_rename_ends_the_sessions_then_renames() -> None:
    assert rename_sql("shop_instance_1", "shop_instance_3") == [
        "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
        "WHERE datname = 'shop_instance_1' AND pid <> pg_backend_pid()",
        'ALTER DATABASE "shop_instance_1" RENAME TO "shop_instance_3"',
    ]
    assert reopen_sql('a"b') == ['ALTER DATABASE "a""b" ALLOW_CONNECTIONS true']


def test_psql_without_statements_still_stops_on_errors() -> None:
    assert psql_argv(("psql", "-X"), []) == ["psql", "-X", "-v", "ON_ERROR_STOP=1"]


def test_without_a_compose_version_the_copy_has_no_version_label() -> None:
    (copy,) = plan_copies([VolumeSpec("data")], "s", "t")
    assert copy.labels == (("com.docker.compose.project", "t"), ("com.docker.compose.volume", "data"))
