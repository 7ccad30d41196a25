"""Depth <-> a grey RGB image in [-1, 1], affine-invariant."""
from __future__ import annotations

import torch

from .base import BaseCodec


class DepthCodec(BaseCodec):
    """Per-image affine normalisation of depth to ``[-1, 1]``, repeated over RGB.

    GenPercept predicts affine-invariant depth (Xu et al., Sec. 3.1) with a latent-space
    loss on the VAE-encoded target (Eq. 8); the target is normalised per image like
    Marigold's, between the 2nd and 98th percentiles of the valid depth, so that outliers
    do not squash the range. Invalid pixels (depth <= ``min_valid``) are rendered as the
    far end, +1.

    Args:
        low_quantile / high_quantile: the depths mapped to -1 and +1.
        min_valid: depths at or below this are missing (0 in NYUv2).
    """

    label_field = 'gt_depth_map'
    out_channels = 1

    def __init__(self, low_quantile: float = 0.02, high_quantile: float = 0.98,
                 min_valid: float = 0.0):
        if not 0.0 <= low_quantile < high_quantile <= 1.0:
            raise ValueError(f'need 0 <= low_quantile < high_quantile <= 1; got '
                             f'{low_quantile}, {high_quantile}')
        self.low_quantile, self.high_quantile = low_quantile, high_quantile
        self.min_valid = min_valid

    def encode(self, depth: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` or ``(B, H, W)`` depth -> ``(B, 3, H, W)`` in [-1, 1]."""
        if depth.ndim == 3:
            depth = depth.unsqueeze(1)
        out = torch.ones(depth.shape[0], 1, *depth.shape[-2:], dtype=torch.float32,
                         device=depth.device)
        for i, d in enumerate(depth.float()):
            valid = d > self.min_valid
            if not valid.any():
                continue
            values = d[valid]
            lo = torch.quantile(values, self.low_quantile)
            hi = torch.quantile(values, self.high_quantile)
            scaled = (d - lo) / (hi - lo).clamp_min(1e-6) * 2 - 1
            out[i] = torch.where(valid, scaled.clamp(-1, 1), out[i])
        return out.expand(-1, 3, -1, -1).contiguous()

    @staticmethod
    def decode(rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, 1, H, W)`` relative depth in [0, 1] (mean over RGB).

        The scale and shift are unknown; evaluate with
        :class:`~mmgeneralist.evaluation.AffineInvariantDepthMetric`, which fits them.
        """
        return ((rgb.float().mean(1, keepdim=True) + 1) / 2).clamp(0, 1)
