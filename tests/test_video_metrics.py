"""Video-prediction metrics as the literature reports them, each checked against an independent
computation (torchmetrics' SSIM, a plain numpy SSIM loop, values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from rnnlab.tasks.metrics import (
    PerHorizon,
    frame_metrics,
    psnr_per_frame,
    ssim_openstl_per_frame,
    ssim_per_frame,
)

SKIMAGE_REFERENCE = 0.8707552291249709


def smooth_frames(b: int, t: int, c: int, h: int, w: int, shift: float) -> torch.Tensor:
    """Deterministic frames in [0, 1] (no RNG): sums of sines, different per sequence and frame."""
    bi, ti, ci, yi, xi = torch.meshgrid(
        *(torch.arange(n, dtype=torch.float64) for n in (b, t, c, h, w)), indexing="ij"
    )
    waves = torch.sin(0.7 * xi + 0.3 * yi * (1 + bi) + shift * ti + ci)
    ripples = torch.cos(0.45 * yi - 0.2 * xi * (1 + ti) + shift)
    return 0.5 + 0.25 * waves + 0.2 * ripples


def numpy_ssim_uniform(x: np.ndarray, y: np.ndarray, win: int, data_range: float) -> float:
    """SSIM of two 2-D images the slow way: every valid win x win window, sample (ddof=1)
    variances and covariance, averaged (scikit-image's definition with its defaults)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(x.shape[0] - win + 1):
        for j in range(x.shape[1] - win + 1):
            a, b = x[i : i + win, j : j + win].ravel(), y[i : i + win, j : j + win].ravel()
            mx, my = a.mean(), b.mean()
            vx, vy = a.var(ddof=1), b.var(ddof=1)
            cov = ((a - mx) * (b - my)).sum() / (a.size - 1)
            values.append(
                ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(values))


def test_mse_and_mae_are_summed_per_frame_before_clipping_psnr_and_ssim_after():
    target = torch.ones(2, 3, 1, 4, 4)
    prediction = torch.full((2, 3, 1, 4, 4), 1.5)  # out of range: clipping would make it exact
    metrics = frame_metrics(prediction, target)
    assert set(metrics) == {"mse_per_frame", "mae_per_frame", "psnr", "ssim", "ssim_openstl"}
    assert all(value.shape == (2, 3) for value in metrics.values())
    torch.testing.assert_close(metrics["mse_per_frame"], torch.full((2, 3), 16 * 0.25))
    torch.testing.assert_close(metrics["mae_per_frame"], torch.full((2, 3), 16 * 0.5))
    torch.testing.assert_close(metrics["psnr"], torch.full((2, 3), 100.0))  # exact once clipped
    torch.testing.assert_close(metrics["ssim"], torch.ones(2, 3))


def test_psnr_per_frame_by_hand():
    target = torch.zeros(1, 2, 1, 3, 3)
    prediction = torch.stack([torch.full((1, 3, 3), 0.1), torch.full((1, 3, 3), 0.01)])[None]
    # mse 0.01 -> 20 dB; mse 1e-4 -> 40 dB (data range 1)
    torch.testing.assert_close(psnr_per_frame(prediction, target), torch.tensor([[20.0, 40.0]]))


def test_ssim_matches_torchmetrics_gaussian_ssim_map_over_the_valid_positions():
    prediction = smooth_frames(2, 3, 2, 24, 20, shift=0.3).float()
    target = smooth_frames(2, 3, 2, 24, 20, shift=0.9).float()
    ours = ssim_per_frame(prediction, target)  # (B, T)
    # torchmetrics' map (gaussian 11x11, sigma 1.5, data_range 1) covers reflect-padded borders
    # too; Wang et al.'s reference code and scikit-image average the positions where the window
    # fits: 5 px in from each side.
    _, full = structural_similarity_index_measure(
        prediction.flatten(0, 1), target.flatten(0, 1), data_range=1.0, return_full_image=True
    )  # (B*T, C, H, W)
    reference = full[..., 5:-5, 5:-5].flatten(1).mean(-1).view(2, 3)
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    assert ssim_per_frame(target, target).allclose(torch.ones(2, 3))


def test_ssim_openstl_matches_a_window_by_window_numpy_computation():
    prediction = smooth_frames(1, 2, 2, 10, 9, shift=0.2)
    target = smooth_frames(1, 2, 2, 10, 9, shift=1.1)
    ours = ssim_openstl_per_frame(prediction, target)  # (1, 2)
    for f in range(2):
        expected = np.mean(
            [
                numpy_ssim_uniform(prediction[0, f, c].numpy(), target[0, f, c].numpy(), 7, 2.0)
                for c in range(2)
            ]
        )
        assert ours[0, f].item() == pytest.approx(expected, abs=1e-9)


def test_ssim_openstl_equals_scikit_image_structural_similarity_of_the_time():
    # Reference value computed with scikit-image 0.26's structural_similarity(x[0, 0], y[0, 0],
    # win_size=7, data_range=2.0, channel_axis=0) -- the defaults OpenSTL's metric() relied on --
    # on exactly these float64 frames (scikit-image is not a dependency of rnnlab).
    prediction = smooth_frames(1, 1, 1, 16, 16, shift=0.2)
    target = smooth_frames(1, 1, 1, 16, 16, shift=1.1)
    assert ssim_openstl_per_frame(prediction, target).item() == pytest.approx(
        SKIMAGE_REFERENCE, abs=1e-9
    )


def test_ssim_of_frames_smaller_than_the_window_uses_the_whole_frame():
    prediction = smooth_frames(1, 1, 1, 5, 5, shift=0.2)
    target = smooth_frames(1, 1, 1, 5, 5, shift=1.1)
    expected = numpy_ssim_uniform(prediction[0, 0, 0].numpy(), target[0, 0, 0].numpy(), 5, 2.0)
    assert ssim_openstl_per_frame(prediction, target).item() == pytest.approx(expected, abs=1e-9)


def test_per_horizon_means_over_sequences_for_each_step_ahead():
    metric = PerHorizon(3)
    metric.update(torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]))
    metric.update(torch.tensor([[5.0, 6.0, 7.0]]))
    torch.testing.assert_close(metric.compute(), torch.tensor([3.0, 4.0, 5.0]))
    metric.reset()
    metric.update(torch.tensor([[1.0, 1.0, 1.0]]))
    torch.testing.assert_close(metric.compute(), torch.ones(3))
    assert "total" not in metric.state_dict()  # not saved in checkpoints


def test_metrics_stay_on_the_frames_device():
    frames = torch.zeros(2, 3, 1, 8, 8, device="meta")
    for name, value in frame_metrics(frames, frames).items():
        assert value.device.type == "meta" and value.shape == (2, 3), name


def test_metrics_under_bf16_autocast_equal_those_in_float32():
    # trainer.precision=bf16-mixed runs validation under autocast; SSIM's sums must not follow it
    prediction = smooth_frames(2, 3, 1, 64, 64, shift=0.3).float()
    target = smooth_frames(2, 3, 1, 64, 64, shift=0.5).float()
    expected = frame_metrics(prediction, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = frame_metrics(prediction, target)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], msg=name)
