"""The two archives a SheepIt client downloads: a job's blend file with everything it needs (packed with
blender-asset-tracer, built once per content and kept), and the renderer configured for its OS and bits."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service import private

log = logging.getLogger("shepherd.sheepit")
CHUNK = 2**20
BORDER = 1 << 9
"""RenderData.mode's bit for a border render."""


class ArchiveError(RuntimeError):
    """A blend file that could not be packed, or may not be: a sentence saying why."""


@dataclass(frozen=True)
class Archive:
    path: Path
    md5: str
    blend: str
    """The blend file's path inside the archive (``/``-separated); empty for a renderer."""
    left_out: tuple[str, ...] = ()
    """Files the blend names that the archive leaves out: outside the project, or in the data dir."""


@dataclass(frozen=True)
class Project:
    """What a job archive may hold: files under the blend file's folder or the shared storage (links resolved),
    never anything else in the service's data dir (its token, keys, database and job files), even when the data
    dir lies under one of them. The shared storage may lie in the data dir (its default, ``shared``)."""

    roots: tuple[Path, ...]
    private: Path
    storage: Path | None

    def secret(self, found: Path) -> bool:
        """Whether a resolved path is the service's own: in the data dir, and not in a shared storage there."""
        shared = self.storage is not None and self.storage.is_relative_to(self.private) and \
            found.is_relative_to(self.storage)
        return found.is_relative_to(self.private) and not shared

    def holds(self, path: Path) -> bool:
        found = path.resolve()
        return not self.secret(found) and any(found.is_relative_to(r) for r in self.roots)


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while block := source.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def content_key(blend: Path, project: Project) -> str:
    """What a packed archive is kept under: the blend file's path and content, and what its project holds."""
    digest = hashlib.sha256(repr((str(blend), project)).encode())
    digest.update(md5_of(blend).encode())
    return digest.hexdigest()


def _packer(project: Project, scratch: Path) -> type[Any]:
    """blender-asset-tracer's zip packer, visiting only the files the project holds: a linked library outside
    it refuses the archive (the scene would lack what it links), any other file is left out and named. Its
    rewritten blend files are made in ``scratch`` (in the private data dir), not in the shared temp folder."""
    from blender_asset_tracer.pack.zipped import ZipPacker, ZipTransferrer  # imported when a client first asks

    class CopyingTransferrer(ZipTransferrer):
        def queue_move(self, src: Path, dst: Any) -> None:
            """Copied, not moved: BAT reads a moved file's size after queueing it, when its zipping thread may
            have taken the file already; what stays behind goes with the scratch folder."""
            self.queue_copy(src, dst)

    class ProjectPacker(ZipPacker):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self._tmpdir.cleanup()
            self._tmpdir = tempfile.TemporaryDirectory(dir=scratch)
            self._rewrite_in = Path(self._tmpdir.name)
            self.left_out: set[Path] = set()

        def _create_file_transferer(self) -> Any:
            return CopyingTransferrer(Path(self._target_path).absolute())

        def _visit_asset(self, asset_path: Path, usage: Any) -> None:
            # A sequence's every file is copied, each maybe a link out of its folder.
            checked = [asset_path.parent, *usage.files()] if usage.is_sequence else [asset_path]
            if all(map(project.holds, checked)):
                super()._visit_asset(asset_path, usage)
                return
            if usage.block.code == b"LI":
                raise ArchiveError(f"{self.blendfile} links {asset_path}, which is outside its folder and the "
                                   "shared storage: SheepIt clients cannot render it without that library")
            self.left_out.add(asset_path)

    return ProjectPacker


class JobArchives:
    """Zips of blend files and the files of their project they need, one per content, in ``folder``."""

    def __init__(self, folder: Path, private_dir: Path, storage: str) -> None:
        self.folder = folder
        self.private = private_dir.resolve()
        self.storage = Path(storage).resolve() if storage else None
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[float, int, Archive]] = {}

    def get(self, blend: Path) -> Archive:
        """The archive of ``blend`` as it is now, packed if it was not yet. Blocks: call it from a thread."""
        with self._lock:
            stat = blend.stat()
            known = self._known.get(blend)
            if known is not None and known[:2] == (stat.st_mtime, stat.st_size) and known[2].path.exists():
                return known[2]
            project = self.project(blend)
            archive = self._pack(blend, project, content_key(blend, project))
            self._known[blend] = (stat.st_mtime, stat.st_size, archive)
            return archive

    def project(self, blend: Path) -> Project:
        project = Project((blend.parent.resolve(), *([self.storage] if self.storage else [])), self.private,
                          self.storage)
        if project.secret(blend.resolve()):
            raise ArchiveError(f"{blend} is in the service's data dir, which SheepIt clients are never sent")
        return project

    def _pack(self, blend: Path, project: Project, key: str) -> Archive:
        target = self.folder / f"{key}.zip"
        about = self.folder / f"{key}.json"
        if target.exists() and about.exists():
            known = json.loads(about.read_text(encoding="utf-8"))
            return Archive(target, md5_of(target), known["blend"], tuple(known["left_out"]))
        private.directory(self.folder)
        with tempfile.TemporaryDirectory(dir=self.folder) as work:
            partial = Path(work) / "archive.zip"
            try:
                with _packer(project, Path(work))(blend, blend.parent, str(partial)) as packer:
                    packer.strategise()
                    packer.execute()
                    inside = packer.output_path.relative_to(partial.absolute()).as_posix()
                    left_out = tuple(sorted(map(str, packer.left_out)))
                    if packer.missing_files:
                        log.warning("%s needs files that are missing: %s", blend,
                                    ", ".join(sorted(map(str, packer.missing_files))))
            except ArchiveError:
                raise
            except Exception as exc:  # BAT raises many kinds for a file it cannot read
                raise ArchiveError(f"{blend} could not be packed: {exc}") from exc
            partial.chmod(0o600)
            shutil.move(partial, target)
        private.write_bytes(about, json.dumps({"blend": inside, "left_out": left_out}).encode())
        return Archive(target, md5_of(target), inside, left_out)


def render_size(blend: Path, scene: str) -> tuple[int, int] | None:
    """The size of the images the scene renders (its resolution and percentage), read from the blend file;
    None for a border render, whose image may be smaller, or a file that cannot be read."""
    from blender_asset_tracer import blendfile
    from blender_asset_tracer.blendfile.exceptions import BlendFileError

    try:
        opened = blendfile.BlendFile(blend)
        try:
            scenes = opened.find_blocks_from_code(b"SC")
            if scene:
                found = next((s for s in scenes if s.id_name == b"SC" + scene.encode()), None)
            else:
                found = scenes[0] if len(scenes) == 1 else None
            if found is None or found[b"r", b"mode"] & BORDER:
                return None
            percent = found[b"r", b"size"]
            return found[b"r", b"xsch"] * percent // 100, found[b"r", b"ysch"] * percent // 100
        finally:
            opened.close()
    except (BlendFileError, OSError, KeyError, ValueError):
        return None


class Renderers:
    """The renderer archive configured for each (OS, bits) a client can send, e.g. ("linux", "64bit")."""

    def __init__(self, archives: dict[tuple[str, str], Path]) -> None:
        self.archives = archives
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[float, int, Archive]] = {}

    def get(self, os_name: str, bits: str) -> Archive | None:
        """The archive and its md5 (computed once per version of the file). Blocks: call it from a thread."""
        path = self.archives.get((os_name, bits))
        if path is None:
            return None
        with self._lock:
            stat = path.stat()
            known = self._known.get(path)
            if known is None or known[:2] != (stat.st_mtime, stat.st_size):
                known = (stat.st_mtime, stat.st_size, Archive(path, md5_of(path), ""))
                self._known[path] = known
            return known[2]
