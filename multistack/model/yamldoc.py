"""The one YAML loader for the user's files, and the one way a YAML error reads.

Every file a user writes (stack.yaml, the compose files, overrides) goes
through :func:`load_yaml`: a safe loader (the C one when available), so
nothing in a file can construct Python objects. Compose files carry merge
tags (``!override``, ``!reset``, Compose >= 2.24.4) that a plain safe loader
rejects; ``tags="keep"`` turns them into :class:`Tagged` values (the doctor
needs to know a list is replaced, not appended) and ``tags="drop"`` keeps
only the value (the override renderer needs the data alone).

A YAML alias bomb (a few lines whose aliases expand to billions of nodes)
makes the Compose binary grow past 20 GB of memory. PyYAML keeps aliases as
shared references, so the file loads cheaply here; :func:`load_yaml` counts
the nodes the document would expand to and refuses it in one line before any
compose command sees it.

A key written twice in one mapping is refused too (:func:`check_unique_keys`):
YAML would keep the last one without a word.

Pure: text in, data out; no file access.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from multistack.errors import StackError

if TYPE_CHECKING:
    import yaml

#: How compose's merge tags are read: rejected (a plain safe loader), kept as Tagged, or dropped.
TagMode = Literal["reject", "keep", "drop"]

#: Above this many nodes once every alias is expanded, a document is refused (an alias bomb).
MAX_NODES = 100_000

#: The hint of a malformed stack.yaml (compose files pass their own).
SYNTAX_HINT = "fix the YAML syntax at that line"


@dataclass(frozen=True)
class Tagged:
    """A value carrying a compose merge tag (``!override``, ``!reset``)."""

    tag: str
    value: Any


def load_yaml(text: str, name: str, *, tags: TagMode = "reject", hint: str = SYNTAX_HINT,
              max_nodes: int = MAX_NODES) -> Any:
    """The data of one YAML document; a StackError naming ``name``, line and column if malformed.

    ``name`` is the file as the user knows it (``stack.yaml``, ``compose/docker-compose.yml``).
    """
    import yaml

    loader = _loader_class(tags)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_unique_keys(node, name)
        size = expanded_size(node, max_nodes)
        if size > max_nodes:
            raise StackError(f"{name}: its YAML aliases expand to more than {max_nodes:,} nodes (an alias bomb?): "
                             "refused before compose reads it",
                             "write the repeated parts out, or use fewer nested aliases")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, name, hint) from None
    finally:
        loader.dispose()


def yaml_error(exc: yaml.YAMLError, name: str, hint: str = SYNTAX_HINT) -> StackError:
    """``name:line:col: malformed YAML: problem``, with the fix as hint."""
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return StackError(f"{name}{where}: malformed YAML: {problem}", hint)


#: The tag of a merge key (``<<: *defaults``): its entries may be overridden by the mapping's own keys.
_MERGE_TAG = "tag:yaml.org,2002:merge"


def check_unique_keys(root: yaml.Node, name: str) -> None:
    """Refuse a mapping that has one key twice, naming the key, both lines and the file.

    PyYAML lets the last one win silently (``host_ip: 127.0.0.1`` then
    ``host_ip: 0.0.0.0`` would publish on every interface). Checked on the
    composed nodes, before construction: merge keys (``<<``) are not expanded
    yet, so overriding a merged key stays allowed. Keys compare by resolved tag
    and text (``a`` and ``"a"`` are one key). Each node is visited once and
    the walk is iterative, so it is linear and safe on deep files.
    """
    import yaml

    seen: set[int] = set()
    work = [root]
    while work:
        node = work.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            _check_mapping(node, name)
        work.extend(child for child in _children(node) if id(child) not in seen)


def _check_mapping(node: yaml.MappingNode, name: str) -> None:
    import yaml

    first: dict[tuple[str, str], int] = {}
    for key, _value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        line = key.start_mark.line + 1
        earlier = first.get((key.tag, key.value))
        first.setdefault((key.tag, key.value), line)
        if earlier is not None:
            raise StackError(f"{name}: duplicate key {key.value!r} at lines {earlier} and {line} "
                             "(YAML would silently keep the last one)", "keep one of them")


def expanded_size(root: yaml.Node, limit: int = MAX_NODES) -> int:
    """How many nodes the document has once every alias is expanded (at most ``limit + 1``).

    Aliases are shared node objects, so each distinct node is sized once
    (memoised): linear in the file, whatever it would expand to. A node that
    contains itself would expand forever and counts as ``limit + 1``. The walk
    is iterative, so a deeply nested file cannot exhaust Python's stack.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    work: list[tuple[yaml.Node, bool]] = [(root, False)]
    while work:
        node, children_done = work.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = min(total, limit + 1)
            open_nodes.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_nodes:  # reached again while its own children are being sized: a cycle
            return limit + 1
        open_nodes.add(key)
        work.append((node, True))
        work.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    """A node's direct children: list items, or each mapping entry's key and value."""
    value = node.value
    if not isinstance(value, list):
        return []
    return [part for child in value for part in (child if isinstance(child, tuple) else (child,))]


_LOADERS: dict[str, type] = {}


def _loader_class(tags: TagMode) -> type:
    """The safe loader for one tag mode, built on first use (keeps yaml out of import time)."""
    if tags not in _LOADERS:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        loader = type(f"{tags.title()}TagsLoader", (base,), {"__doc__": f"Safe loading; compose tags: {tags}."})
        if tags != "reject":
            loader.add_multi_constructor("!", _keep_tag if tags == "keep" else _drop_tag)
        _LOADERS[tags] = loader
    return _LOADERS[tags]


def _tagged_value(loader: Any, node: Any) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


def _keep_tag(loader: Any, suffix: str, node: Any) -> Tagged:
    return Tagged("!" + suffix, _tagged_value(loader, node))


def _drop_tag(loader: Any, _suffix: str, node: Any) -> Any:
    return _tagged_value(loader, node)
