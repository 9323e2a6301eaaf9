"""Frame ranges as Flamenco writes them, and chunks."""

from __future__ import annotations

import pytest

from shared import frames


@pytest.mark.parametrize(("text", "size", "expected"), [
    ("1-10,20", 3, ["1-3", "4-6", "7-9", "10,20"]),
    ("1-4", 2, ["1,2", "3,4"]),
    ("1..3", 10, ["1-3"]),
    (" 3, 5-10, 47", 100, ["3,5-10,47"]),
    ("30-40x2", 2, ["30,32", "34,36", "38,40"]),
    ("5,5,1-2", 1, ["1", "2", "5"]),
])
def test_chunks(text, size, expected):
    assert frames.chunks(text, size) == expected


@pytest.mark.parametrize("text", ["", "1-", "a", "1-3,", "-5", "1-2-3", "1-5x0", "5-1"])
def test_bad_ranges_say_which(text):
    with pytest.raises(frames.FrameRangeError, match="invalid range"):
        frames.parse(text)


def test_chunk_size_must_be_positive():
    with pytest.raises(frames.FrameRangeError, match="chunk size"):
        frames.chunks("1-3", 0)


def test_a_range_holds_at_most_max_frames():
    assert len(frames.parse(f"1-{frames.MAX_FRAMES}")) == frames.MAX_FRAMES
    with pytest.raises(frames.FrameRangeError, match="more than"):
        frames.parse(f"1-{frames.MAX_FRAME}")


@pytest.mark.parametrize("text", ["1-99999999999999999999", "1-" + "9" * 5000, "1-10x" + "9" * 30,
                                  f"{frames.MAX_FRAME + 1}"])
def test_frame_numbers_beyond_blenders_are_refused_before_they_are_read(text):
    with pytest.raises(frames.FrameRangeError, match="go up to"):
        frames.parse(text)


def test_a_range_of_too_many_parts_is_refused_before_it_is_split():
    with pytest.raises(frames.FrameRangeError, match="parts"):
        frames.parse("5-1," * frames.MAX_FRAMES)
