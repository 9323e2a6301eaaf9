"""Stand in for a Blender binary with the bpy module: ``python bpy_launcher.py -b [file.blend] -P script -- args``.

Understands the part of Blender's command line that Shepherd uses: -b, -noaudio, --factory-startup,
--python-exit-code N, -P/--python SCRIPT, --version, one .blend file, and -- before the script's own arguments.
"""

from __future__ import annotations

import runpy
import sys
import traceback


def main(argv: list[str]) -> int:
    own, rest = (argv[: argv.index("--")], argv[argv.index("--"):]) if "--" in argv else (argv, [])
    import bpy

    if "--version" in own or "-v" in own:
        print(f"Blender {bpy.app.version_string}")
        return 0
    exit_code, scripts, blend = 0, [], None
    args = iter(own)
    for arg in args:
        if arg == "--python-exit-code":
            exit_code = int(next(args))
        elif arg in ("-P", "--python"):
            scripts.append(next(args))
        elif arg.endswith(".blend"):
            blend = arg
        elif arg not in ("-b", "--background", "-noaudio", "--factory-startup"):
            print(f"bpy_launcher: unsupported argument {arg}", file=sys.stderr)
            return 2
    if blend:
        bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    for script in scripts:
        sys.argv = ["blender", *own, *rest]
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                print(exc.code, file=sys.stderr)
                return exit_code or 1
        except Exception:  # noqa: BLE001 - reported the way Blender reports a failed script
            traceback.print_exc()
            print(f"Error: script failed, file: '{script}', exiting.", file=sys.stderr)
            return exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
