"""A serve config is checked before anything starts: every mistake is one line naming it, exit 2."""

import subprocess
import sys

import pytest

from media import REPO

CAMERA = "{name: gate, url: 'rtsp://viewer:s3cret@127.0.0.1:9/cam', outputs: ['OUT/gate_%H%M%S.ts']}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("pipeline: {turbo: 1}\ncameras: [CAMERA]\n", "unknown key 'pipeline.turbo'"),
        ("cameras: [{name: gate, url: 'rtsp://h/c', fps: 5, outputs: ['OUT/a.ts']}]\n", "unknown key 'cameras.0.fps'"),
        ("batch: {max_frames: 4, wait: 3}\ncameras: [CAMERA]\n", "unknown key 'batch.wait'"),
        ("cameras: [{name: gate, url: 'rtsp://h/c', model: espcn-x9, outputs: ['OUT/a.ts']}]\n",
         "camera gate: unknown model 'espcn-x9'"),
        ("cameras: [{name: gate, url: 'rtsp://h/c', outputs: ['OUT/missing/a_%H.ts']}]\n",
         "camera gate: output directory does not exist"),
        ("cameras: [CAMERA, CAMERA]\n", "camera names must be unique"),
        ("cameras: []\n", "bad value for 'cameras'"),
    ],
)
def test_a_bad_serve_config_exits_2_naming_the_mistake(tmp_path, body, message):
    cfg = tmp_path / "cams.yaml"
    cfg.write_text(body.replace("CAMERA", CAMERA).replace("OUT", str(tmp_path)))
    r = subprocess.run([sys.executable, "-m", "vidclear", "serve", str(cfg), "--duration", "1"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: config ") and message in lines[0], r.stderr
    assert "s3cret" not in r.stderr
