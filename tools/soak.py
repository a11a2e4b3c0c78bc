"""Soak: `vidclear serve` with real RTSP cameras and a publish target, killed and restarted at random.

Starts N GStreamer camera servers and one RTSP record server on 127.0.0.1,
runs `vidclear serve` on them (every camera records segments; the first one
also publishes to the record server), and for the given time kills one server
at a time at random and brings it back on the same port after a random outage.
Every second it samples the serve process (RSS, threads, open file
descriptors, from /proc) and its /metrics (queue depths, frames encoded per
camera), then writes ``soak.json`` and ``soak.png`` (and each
sample as it comes to ``samples.jsonl``) into ``--out`` and exits 0
only when the verdict holds:

- RSS growth after warm-up under ``--max-rss-growth`` (median of the first
  10 s after warm-up against the median of the last 10 s);
- thread and descriptor counts flat: the last 10 s within ``--count-slack``
  of the first 10 s after warm-up, all servers up at both ends;
- no camera silent (no frame encoded) for longer than the outage of its own
  server within that silence plus ``--silence-slack`` seconds.

The last ``--calm`` seconds have no faults, so the run ends in the state it
started in. Needs the live test packages (`make live-deps`) and matplotlib.

    python tools/soak.py --seconds 180 --out soak/
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from live_process import Running, http_get, parse_metrics, wait_healthy  # noqa: E402
from live_servers import RtspServer, free_port  # noqa: E402

PUBLISH = "publish"  # the name of the record server in faults and samples


def proc_counts(pid: int) -> dict:
    """RSS (MiB), threads and open descriptors of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mib": rss_kib / 1024, "threads": len(os.listdir(f"/proc/{pid}/task")),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def metrics_sample(port: int) -> dict:
    """Frames encoded per camera and queue depths per camera and queue, from /metrics."""
    _, text = http_get(f"http://127.0.0.1:{port}/metrics")
    frames, depths = {}, {}
    for family in parse_metrics(text).values():
        for s in family.samples:
            if s.name == "vidclear_frames_out_total":
                frames[s.labels["camera"]] = s.value
            elif s.name == "vidclear_queue_depth":
                depths[f"{s.labels['camera']} {s.labels['queue']}"] = s.value
    return {"frames_out": frames, "queue_depth": depths}


class Fleet:
    """The camera servers and the record server, each killable and restartable on its port."""

    def __init__(self, cameras: int, out: Path, fps: int) -> None:
        self.out = out
        self.fps = fps
        self.restarts = 0
        self.servers: dict[str, RtspServer] = {}
        for i in range(cameras):
            self.servers[f"cam{i}"] = self._camera()
        self.servers[PUBLISH] = self._record()

    def _camera(self, port: int | None = None) -> RtspServer:
        return RtspServer("camera", "--width", "160", "--height", "120", "--fps", str(self.fps), port=port).start()

    def _record(self, port: int | None = None) -> RtspServer:
        self.restarts += 1
        return RtspServer("record", "--out", str(self.out / f"published_{self.restarts:03d}.mkv"), port=port).start()

    def kill(self, name: str) -> None:
        self.servers[name].kill()

    def restart(self, name: str) -> None:
        port = self.servers[name].port
        self.servers[name].log.close()
        self.servers[name] = self._record(port) if name == PUBLISH else self._camera(port)

    def stop(self) -> None:
        for server in self.servers.values():
            server.kill()
            server.log.close()


def serve_config(fleet: Fleet, out: Path, port: int) -> Path:
    cams = [name for name in fleet.servers if name != PUBLISH]
    lines = [
        "model: espcn-x2",
        "batch: {max_frames: 4, max_wait_ms: 20}",
        "live: {stall_timeout: 3, backoff_initial: 0.25, backoff_max: 1, segment_seconds: 20}",
        f"metrics: {{port: {port}}}",
        "cameras:",
    ]
    for i, name in enumerate(cams):
        outputs = [f"{out}/rec/{name}_%H%M%S.ts"]
        if i == 0:
            outputs.append(f"rtsp://127.0.0.1:{fleet.servers[PUBLISH].port}/cam")
        lines.append(f"  - {{name: {name}, url: \"{fleet.servers[name].url}\", outputs: {json.dumps(outputs)}}}")
    (out / "rec").mkdir(exist_ok=True)
    path = out / "soak.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def outage_within(faults: list[dict], name: str, start: float, end: float) -> float:
    """Seconds that server ``name`` was down within [start, end]."""
    return sum(max(0.0, min(end, f["up_at"]) - max(start, f["down_at"])) for f in faults if f["target"] == name)


def longest_silences(samples: list[dict], faults: list[dict], cameras: list[str], slack: float) -> dict:
    """Per camera: the silence (no frame encoded) with the least room to spare against its allowance."""
    result = {}
    for cam in cameras:
        worst = {"silence_s": 0.0, "allowed_s": slack, "at_s": 0.0}
        last_count, last_progress = None, samples[0]["t"]
        for s in samples:
            count = s["frames_out"].get(cam)
            if count is not None and count != last_count:
                last_count, last_progress = count, s["t"]
                continue
            silence = s["t"] - last_progress
            allowed = outage_within(faults, cam, last_progress, s["t"]) + slack
            if silence - allowed > worst["silence_s"] - worst["allowed_s"]:
                worst = {"silence_s": round(silence, 2), "allowed_s": round(allowed, 2), "at_s": round(s["t"], 1)}
        worst["ok"] = worst["silence_s"] <= worst["allowed_s"]
        result[cam] = worst
    return result


def window(samples: list[dict], key: str, start: float, end: float) -> float:
    values = [s[key] for s in samples if start <= s["t"] < end]
    return statistics.median(values) if values else float("nan")


def verdict(samples: list[dict], faults: list[dict], cameras: list[str], args: argparse.Namespace) -> dict:
    end = samples[-1]["t"]
    first = (args.warmup, args.warmup + 10)
    last = (end - 10, end + 1)
    rss = {"after_warmup_mib": round(window(samples, "rss_mib", *first), 1),
           "end_mib": round(window(samples, "rss_mib", *last), 1)}
    rss["growth"] = round(rss["end_mib"] / rss["after_warmup_mib"] - 1, 4)
    rss["ok"] = rss["growth"] < args.max_rss_growth
    counts = {}
    for key in ("threads", "fds"):
        base, final = window(samples, key, *first), window(samples, key, *last)
        counts[key] = {"after_warmup": base, "end": final,
                       "max": max(s[key] for s in samples if s["t"] >= args.warmup),
                       "ok": abs(final - base) <= args.count_slack}
    silences = longest_silences([s for s in samples if s["t"] >= args.warmup], faults, cameras, args.silence_slack)
    ok = rss["ok"] and all(c["ok"] for c in counts.values()) and all(s["ok"] for s in silences.values())
    return {"ok": ok, "rss": rss, **counts, "silence": silences}


def plot(path: Path, samples: list[dict], faults: list[dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(4, 1, figsize=(10, 10), sharex=True)
    for ax, key, label in ((axes[0], "rss_mib", "RSS (MiB)"), (axes[1], "threads", "threads"),
                           (axes[2], "fds", "open descriptors")):
        ax.plot(t, [s[key] for s in samples], lw=1)
        ax.set_ylabel(label)
    queues = sorted({q for s in samples for q in s["queue_depth"]})
    for q in queues:
        axes[3].plot(t, [s["queue_depth"].get(q, 0) for s in samples], lw=0.8, label=q)
    axes[3].set_ylabel("queue depth (frames)")
    axes[3].set_xlabel("minutes")
    if queues:
        axes[3].legend(fontsize=6, ncol=3, loc="upper right")
    for ax in axes:
        for f in faults:
            ax.axvspan(f["down_at"] / 60, f["up_at"] / 60, color="red" if f["target"] == PUBLISH else "orange",
                       alpha=0.15, lw=0)
    axes[0].set_title(f"{title}\nshaded: a camera server (orange) or the publish target (red) down", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=180, help="length of the run (default 180)")
    ap.add_argument("--out", type=Path, required=True, help="folder for soak.json, soak.png and the recordings")
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--fps", type=int, default=10, help="frame rate of each 160x120 camera (default 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=30, help="seconds before faults and before the baseline")
    ap.add_argument("--calm", type=float, default=25, help="seconds without faults at the end")
    ap.add_argument("--gap", type=float, nargs=2, default=(8, 20), help="seconds between faults (range)")
    ap.add_argument("--outage", type=float, nargs=2, default=(1, 6), help="seconds a server stays down (range)")
    ap.add_argument("--max-rss-growth", type=float, default=0.10)
    ap.add_argument("--count-slack", type=float, default=2, help="threads/descriptors allowed to differ")
    ap.add_argument("--silence-slack", type=float, default=5)
    args = ap.parse_args()
    if args.seconds < args.warmup + args.calm + 20:
        ap.error(f"--seconds must be at least warm-up + calm + 20 = {args.warmup + args.calm + 20:g}")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    fleet = Fleet(args.cameras, args.out, args.fps)
    cameras = [name for name in fleet.servers if name != PUBLISH]
    port = free_port()
    proc = None
    samples: list[dict] = []
    faults: list[dict] = []
    live_log = (args.out / "samples.jsonl").open("w")
    try:
        proc = Running("serve", str(serve_config(fleet, args.out, port)), "--duration", str(args.seconds + 60))
        wait_healthy(port, cameras, timeout=120)
        start = time.monotonic()
        next_fault, down = start + args.warmup, None
        while (now := time.monotonic()) - start < args.seconds:
            if proc.proc.poll() is not None:
                raise SystemExit(f"soak: serve exited {proc.returncode} during the run:\n{proc.err[-3000:]}")
            if down is None and now >= next_fault and now - start < args.seconds - args.calm:
                name = rng.choice(sorted(fleet.servers))
                fleet.kill(name)
                down = {"target": name, "down_at": round(now - start, 2),
                        "planned_s": round(rng.uniform(*args.outage), 2)}
            elif down is not None and now - start >= down["down_at"] + down["planned_s"]:
                fleet.restart(down["target"])
                down["up_at"] = round(time.monotonic() - start, 2)
                faults.append(down)
                down, next_fault = None, time.monotonic() + rng.uniform(*args.gap)
            samples.append({"t": round(now - start, 2), **proc_counts(proc.pid), **metrics_sample(port)})
            live_log.write(json.dumps(samples[-1]) + "\n")  # to follow a long run as it goes
            live_log.flush()
            time.sleep(max(0.0, 1 - (time.monotonic() - now)))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc is not None and proc.proc.poll() is None:
            proc.proc.kill()
        fleet.stop()
        live_log.close()
    result = {
        "seconds": args.seconds, "cameras": cameras, "fps": args.fps, "seed": args.seed, "warmup_s": args.warmup,
        "exit_code": proc.returncode, "tracebacks": err.count("Traceback"),
        "faults": faults, "verdict": verdict(samples, faults, cameras, args), "samples": samples,
    }
    result["verdict"]["ok"] = result["verdict"]["ok"] and proc.returncode == 0 and result["tracebacks"] == 0
    (args.out / "soak.json").write_text(json.dumps(result, indent=1))
    (args.out / "serve.log").write_text(err)
    plot(args.out / "soak.png", samples, faults,
         f"vidclear serve soak: {len(cameras)} cameras, {args.seconds / 60:.0f} min, {len(faults)} faults")
    v = result["verdict"]
    print(f"soak: {len(faults)} faults in {args.seconds:.0f} s; RSS {v['rss']['after_warmup_mib']} -> "
          f"{v['rss']['end_mib']} MiB ({v['rss']['growth']:+.1%}); threads {v['threads']['after_warmup']} -> "
          f"{v['threads']['end']}; fds {v['fds']['after_warmup']} -> {v['fds']['end']}; longest silences "
          + ", ".join(f"{c} {s['silence_s']} s (allowed {s['allowed_s']})" for c, s in v["silence"].items())
          + f"; serve exit {proc.returncode}; {'PASS' if v['ok'] else 'FAIL'}")
    print(f"soak: {args.out / 'soak.json'}, {args.out / 'soak.png'}")
    return 0 if v["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
