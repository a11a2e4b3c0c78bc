"""The batch journal survives what a crash or a bad disk leaves in it: it was a UnicodeDecodeError traceback on
a damaged line, and the entry after a line cut short was lost by being appended to it."""

import json

from vidclear.archive.inputs import Job
from vidclear.archive.journal import JOURNAL, Journal


def entry(key: str, status: str = "done") -> str:
    return json.dumps({"key": key, "input": f"/in/{key}.mp4", "output": f"/out/{key}.mp4", "status": status})


def test_damaged_lines_are_skipped_and_a_line_cut_short_does_not_swallow_the_next(tmp_path):
    (tmp_path / JOURNAL).write_bytes(
        entry("a").encode() + b"\n"
        + b"\xff\xfe\x00 bytes a failing disk returned\n"
        + b"[1, 2]\n"
        + entry("b", "failed").encode() + b"\n"
        + entry("c").encode()[:25])  # the last line, cut short by a crash
    journal = Journal(tmp_path)
    assert sorted(journal.entries) == ["a", "b"] and journal.failures == {"b": 1}
    journal.record("d", Job(tmp_path / "d.mp4", tmp_path / "out" / "d.mp4"), status="done")
    journal.close()

    again = Journal(tmp_path)
    again.close()
    assert sorted(again.entries) == ["a", "b", "d"], "the line after the cut one is read"
    assert again.entries["d"]["output"] == str(tmp_path / "out" / "d.mp4")
