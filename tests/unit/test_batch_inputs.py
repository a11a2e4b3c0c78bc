"""``batch``'s @list.txt names files as the file system does, whatever their bytes."""

import os

import pytest

from vidclear.archive.inputs import find_jobs
from vidclear.errors import InputError


def test_a_list_naming_a_file_whose_name_is_not_utf8(tmp_path):
    """An archive copied from an old latin-1 system: the list was a UnicodeDecodeError traceback."""
    name = os.fsdecode(b"caf\xe9.mp4")
    (tmp_path / name).write_bytes(b"")  # find_jobs only looks at names
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"# one file\n" + os.fsencode(tmp_path) + b"/caf\xe9.mp4\n")
    jobs = find_jobs([f"@{listing}"], tmp_path / "out")
    assert [(j.input, j.output) for j in jobs] == [(tmp_path / name, tmp_path / "out" / name)]


def test_a_listed_name_that_matches_nothing_is_named_with_its_line(tmp_path):
    """A long list with one stale entry: the error named the entry but not where in which list it was."""
    (tmp_path / "a.mp4").write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# archive\n{tmp_path / 'a.mp4'}\n\n{tmp_path / 'gone.mp4'}\n")
    with pytest.raises(InputError) as error:
        find_jobs([f"@{listing}"], tmp_path / "out")
    assert str(error.value) == f"no such file, folder or match: {tmp_path / 'gone.mp4'} (line 4 of {listing})"
    with pytest.raises(InputError) as error:  # a relative name: where it was looked for
        listing.write_text("cam1/a.mp4\n")
        find_jobs([f"@{listing}"], tmp_path / "out")
    assert str(error.value) == (f"no such file, folder or match: cam1/a.mp4 (line 1 of {listing}; a relative name "
                                f"is taken from the working folder {os.getcwd()})")
    with pytest.raises(InputError) as error:  # a command-line argument has no line to name
        find_jobs([str(tmp_path / "gone.mp4")], tmp_path / "out")
    assert str(error.value) == f"no such file, folder or match: {tmp_path / 'gone.mp4'}"


def test_a_camera_url_is_refused_with_what_to_use_instead(tmp_path):
    # it was "no such file, folder or match: rtsp://..."
    with pytest.raises(InputError) as error:
        find_jobs(["rtsp://viewer:s3cret@192.0.2.10/cam"], tmp_path / "out")
    assert str(error.value) == ("rtsp://viewer:***@192.0.2.10/cam is a live stream: batch enhances recorded files; "
                                "record a camera with 'vidclear enhance URL OUT' or 'vidclear serve'")


def test_inputs_that_lie_in_the_output_folder_are_named_as_such(tmp_path):
    # it said "no video files among the inputs" of a folder of videos given as its own output folder
    (tmp_path / "a.mp4").write_bytes(b"")
    with pytest.raises(InputError) as error:
        find_jobs([str(tmp_path)], tmp_path)
    assert str(error.value) == (f"the inputs are in the output folder {tmp_path}: their outputs would replace them; "
                                "give -o another folder")
    (tmp_path / "enhanced").mkdir()
    (tmp_path / "enhanced" / "a.mp4").write_bytes(b"")  # an earlier run's output, below the input folder
    jobs = find_jobs([str(tmp_path)], tmp_path / "enhanced")
    assert [(j.input, j.output) for j in jobs] == [(tmp_path / "a.mp4", tmp_path / "enhanced" / "a.mp4")]


def test_a_picture_stays_a_picture_and_a_folder_gives_its_videos(tmp_path):
    """Stills given to batch became one-frame .mkv videos; a folder's thumbnails are not inputs."""
    for name in ("snap.PNG", "plate.jpg", "cam.avi", "thumb.jpg"):
        (tmp_path / "in" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(b"")
    out = tmp_path / "out"
    jobs = find_jobs([str(tmp_path / "in" / "snap.PNG"), str(tmp_path / "in" / "plate.jpg"),
                      str(tmp_path / "in" / "cam.avi")], out, ".mp4")
    assert [j.output for j in jobs] == [out / "snap.png", out / "plate.jpg", out / "cam.mp4"]
    assert [j.input.name for j in find_jobs([str(tmp_path / "in")], out)] == ["cam.avi"]


def test_a_folder_of_pictures_says_how_to_give_them(tmp_path):
    """A folder of snapshots gave 'no video files among the inputs' and no way forward."""
    for name in ("a.png", "sub/b.png"):
        (tmp_path / "snaps" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "snaps" / name).write_bytes(b"")
    with pytest.raises(InputError) as error:
        find_jobs([str(tmp_path / "snaps")], tmp_path / "out")
    pattern = f"{tmp_path / 'snaps'}/**/*.png"
    assert str(error.value) == ("no video files among the inputs (2 pictures: a folder gives its videos only; name "
                                f"the pictures, or match them with a glob such as '{pattern}')")
    jobs = find_jobs([pattern], tmp_path / "out")  # the glob it suggests finds them all
    assert sorted(j.input.name for j in jobs) == ["a.png", "b.png"]
