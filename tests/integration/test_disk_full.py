"""An output that fails while it is written (a full disk, its folder removed): one line that says so, a non-zero
exit, no partial file left. The same for what else a command writes: an export, a summary."""

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

from media import REPO, make_clip, probe


def command(clip, out):
    return [sys.executable, "-m", "vidclear", "enhance", str(clip), str(out), "--model", "bicubic-x2", "--quiet"]


def enhance(clip, out, preexec=None):
    return subprocess.run(command(clip, out), preexec_fn=preexec, capture_output=True, text=True, timeout=120, cwd=REPO)


def assert_one_line_and_nothing_left(r, folder, why):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: ") and why in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert [p.name for p in folder.iterdir()] == [], "no output and no partial file"


def files_up_to(size: int):
    """A preexec_fn: RLIMIT_FSIZE at ``size`` bytes; writes past it fail with EFBIG (the signal it would send is
    ignored)."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_file_size_limit_mid_file(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", width=320, height=240, frames=60)
    folder = tmp_path / "out"
    folder.mkdir()
    r = enhance(clip, folder / "o.mp4", files_up_to(100_000))
    assert_one_line_and_nothing_left(r, folder, f"cannot write {folder / 'o.mp4'}: the file size limit is reached")


def test_an_export_that_fills_the_disk(tmp_path):
    """It was a traceback from inside torch.onnx.export (OSError: File too large), exit 1."""
    folder = tmp_path / "out"
    folder.mkdir()
    r = subprocess.run([sys.executable, "-m", "vidclear", "export", "espcn-x2", "-o", str(folder / "e.onnx")],
                       preexec_fn=files_up_to(8192), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert_one_line_and_nothing_left(r, folder, f"cannot write {folder / 'e.onnx'}: the file size limit is reached")


def test_a_summary_on_a_full_disk_keeps_the_video(tmp_path):
    """--summary-json is written after the work: on a full disk it was a traceback (OSError: No space left on
    device), exit 1. /dev/full is a full disk every Linux has."""
    clip = make_clip(tmp_path / "in.mp4", width=160, height=120, frames=12)
    out = tmp_path / "o.mp4"
    r = subprocess.run(command(clip, out) + ["--summary-json", "/dev/full"], capture_output=True, text=True,
                       timeout=120, cwd=REPO)
    assert (r.returncode, r.stderr.strip()) == (2, "vidclear: error: cannot write /dev/full: no space left on the "
                                                   "device")
    assert probe(out).frames == 12


def test_backend_auto_runs_on_pytorch_where_the_export_cache_cannot_be_written(tmp_path):
    """ONNX Runtime runs an export cached in VIDCLEAR_ENGINES. Where that cannot be written (a read-only or full
    disk; here a path through a file, which stops root too) the run was a traceback (NotADirectoryError). Now
    auto says why and runs the model on PyTorch; a backend the user named is one line."""
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=6)
    (tmp_path / "afile").write_text("")
    cache = tmp_path / "afile" / "engines"
    env = {**os.environ, "VIDCLEAR_ENGINES": str(cache)}

    def run(backend, out):
        return subprocess.run([sys.executable, "-m", "vidclear", "enhance", str(clip), str(out), "--model",
                               "espcn-x2", "--backend", backend, "--device", "cpu"],
                              capture_output=True, text=True, timeout=120, cwd=REPO, env=env)

    r = run("auto", tmp_path / "a.mp4")
    assert r.returncode == 0, r.stderr
    export = re.escape(str(cache / "espcn-x2-fp32-")) + r"[0-9a-f]{10}\.onnx"
    warnings = [line for line in r.stderr.splitlines() if line.startswith("vidclear: warning: ")]
    assert len(warnings) == 1 and re.fullmatch(
        r"vidclear: warning: backend auto: onnxruntime cannot load 'espcn-x2' \(cannot write " + export
        + r": Not a directory\); running it on torch instead, which is slower here \(set VIDCLEAR_ENGINES to a "
        r"writable folder to keep onnxruntime\)", warnings[0]), r.stderr
    info = probe(tmp_path / "a.mp4")
    assert (info.frames, info.width, info.height) == (6, 128, 96)

    r = run("onnxruntime", tmp_path / "b.mp4")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert re.fullmatch("vidclear: error: cannot write " + export + ": Not a directory", r.stderr.splitlines()[-1])
    assert [line for line in r.stderr.splitlines() if "error" in line] == r.stderr.splitlines()[-1:], r.stderr
    assert not (tmp_path / "b.mp4").exists()


def test_a_full_filesystem_mid_file(tmp_path):
    """A 300 KB tmpfs, mounted here as root (make test runs as root; elsewhere only the test above runs)."""
    if os.geteuid() != 0:
        return
    clip = make_clip(tmp_path / "in.mp4", width=320, height=240, frames=60)
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(folder)], check=True)
    try:
        r = enhance(clip, folder / "o.mp4")
        assert_one_line_and_nothing_left(r, folder, f"cannot write {folder / 'o.mp4'}: no space left on the device")
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_the_output_folder_removed_mid_file(tmp_path):
    """The folder is removed while the file is written (a cleanup job, an unmounted drive). The run used to finish
    with exit 0 and a summary of frames written to a file that did not exist."""
    clip = make_clip(tmp_path / "in.mp4", width=320, height=240, frames=300)
    folder = tmp_path / "out"
    folder.mkdir()
    proc = subprocess.Popen(command(clip, folder / "o.mp4"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while not any(folder.iterdir()):  # the temporary file: the output is open
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    shutil.rmtree(folder)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [f"vidclear: error: stage 'encode' failed: cannot write {folder / 'o.mp4'}: "
                                        "the file or its folder was removed (or unmounted) while it was being written"]
    assert not folder.exists(), "nothing is written back"


def test_a_log_file_on_a_full_disk_is_one_warning_and_the_run_goes_on(tmp_path):
    """It was '--- Logging error ---' and a traceback on stderr for every log record."""
    clip = make_clip(tmp_path / "in.mp4", width=160, height=120, frames=12)
    out = tmp_path / "o.mp4"
    r = subprocess.run(command(clip, out)[:3] + ["--log-file", "/dev/full"] + command(clip, out)[3:-1],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "Logging error" not in r.stderr and "Traceback" not in r.stderr
    warnings = [line for line in r.stderr.splitlines() if "log file" in line]
    assert warnings == ["vidclear: warning: cannot write the log file /dev/full: no space left on the device; its "
                        "records are lost until it can be written again"]
    assert probe(out).frames == 12

