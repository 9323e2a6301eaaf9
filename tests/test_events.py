from shared.events import MARKER, Event, Kind, split_line


def test_event_line_round_trip():
    event = Event(Kind.FRAME_SAVED, 3, {"frame": 7, "path": "/tmp/x_0007.png"})
    text, parsed = split_line(event.to_line())
    assert text == ""
    assert parsed == event


def test_event_after_other_text_on_the_same_line():
    line = "Fra:1 Mem:9M | Cube" + Event(Kind.JOB_DONE, 0).to_line()
    text, parsed = split_line(line)
    assert text == "Fra:1 Mem:9M | Cube"
    assert parsed is not None and parsed.kind == Kind.JOB_DONE


def test_plain_and_broken_lines():
    assert split_line("Saved: 'x.png'") == ("Saved: 'x.png'", None)
    assert split_line(MARKER + "{not json") == (MARKER + "{not json", None)
