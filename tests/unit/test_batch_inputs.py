"""``batch``'s @list.txt names files as the file system does, whatever their bytes."""

import os

from vidclear.archive.inputs import find_jobs


def test_a_list_naming_a_file_whose_name_is_not_utf8(tmp_path):
    """An archive copied from an old latin-1 system: the list was a UnicodeDecodeError traceback."""
    name = os.fsdecode(b"caf\xe9.mp4")
    (tmp_path / name).write_bytes(b"")  # find_jobs only looks at names
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"# one file\n" + os.fsencode(tmp_path) + b"/caf\xe9.mp4\n")
    jobs = find_jobs([f"@{listing}"], tmp_path / "out")
    assert [(j.input, j.output) for j in jobs] == [(tmp_path / name, tmp_path / "out" / name)]
