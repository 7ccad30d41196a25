"""Images (restoration targets) <-> RGB in [-1, 1]."""
from __future__ import annotations

import torch

from .base import BaseCodec


class ImageCodec(BaseCodec):
    """The identity up to scale: restoration outputs are images already (Fan et al.,
    Sec. 3.1), 0..255 <-> [-1, 1].

    The decoded image is clamped to 0..255 but not rounded, so metrics see the prediction
    as generated.
    """

    label_field = 'gt_image'
    out_channels = 3

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in 0..255 (uint8 or float) -> ``(B, 3, H, W)`` in [-1, 1]."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f'expected (B, 3, H, W) images, got shape {tuple(image.shape)}')
        return image.float() / 127.5 - 1

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [-1, 1] -> ``(B, 3, H, W)`` float in 0..255 (clamped)."""
        return ((rgb.float() + 1) * 127.5).clamp(0, 255)
