"""OpenCV's dnn_superres (the tool users would otherwise pick), run in its own environment.

opencv-contrib (which has ``cv2.dnn_superres``) and the opencv-python-headless
vidclear depends on both install ``cv2``, so they never share an environment:
``peer_python()`` makes ``.venv-opencv`` on first use and this module runs
there as a worker (it needs only numpy and cv2), called with ``run_peer()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

from ..shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = SHARED_DATA / "baselines" / "opencv_superres"
PEER_VENV = Path(os.environ.get("VIDCLEAR_OPENCV_VENV", ROOT / ".venv-opencv"))
PEER_REQUIREMENT = "opencv-contrib-python-headless>=4.8,<5"


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    ok = python.exists() and subprocess.run(
        [str(python), "-c", "import cv2; cv2.dnn_superres"], capture_output=True
    ).returncode == 0
    if not ok:
        print(f"vidclear: creating {PEER_VENV} with {PEER_REQUIREMENT} (once)", file=sys.stderr)
        venv.create(PEER_VENV, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PEER_REQUIREMENT, "numpy"], check=True)
    return python


def run_peer(task: str, **kwargs: Any) -> Any:
    """Run ``task`` in the peer environment; returns its JSON answer."""
    cmd = [str(peer_python()), "-m", "vidclear.evaluation.opencv_peer", task, json.dumps(kwargs)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"OpenCV peer failed: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- the worker side (runs inside the peer environment) ---------------------------------


def _model(algo: str, scale: int):
    import cv2

    prefix = {"espcn": "ESPCN", "fsrcnn": "FSRCNN"}[algo]
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(MODELS_DIR / f"{prefix}_x{scale}.pb"))
    sr.setModel(algo, scale)
    return sr


def score(algos: list[str], scales: list[int], datasets: list[str]) -> dict:
    """Y PSNR/SSIM of OpenCV's models under vidclear's published protocol."""
    import numpy as np

    from vidclear.evaluation.matlab_resize import imresize
    from vidclear.evaluation.metrics import modcrop, psnr, rgb_to_y, shave, ssim
    from vidclear.evaluation.sr import list_images, read_rgb

    results = {}
    for algo in algos:
        for scale in scales:
            sr = _model(algo, scale)
            for ds in datasets:
                ps, ss = [], []
                for path in list_images(SHARED_DATA / "sr" / ds):
                    hr = modcrop(read_rgb(path), scale)
                    grey = hr.ndim == 2
                    rgb = np.dstack([hr] * 3) if grey else hr
                    lr = imresize(rgb, 1 / scale)
                    up = sr.upsample(np.ascontiguousarray(lr[..., ::-1]))[..., ::-1]
                    out_y = up[..., 0].astype(np.float64) if grey else rgb_to_y(up)
                    a, b = shave(out_y, scale), shave(rgb_to_y(hr), scale)
                    ps.append(psnr(a, b))
                    ss.append(ssim(a, b))
                results[f"opencv-{algo}-x{scale}/{ds}"] = {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss))}
    return results


def speed(algo: str, scale: int, clip: str, frames: int) -> dict:
    """Frames per second and CPU core-ms per frame of dnn_superres on a clip's first frames."""
    import resource

    import cv2

    cap = cv2.VideoCapture(clip)
    imgs = []
    while len(imgs) < frames:
        ok, frame = cap.read()
        if not ok:
            break
        imgs.append(frame)
    sr = _model(algo, scale)
    sr.upsample(imgs[0])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for img in imgs:
        sr.upsample(img)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "frames": len(imgs),
        "fps": len(imgs) / wall,
        "core_ms_per_frame": 1000 * cpu / len(imgs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "opencv": cv2.__version__,
    }


if __name__ == "__main__":
    task, kwargs = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"score": score, "speed": speed}[task](**kwargs)))
