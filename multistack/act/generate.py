"""Generate (or refresh) an instance's folder: render, compare, write, record.

The bash tool this replaces initialised an instance once and never refreshed
it; here every ``init``/``start`` re-renders from the current sources, and the
manifest's hashes let read commands tell whether that is needed at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from multistack.act.shared import MODE_FILE
from multistack.io.compose_files import read_stack_files
from multistack.model.sources import StackFiles
from multistack.plan.instance import Instance
from multistack.io.manifest import Manifest, file_hash, read_manifest, sha256
from multistack.plan.render import MANIFEST, GeneratedFile, render_instance, source_files
from multistack.io.paths import contained, file_target, instance_folder
from multistack.io.writer import FileAction, apply_writes, clean_stale, keep_backup, plan_writes


LOGS = "logs"  # the PM2 apps' log folder (act/lifecycle.py start)


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
    folder = own_folder(inst)  # real, ours: before reading it
    files = files if files is not None else render_files(inst)
    pending = clean_stale(folder)  # a killed run's staging: its half-switched files are ours
    previous = read_manifest(folder / MANIFEST, force=force)  # damaged or hand-edited: refused unless force
    if previous is None and force and (folder / MANIFEST).is_file():
        keep_backup(folder / MANIFEST)  # the damaged or hand-edited manifest: the user's copy is kept
    actions = plan_writes(folder, files, previous.files if previous else {}, pending)
    manifest = Manifest(
        instance=inst.n, project_name=inst.project_name, namespace=inst.namespace,
        database=inst.database, ports=inst.ports, apps=inst.app_names,
        sources=source_hashes(inst), files={name: sha256(f.text) for name, f in files.items()},
    )
    text = manifest.to_text()
    path = file_target(folder / MANIFEST)
    same = file_hash(path) == sha256(text)
    # staged and switched in together, the manifest last: a crash leaves the old set or the new one
    done = apply_writes(folder, files, actions, force=force, last=None if same else (MANIFEST, text))
    done.append(FileAction(MANIFEST, "identical" if same else "update" if previous else "create"))
    return Generation(inst, done)


def own_folder(inst: Instance) -> Path:
    """The instance's folder, checked: real (no symlink on the way), inside .instances/, its own;
    its mode file no link or folder, its logs/ no link or file."""
    folder = instance_folder(inst.stack, inst.n, project=inst.project_name)
    root = inst.stack.root.resolve()
    file_target(folder / MODE_FILE, root)  # the manifest's kind: its reader says (io/manifest.py)
    contained(folder / LOGS, root, is_dir=True)
    return folder


def tidy(inst: Instance) -> None:
    """Remove a dead run's staging folder and temp files (a fresh instance needs no generation)."""
    clean_stale(own_folder(inst))


def is_fresh(inst: Instance) -> bool:
    """True when the manifest's sources and files all still match: no render needed.

    The plan's own values (project, ports, app names) are compared too: a new version of
    multistack that names things differently makes an instance stale though no file changed.
    """
    return stale_inputs(inst) == set()


def stale_inputs(inst: Instance) -> set[str] | None:
    """What changed since the manifest was written, without rendering: source paths (relative to
    the stack's folder) and generated file names whose hash differs; None without a manifest or
    when the plan itself differs (everything is then stale)."""
    manifest = read_manifest(inst.dir / MANIFEST)
    if manifest is None or (manifest.project_name, manifest.ports, manifest.apps) != (
            inst.project_name, inst.ports, inst.app_names):
        return None
    current = source_hashes(inst)
    stale = {path for path in set(current) | set(manifest.sources) if current.get(path) != manifest.sources.get(path)}
    stale |= {name for name, digest in manifest.files.items() if file_hash(inst.dir / name) != digest}
    return stale


def manifest_files(inst: Instance) -> list[str]:
    """The generated files the manifest lists (what a fresh ``init`` reports as identical)."""
    manifest = read_manifest(inst.dir / MANIFEST)
    return sorted(manifest.files) + [MANIFEST] if manifest else []
