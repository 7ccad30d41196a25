"""Painter's class-colour codebook: class index as a 3-digit base-``b`` number."""
from __future__ import annotations

import torch

from .base import BaseCodec

_CHUNK = 1 << 16  # pixels per brute-force block: keeps (pixels, C) distances small


class PainterClassCodec(BaseCodec):
    """Class ``i`` <-> the colour whose base-``b`` digits are ``i``'s, times a margin ``m``.

    Fan et al. (Sec. 3.1, after Painter): ``b = ceil(C ** (1/3))``, ``m = floor(256 / b)``
    and class ``i`` is ``[i // b**2 * m, i // b % b * m, i % b * m]`` in 0..255 (here in
    [-1, 1]: ``v / 127.5 - 1``). The colours are a prefix of the ``b**3`` points of a regular
    grid with step ``m``, starting at black (class 0).

    Ignored pixels are rendered white, ``(255, 255, 255)``, which is never a codebook colour
    (the largest codebook value is ``(b - 1) * m <= 254``, as ``C <= 255**3``): the target is an
    ordinary image, yet an ignored pixel cannot be mistaken for a class. It is not meant to
    be learned: :meth:`weights` is 0 there, so the loss should skip those pixels.

    :meth:`decode` returns the class of the nearest codebook colour (Euclidean in RGB),
    exactly :meth:`decode_brute_force`, but per channel: rounding each channel to the grid
    gives the nearest grid point. Pixels where that is not certain go to the brute-force
    search: those whose grid point is no class (index >= C), and those within float error
    of a midpoint between two levels (ties, which brute force breaks toward the lower
    index).

    Args:
        num_classes: number of classes ``C``.
        ignore_index: the label of pixels without a class; must not be a class.

    Attributes:
        colors: ``(C, 3)`` long, the codebook in 0..255.
        base: digits per channel, ``b``.
        margin: step between levels in 0..255, ``m``.
    """

    label_field = 'gt_sem_seg'

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if not 1 <= num_classes <= 255**3:
            raise ValueError(f'num_classes must be in 1..{255**3}; got {num_classes}')
        if 0 <= ignore_index < num_classes:
            raise ValueError(f'ignore_index {ignore_index} is one of the classes '
                             f'0..{num_classes - 1}: pass one outside them, e.g. -1')
        base = 1
        while base**3 < num_classes:  # integer ceil(C ** (1/3))
            base += 1
        self.num_classes = self.out_channels = num_classes
        self.ignore_index = ignore_index
        self.base, self.margin = base, 256 // base
        i = torch.arange(num_classes)
        self.colors = torch.stack([i // base**2, i // base % base, i % base], 1) * self.margin

    def _palette(self, like: torch.Tensor) -> torch.Tensor:
        """The codebook in [-1, 1], ``(C, 3)``, in ``like``'s dtype and device."""
        return (self.colors.to(like.dtype) / 127.5 - 1).to(like.device)

    @staticmethod
    def _float(rgb: torch.Tensor) -> torch.Tensor:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f'expected (B, 3, H, W) colours, got shape {tuple(rgb.shape)}')
        return rgb if rgb.dtype == torch.float64 else rgb.float()

    def _check(self, label: torch.Tensor) -> torch.Tensor:
        """``(B, H, W)`` or ``(B, 1, H, W)`` labels -> ``(B, H, W)`` long, validated."""
        if label.ndim == 4:
            if label.shape[1] != 1:
                raise ValueError(f'expected one label channel, got shape {tuple(label.shape)}')
            label = label[:, 0]
        if label.ndim != 3:
            raise ValueError(f'expected (B, H, W) labels, got shape {tuple(label.shape)}')
        label = label.long()
        bad = (label < 0) | (label >= self.num_classes)
        bad &= label != self.ignore_index
        if bool(bad.any()):
            values = label[bad].unique()[:5].tolist()
            raise ValueError(f'labels {values} are neither classes 0..{self.num_classes - 1} '
                             f'nor the ignore index {self.ignore_index}')
        return label

    def encode(self, label: torch.Tensor) -> torch.Tensor:
        """``(B, H, W)`` or ``(B, 1, H, W)`` integer labels -> ``(B, 3, H, W)`` colours in
        [-1, 1]; ignored pixels white (+1)."""
        label = self._check(label)
        ignored = label == self.ignore_index
        palette = self._palette(torch.empty(0, device=label.device))
        rgb = palette[label.masked_fill(ignored, 0)]  # (B, H, W, 3)
        rgb[ignored] = 1.0
        return rgb.permute(0, 3, 1, 2).contiguous()

    def weights(self, label: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)``: 1 where ``label`` is a class, 0 at ``ignore_index``."""
        return (self._check(label) != self.ignore_index).float().unsqueeze(1)

    def _distances(self, x: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
        """Squared distances of ``x`` ``(..., 3, 1)`` to the colours: ``(..., C)``.

        The one formula behind :meth:`scores` and both decoders, summed in a fixed order,
        so that they agree bit for bit.
        """
        p = palette.T  # (3, C)
        return (x[..., 0, :] - p[0]).square() + (x[..., 1, :] - p[1]).square() + (
            x[..., 2, :] - p[2]).square()

    def _nearest(self, points: torch.Tensor) -> torch.Tensor:
        """``(N, 3)`` colours -> ``(N,)`` class of the nearest colour (lowest on ties)."""
        palette = self._palette(points)
        out = [self._distances(chunk[:, :, None], palette).argmin(1)
               for chunk in points.split(_CHUNK)]
        return torch.cat(out) if out else points.new_zeros(0, dtype=torch.long)

    def scores(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` colours -> ``(B, C, H, W)`` minus the squared distance (in [-1, 1]
        units) to each class colour; its ``argmax`` is :meth:`decode`."""
        x = self._float(rgb)
        d = self._distances(x.permute(0, 2, 3, 1)[..., None], self._palette(x))
        return (-d).permute(0, 3, 1, 2)

    def decode_brute_force(self, rgb: torch.Tensor) -> torch.Tensor:
        """The reference decoder: nearest of all ``C`` colours per pixel, ``(B, H, W)``.

        ``O(C)`` per pixel; :meth:`decode` gives the same answer faster.
        """
        x = self._float(rgb)
        b, _, h, w = x.shape
        return self._nearest(x.permute(0, 2, 3, 1).reshape(-1, 3)).view(b, h, w)

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` colours -> ``(B, H, W)`` class of the nearest codebook colour.

        Identical to :meth:`decode_brute_force` (ties included), in ``O(1)`` per pixel
        except for the pixels it hands to the brute-force search (see the class docstring).
        """
        x = self._float(rgb)
        b, step = self.base, self.margin / 127.5
        t = (x + 1) / step  # position in grid steps, per channel
        digit = torch.ceil(t - 0.5).clamp_(0, b - 1)  # nearest level; a tie goes down
        index = (digit[:, 0] * b + digit[:, 1]) * b + digit[:, 2]
        unsure = (index >= self.num_classes) | ~torch.isfinite(x).all(1)
        if b > 1:
            # the runner-up level in a channel is farther by 2 * step * |x - midpoint|; where
            # that is within the float error of the distances, brute force decides
            mid = (torch.floor(t).clamp_(0, b - 2) + 0.5) * step - 1
            gain = 2 * step * (x - mid).abs()
            error = 64 * torch.finfo(x.dtype).eps * (x.abs() + 1).square().sum(1, keepdim=True)
            unsure |= (gain <= error).any(1)
        out = index.long()
        if bool(unsure.any()):
            out[unsure] = self._nearest(x.permute(0, 2, 3, 1)[unsure])
        return out
