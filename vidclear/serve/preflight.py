"""``vidclear serve CONFIG --check``: what serving needs, each tried once, and nothing served.

For an operator about to install a config under systemd or on a new box: the config
as ``serve`` reads it (keys, models, outputs, password variables), the metrics port,
whether each model keeps a camera's frame rate on this machine, and every camera
reached once, with what it sends and what its outputs will be. Nothing is written.
A config mistake is one line and exit 2, as for ``serve``; a camera that does not
answer, or an RTSP server to publish to where nothing listens, is in the table and
exit 1, since either may be down only for now.
"""

from __future__ import annotations

import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from ..config import LiveConfig
from ..engine.assembly import Plan, open_source, output_size, start_service
from ..errors import InputError, RegionOutside
from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..io.live import is_rtsp
from ..io.segment_names import is_segment_pattern
from ..secrets import redact
from ..table import print_columns
from .config import CameraConfig, ServeConfig, check_cameras, load_serve_config
from .keep_up import check_models_keep_up
from .metrics import start_http

log = logging.getLogger(__name__)

HEADER = ["camera", "model", "stream", "enhanced", "outputs", "answered"]
RTSP_PORTS = {"rtsp": 554, "rtsps": 322}


def _no_server(target: str, timeout: float) -> Optional[str]:
    """Why nothing listens at an rtsp:// output's host and port, or None when something does. (Whether it
    takes this stream is known only when serve publishes; a server that is not there is known now.)"""
    parts = urlsplit(target)
    try:
        socket.create_connection((parts.hostname or "", parts.port or RTSP_PORTS[parts.scheme.lower()]),
                                 timeout).close()
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__
    return None


def retention_text(live: LiveConfig) -> str:
    """What a segment output keeps: ``720 h, 50 GB, 20 GB free`` (empty: everything)."""
    limits = ((live.keep_hours, "{:g} h"), (live.keep_gb, "{:g} GB"), (live.keep_free_gb, "{:g} GB free"))
    return ", ".join(text.format(value) for value, text in limits if value is not None)


def _try_camera(camera: CameraConfig, cfg: ServeConfig) -> tuple[list[str], list[str]]:
    """One row, and its problems: the camera opened once (within ``live.open_timeout``) and closed, and
    each rtsp:// output's server reached."""
    run_cfg = cfg.for_camera(camera)
    row, problems, outputs = [camera.name, run_cfg.model], [], []
    for output in camera.outputs:
        why = _no_server(output, cfg.live.open_timeout) if is_rtsp(output) else None
        keeps = retention_text(run_cfg.live) if is_segment_pattern(output) else ""
        outputs.append(redact(output) + (f" (no server: {why})" if why else "") + (f" (retention: {keeps})" if keeps
                                                                                     else ""))
        if why:
            problems.append(f"nothing listens at {camera.name}'s output {redact(output)}")
    try:
        source = open_source(camera.url, run_cfg, password_env=camera.password_env, label=camera.name)
    except RegionOutside as e:  # it answered; its crop is wrong for its frame
        row += [redact(camera.url), "", ", ".join(outputs), "yes"]
        return row, [f"camera {camera.name}: {redact(str(e))}"] + problems
    except InputError as e:  # unreachable, refused, or no video in what it sends
        row += [redact(camera.url), "", ", ".join(outputs), f"no: {getattr(e, 'reason', e)}"]
        return row, [f"{camera.name} did not answer"] + problems
    try:
        info = source.info
    finally:
        source.close()
    rate = f" {float(info.rate):.4g} fps" if info.rate else ""
    width, height = output_size(info.width, info.height, Plan.from_config(run_cfg).spec.scale)
    sent, region = (info.width, info.height), ""
    if source.cropper is not None:  # the camera sends the whole frame; the region is what is enhanced
        sent, region = source.cropper.frame, f" of region {source.cropper.region}"
    return row + [f"{sent[0]}x{sent[1]} {info.codec}{rate}", f"{width}x{height}{region}", ", ".join(outputs),
                  "yes"], problems


def check_serve_config(config_path: Path) -> int:
    """Every check ``serve`` makes at start, and each camera tried; the table, then 0 if all answered, else 1."""
    cfg = load_serve_config(config_path)
    check_cameras(cfg, config_path)
    http = start_http(cfg.metrics.host, cfg.metrics.port, lambda: b"", lambda: (200, {}))  # the port is free
    http.shutdown()
    http.server_close()
    service = start_service(cfg, live=True)
    try:
        check_models_keep_up(cfg, service)
    finally:
        service.close()
    with ThreadPoolExecutor(max_workers=min(16, len(cfg.cameras))) as pool:  # each waits up to open_timeout
        tried = list(pool.map(lambda camera: _try_camera(camera, cfg), cfg.cameras))
    print_columns(HEADER, [row for row, _ in tried])
    problems = [problem for _, found in tried for problem in found]
    if problems:
        print(f"config {config_path}: valid; {'; '.join(problems)}")
        return EXIT_FAILED
    answered = "the camera answered" if len(cfg.cameras) == 1 else f"all {len(cfg.cameras)} cameras answered"
    print(f"config {config_path}: valid, and {answered}")
    return EXIT_OK
