"""Generate (or refresh) an instance's folder: render, compare, write, record.

The bash tool this replaces initialised an instance once and never refreshed
it; here every ``init``/``start`` re-renders from the current sources, and the
manifest's hashes let read commands tell whether that is needed at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from multistack.io.compose_files import read_stack_files
from multistack.model.sources import StackFiles
from multistack.plan.instance import Instance
from multistack.io.manifest import Manifest, file_hash, read_manifest, sha256
from multistack.plan.render import MANIFEST, GeneratedFile, render_instance, source_files
from multistack.io.writer import FileAction, apply_writes, atomic_write, plan_writes


@dataclass(frozen=True)
class Generation:
    instance: Instance
    actions: list[FileAction]

    @property
    def changed(self) -> bool:
        return any(a.state != "identical" for a in self.actions)


def render_files(inst: Instance, sources: StackFiles | None = None) -> dict[str, GeneratedFile]:
    """Every generated file of the instance, in memory: its compose and env files read once, then rendered."""
    return render_instance(inst, sources or read_stack_files(inst.stack))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def source_hashes(inst: Instance) -> dict[str, str]:
    stack = inst.stack
    return {_relative(p, stack.root): file_hash(p) or "missing" for p in source_files(stack)}


def generate(inst: Instance, force: bool = False, files: dict[str, GeneratedFile] | None = None) -> Generation:
    """Render everything in memory first (errors leave the disk as it was), then write.

    ``files``: the instance's rendered files, when the caller has them already.
    """
    folder = inst.dir
    files = files if files is not None else render_files(inst)
    previous = read_manifest(folder / MANIFEST)
    actions = plan_writes(folder, files, previous.files if previous else {})
    done = apply_writes(folder, files, actions, force=force)
    manifest = Manifest(
        instance=inst.n, project_name=inst.project_name, namespace=inst.namespace,
        database=inst.database, ports=inst.ports, apps=inst.app_names,
        sources=source_hashes(inst), files={name: sha256(f.text) for name, f in files.items()},
    )
    text = manifest.to_text()
    path = folder / MANIFEST
    if file_hash(path) != sha256(text):
        atomic_write(path, text)
        done.append(FileAction(MANIFEST, "update" if previous else "create"))
    else:
        done.append(FileAction(MANIFEST, "identical"))
    return Generation(inst, done)


def is_fresh(inst: Instance) -> bool:
    """True when the manifest's sources and files all still match: no render needed."""
    manifest = read_manifest(inst.dir / MANIFEST)
    if manifest is None or manifest.sources != source_hashes(inst):
        return False
    return all(file_hash(inst.dir / name) == digest for name, digest in manifest.files.items())
