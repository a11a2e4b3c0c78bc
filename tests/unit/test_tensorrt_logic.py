"""Everything about TensorRT engines that is plain Python; only the real build needs `import tensorrt`."""

import json
import subprocess
import sys
import types
from types import SimpleNamespace

import numpy as np
import pytest

from media import REPO
from vidclear.backends.tensorrt_backend import TensorRTBackend
from vidclear.errors import VidclearError
from vidclear.export import tensorrt_build as tb
from vidclear.export.files import write_atomically

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
    p = tb.make_profile(3, frame_hw=(360, 640), min_hw=(240, 320), max_hw=(1080, 1920))
    assert p.min == (1, 3, 240, 320) and p.opt == (1, 3, 360, 640) and p.max == (1, 3, 1080, 1920)
    p = tb.make_profile(3, frame_hw=(361, 641))
    assert p.opt[2:] == (361, 641)  # as asked: frames are not padded before the engine, so no rounding
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


def test_build_engine_without_tensorrt_exits_2_with_one_line():
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    r = subprocess.run([sys.executable, "-m", "vidclear", "build-engine", "espcn-x2", "--opt", "480x854", "--min",
                        "360x640", "--max", "1080x1920"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: backend 'tensorrt' cannot run")
    assert "TensorRT is not installed" in lines[0] and "Traceback" not in r.stderr


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


# --- The review of the never-run path (fixes proven without TensorRT; the module is faked only where
# a call would need the library) ---------------------------------------------------------------------


def test_a_profile_built_for_854_accepts_an_854_wide_frame():
    exact = tb.make_profile(1, frame_hw=(480, 854))
    tb.check_input_shape(exact, (1, 1, 480, 854))
    ranged = tb.make_profile(3, opt_hw=(480, 854), min_hw=(360, 640), max_hw=(1080, 1920))
    for h, w in ((480, 854), (360, 640), (1080, 1920), (361, 641)):
        tb.check_input_shape(ranged, (1, 3, h, w))
    with pytest.raises(VidclearError, match="outside"):
        tb.check_input_shape(ranged, (1, 3, 359, 640))


def test_the_engine_check_input_has_the_size_asked_for():
    from vidclear.export.onnx_export import sample_input

    assert sample_input(1, 720, 1280).shape == (1, 1, 720, 1280)
    assert sample_input(3, 1080, 1920).shape == (1, 3, 1080, 1920)
    assert sample_input(1, 37, 53).shape == (1, 1, 37, 53)
    x = sample_input(1, 720, 1280)
    assert x[0, 0, 700:, 1200:].std() > 0.001, "the bottom-right corner holds image, not constant padding"


def test_tensorrt_below_10_is_refused_with_the_reason(monkeypatch):
    assert tb.tensorrt_version_problem("10.3.0") is None and tb.tensorrt_version_problem("11.0.1") is None
    assert "TensorRT 8.6.2 is too old" in tb.tensorrt_version_problem("8.6.2")
    monkeypatch.setitem(sys.modules, "tensorrt", FakeTensorRT("8.6.2"))
    reason = TensorRTBackend.unavailable_reason("cuda")
    assert reason is not None and "TensorRT 8.6.2 is too old: vidclear needs TensorRT 10 or 11" in reason
    assert TensorRTBackend.version() == "8.6.2"


def test_concurrent_writers_never_share_a_temporary_file(tmp_path):
    """Two cameras building the same engine at once: every write lands whole, nothing is left over.
    (With one fixed '.tmp' name, one writer's rename takes the other's file away.)"""
    import threading

    target = tmp_path / "espcn-x2.engine"
    errors = []

    def writer(tag):
        for i in range(60):
            try:
                write_atomically(target, f"{tag}-{i}".encode() * 1000)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    content = target.read_bytes()
    assert content in {f"{t}-59".encode() * 1000 for t in "ab"}
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    sidecar().save(tmp_path / "s.json")  # the sidecar goes the same way
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name, "s.json"]


def test_a_timing_cache_of_another_gpu_is_replaced_not_ignored(caplog):
    config = FakeConfig(accept_saved=False)
    with caplog.at_level("WARNING", logger="vidclear"):
        tb.attach_timing_cache(config, b"cache from another GPU")
    assert config.timing_caches == [b"cache from another GPU", b""]
    assert "does not match" in caplog.text
    good = FakeConfig(accept_saved=True)
    tb.attach_timing_cache(good, b"ours")
    assert good.timing_caches == [b"ours"]


@pytest.mark.parametrize(("version", "precision"), [("10.3.0", "fp32"), ("10.3.0", "fp16"), ("11.0.0", "fp16")])
def test_build_flags_cache_and_sidecar(tmp_path, monkeypatch, version, precision):
    """fp32 engines clear TF32 (on by default since 8.x); FP16 is a flag on 10.x, strong typing on 11;
    the timing cache goes through a temporary file; the sidecar is returned, not written."""
    fake = FakeTensorRT(version)
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setattr(tb, "trt_environment", lambda: tb.Environment(version, "Orin", "8.7", 8, "NVIDIA Jetson Orin NX"))
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"onnx")
    engine = tmp_path / "m.engine"
    cache = tmp_path / "timing.cache"
    side = tb.build_engine(onnx_file, engine, profile(), precision, cache)
    config = fake.configs[0]
    assert engine.read_bytes() == b"serialized-engine" and cache.read_bytes() == b"serialized-cache"
    assert not tb.sidecar_path(engine).exists(), "written by the backend once the engine passed its check"
    assert side.sm_count == 8 and side.module == "NVIDIA Jetson Orin NX" and side.precision == precision
    assert ("clear", "TF32") in config.flag_calls if precision == "fp32" else ("clear", "TF32") not in config.flag_calls
    assert (("set", "FP16") in config.flag_calls) == (precision == "fp16" and version.startswith("10"))
    assert fake.network_flags == ([1 << 3] if precision == "fp16" and version.startswith("11") else [0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.engine", "m.onnx", "timing.cache"]


def test_orin_modules_are_told_apart(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\x00")
    assert tb.jetson_module((tmp_path / "missing", model)) == "NVIDIA Jetson Orin Nano Developer Kit"
    other = tmp_path / "pc"
    other.write_bytes(b"Some PC board\x00")
    assert tb.jetson_module((other,)) == ""
    nano = sidecar(sm_count=8, module="NVIDIA Jetson Orin Nano Developer Kit")
    agx = tb.Environment("10.3.0", "Orin", "8.7", 16, "NVIDIA Jetson AGX Orin Developer Kit")
    why = tb.mismatches(nano, agx, "a" * 64, "fp16", profile())
    assert why and "8 SMs) on NVIDIA Jetson Orin Nano" in why[0] and "16 SMs) on NVIDIA Jetson AGX Orin" in why[0]


def test_io_dtypes_are_read_from_the_engine():
    import torch

    from vidclear.backends.tensorrt_backend import torch_dtype

    trt = FakeTensorRT("10.3.0")
    assert torch_dtype(trt, torch, trt.DataType.HALF) is torch.float16
    assert torch_dtype(trt, torch, trt.DataType.FLOAT) is torch.float32
    with pytest.raises(VidclearError, match="not supported"):
        torch_dtype(trt, torch, object())


def test_inference_runs_on_its_own_stream_with_the_engines_dtypes():
    import torch

    backend = TensorRTBackend.__new__(TensorRTBackend)
    backend.torch, backend.cuda = torch, torch.device("cpu")  # the buffers' device; no GPU here
    backend.profile = tb.make_profile(1, frame_hw=(8, 10))
    backend.input_name, backend.output_name = "input", "output"
    backend.input_dtype = backend.output_dtype = torch.float16
    backend.stream = FakeStream(4242)
    backend.context = FakeContext(backend, scale=2)
    out = backend.infer(np.full((1, 1, 8, 10), 0.5, np.float32))
    assert backend.context.stream_handles == [4242], "enqueued on the backend's stream, not the default (0)"
    assert backend.context.seen_dtypes == {"input": torch.float16, "output": torch.float16}
    assert backend.stream.synchronized == 1
    assert out.dtype == np.float32 and out.shape == (1, 1, 16, 20) and np.allclose(out, 0.5)


def fake_tensorrt_machine(tmp_path, monkeypatch, checks, check_passes=True):
    """A machine where `import tensorrt` gives FakeTensorRT: builds write a file and return the sidecar,
    the check against PyTorch only records (or fails), streams are fake."""
    fake = FakeTensorRT("10.3.0")
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setenv("VIDCLEAR_ENGINES", str(tmp_path))
    env = tb.Environment("10.3.0", "Orin", "8.7", 8, "")
    monkeypatch.setattr(tb, "trt_environment", lambda: env)
    builds = []

    def build(onnx_path, engine, prof, precision, cache=None, workspace_mb=1024):
        builds.append(engine)
        engine.write_bytes(b"good engine")
        return tb.Sidecar(env.tensorrt_version, env.gpu_name, env.compute_capability, tb.file_sha256(onnx_path),
                          precision, prof.as_json(), sm_count=env.sm_count)

    def check(self):
        checks.append(tb.sidecar_path(self.engine_path).exists())
        if not check_passes:
            raise VidclearError("engine gives 3.0 dB against fp32 PyTorch")

    monkeypatch.setattr(tb, "build_engine", build)
    monkeypatch.setattr(TensorRTBackend, "_verify_against_pytorch", check)
    monkeypatch.setattr(TensorRTBackend, "_new_stream", lambda self: FakeStream(1))
    return builds


def test_the_backend_profile_for_an_854_wide_camera_takes_its_frames(tmp_path, monkeypatch):
    """The low-light U-Net needs multiples of 4 inside; its engine must still take the 854-wide frame."""
    from vidclear.backends.base import BackendOptions
    from vidclear.models.registry import get_model

    checks = []
    fake_tensorrt_machine(tmp_path, monkeypatch, checks)
    spec = get_model("lowlight")
    assert spec.size_multiple == 4
    backend = TensorRTBackend(spec, "cuda", BackendOptions(frame_hw=(480, 854), precision="fp32"))
    tb.check_input_shape(backend.profile, (1, 3, 480, 854))
    assert checks == [False]


@pytest.mark.parametrize("check_passes", [True, False])
def test_an_engine_rebuilt_after_a_failed_deserialisation_is_checked(tmp_path, monkeypatch, check_passes):
    from vidclear.backends.base import BackendOptions
    from vidclear.export.onnx_export import ensure_onnx
    from vidclear.models.registry import get_model

    checks = []
    builds = fake_tensorrt_machine(tmp_path, monkeypatch, checks, check_passes)
    spec, options = get_model("bicubic-x2"), BackendOptions(frame_hw=(64, 80), precision="fp32")
    # an engine whose sidecar matches this machine, but whose bytes TensorRT cannot read
    onnx_sha = tb.file_sha256(ensure_onnx(spec, "fp32"))
    prof = tb.make_profile(1, frame_hw=(64, 80))
    engine = tb.engine_path(tmp_path, spec.name, "fp32", onnx_sha, prof)
    engine.write_bytes(b"corrupt")
    tb.Sidecar("10.3.0", "Orin", "8.7", onnx_sha, "fp32", prof.as_json(), sm_count=8).save(tb.sidecar_path(engine))
    if check_passes:
        backend = TensorRTBackend(spec, "cuda", options)
        assert backend.engine_path == engine and engine.read_bytes() == b"good engine"
        assert tb.sidecar_path(engine).exists(), "written once the check passed"
        assert backend.input_dtype is not None and backend.stream.cuda_stream == 1
    else:
        with pytest.raises(VidclearError, match="3.0 dB"):
            TensorRTBackend(spec, "cuda", options)
        assert not engine.exists() and not tb.sidecar_path(engine).exists(), "a refused engine is not kept"
    assert builds == [engine] and checks == [False], "rebuilt once, checked before its sidecar was written"


# --- fakes of the few TensorRT and CUDA objects those tests touch ---------------------------------------


class FakeStream:
    def __init__(self, handle):
        self.cuda_stream = handle
        self.synchronized = 0

    def synchronize(self):
        self.synchronized += 1


class FakeContext:
    """An execution context that upsamples (nearest) into the output tensor bound to it."""

    def __init__(self, backend, scale):
        self.backend, self.scale = backend, scale
        self.shapes, self.stream_handles, self.seen_dtypes = {}, [], {}

    def set_input_shape(self, name, shape):
        self.shapes[name] = shape
        return True

    def get_tensor_shape(self, name):
        n, c, h, w = self.shapes["input"]
        return (n, c, h * self.scale, w * self.scale)

    def set_tensor_address(self, name, ptr):
        assert self.backend.bound[name].data_ptr() == ptr

    def execute_async_v3(self, handle):
        self.stream_handles.append(handle)
        x, out = self.backend.bound["input"], self.backend.bound["output"]
        self.seen_dtypes = {"input": x.dtype, "output": out.dtype}
        out.copy_(x.repeat_interleave(self.scale, 2).repeat_interleave(self.scale, 3))
        return True


class FakeConfig:
    def __init__(self, accept_saved=True):
        self.accept_saved = accept_saved
        self.timing_caches, self.flag_calls = [], []

    def create_timing_cache(self, data):
        return data

    def set_timing_cache(self, cache, ignore_mismatch):
        assert ignore_mismatch is False
        self.timing_caches.append(cache)
        return self.accept_saved or cache == b""

    def get_timing_cache(self):
        return SimpleNamespace(serialize=lambda: b"serialized-cache")

    def set_memory_pool_limit(self, pool, size):
        pass

    def set_flag(self, flag):
        self.flag_calls.append(("set", flag))

    def clear_flag(self, flag):
        self.flag_calls.append(("clear", flag))

    def add_optimization_profile(self, profile):
        pass


class FakeTensorRT(types.ModuleType):
    """The parts of the tensorrt module that vidclear calls, recording what it was asked."""

    def __init__(self, version):
        super().__init__("tensorrt")
        self.__version__ = version
        self.configs, self.network_flags = [], []
        self.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level=2: None})
        self.DataType = SimpleNamespace(FLOAT="FLOAT", HALF="HALF", INT8="INT8", INT32="INT32", BOOL="BOOL")
        self.TensorIOMode = SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")
        self.MemoryPoolType = SimpleNamespace(WORKSPACE="WORKSPACE")
        flags = {"TF32": "TF32"} | ({"FP16": "FP16"} if version.startswith("10") else {})
        self.BuilderFlag = SimpleNamespace(**flags)
        self.NetworkDefinitionCreationFlag = SimpleNamespace(STRONGLY_TYPED=3)
        fake = self

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                fake.network_flags.append(flags)
                return SimpleNamespace(get_input=lambda i: SimpleNamespace(name="input"))

            def create_builder_config(self):
                config = FakeConfig()
                fake.configs.append(config)
                return config

            def create_optimization_profile(self):
                return SimpleNamespace(set_shape=lambda *a: None)

            def build_serialized_network(self, network, config):
                return b"serialized-engine"

        class Engine:
            num_io_tensors = 2

            def get_tensor_name(self, i):
                return ("input", "output")[i]

            def get_tensor_mode(self, name):
                return name.upper()

            def get_tensor_dtype(self, name):
                return "FLOAT"

            def create_execution_context(self):
                return SimpleNamespace()

        class Runtime:
            def __init__(self, logger):
                pass

            def deserialize_cuda_engine(self, data):
                return None if data == b"corrupt" else Engine()

        self.Builder, self.Runtime = Builder, Runtime
        self.OnnxParser = lambda network, logger: SimpleNamespace(parse_from_file=lambda path: True, num_errors=0)
