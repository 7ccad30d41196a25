"""Metric depth <-> a grey RGB image, linear over a fixed range and optionally quantised."""
from __future__ import annotations

import torch

from .base import BaseCodec


class QuantizedDepthCodec(BaseCodec):
    """Depth mapped linearly from ``[min_depth, max_depth]`` to ``2**bits`` grey levels.

    Fan et al. (Sec. 3.1): "given the minimum and the maximum values, we map them into
    [0, 255] linearly and discretize them into integers", repeated over the three channels.
    The minimum and maximum are read as a fixed data-set range (NYUv2: 0-10 m, Painter's
    choice), not per image: a per-image range is not known at test time, so the generated
    image could not be decoded back to metric depth. Depths outside the range are clamped
    to it. ``bits=None`` skips the discretisation (the higher-precision option).

    Invalid pixels (depth <= ``min_valid``) are rendered -1 (the near end) and have weight 0
    in :meth:`weights`: the loss should skip them.

    Args:
        min_depth / max_depth: the depths rendered -1 and +1, in metres.
        bits: levels are ``2**bits``; ``None`` for no discretisation.
        min_valid: depths at or below this are missing (0 in NYUv2).
    """

    label_field = 'gt_depth_map'
    out_channels = 1

    def __init__(self, min_depth: float = 0.0, max_depth: float = 10.0, bits: int | None = 8,
                 min_valid: float = 0.0):
        if not max_depth > min_depth:
            raise ValueError(f'need min_depth < max_depth; got {min_depth}, {max_depth}')
        if bits is not None and not 1 <= bits <= 16:
            raise ValueError(f'bits must be in 1..16, or None for no discretisation; got {bits}')
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)
        self.bits, self.min_valid = bits, min_valid
        self.levels = None if bits is None else 2**bits - 1  # highest level

    def _quantize(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` in [0, 1] -> the nearest of the levels (``t`` itself when ``bits=None``)."""
        return t if self.levels is None else torch.round(t * self.levels) / self.levels

    @staticmethod
    def _depth(depth: torch.Tensor) -> torch.Tensor:
        if depth.ndim == 3:
            depth = depth.unsqueeze(1)
        if depth.ndim != 4 or depth.shape[1] != 1:
            raise ValueError(f'expected (B, 1, H, W) or (B, H, W) depth, got shape '
                             f'{tuple(depth.shape)}')
        return depth.float()

    def encode(self, depth: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` or ``(B, H, W)`` metric depth -> ``(B, 3, H, W)`` in [-1, 1]."""
        depth = self._depth(depth)
        t = (depth.clamp(self.min_depth, self.max_depth) - self.min_depth) / (
            self.max_depth - self.min_depth)
        rgb = (self._quantize(t) * 2 - 1).masked_fill(depth <= self.min_valid, -1.0)
        return rgb.expand(-1, 3, -1, -1).contiguous()

    def weights(self, depth: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)``: 1 where the depth is valid, 0 where it is missing."""
        return (self._depth(depth) > self.min_valid).float()

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, 1, H, W)`` metric depth: the mean over RGB, mapped back
        to the range and, with ``bits``, to the nearest level."""
        t = ((rgb.float().mean(1, keepdim=True) + 1) / 2).clamp(0, 1)
        return self.min_depth + self._quantize(t) * (self.max_depth - self.min_depth)
