"""What a SheepIt client is given for a task, read from its blender-render command, and the image checks of
its uploads; the script and command line run in Blender 3.4 as the client runs them."""

from __future__ import annotations

import io
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from service.api.sheepit.archives import ArchiveError, JobArchives, render_size
from service.api.sheepit.work import SCENE_ALIAS, NotRenderable, Work, work_of
from service.core.images import identify
from service.core.jobtypes import compile_simple_blender_render
from tests.conftest import BLENDER
from tests.helpers import png_size
from tests.sheepit_client import DEVICE_CALL, SIGNAL_TAIL


def commands(scene: str = "Main", output: str = "/out/job/######") -> list[dict[str, object]]:
    settings = {"frames": "1-10x3", "chunk_size": 2, "render_output_path": output, "blendfile": "/share/a.blend",
                "format": "PNG", "scene": scene}
    command = compile_simple_blender_render(settings, 0)[1].commands[0]
    return [{"name": command.name, "parameters": command.parameters}]


def test_a_task_reads_as_work() -> None:
    work = work_of(commands())
    assert (work.blend, work.scene, work.file_format, work.frames) == (Path("/share/a.blend"), "Main", "PNG", [7, 10])
    assert work.commandline() == ".e --factory-startup -noaudio -b .c --scene Main -o .o -f .f"
    assert work.frame_file(7) == Path("/out/job/000007.png")
    assert Work(Path("/s/a.blend"), "", "/o/f_##_x", "OPEN_EXR", [1]).frame_file(3) == Path("/o/f_03_x.exr")
    assert Work(Path("/s/a.blend"), "", "/o/f_##_v#", "PNG", [1]).frame_file(3) == Path("/o/f_##_v3.png")
    assert Work(Path("/s/a.blend"), "", "/o/shot_", "JPEG", [1]).frame_file(12) == Path("/o/shot_0012.jpg")
    assert Work(Path("/s/a.blend"), "", "//render/x_###", "PNG", [1]).frame_file(5) == Path("/s/render/x_005.png")
    assert Work(Path("/s/a.blend"), "", "/o/", "PNG", [1]).commandline() == \
        ".e --factory-startup -noaudio -b .c -o .o -f .f"
    for broken in ([], [{"name": "frames-to-video", "parameters": {}}],
                   [{"name": "blender-render", "parameters": {"blendfile": "/a.blend", "args": ["--render-frame"]}}],
                   [{"name": "blender-render", "parameters": {"blendfile": "/a.blend", "args": [
                       "--render-output", "/o/#", "--render-format", "PNG", "--render-frame", "x"]}}],
                   [{"name": "blender-render", "parameters": {"blendfile": "/a.blend", "args": [
                       "--render-output", "/o/#", "--render-format", "TARGA", "--render-frame", "1"]}}]):
        with pytest.raises(NotRenderable):
            work_of(broken)


def test_a_scene_whose_name_has_a_space_renders_under_an_alias(blend_file: Path, tmp_path: Path) -> None:
    blend = tmp_path / "spaced.blend"
    subprocess.run([BLENDER, "-b", "--factory-startup", str(blend_file), "--python-expr",
                    "import bpy; s = bpy.data.scenes['Alt']; s.name = 'Alt Shot'; s.render.resolution_x = 40; "
                    f"bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})"], check=True, capture_output=True)
    work = work_of(commands("Alt Shot", str(tmp_path / "out" / "######")))
    assert f"--scene {SCENE_ALIAS} " in work.commandline() and "$" not in work.script()
    script = tmp_path / "script_x"
    script.write_text(f"{work.script()}\n{DEVICE_CALL}\n{SIGNAL_TAIL}\n")
    argv: list[str] = []
    for token in work.commandline().split(" "):
        argv += {".e": [BLENDER], ".c": [str(blend), "-P", str(script)], ".o": [str(tmp_path / "25_")],
                 ".f": ["0007"]}.get(token, [token])
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    assert png_size(tmp_path / "25_0007.png") == (40, 48) == render_size(blend, "Alt Shot")


def test_job_archives_are_packed_once_per_content(blend_file: Path, tmp_path: Path) -> None:
    archives = JobArchives(tmp_path / "archives", tmp_path / "data", "")
    first = archives.get(blend_file)
    assert first.blend == blend_file.name and archives.get(blend_file) == first
    assert JobArchives(tmp_path / "archives", tmp_path / "data", "").get(blend_file) == first  # kept on disk
    with zipfile.ZipFile(first.path) as packed:
        assert blend_file.name in packed.namelist()
    assert render_size(blend_file, "Main") == (64, 48) and render_size(blend_file, "Nope") is None
    assert render_size(tmp_path / "missing.blend", "Main") is None


@pytest.mark.parametrize("kind,extension", [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_uploaded_images_are_identified_with_their_size(kind: str, extension: str) -> None:
    data = io.BytesIO()
    Image.new("RGB", (33, 21)).save(data, kind)
    assert identify(data.getvalue()) == (extension, (33, 21))
    assert identify(data.getvalue()[:12]) is None


def test_an_exr_header_gives_its_data_window(tmp_path: Path) -> None:
    out = tmp_path / "f.exr"
    subprocess.run([BLENDER, "-b", "--factory-startup", "--python-expr",
                    "import bpy; i = bpy.data.images.new('x', 17, 9, float_buffer=True); "
                    f"i.filepath_raw = {str(out)!r}; i.file_format = 'OPEN_EXR'; i.save()"],
                   check=True, capture_output=True)
    exr = out.read_bytes()
    assert identify(exr) == (".exr", (17, 9))
    assert identify(b"not an image at all") is None
    # A header whose attribute size is negative or runs past the end is no image (and no endless loop).
    name_end = exr.index(b"\0", 8)
    type_end = exr.index(b"\0", name_end + 1)
    assert identify(exr[:type_end + 1] + struct.pack("<i", -8) + exr[type_end + 5:]) is None
    assert identify(exr[:type_end + 1] + struct.pack("<i", 2**30) + exr[type_end + 5:]) is None


def _blends(blend_file: Path, images: list[Path], copies: list[Path], scene: Path, linking: Path) -> None:
    """With Blender 3.4, from blend_file: plain ``copies``, ``scene`` naming these image files (absolute paths; in a
    folder ``seq``, the first of a sequence), and ``linking`` linking the world of the first copy."""
    saved = "".join(f"bpy.ops.wm.save_as_mainfile(filepath={str(c)!r}, copy=True)\n" for c in copies)
    named = "".join(f"i = bpy.data.images.new('i{n}', 4, 4); i.filepath = {str(path)!r}; i.use_fake_user = True; "
                    f"i.source = {'SEQUENCE' if path.parent.name == 'seq' else 'FILE'!r}\n"
                    for n, path in enumerate(images))
    script = (f"import bpy\n{saved}{named}bpy.ops.wm.save_as_mainfile(filepath={str(scene)!r}, copy=True)\n"
              "for i in list(bpy.data.images): bpy.data.images.remove(i)\n"
              f"with bpy.data.libraries.load({str(copies[0])!r}, link=True) as (src, dst): dst.worlds = ['Night']\n"
              "bpy.context.scene.world = [w for w in bpy.data.worlds if w.library][0]\n"
              f"bpy.ops.wm.save_as_mainfile(filepath={str(linking)!r})")
    subprocess.run([BLENDER, "-b", "--factory-startup", str(blend_file), "--python-expr", script], check=True,
                   capture_output=True, timeout=120)


def test_a_job_archive_holds_the_project_only_and_nothing_of_the_data_dir(blend_file: Path, tmp_path: Path) -> None:
    data, share, project, elsewhere = (tmp_path / n for n in ("data", "share", "project", "elsewhere"))
    for folder in (data / "sheepit", data / "shared", share, project / "tex", elsewhere):
        folder.mkdir(parents=True)
    for secret in ("token", "shepherd.db", "sheepit/key"):
        (data / secret).write_text(f"secret {secret}")
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    for image in (project / "tex" / "inside.png", share / "common.png", elsewhere / "photo.png"):
        image.write_bytes(png.getvalue())
    (project / "tex" / "db.png").symlink_to(data / "shepherd.db")  # inside the project, leading into the data dir
    (project / "seq").mkdir()  # an image sequence whose second frame leads into the data dir
    (project / "seq" / "0001.png").write_bytes(png.getvalue())
    (project / "seq" / "0002.png").symlink_to(data / "token")
    named = [project / "tex" / "inside.png", share / "common.png", elsewhere / "photo.png", data / "token",
             data / "sheepit" / "key", project / "tex" / "db.png", project / "seq" / "0001.png"]
    blend, linking, library, in_data, in_shared = (project / "scene.blend", project / "linking.blend",
                                                   elsewhere / "library.blend", data / "j.blend",
                                                   data / "shared" / "s.blend")
    _blends(blend_file, named, [library, in_data, in_shared], blend, linking)
    archive = JobArchives(data / "sheepit" / "archives", data, str(share)).get(blend)
    with zipfile.ZipFile(archive.path) as packed:
        names = packed.namelist()
        everything = b"".join(packed.read(n) for n in names)
    assert "scene.blend" in names and any(n.endswith("project/tex/inside.png") for n in names), names
    assert any(n.endswith("share/common.png") for n in names), names  # the shared storage is the project's too
    assert b"secret" not in everything and not any("photo" in n or "db.png" in n for n in names), names
    assert archive.left_out == tuple(sorted(map(str, named[2:])))

    with pytest.raises(ArchiveError, match=r"links .*library\.blend, which is outside"):
        JobArchives(data / "sheepit" / "archives", data, str(share)).get(linking)
    with pytest.raises(ArchiveError, match="data dir"):
        JobArchives(data / "sheepit" / "archives", data, "").get(in_data)
    # The shared storage may lie in the data dir (its default): its files are a project's, the rest is not.
    assert JobArchives(data / "sheepit" / "archives", data, str(data / "shared")).get(in_shared).blend == "s.blend"
    with pytest.raises(ArchiveError, match="data dir"):
        JobArchives(data / "sheepit" / "archives", data, str(data / "shared")).get(in_data)
