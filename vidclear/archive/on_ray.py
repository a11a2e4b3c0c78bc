"""``batch --ray``: one Ray task per file, placed by the resources the config asks for.

Ray runs a file again on another node when its node dies (``cluster.max_retries``);
a file that fails by itself (damaged, unreadable) comes back as a failed result
and is not retried by Ray. Every node reads the inputs and writes the outputs
at the same paths: shared storage (docs/cluster.md). The journal stays with the
driver, which records each result as it arrives.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Iterator, Optional

from ..config import Config
from ..errors import ConfigError
from .inputs import Job

log = logging.getLogger(__name__)

INSTALL = "--ray and cluster.address need Ray on this machine: pip install 'vidclear[cluster]'"


def import_ray():  # noqa: ANN201 - the ray module
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL) from None
    return ray


def _enhance_on_node(input_path: str, output_path: str, cfg_json: str, start: float = 0.0,
                     duration: Optional[float] = None) -> dict:
    """The task body, run in a Ray worker process."""
    import ray

    from .task import enhance_file

    cfg = Config.model_validate_json(cfg_json)
    return enhance_file(input_path, output_path, cfg, node=ray.get_runtime_context().get_node_id(), start=start,
                        duration=duration)


def _unreachable(address: str) -> Optional[str]:
    """Why nothing answers at HOST:PORT (or ray://HOST:PORT), or None when something does."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        return None  # "auto" or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__
    return None


def connect(address: Optional[str], log_to_driver: bool = False) -> None:
    """Join the cluster at ``address`` (None: RAY_ADDRESS, else a Ray started here for this run).
    ``log_to_driver``: the workers' log lines are printed here too (serve's cameras)."""
    ray = import_ray()
    if ray.is_initialized():
        return
    if address and (problem := _unreachable(address)):  # Ray itself would retry for minutes
        raise ConfigError(f"cannot join the Ray cluster at {address}: {problem}")
    try:
        ray.init(address=address, log_to_driver=log_to_driver, configure_logging=False, include_dashboard=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(f"cannot join the Ray cluster at {address or os.environ.get('RAY_ADDRESS') or 'this machine'}"
                          f": {str(e).splitlines()[0]}") from None
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    log.info("Ray cluster: %d node(s), %g CPUs, %g GPUs", len(nodes), ray.cluster_resources().get("CPU", 0),
             ray.cluster_resources().get("GPU", 0))


def run_on_ray(todo: list[tuple[str, Job]], cfg: Config, address: Optional[str]) -> Iterator[tuple[str, Job, dict]]:
    """(key, job, result) for every file, in the order they finish."""
    ray = import_ray()
    connect(address)
    task = ray.remote(_enhance_on_node).options(
        num_cpus=cfg.cluster.num_cpus, num_gpus=cfg.cluster.num_gpus, max_retries=cfg.cluster.max_retries,
        retry_exceptions=False, name="vidclear-batch-file")
    cfg_json = cfg.model_dump_json()
    pending = {task.remote(str(job.input), str(job.output), cfg_json, job.start, job.duration): (key, job)
               for key, job in todo}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            key, job = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # lost more often than max_retries allows, or the task crashed
                result = {"status": "failed", "reason": f"Ray: {str(e).splitlines()[0]}", "frames": 0,
                          "seconds": 0.0, "node": None}
            yield key, job, result
