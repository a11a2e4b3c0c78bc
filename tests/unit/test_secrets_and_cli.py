import json
import logging
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
