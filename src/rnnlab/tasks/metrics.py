"""Metrics as the literature reports them.

Video prediction (Moving MNIST), per frame then averaged over frames and sequences, pixels in
[0, 1] (the protocol of Shi et al. 2015 and of OpenSTL's ``metric()``, which the published tables
use):

- ``mse_per_frame`` / ``mae_per_frame``: squared / absolute error *summed over the pixels of a
  frame*, on the predictions as the model gives them, **before clipping** to [0, 1];
- ``psnr``: ``-10 log10(mean squared error over a frame's pixels)`` (data range 1), on
  predictions **clipped** to [0, 1];
- ``ssim``: structural similarity (Wang et al. 2004: 11x11 gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03) with data range 1, on clipped predictions, mean over the positions where
  the window fits in the frame (as Wang et al.'s code and scikit-image; torchmetrics 1.9 also
  averages reflect-padded borders, which reads a little differently) and over channels;
- ``ssim_openstl``: the SSIM OpenSTL reports, scikit-image's ``structural_similarity`` with its
  defaults of the time (7x7 uniform window, sample covariances, data range 2.0 for float
  images), on clipped predictions. It reads higher than ``ssim`` on the same frames.

Every per-frame function maps ``(B, T, C, H, W)`` x2 to ``(B, T)``; the caller averages.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Literal

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

# PSNR of a frame predicted exactly would be infinite; its squared error is floored here (100 dB
# at data range 1), so that averages over frames stay finite.
PSNR_MIN_MSE = 1e-10
Window = Literal["gaussian", "uniform"]


def mse_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each frame: ``(B, T, C, H, W)`` x2 -> ``(B, T)``."""
    return (prediction - target).square().flatten(start_dim=2).sum(dim=-1)


def mae_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Absolute error summed over each frame: ``(B, T, C, H, W)`` x2 -> ``(B, T)``."""
    return (prediction - target).abs().flatten(start_dim=2).sum(dim=-1)


def psnr_per_frame(
    prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0
) -> torch.Tensor:
    """Peak signal-to-noise ratio of each frame in dB: ``(B, T, C, H, W)`` x2 -> ``(B, T)``.

    ``10 log10(data_range^2 / mse)`` with ``mse`` the mean over the frame's ``C*H*W`` pixels,
    floored at :data:`PSNR_MIN_MSE` (a perfect frame scores 100 dB, not infinity).
    """
    mse = (prediction - target).square().flatten(start_dim=2).mean(dim=-1)  # (B, T)
    return 10.0 * torch.log10(data_range**2 / mse.clamp_min(PSNR_MIN_MSE))


def _window(kind: Window, size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """The normalised 1-D window ``(size,)`` on the device and dtype of ``like``; the 2-D window
    is its outer product with itself (both kinds are separable)."""
    if kind == "uniform":
        return like.new_full((size,), 1.0 / size)
    offsets = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _band(kernel: torch.Tensor, length: int) -> torch.Tensor:
    """``(length, length - S + 1)`` matrix whose column ``j`` holds the 1-D ``kernel (S,)`` at rows
    ``j .. j + S - 1``: a product with it filters a signal at every position the kernel fits."""
    size = kernel.shape[0]
    offset = torch.arange(length, device=kernel.device)[:, None] - torch.arange(
        length - size + 1, device=kernel.device
    )
    inside = (offset >= 0) & (offset < size)
    return torch.where(inside, kernel[offset.clamp(0, size - 1)], kernel.new_zeros(()))


def _filter_valid(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Filter ``images (N, H, W)`` with the separable window ``kernel (S,)`` x ``kernel`` at every
    position where it fits: ``(N, H - S + 1, W - S + 1)``. Two matrix products, several times
    faster on the CPU than ``conv2d`` over one channel."""
    _, h, w = images.shape
    return _band(kernel, h).T @ (images @ _band(kernel, w))


def ssim_per_frame(
    prediction: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 1.0,
    window: Window = "gaussian",
    window_size: int = 11,
    sigma: float = 1.5,
    sample_covariance: bool = False,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Mean structural similarity of each frame: ``(B, T, C, H, W)`` x2 -> ``(B, T)``.

    Local means, variances and the covariance come from a ``window_size`` window (``gaussian``
    with ``sigma``, or ``uniform``) at every position where it fits in the frame ("valid": no
    padding); ``sample_covariance`` scales them by ``N / (N - 1)``, ``N = window_size**2``. The
    SSIM map ``(2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))``,
    ``C1 = (k1 * data_range)^2``, ``C2 = (k2 * data_range)^2``, is averaged over positions and
    channels. Frames smaller than the window use the largest odd window that fits.
    """
    b, t, c, h, w = prediction.shape
    size = min(window_size, h, w)
    size -= 1 - size % 2  # odd
    x = prediction.reshape(b * t * c, h, w)
    y = target.reshape(b * t * c, h, w).to(x.dtype)
    kernel = _window(window, size, sigma, x)
    stacked = torch.cat([x, y, x * x, y * y, x * y])  # (5*N, H, W)
    mu_x, mu_y, xx, yy, xy = _filter_valid(stacked, kernel).chunk(5)  # each (N, H', W')
    norm = size**2 / (size**2 - 1) if sample_covariance and size > 1 else 1.0
    var_x = norm * (xx - mu_x * mu_x)
    var_y = norm * (yy - mu_y * mu_y)
    cov = norm * (xy - mu_x * mu_y)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )  # (B*T*C, H', W')
    return ssim_map.flatten(start_dim=1).mean(dim=-1).view(b, t, c).mean(dim=-1)


def ssim_openstl_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM as OpenSTL reports it (scikit-image's ``structural_similarity`` defaults: 7x7 uniform
    window, sample covariances, data range 2.0 for float images): ``(B, T, C, H, W)`` x2 ->
    ``(B, T)``."""
    return ssim_per_frame(
        prediction, target, data_range=2.0, window="uniform", window_size=7, sample_covariance=True
    )


def frame_metrics(
    prediction: torch.Tensor, target: torch.Tensor, clip: tuple[float, float] = (0.0, 1.0)
) -> dict[str, torch.Tensor]:
    """Every video-prediction metric per frame, ``(B, T)`` each, named as rnnlab logs them.

    ``prediction (B, T, C, H, W)`` as the model gives it (before clipping); MSE and MAE use it as
    it is, PSNR and the SSIMs use it clipped to ``clip`` (the module docstring says why).
    Computed in at least float32, whatever the weights' precision, and with autocast off
    (``trainer.precision=bf16-*``: SSIM's windowed sums overflow or cancel in bfloat16).
    """
    dtype = torch.promote_types(prediction.dtype, torch.float32)
    prediction, target = prediction.to(dtype), target.to(dtype)
    device = prediction.device.type
    autocast_off = (
        torch.autocast(device, enabled=False)
        if torch.amp.is_autocast_available(device)
        else nullcontext()
    )
    with autocast_off:
        clipped = prediction.clamp(*clip)
        return {
            "mse_per_frame": mse_per_frame(prediction, target),
            "mae_per_frame": mae_per_frame(prediction, target),
            "psnr": psnr_per_frame(clipped, target),
            "ssim": ssim_per_frame(clipped, target),
            "ssim_openstl": ssim_openstl_per_frame(clipped, target),
        }


FRAME_METRICS: tuple[str, ...] = ("mse_per_frame", "mae_per_frame", "psnr", "ssim", "ssim_openstl")


class PerHorizon(Metric):
    """A per-frame metric averaged over sequences separately for each horizon (frames ahead).

    ``update(values (B, T))``; ``compute() -> (T,)``: the mean at 1, 2, ..., T frames ahead.
    Its sums live on the metric's device and are summed across processes (DDP) by torchmetrics.
    Not saved in checkpoints.
    """

    full_state_update = False

    def __init__(self, horizons: int) -> None:
        super().__init__()
        self.horizons = horizons
        self.add_state("total", default=torch.zeros(horizons), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(()), dist_reduce_fx="sum")

    def update(self, values: torch.Tensor) -> None:
        self.total += values.detach().to(self.total.dtype).sum(dim=0)  # (T,)
        self.count += values.shape[0]

    def compute(self) -> torch.Tensor:
        return self.total / self.count.clamp_min(1)


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Accuracy (micro) and macro-F1 over an epoch, named ``<prefix>acc``, ``<prefix>f1``."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        },
        prefix=prefix,
    )
