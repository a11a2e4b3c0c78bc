import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from media import REPO
from vidclear import __version__
from vidclear.cli import build_parser
from vidclear.errors import ConfigError
from vidclear.secrets import RedactingFilter, redact, with_password


@pytest.mark.parametrize(
    "text,expected",
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/s", "rtsp://admin:***@10.0.0.5:554/s"),
        ("open rtsps://u:p%40ss@cam/x failed", "open rtsps://u:***@cam/x failed"),
        ("rtsp://viewer@cam/live", "rtsp://viewer@cam/live"),
        ("no url here", "no url here"),
        ("a rtsp://a:b@h/1 and http://c:d@h/2", "a rtsp://a:***@h/1 and http://c:***@h/2"),
        # mistyped, or collapsed by a path: they were shown as typed
        ("rtsp:/viewer:s3cret@h/c", "rtsp:/viewer:***@h/c"),
        ("rtsp//viewer:s3cret@h/c", "rtsp//viewer:***@h/c"),
        ("input not found: rtsp/viewer:s3cret@h/c", "input not found: rtsp/viewer:***@h/c"),
        ("/data/clips/gate@night.mp4", "/data/clips/gate@night.mp4"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("CAM_PW", "s3cr:t/@")
    url = with_password("rtsp://viewer@cam.local:8554/live", "CAM_PW")
    assert url.startswith("rtsp://viewer:") and url.endswith("@cam.local:8554/live")
    assert "s3cr" in url and redact(url) == "rtsp://viewer:***@cam.local:8554/live"
    monkeypatch.delenv("CAM_PW")
    with pytest.raises(ConfigError, match="CAM_PW"):
        with_password("rtsp://viewer@cam/live", "CAM_PW")


def test_logging_filter_redacts_messages_and_arguments():
    record = logging.LogRecord("vidclear", logging.WARNING, __file__, 1, "cannot open %s", ("rtsp://u:pw@h/x",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "cannot open rtsp://u:***@h/x"


def test_version_and_models_json():
    r = subprocess.run([sys.executable, "-m", "vidclear", "--version"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and r.stdout.strip() == f"vidclear {__version__}"
    r = subprocess.run([sys.executable, "-m", "vidclear", "models", "--json"], capture_output=True, text=True, cwd=REPO)
    models = {m["name"]: m for m in json.loads(r.stdout)}
    for name in ("espcn-x2", "espcn-x3", "espcn-x4", "srcnn-x3", "lowlight", "bicubic-x2"):
        assert {"name", "task", "scale", "params", "weights"} <= set(models[name])
    assert models["lowlight"]["params"] <= 100_000 and models["lowlight"]["task"] == "lowlight"
    assert models["espcn-x3"]["scale"] == 3 and models["espcn-x3"]["params"] > 20_000


def test_every_committed_weight_matches_its_checksum():
    from vidclear.models.registry import all_models

    for spec in all_models():
        if spec.weights:
            assert spec.sha256, f"{spec.name} has no sha256 in the registry"
            spec.load()  # raises on a mismatch


@pytest.mark.parametrize("argv", [
    ["--quiet", "--debug", "--log-file", "v.log", "enhance", "in.mp4", "out.mp4"],
    ["enhance", "in.mp4", "out.mp4", "--quiet", "--debug", "--log-file", "v.log"],
    ["--quiet", "enhance", "in.mp4", "out.mp4", "--debug", "--log-file", "v.log"],
    ["--quiet", "--debug", "--log-file", "v.log", "models"],
])
def test_logging_options_count_before_or_after_the_command(argv):
    args = build_parser().parse_args(argv)
    assert (args.quiet, args.debug, args.log_file) == (True, True, Path("v.log"))


def test_logging_options_default_to_off():
    args = build_parser().parse_args(["eval", "lowlight", "somewhere"])
    assert (args.quiet, args.debug, args.log_file) == (False, False, None)


@pytest.mark.parametrize("argv, message", [
    (["bench", "--json", "/nonexistent-folder/b.json"],
     "argument --json: cannot write /nonexistent-folder/b.json: the folder /nonexistent-folder does not exist"),
    (["bench", "--markdown", "."], "argument --markdown: . is a folder: name a file in it"),
    (["enhance", "in.mp4", "out.mp4", "--summary-json", "/nonexistent-folder/s.json"],
     "argument --summary-json: cannot write /nonexistent-folder/s.json: the folder /nonexistent-folder does not exist"),
    (["bench", "--json", "/tmp/" + "a" * 300 + ".json"],  # was a traceback from Path.is_dir
     f"argument --json: cannot write /tmp/{'a' * 300}.json: File name too long"),
])
def test_report_files_are_checked_by_the_parser_before_the_work(argv, message, capsys):
    # Before, a traceback once the bench or the enhance run had finished.
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_report_that_cannot_be_written_after_the_work_is_one_line(tmp_path):
    """bench --json/--markdown and enhance --summary-json: a full disk, or a folder removed during the run, was
    a traceback once the work was done."""
    from vidclear.arg_types import write_report
    from vidclear.errors import OutputError

    with pytest.raises(OutputError, match=r"^cannot write /dev/full: no space left on the device$"):
        write_report(Path("/dev/full"), "{}")
    gone = tmp_path / "gone" / "b.json"
    with pytest.raises(OutputError, match=r"the file or its folder was removed \(or unmounted\) while it was"):
        write_report(gone, "{}")
    write_report(tmp_path / "b.json", "{}")
    assert (tmp_path / "b.json").read_text() == "{}"


@pytest.mark.parametrize("argv, message", [
    (["bench", "--frames", "0"], "argument --frames: give 1 or more, not 0"),
    (["bench", "--frames", "ten"], "argument --frames: give a whole number, not 'ten'"),
    (["bench", "--capacity", "--seconds", "-2"], "argument --seconds: give a number of seconds above 0, not -2"),
    (["bench", "--capacity", "--seconds", "nan"], "argument --seconds: give a number of seconds above 0, not nan"),
    (["bench", "--capacity", "--max-streams", "0"], "argument --max-streams: give 1 or more, not 0"),
    (["enhance", "in.mp4", "out.mp4", "--duration", "0"], "argument --duration: give a number of seconds above 0"),
    (["enhance", "in.mp4", "out.mp4", "--start", "-1"], "argument --start: give a number of seconds of 0 or more, not -1"),
    (["serve", "cams.yaml", "--duration", "-1"], "argument --duration: give a number of seconds above 0, not -1"),
    (["build-engine", "espcn-x2", "--opt", "8x8", "--batch", "0"], "argument --batch: give 1 or more, not 0"),
    (["batch", "x.mp4", "-o", "out", "--parallel", "0"], "argument --parallel: give 1 or more, not 0"),
    # bench --preset bogus measured for a minute, then ended in a pydantic traceback (exit 1)
    (["bench", "--preset", "bogus"], "argument --preset: invalid choice: 'bogus'"),
    (["enhance", "in.mp4", "out.mp4", "--preset", "bogus"], "argument --preset: invalid choice: 'bogus'"),
])
def test_counts_and_durations_below_one_are_refused_by_the_parser(argv, message, capsys):
    # Before, bench --frames 0 measured one frame and enhance --duration 0 stopped after one.
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["batch", "x.mp4", "-o", "OUT", "--retries", "-1"],
     "argument --retries: Input should be greater than or equal to 0, not -1"),
    # before: "config: bad value for 'encoder.crf'", which named no flag
    (["enhance", "x.mp4", "o.mp4", "--crf", "99"], "argument --crf: Input should be less than or equal to 51, not 99"),
    (["batch", "x.mp4", "-o", "OUT", "--max-frames", "0"],
     "argument --max-frames: Input should be greater than or equal to 1, not 0"),
])
def test_flags_are_validated_like_the_config_and_named(tmp_path, argv, message):
    # Before, batch --parallel 0 ended in a pydantic traceback (exit 1).
    argv = [str(tmp_path) if a == "OUT" else a for a in argv]
    r = subprocess.run([sys.executable, "-m", "vidclear", *argv], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"vidclear: error: {message}"


def test_a_config_value_is_charged_to_the_file_and_a_flag_over_it_to_the_flag(tmp_path):
    from vidclear.config import load_config
    from vidclear.errors import ConfigError

    p = tmp_path / "c.yaml"
    p.write_text("encoder: {crf: 77}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, {"encoder.crf": None}, flags={"encoder.crf": "--crf"})
    assert str(e.value) == f"config {p}: bad value for 'encoder.crf': Input should be less than or equal to 51"
    with pytest.raises(ConfigError) as e:
        load_config(p, {"encoder.crf": 88}, flags={"encoder.crf": "--crf"})
    assert str(e.value) == "argument --crf: Input should be less than or equal to 51, not 88"


def test_a_log_file_that_cannot_be_written_is_one_line(tmp_path):
    # Before, a traceback from logging.FileHandler (exit 1), whatever the command.
    for where, why in [(tmp_path, "Is a directory"), (tmp_path / "missing" / "log.txt", "No such file or directory")]:
        r = subprocess.run([sys.executable, "-m", "vidclear", "--log-file", str(where), "models"],
                           capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == f"vidclear: error: cannot write the log file {where}: {why}"


def test_a_log_file_that_cannot_be_written_warns_once_and_counts_what_it_lost(tmp_path, capsys):
    """A full disk under --log-file printed '--- Logging error ---' and a traceback for every record."""
    import errno

    from vidclear.cli import LOG_FILE_FORMAT, LogFile

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

    path = tmp_path / "v.log"
    handler = LogFile(path)
    handler.setFormatter(logging.Formatter(LOG_FILE_FORMAT))
    logger = logging.getLogger("vidclear.test-log-file")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info("written")
        writable, handler.stream = handler.stream, FullDisk()
        for i in range(3):
            logger.info("lost %d", i)
        err = capsys.readouterr().err
        assert err == (f"vidclear: warning: cannot write the log file {path}: no space left on the device; its records "
                       "are lost until it can be written again\n")
        handler.stream = writable
        logger.info("written again")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = path.read_text().splitlines()
    assert lines[0].endswith(" INFO vidclear.test-log-file: written") and len(lines) == 3
    assert lines[2].endswith(" INFO vidclear.test-log-file: written again")
    assert lines[1].endswith(" WARNING vidclear: 3 log record(s) lost here: the file could not be written")



@pytest.mark.parametrize("argv", [["models"], ["models", "--json"], ["backends"]])
def test_a_listing_whose_reader_has_gone_stops_quietly(argv):
    """`vidclear models | head -1` was a BrokenPipeError traceback, exit 1. Here the pipe's reader is closed before
    vidclear starts, so every write to stdout fails: exit 141 (a writer SIGPIPE ends), nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run([sys.executable, "-m", "vidclear", *argv], stdout=write_end, stderr=subprocess.PIPE,
                           text=True, timeout=120, cwd=REPO)
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (141, "")


def test_batch_parallel_takes_auto_as_the_config_does():
    assert build_parser().parse_args(["batch", "x.mp4", "-o", "out", "--parallel", "auto"]).parallel == "auto"
    assert build_parser().parse_args(["batch", "x.mp4", "-o", "out", "--parallel", "3"]).parallel == 3
