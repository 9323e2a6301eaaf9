from service.blender.stats import error_text, parse_stats


def test_blender_3_fra_line():
    line = ("Fra:2 Mem:9.93M (Peak 10.85M) | Time:00:00.09 | Remaining:00:01.50 | Mem:0.76M, Peak:0.76M "
            "| Main, Back | Sample 1/3")
    assert parse_stats(line) == {"frame": "2", "mem": "9.93M", "elapsed": "00:00.09", "remaining": "00:01.50",
                                 "samples_done": "1", "samples_todo": "3"}


def test_blender_5_handler_strings():
    assert parse_stats("Remaining: 00:00.00 | Mem: 2M | Sample 1/4") == {
        "mem": "2M", "remaining": "00:00.00", "samples_done": "1", "samples_todo": "4"}
    assert parse_stats("Time: 00:00.04 (Saving: 00:00.02)") == {"elapsed": "00:00.04"}
    assert parse_stats("Mem: 1M | Updating Scene BVH | Building BVH 0%") == {"mem": "1M"}


def test_eevee_samples():
    line = "Fra:1 Mem:120.5M (Peak 130M) | Time:01:02:03.45 | Rendering 5 / 64 samples"
    assert parse_stats(line)["samples_done"] == "5"
    assert parse_stats(line)["samples_todo"] == "64"
    assert parse_stats(line)["elapsed"] == "01:02:03.45"


def test_error_lines():
    assert error_text("Error: Build without OpenImageDenoiser") == "Build without OpenImageDenoiser"
    assert error_text("Fra:1 Mem:1M") is None
    assert error_text("Errors are fine") is None
