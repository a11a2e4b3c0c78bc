"""Hostile files: 210 seeded mutants, 15 of each kind: damaged real clips (bit flips, byte runs,
truncation, zeroed headers, splices, duplicated ranges, empty files) and unusual ones (enormous declared
dimensions, 1x1 and odd sizes, 10-bit, display rotation, variable frame rate, audio only, no decodable
frame). Each ends enhanced, with every decodable frame, or with exit 2 and one line."""

import json
import re
import subprocess
import sys

from media import REPO


def test_mutants_end_enhanced_or_with_one_clear_line(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "tests" / "fuzz_enhance.py"), str(tmp_path / "m"), "210", "0"],
                       capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    results = report["results"]
    assert len(results) == 210 and report["hangs"] == [] and report["leftovers"] == []
    outcomes = {"enhanced": 0, "error": 0, "damaged, frames before it kept": 0}
    for m in results:
        text = "\n".join(m["stderr"])
        assert "Traceback" not in text and m["rc"] in (0, 2), m
        if m["rc"] == 0:
            outcomes["enhanced"] += 1
            assert m["output"] and m["frames_out"] == m["frames_in"] > 0, m  # every decodable frame
            continue
        errors = [line for line in m["stderr"] if line.startswith("vidclear: error: ")]
        assert len(errors) == 1, m
        kept = re.search(r"input is damaged at frame (\d+).*wrote the (\d+) frames before it", errors[0])
        if kept:  # the frames before the damage are written, and exit 2 says the input was damaged
            outcomes["damaged, frames before it kept"] += 1
            assert m["output"] and m["frames_out"] == int(kept.group(2)) > 0, m
        else:
            outcomes["error"] += 1
            assert not m["output"], m  # nothing at the output path after a failure
    print(outcomes)
    assert outcomes["enhanced"] > 0 and outcomes["error"] > 0
    by_kind: dict[str, set] = {}
    for m in results:
        by_kind.setdefault(m["mutant"].split("_", 1)[1].split(".")[0], set()).add(m["rc"])
    assert len(by_kind) == 14 and all(by_kind[k] == {0} for k in ("tiny", "tenbit", "rotated", "vfr")), by_kind
    assert all(by_kind[k] == {2} for k in ("huge", "audioonly", "nodecodable", "empty")), by_kind
    assert all("has no video stream" in m["stderr"][-1] for m in results if "audioonly" in m["mutant"])
