"""``vidclear bench``: speed and quality side by side, on one clip, in one run.

Every stage alone (decode, preprocess, inference per backend, encode per preset),
the whole pipeline against a plain sequential loop with the same backend and
preset, the bound that total CPU work allows, and the tools users would
otherwise pick (OpenCV dnn_superres ESPCN, plain OpenCV bicubic) on the same
frames, each with its Set5 PSNR under the published protocol.

CPU cost is process CPU time (all threads), so core-ms per frame add up: on a
machine with C cores the pipeline cannot beat C * 1000 / sum(core-ms per frame).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Callable, Optional

import av
import cv2
import numpy as np

from .arg_types import write_report
from .backends.base import Backend, BackendOptions, usable_cores
from .backends.select import BACKENDS
from .config import EncoderConfig, load_config
from .errors import InputError
from .frame import Frame, float_to_luma, luma_to_float, merge_planes, split_planes, upscale_chroma
from .io.sink import add_video_stream
from .io.source import FileSource
from .models.registry import get_model
from .engine.assembly import make_reuse
from .engine.reuse import TileReuse
from .engine.service import InferenceService, ServicePolicy, plan_workers
from .evaluation.metrics import psnr
from .pipeline.stages import InferStage
from .shared_data import SHARED_DATA

log = logging.getLogger(__name__)

DEFAULT_CLIP = SHARED_DATA / "clips" / "car_traffic_small_640x360.mp4"
SET5 = SHARED_DATA / "sr" / "set5"  # the PSNR column: the published protocol's Set5


def default_clip() -> Path:
    """The clip bench measures when given none, from the shared data beside the repository."""
    if not DEFAULT_CLIP.is_file():
        raise InputError(f"bench's default clip is not here: {DEFAULT_CLIP} (the shared data beside the repository); "
                         "give one with --clip FILE")
    return DEFAULT_CLIP


@dataclass
class Row:
    name: str
    kind: str  # stage | end_to_end | peer
    backend: Optional[str]
    fps: float
    core_ms_per_frame: Optional[float]
    psnr_set5: Optional[float] = None
    peak_rss_mb: Optional[float] = None
    note: str = ""
    changed_tile_share: Optional[float] = None  # reuse rows: tiles recomputed / tiles
    min_psnr_vs_full_db: Optional[float] = None  # reuse rows: the worst frame's luma PSNR against whole frames


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(fn: Callable[[], int]) -> tuple[float, float, int]:
    """Run fn (returns frames done); (fps, core-ms per frame, frames)."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, 1000 * cpu / max(n, 1), n


def machine_info(device: str) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": usable_cores(), "python": platform.python_version(), "av": av.__version__}
    import onnxruntime
    import torch

    info.update(torch=torch.__version__, onnxruntime=onnxruntime.__version__)
    if device == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def decode_frames(clip: Path, frames: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    source = FileSource(clip)
    try:
        out = [tuple(p.copy() for p in split_planes(f)) for f in islice(source.frames(), frames)]
    finally:
        source.close()
    if not out:
        raise InputError(f"no frames decoded from {clip}")
    return out


def encode_frames(planes: list, width: int, height: int, preset: str, rate: int = 30) -> int:
    """The encode stage alone, with the encoder set up as the pipeline sets it up for a file."""
    with tempfile.TemporaryDirectory() as d, av.open(os.path.join(d, "b.mp4"), "w") as c:
        s = add_video_stream(c, EncoderConfig(codec="libx264", preset=preset), width, height,
                             Fraction(1, rate), Fraction(rate))
        for i, (y, u, v) in enumerate(planes):
            f = merge_planes(y, u, v)
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return len(planes)


def available_backends(device: str) -> list[tuple[str, str]]:
    """(backend, cpu_precision) pairs to time on this device, fastest family first."""
    out = []
    for name, cls in BACKENDS.items():
        if cls.unavailable_reason(device) is None:
            out.append((name, "fp32"))
            if name == "onnxruntime" and device == "cpu":
                out.append((name, "int8"))
    return out


def run_bench(
    clip: Path = DEFAULT_CLIP,
    frames: int = 120,
    model: str = "espcn-x3",
    device: str = "cpu",
    preset: str = "ultrafast",
    peers: bool = True,
    quality: bool = True,
) -> dict:
    from .evaluation.run import evaluate

    FileSource(clip).close()  # a missing clip, or one that is not a video: one line, as enhance says it
    spec = get_model(model)
    s = spec.scale
    rows: list[Row] = []
    if quality and not SET5.is_dir():
        log.warning("Set5 is not at %s (the shared data beside the repository): the PSNR column stays empty", SET5)
        quality = False
    our_psnr = evaluate(spec.name, SET5).psnr if quality and spec.task == "sr" else None

    # decode
    holder: dict = {}
    fps, ms, n = measure(lambda: len(holder.setdefault("f", decode_frames(clip, frames))))
    planes = holder["f"]
    h, w = planes[0][0].shape
    rows.append(Row("decode", "stage", None, fps, ms, peak_rss_mb=peak_rss_mb()))

    # preprocess
    pre = []

    def preprocess() -> int:
        for y, u, v in planes:
            pre.append((luma_to_float(y), upscale_chroma(u, w * s, h * s), upscale_chroma(v, w * s, h * s)))
        return len(planes)

    fps, ms, _ = measure(preprocess)
    rows.append(Row("preprocess", "stage", None, fps, ms, peak_rss_mb=peak_rss_mb()))

    # inference, one backend at a time (their thread pools must not share the cores)
    def make_backend(name: str, cpu_prec: str, threads: Optional[int] = None) -> Backend:
        options = BackendOptions.from_config(load_config(overrides={"cpu_precision": cpu_prec}), (h, w))
        options.threads = threads
        backend = BACKENDS[name](spec, device, options)
        backend.infer(pre[0][0][None, None])  # warm-up (and any export)
        return backend

    best: Optional[Row] = None  # the fastest inference row; its backend runs the end-to-end rows
    outputs: list = []
    for name, cpu_prec in available_backends(device):
        backend = make_backend(name, cpu_prec)
        if cpu_prec == "int8" and backend.describe()["precision"] != "int8":  # no INT8 here: the backend said why
            continue
        result: list[Frame] = []

        def infer() -> int:
            result[:] = infer_stage(backend, pre, 1)
            return len(result)

        fps, ms, _ = measure(infer)
        label = f"{name}-{device}" + ("-int8" if cpu_prec == "int8" else "")
        psnr_note = None
        if cpu_prec == "int8" and quality and spec.task == "sr":
            psnr_note = int8_set5_psnr(spec, backend)
        row = Row(f"infer_{label}", "stage", label, fps, ms, psnr_note if psnr_note else our_psnr, peak_rss_mb())
        rows.append(row)
        if device == "cuda":
            batch8 = np.stack([p[0] for p in (pre * 8)[:8]])[:, None]
            backend.infer(batch8)
            reps = max(1, len(pre) // 8)
            fps8, ms8, _ = measure(lambda: sum(backend.infer(batch8).shape[0] for _ in range(reps)))
            rows.append(Row(f"infer_{label}_batch8", "stage", label, fps8, ms8, our_psnr, peak_rss_mb(),
                            note="model only, batches of 8 frames"))
        if best is None or row.fps > best.fps:
            best, best_backend, best_prec, outputs = row, name, cpu_prec, [f.y for f in result]
        del backend
        gc.collect()
    assert best is not None
    label = best.backend

    # inference as the pipeline runs it, when that is several frames at once
    workers, threads = plan_workers("auto", device, False, usable_cores())
    if workers > 1:
        backend = make_backend(best_backend, best_prec, threads)
        fps, ms, _ = measure(lambda: len(infer_stage(backend, pre, workers)))
        rows.append(Row(f"infer_{label}_{workers}x{threads}t", "stage", label, fps, ms, best.psnr_set5, peak_rss_mb(),
                        note=f"as the pipeline runs it: {workers} frames at once, {threads} threads each"))
        del backend
        gc.collect()

    # encode, at the output size, for a few presets
    out_planes = [(y, u2, v2) for y, (_, u2, v2) in zip(outputs, pre)]
    ow, oh = out_planes[0][0].shape[1], out_planes[0][0].shape[0]
    for p in dict.fromkeys(["ultrafast", "superfast", preset]):
        fps, ms, _ = measure(lambda p=p: encode_frames(out_planes, ow, oh, p))
        rows.append(Row(f"encode_{p}", "stage", None, fps, ms, peak_rss_mb=peak_rss_mb()))

    # end to end: a plain loop, then the pipeline, same backend and preset
    cfg = load_config(overrides={"model": spec.name, "backend": best_backend, "device": device,
                                 "cpu_precision": best_prec, "max_frames": len(planes), "encoder.preset": preset})
    seq_fps, seq_ms = sequential_loop(clip, spec, best_backend, device, cfg, len(planes))
    rows.append(Row("sequential_loop", "end_to_end", label, seq_fps, seq_ms, None, peak_rss_mb()))
    outcome, pipe_ms = timed_enhance(clip, cfg)
    rows.append(Row("vidclear_pipeline", "end_to_end", label, outcome.result.fps, pipe_ms, best.psnr_set5,
                    peak_rss_mb()))
    # the same pipeline with static-camera reuse; its error measured frame by frame against whole frames
    reuse_cfg = cfg.model_copy(update={"reuse": cfg.reuse.model_copy(update={"mode": "auto"})})
    reused, reuse_ms = timed_enhance(clip, reuse_cfg)
    if reused.reuse is not None:
        backend = make_backend(best_backend, best_prec)
        worst = reuse_error(backend, planes, pre, make_reuse(reuse_cfg, spec))
        rows.append(Row("vidclear_pipeline_reuse", "end_to_end", label, reused.result.fps, reuse_ms,
                        best.psnr_set5, peak_rss_mb(), changed_tile_share=reused.reuse.share,
                        min_psnr_vs_full_db=worst,
                        note=f"reuse auto: {100 * reused.reuse.share:.1f}% of tiles recomputed, "
                             f"worst frame {worst:.1f} dB from whole frames"))
        del backend
        gc.collect()
    # the bound takes the cheapest way the chosen backend was measured to infer a frame
    infer_ms = min(r.core_ms_per_frame for r in rows if r.kind == "stage" and r.backend == label
                   and not r.name.endswith("_batch8"))
    stage_ms = infer_ms + sum(r.core_ms_per_frame for r in rows if r.name in ("decode", "preprocess",
                                                                               f"encode_{preset}"))
    bound = usable_cores() * 1000 / stage_ms
    rows.append(Row("cpu_work_bound", "end_to_end", label, bound, stage_ms, None, None,
                    note="cores x 1000 / sum of the stages' core-ms per frame (the cheapest inference row)"))

    # the tools users would otherwise pick
    if peers:
        rows += peer_rows(clip, len(planes), spec.scale, quality, planes)

    return {
        "machine": machine_info(device),
        "clip": str(clip),
        "frames": len(planes),
        "input": f"{w}x{h}",
        "scale": s,
        "model": spec.name,
        "preset": preset,
        "results": [asdict(r) for r in rows],
    }


def timed_enhance(clip: Path, cfg) -> tuple:  # noqa: ANN001 - a Config; (RunOutcome, core-ms per frame)
    from .engine.run import run_enhance

    with tempfile.TemporaryDirectory() as d:
        cpu = time.process_time()
        outcome = run_enhance(clip, Path(d) / "bench.mp4", cfg)
        cpu = time.process_time() - cpu
    return outcome, 1000 * cpu / max(outcome.frames, 1)


def reuse_error(backend: Backend, planes: list, pre: list, reuse: TileReuse) -> float:
    """The lowest per-frame luma PSNR (dB) of reuse's output against whole-frame processing, same frames."""
    whole = [f.y for f in infer_stage(backend, pre, 1, planes)]
    tiled = [f.y for f in infer_stage(backend, pre, 1, planes, reuse)]
    return min(psnr(a, b) for a, b in zip(whole, tiled))


def infer_stage(backend: Backend, pre: list, workers: int, planes: Optional[list] = None,
                reuse: Optional[TileReuse] = None) -> list[Frame]:
    """The preprocessed frames through the pipeline's own infer stage and inference service, alone
    (with ``planes``, the decoded uint8 luma rides along, as reuse compares it)."""
    frames = [Frame(i, i, None, planes[i][0] if planes else luma, u, v, luma_in=luma)
              for i, (luma, u, v) in enumerate(pre)]
    service = InferenceService(None, backend.device, backend.options, ServicePolicy(workers, backend.options.threads))
    stage = InferStage(service.stream("bench"), service.add(backend), in_flight=workers, reuse=reuse)
    try:
        out = [f for frame in frames for f in stage.process_batch([frame])]
        return out + list(stage.finish())
    finally:
        stage.close(True)
        service.close()


def int8_set5_psnr(spec, backend: Backend) -> float:
    from .evaluation.sr import load_pairs, score_sr

    run = lambda y: backend.infer((y / 255).astype(np.float32)[None, None])[0, 0].astype(np.float64) * 255  # noqa: E731
    return score_sr(load_pairs(SET5, spec.scale), spec.scale, run, with_ssim=False).psnr


def sequential_loop(clip: Path, spec, backend_name: str, device: str, cfg, frames: int) -> tuple[float, float]:
    """The same work in one thread, frame by frame: what a simple script would do."""
    backend = BACKENDS[backend_name](spec, device, BackendOptions.from_config(cfg))
    s = spec.scale
    with tempfile.TemporaryDirectory() as d:
        wall, cpu = time.perf_counter(), time.process_time()
        n = 0
        with av.open(str(clip)) as src, av.open(os.path.join(d, "seq.mp4"), "w") as dst:
            vs = src.streams.video[0]
            out = dst.add_stream("libx264", rate=vs.average_rate or 30)
            out.width, out.height = vs.codec_context.width * s, vs.codec_context.height * s
            out.pix_fmt = "yuv420p"
            out.options = {"preset": cfg.encoder.preset, "crf": str(cfg.encoder.crf)}
            for f in src.decode(vs):
                if n >= frames:
                    break
                y, u, v = split_planes(f if f.format.name == "yuv420p" else f.reformat(format="yuv420p"))
                h, w = y.shape
                yo = float_to_luma(backend.infer(luma_to_float(y)[None, None])[0, 0])
                frame = merge_planes(yo, upscale_chroma(u, w * s, h * s), upscale_chroma(v, w * s, h * s))
                frame.pts = n
                dst.mux(out.encode(frame))
                n += 1
            dst.mux(out.encode(None))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, 1000 * cpu / n


def peer_rows(clip: Path, frames: int, scale: int, quality: bool, planes: list) -> list[Row]:
    from .evaluation.matlab_resize import imresize
    from .evaluation.metrics import modcrop, psnr, rgb_to_y, shave
    from .evaluation.opencv_peer import MODELS_DIR, run_peer
    from .evaluation.sr import list_images, read_rgb

    rows = []
    if MODELS_DIR.is_dir():
        sp = run_peer("speed", algo="espcn", scale=scale, clip=str(clip), frames=frames)
        q = run_peer("score", algos=["espcn"], scales=[scale], datasets=["set5"]) if quality else {}
        rows.append(Row("opencv_dnn_superres_espcn", "peer", f"opencv {sp['opencv']}", sp["fps"],
                        sp["core_ms_per_frame"], q.get(f"opencv-espcn-x{scale}/set5", {}).get("psnr"),
                        sp["peak_rss_mb"], note="BGR frames, its own colour handling, separate process"))
    else:
        log.warning("OpenCV's pretrained ESPCN is not at %s (the shared data beside the repository): "
                    "its row is left out", MODELS_DIR)
    # plain bicubic with OpenCV on the BGR frames, as a user's script would
    bgr = [cv2.cvtColor(np.vstack([y, u.reshape(-1, y.shape[1]), v.reshape(-1, y.shape[1])]), cv2.COLOR_YUV2BGR_I420)
           if y.shape[0] % 2 == 0 and y.shape[1] % 2 == 0 and u.size * 4 == y.size else None for y, u, v in planes]
    bgr = [b for b in bgr if b is not None]
    h, w = bgr[0].shape[:2]
    fps, ms, _ = measure(lambda: len([cv2.resize(b, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
                                      for b in bgr]))
    p = None
    if quality:
        ps = []
        for path in list_images(SET5):
            hr = modcrop(read_rgb(path), scale)
            lr = imresize(hr, 1 / scale)
            up = cv2.resize(lr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)
            ps.append(psnr(shave(rgb_to_y(up), scale), shave(rgb_to_y(hr), scale)))
        p = float(np.mean(ps))
    rows.append(Row("bicubic_opencv", "peer", f"opencv {cv2.__version__}", fps, ms, p, peak_rss_mb()))
    return rows


def markdown(report: dict) -> str:
    m = report["machine"]
    head = (
        f"vidclear bench: {report['model']} x{report['scale']} on {report['clip']} "
        f"({report['frames']} frames, {report['input']}), encoder preset {report['preset']}\n"
        f"machine: {m['cpu']}, {m['cores']} cores" + (f", GPU {m['gpu']}" if m.get("gpu") else "") + "\n"
    )
    lines = ["| name | kind | backend | fps | core-ms/frame | Set5 PSNR | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['backend'] or '-'} | {r['fps']:.1f} | "
            f"{r['core_ms_per_frame']:.1f} | "
            + (f"{r['psnr_set5']:.2f}" if r["psnr_set5"] is not None else "-")
            + " | "
            + (f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] is not None else "-")
            + " |"
        )
    return head + "\n" + "\n".join(lines)


def write_reports(report: dict, json_path: Optional[Path], md_path: Optional[Path]) -> None:
    if json_path:
        write_report(json_path, json.dumps(report, indent=2))
    if md_path:
        write_report(md_path, markdown(report) + "\n")
