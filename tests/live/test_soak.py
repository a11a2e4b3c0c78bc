"""The soak in CI: `tools/soak.py` for 3 minutes (three cameras and a publish target killed and brought
back at random under `vidclear serve`), its verdict read back from the JSON it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from media import REPO

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.mark.timeout(420)
def test_three_minute_soak_holds_memory_threads_descriptors_and_frames(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "tools" / "soak.py"), "--seconds", "180", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=400, cwd=REPO)
    print(r.stdout)
    assert (tmp_path / "soak.json").exists(), f"soak.py exited {r.returncode} with no report:\n{r.stderr[-3000:]}"
    report = json.loads((tmp_path / "soak.json").read_text())
    v = report["verdict"]
    assert (tmp_path / "soak.png").stat().st_size > 10_000, "the plot was drawn"
    targets = [f["target"] for f in report["faults"]]
    assert len(targets) >= 5 and "publish" in targets and any(t.startswith("cam") for t in targets), targets
    assert len(report["samples"]) >= 170, "sampled every second"
    assert v["rss"]["growth"] < 0.10, v["rss"]
    assert v["threads"]["ok"] and v["fds"]["ok"], (v["threads"], v["fds"])
    assert all(s["ok"] for s in v["silence"].values()), v["silence"]
    assert report["exit_code"] == 0 and report["tracebacks"] == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert r.returncode == 0 and "PASS" in r.stdout
