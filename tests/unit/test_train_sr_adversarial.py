"""train_sr.py's SRGAN terms: they train a discriminator beside the network and still write a plain ESPCN."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vidclear.models.espcn import ESPCN


def tiny_data(root: Path) -> Path:
    """T91, BSD200 and Set5 folders of a few small noise-and-edge images: enough for train_sr to run."""
    rng = np.random.default_rng(0)
    for folder in ("train_t91", "train_bsd200", "set5"):
        (root / folder).mkdir(parents=True)
        for i in range(2):
            img = (rng.random((60, 72, 3)) * 255).astype(np.uint8)
            img[:, :36] //= 3
            cv2.imwrite(str(root / folder / f"{i}.png"), img)
    return root


def test_adversarial_terms_change_the_weights_and_write_a_plain_espcn(tmp_path: Path) -> None:
    from tools.train_sr import main

    data = tiny_data(tmp_path / "sr")
    common = ["--scale", "3", "--steps", "3", "--batch", "2", "--patch", "12", "--lr", "1e-3", "--threads", "1",
              "--val-every", "0", "--ckpt-every", "0", "--data", str(data)]
    assert main(common + ["--out", str(tmp_path / "plain.pt")]) == 0
    assert main(common + ["--adv-weight", "1.0", "--feature-weight", "1.0", "--out", str(tmp_path / "gan.pt")]) == 0
    plain = torch.load(tmp_path / "plain.pt", weights_only=True)
    gan = torch.load(tmp_path / "gan.pt", weights_only=True)
    assert set(gan) == set(ESPCN(3).state_dict())  # no discriminator in the weight file
    ESPCN(3).load_state_dict(gan)
    # Same seed, same batches: only the adversarial and feature terms can move the weights apart.
    assert max((gan[k] - plain[k]).abs().max().item() for k in gan) > 1e-6


def test_resuming_an_adversarial_run_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(["--scale", "3", "--adv-weight", "0.01", "--resume", "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "--resume does not restore the discriminator" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()


def test_arch_srgan_fine_tunes_the_generator_and_the_selection_tools_read_it(tmp_path: Path, capsys) -> None:
    """--arch srgan gives srgan-x4's generator train_sr.py's losses (the reading loss here); sr_upscaler, which
    tools/sr_legibility.py and sr_heldout.py read candidates through, tells its weight file from an ESPCN's."""
    from tools.train_sr import main, sr_network_from_file, sr_upscaler
    from vidclear.models.srgan import SRGANGenerator

    data = tiny_data(tmp_path / "sr")
    torch.manual_seed(0)
    start = SRGANGenerator(4, 8, 2)
    torch.nn.init.normal_(start.tail.weight, std=0.01)  # not bicubic exactly, so the output depends on the body
    torch.save(start.state_dict(), tmp_path / "start.pt")
    common = ["--scale", "4", "--arch", "srgan", "--steps", "2", "--batch", "2", "--patch", "12", "--threads", "1",
              "--val-every", "0", "--ckpt-every", "0", "--data", str(data)]
    with pytest.raises(SystemExit) as stop:  # 32 channels and 6 blocks: srgan-x4's generator
        main(common + ["--init", str(tmp_path / "start.pt"), "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "does not fit --arch srgan at x4: size mismatch for head.0.weight" in capsys.readouterr().err
    shipped = SRGANGenerator(4)
    torch.nn.init.normal_(shipped.tail.weight, std=0.01)
    torch.save(shipped.state_dict(), tmp_path / "shipped.pt")
    assert main(common + ["--text-images", "2", "--text-heights", "4", "6", "--read-weight", "0.03",
                          "--reader-steps", "2", "--init", str(tmp_path / "shipped.pt"),
                          "--out", str(tmp_path / "w.pt")]) == 0
    trained = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(trained) == set(shipped.state_dict())
    assert max((trained[k] - shipped.state_dict()[k]).abs().max().item() for k in trained) > 1e-6

    net = sr_network_from_file(tmp_path / "start.pt", 4)  # any width and depth
    assert isinstance(net, SRGANGenerator) and len(net.blocks) == 2 and net.head[0].out_channels == 8
    y = np.random.default_rng(1).uniform(16, 235, (9, 11))
    with torch.no_grad():
        want = start.eval()(torch.from_numpy(y / 255).float()[None, None])[0, 0].numpy() * 255
    got = sr_upscaler(tmp_path / "start.pt", 4)(y)
    assert got.shape == (36, 44) and np.abs(got - want).max() < 1e-3


def test_arch_srgan_refuses_the_espcn_shape_options_before_any_work(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    for extra in (["--activation", "prelu"], ["--no-residual"], ["--channels", "32", "16"]):
        with pytest.raises(SystemExit) as stop:
            main(["--scale", "4", "--arch", "srgan", *extra, "--out", str(tmp_path / "w.pt")])
        assert stop.value.code == 2
        assert "--channels, --activation and --no-residual are for espcn and srcnn" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()
