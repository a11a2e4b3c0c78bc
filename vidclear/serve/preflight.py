"""``vidclear serve CONFIG --check``: what serving needs, each tried once, and nothing served.

For an operator about to install a config under systemd or on a new box: the config
as ``serve`` reads it (keys, models, outputs, password variables), the metrics port,
whether each model keeps a camera's frame rate on this machine, and every camera
reached once, with what it sends and what its outputs will be. Nothing is written.
A config mistake is one line and exit 2, as for ``serve``; a camera that does not
answer is a row of the table and exit 1, since it may be down only for now.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..engine.assembly import Plan, open_source, output_size, start_service
from ..errors import InputError
from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..secrets import redact
from ..table import print_columns
from .config import CameraConfig, ServeConfig, check_outputs, check_passwords, load_serve_config
from .keep_up import check_models_keep_up
from .metrics import start_http

log = logging.getLogger(__name__)

HEADER = ["camera", "model", "stream", "enhanced", "outputs", "answered"]


def _try_camera(camera: CameraConfig, cfg: ServeConfig) -> tuple[list[str], bool]:
    """One row: the camera opened once (within ``live.open_timeout``) and closed."""
    run_cfg = cfg.for_camera(camera)
    row = [camera.name, run_cfg.model]
    outputs = ", ".join(redact(o) for o in camera.outputs)
    try:
        source = open_source(camera.url, run_cfg, password_env=camera.password_env, label=camera.name)
    except InputError as e:  # unreachable, refused, or no video in what it sends
        return row + [redact(camera.url), "", outputs, f"no: {getattr(e, 'reason', e)}"], False
    try:
        info = source.info
    finally:
        source.close()
    rate = f" {float(info.rate):.4g} fps" if info.rate else ""
    width, height = output_size(info.width, info.height, Plan.from_config(run_cfg).spec.scale)
    return row + [f"{info.width}x{info.height} {info.codec}{rate}", f"{width}x{height}", outputs, "yes"], True


def check_serve_config(config_path: Path) -> int:
    """Every check ``serve`` makes at start, and each camera tried; the table, then 0 if all answered, else 1."""
    cfg = load_serve_config(config_path)
    check_outputs(cfg, config_path)
    check_passwords(cfg, config_path)
    start_http(cfg.metrics.host, cfg.metrics.port, lambda: b"", lambda: (200, {})).server_close()
    service = start_service(cfg, live=True)
    try:
        check_models_keep_up(cfg, service)
    finally:
        service.close()
    with ThreadPoolExecutor(max_workers=min(16, len(cfg.cameras))) as pool:  # each waits up to open_timeout
        tried = list(pool.map(lambda camera: _try_camera(camera, cfg), cfg.cameras))
    print_columns(HEADER, [row for row, _ in tried])
    silent = [camera.name for camera, (_, answered) in zip(cfg.cameras, tried) if not answered]
    if silent:
        print(f"config {config_path}: valid; {len(silent)} of {len(cfg.cameras)} cameras did not answer: "
              f"{', '.join(silent)}")
        return EXIT_FAILED
    print(f"config {config_path}: valid, and all {len(cfg.cameras)} cameras answered")
    return EXIT_OK
