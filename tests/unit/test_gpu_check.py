"""tools/gpu_check.py: its comparison with the float64 reference, and its refusal without CUDA.

The CUDA figures themselves come from a lent GPU machine (tools/gpu_session.sh); here the same
check runs through the backend on the CPU, where it must find the backend exact to float32.
"""

import sys

import numpy as np
import pytest
import torch

from media import REPO

sys.path.insert(0, str(REPO))
from tools import gpu_check  # noqa: E402
from vidclear.backends.base import BackendOptions  # noqa: E402
from vidclear.backends.torch_backend import TorchBackend  # noqa: E402
from vidclear.models.registry import get_model  # noqa: E402


def test_psnr_in_8bit_units():
    ref = np.full((1, 1, 4, 4), 0.5, np.float32)
    assert gpu_check.psnr_8bit(ref + 1 / 255, ref) == pytest.approx(20 * np.log10(255), abs=1e-3)
    assert gpu_check.psnr_8bit(ref, ref) == 100.0


@pytest.mark.parametrize("name", ["espcn-x3", "lowlight"])
def test_check_finds_the_cpu_backend_exact_and_a_wrong_one_far_off(name):
    spec = get_model(name)
    backend = TorchBackend(spec, "cpu", BackendOptions(threads=1))
    good = gpu_check.check(spec, backend, np.random.default_rng(0))
    assert good["finite"] and good["psnr_vs_fp64"] > gpu_check.MIN_FP32_PSNR_DB and good["rel_error"] < 1e-5

    class Off(TorchBackend):
        def infer(self, batch):
            return super().infer(batch) * 1.02  # a 2% gain error, as a wrong kernel or precision would give

    bad = gpu_check.check(spec, Off(spec, "cpu", BackendOptions(threads=1)), np.random.default_rng(0))
    assert bad["psnr_vs_fp64"] < gpu_check.MIN_FP16_PSNR_DB and bad["rel_error"] > 0.01


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer on a machine without CUDA")
def test_without_cuda_it_says_so_and_exits_2(capsys):
    assert gpu_check.main([]) == 2
    assert capsys.readouterr().err.strip() == "gpu_check: torch reports no CUDA device"
