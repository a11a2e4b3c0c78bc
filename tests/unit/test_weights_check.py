"""A corrupted weights file is refused with one clear line naming the model and the checksum."""

import contextlib
import io
import shutil

import vidclear.models.registry as registry
from media import make_clip
from vidclear.cli import main


def test_a_corrupted_weights_file_is_a_clear_error(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    shutil.copytree(registry.WEIGHTS_DIR, weights)
    path = weights / registry.get_model("espcn-x2").weights
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the tensors
    path.write_bytes(bytes(data))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights)
    monkeypatch.setenv("VIDCLEAR_ENGINES", str(tmp_path / "engines"))  # no cached export to hide it
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["enhance", str(clip), str(tmp_path / "o.mp4"), "--model", "espcn-x2", "--backend", "torch",
                   "--quiet"])
    lines = err.getvalue().strip().splitlines()
    assert rc == 2 and len(lines) == 1, err.getvalue()
    assert lines[0].startswith("vidclear: error: weights for model 'espcn-x2' do not match their checksum")
    assert "Traceback" not in err.getvalue() and not (tmp_path / "o.mp4").exists()
