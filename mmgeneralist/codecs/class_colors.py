"""A class-colour codebook: one well-separated RGB colour per class."""
from __future__ import annotations

import math

import torch

from .base import BaseCodec


class ClassColorCodec(BaseCodec):
    """Class ``k`` <-> the ``k``-th point of a regular grid over the RGB cube ``[-1, 1]^3``.

    The grid has the fewest levels per channel ``n`` with ``n^3 - 1 >= num_classes``; its
    first point, black ``(-1, -1, -1)``, is kept for ignored pixels, so the colours are as
    far apart as a regular grid allows (``2 / (n - 1)`` per channel). GenPercept's first
    segmentation stage supervises such colour maps in latent space (Xu et al., Sec. 3.2).

    Args:
        num_classes: number of classes.
        ignore_index: the label of pixels without a class; rendered black.
    """

    label_field = 'gt_sem_seg'

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1; got {num_classes}')
        levels = 2
        while levels**3 - 1 < num_classes:
            levels += 1
        axis = torch.linspace(-1.0, 1.0, levels, device='cpu')  # moved to the labels' device
        grid = torch.cartesian_prod(axis, axis, axis)  # first row: black
        self.num_classes = self.out_channels = num_classes
        self.ignore_index = ignore_index
        self.palette = grid[1:num_classes + 1].contiguous()  # (K, 3)
        self.spacing = 2.0 / (levels - 1)
        assert math.isclose(self.palette.abs().max().item(), 1.0)

    def encode(self, label: torch.Tensor) -> torch.Tensor:
        """``(B, H, W)`` (or ``(B, 1, H, W)``) integer labels -> ``(B, 3, H, W)`` colours in
        [-1, 1]."""
        if label.ndim == 4:
            if label.shape[1] != 1:
                raise ValueError(f'expected one label channel, got shape {tuple(label.shape)}')
            label = label[:, 0]
        label = label.long()
        valid = (label >= 0) & (label < self.num_classes)
        if not bool(((label == self.ignore_index) | valid).all()):
            bad = label[~valid & (label != self.ignore_index)].unique()[:5].tolist()
            raise ValueError(f'labels {bad} are neither classes 0..{self.num_classes - 1} nor '
                             f'the ignore index {self.ignore_index}')
        palette = self.palette.to(label.device)
        rgb = palette[label.clamp(0, self.num_classes - 1)]  # (B, H, W, 3)
        rgb[~valid] = -1.0
        return rgb.permute(0, 3, 1, 2).contiguous()

    def scores(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` colours -> ``(B, K, H, W)`` scores: minus the squared distance
        to each class colour, so ``argmax`` is the nearest colour's class."""
        palette = self.palette.to(rgb)
        dist = (rgb.unsqueeze(1) - palette[None, :, :, None, None]).square().sum(2)
        return -dist

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` colours -> ``(B, H, W)`` class of the nearest colour."""
        return self.scores(rgb).argmax(1)
