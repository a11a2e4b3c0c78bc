"""Everything about TensorRT engines that is plain Python; only the real build needs `import tensorrt`."""

import json
import subprocess
import sys

import pytest

from media import REPO
from vidclear.backends.tensorrt_backend import TensorRTBackend
from vidclear.errors import VidclearError
from vidclear.export import tensorrt_build as tb

ENV = tb.Environment("10.3.0", "Orin", "8.7")


def profile(h=360, w=640, batch=1):
    return tb.make_profile(1, frame_hw=(h, w), batch=batch)


def write_engine(tmp_path, sidecar: tb.Sidecar, prof=None):
    engine = tb.engine_path(tmp_path, "espcn-x3", sidecar.precision, sidecar.onnx_sha256, prof or profile())
    engine.write_bytes(b"engine")
    sidecar.save(tb.sidecar_path(engine))
    return engine


def sidecar(**kw):
    base = dict(tensorrt_version="10.3.0", gpu_name="Orin", compute_capability="8.7",
                onnx_sha256="a" * 64, precision="fp16", profile=profile().as_json())
    base.update(kw)
    return tb.Sidecar(**base)


def test_parse_hw():
    assert tb.parse_hw("480x640") == (480, 640)
    assert tb.parse_hw(" 720X1280 ") == (720, 1280)
    for bad in ("640", "axb", "0x5", "-1x4"):
        with pytest.raises(VidclearError, match="HEIGHTxWIDTH|positive"):
            tb.parse_hw(bad)


def test_profile_from_frame_size_and_config():
    p = tb.make_profile(1, frame_hw=(360, 640), batch=4)
    assert p.min == (1, 1, 360, 640) and p.opt == (4, 1, 360, 640) and p.max == (4, 1, 360, 640)
    p = tb.make_profile(3, frame_hw=(360, 640), min_hw=(240, 320), max_hw=(1080, 1920), size_multiple=4)
    assert p.min == (1, 3, 240, 320) and p.opt == (1, 3, 360, 640) and p.max == (1, 3, 1080, 1920)
    p = tb.make_profile(3, frame_hw=(361, 641), size_multiple=4)
    assert p.opt[2:] == (364, 644)  # rounded up to the model's multiple
    with pytest.raises(VidclearError, match="min <= opt <= max"):
        tb.make_profile(1, frame_hw=(360, 640), max_hw=(240, 320))
    with pytest.raises(VidclearError, match="frame size"):
        tb.make_profile(1)


def test_out_of_profile_shapes_are_rejected_with_the_allowed_range():
    p = tb.make_profile(1, frame_hw=(360, 640), min_hw=(240, 320), max_hw=(720, 1280), batch=2)
    tb.check_input_shape(p, (2, 1, 480, 640))
    with pytest.raises(VidclearError, match=r"outside the engine's profile \(batch 1-2, height 240-720, width 320-1280\)"):
        tb.check_input_shape(p, (1, 1, 1080, 1920))
    with pytest.raises(VidclearError, match="outside"):
        tb.check_input_shape(p, (3, 1, 360, 640))


def test_engine_names_separate_model_precision_onnx_and_profile(tmp_path):
    a = tb.engine_path(tmp_path, "espcn-x3", "fp16", "abc" * 20, profile())
    assert a.name.startswith("espcn-x3-fp16-abcabcabca-") and a.suffix == ".engine"
    assert a != tb.engine_path(tmp_path, "espcn-x3", "fp32", "abc" * 20, profile())
    assert a != tb.engine_path(tmp_path, "espcn-x3", "fp16", "abd" * 20, profile())
    assert a != tb.engine_path(tmp_path, "espcn-x3", "fp16", "abc" * 20, profile(720, 1280))
    assert tb.sidecar_path(a).suffix == ".json"


def test_sidecar_round_trip_and_garbage(tmp_path):
    s = sidecar()
    s.save(tmp_path / "e.json")
    assert tb.Sidecar.load(tmp_path / "e.json") == s
    assert json.loads((tmp_path / "e.json").read_text())["gpu_name"] == "Orin"
    (tmp_path / "bad.json").write_text("{not json")
    assert tb.Sidecar.load(tmp_path / "bad.json") is None
    assert tb.Sidecar.load(tmp_path / "missing.json") is None


def test_matching_engine_is_loaded(tmp_path):
    engine = write_engine(tmp_path, sidecar())
    d = tb.decide(engine, ENV, "a" * 64, "fp16", profile(), allow_build=False)
    assert d.action == "load"


@pytest.mark.parametrize(
    "change,why",
    [
        ({"tensorrt_version": "10.2.0"}, "built with TensorRT 10.2.0, this is 10.3.0"),
        ({"gpu_name": "NVIDIA H100"}, "built on NVIDIA H100"),
        ({"compute_capability": "9.0"}, "sm 9.0"),
        ({"onnx_sha256": "b" * 64}, "the ONNX file changed"),
    ],
)
def test_mismatch_triggers_a_rebuild_with_its_reason(tmp_path, change, why):
    # the engine file name is keyed by the expected sha, as the backend looks it up
    s = sidecar(**change)
    engine = tb.engine_path(tmp_path, "espcn-x3", "fp16", "a" * 64, profile())
    engine.write_bytes(b"engine")
    s.save(tb.sidecar_path(engine))
    d = tb.decide(engine, ENV, "a" * 64, "fp16", profile(), allow_build=True)
    assert d.action == "build" and why in d.reason
    with pytest.raises(VidclearError, match="building is disabled"):
        tb.decide(engine, ENV, "a" * 64, "fp16", profile(), allow_build=False)


def test_missing_engine_or_sidecar(tmp_path):
    engine = tmp_path / "x.engine"
    assert tb.decide(engine, ENV, "a" * 64, "fp16", profile(), True).reason == "no engine yet"
    engine.write_bytes(b"e")
    assert "sidecar" in tb.decide(engine, ENV, "a" * 64, "fp16", profile(), True).reason


def test_precision_and_profile_mismatch():
    assert "fp32 asked" in tb.mismatches(sidecar(), ENV, "a" * 64, "fp32", profile())[0]
    assert "another shape profile" in tb.mismatches(sidecar(), ENV, "a" * 64, "fp16", profile(720, 1280))[0]


def test_timing_cache_is_keyed_by_version_and_gpu(tmp_path):
    a = tb.timing_cache_path(tmp_path, ENV)
    b = tb.timing_cache_path(tmp_path, tb.Environment("10.3.0", "NVIDIA H200", "9.0"))
    assert a != b and "10.3.0" in a.name and "orin" in a.name


def test_backend_reports_what_is_missing():
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        reason = TensorRTBackend.unavailable_reason("cuda")
        assert reason is not None and "TensorRT is not installed" in reason
    else:
        pytest.skip("tensorrt is installed here: the missing-TensorRT message cannot be shown")


def test_cli_backend_tensorrt_without_tensorrt_exits_2_with_one_line(tmp_path):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    from media import make_clip

    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=2)
    r = subprocess.run([sys.executable, "-m", "vidclear", "enhance", str(clip), str(tmp_path / "o.mp4"),
                        "--backend", "tensorrt", "--quiet"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error:") and "TensorRT is not installed" in lines[0]


def test_real_engine_build_and_run(tmp_path):
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed on this machine (it needs NVIDIA's index)")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from vidclear.backends.base import BackendOptions
    from vidclear.models.registry import get_model

    backend = TensorRTBackend(get_model("bicubic-x2"), "cuda", BackendOptions(frame_hw=(64, 80)))
    assert backend.engine_path.exists() and tb.sidecar_path(backend.engine_path).exists()
    assert trt.__version__ in tb.sidecar_path(backend.engine_path).read_text()
