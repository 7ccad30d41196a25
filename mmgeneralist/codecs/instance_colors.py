"""Instance masks <-> an RGB image: one codebook colour per instance, in raster order."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import BaseCodec
from .painter_palette import PainterClassCodec


class InstanceColorCodec(BaseCodec):
    """Instance ``k`` (1-based, in raster order of its centre) <-> Painter colour ``k``.

    Fan et al. (Sec. 3.1): ``N`` colours evenly spread over RGB as for semantic
    segmentation, assigned by spatial location, so that "the instance whose center is at
    the upper leftmost corner obtains the first color". Here the codebook is
    ``PainterClassCodec(max_instances + 1)``: entry 0, black, is the background (no
    instance) and instance ``k`` is entry ``k``. Instances are ranked by the mean pixel
    coordinate ``(cy, cx)``, rows first (:meth:`order`). Where masks overlap, the later
    instance in that order is drawn on top.

    Args:
        max_instances: the most instances an image may have (``N``).
    """

    label_field = 'gt_instances'

    def __init__(self, max_instances: int):
        if max_instances < 1:
            raise ValueError(f'max_instances must be >= 1; got {max_instances}')
        self.max_instances = max_instances
        self.out_channels = max_instances + 1
        self.palette = PainterClassCodec(max_instances + 1, ignore_index=-1)

    @staticmethod
    def order(masks: torch.Tensor) -> torch.Tensor:
        """``(K, H, W)`` bool masks -> ``(K,)`` the permutation that sorts them by centre.

        The key is ``(cy, cx)``, lexicographic (upper-left first); empty masks come last, in
        their given order.
        """
        masks = masks.bool()
        area = masks.sum((1, 2)).float()
        h, w = masks.shape[-2:]
        ys = torch.arange(h, dtype=torch.float32, device=masks.device)
        xs = torch.arange(w, dtype=torch.float32, device=masks.device)
        cy = (masks.sum(2).float() * ys).sum(1) / area  # nan for an empty mask
        cx = (masks.sum(1).float() * xs).sum(1) / area
        empty = area == 0
        cy, cx = cy.masked_fill(empty, float('inf')), cx.masked_fill(empty, float('inf'))
        by_x = torch.sort(cx, stable=True).indices
        return by_x[torch.sort(cy[by_x], stable=True).indices]

    def index_map(self, masks: Sequence[torch.Tensor]) -> torch.Tensor:
        """A list of ``(K_i, H, W)`` bool masks -> ``(B, H, W)`` long instance index map
        (0 background, ``k`` the ``k``-th instance in raster order; later ones on top)."""
        if len(masks) == 0:
            raise ValueError('expected a list with one (K, H, W) mask tensor per image')
        shapes = {tuple(m.shape[-2:]) for m in masks}
        if len(shapes) != 1 or any(m.ndim != 3 for m in masks):
            raise ValueError(f'expected (K, H, W) masks of one size, got shapes '
                             f'{[tuple(m.shape) for m in masks]}')
        maps = []
        for i, m in enumerate(masks):
            if len(m) > self.max_instances:
                raise ValueError(f'image {i} has {len(m)} instances, more than max_instances='
                                 f'{self.max_instances}: raise max_instances to at least '
                                 f'{len(m)}')
            m = m.bool()[self.order(m)]
            rank = torch.arange(1, len(m) + 1, device=m.device)[:, None, None]
            empty = m.new_zeros(m.shape[1:], dtype=torch.long)
            maps.append((m * rank).amax(0) if len(m) else empty)
        return torch.stack(maps).long()

    def encode(self, masks: Sequence[torch.Tensor]) -> torch.Tensor:
        """A list (one per image) of ``(K_i, H, W)`` bool masks -> ``(B, 3, H, W)`` in
        [-1, 1]; an image without instances is all black (background)."""
        return self.palette.encode(self.index_map(masks))

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, H, W)`` long instance index, 0..max_instances
        (0: background)."""
        return self.palette.decode(rgb)

    def scores(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, max_instances + 1, H, W)``, minus the squared distance to each colour."""
        return self.palette.scores(rgb)

    def weights(self, masks: Sequence[torch.Tensor]) -> torch.Tensor:
        """``(B, 1, H, W)`` ones: every pixel is an instance or background."""
        return torch.ones(len(masks), 1, *masks[0].shape[-2:], device=masks[0].device)

    @staticmethod
    def masks(index_map: torch.Tensor, min_area: int = 1) -> torch.Tensor:
        """``(H, W)`` instance index map -> ``(K, H, W)`` bool, one mask per index >= 1 with
        at least ``min_area`` pixels, in index order."""
        ids, counts = torch.unique(index_map, return_counts=True)  # sorted
        ids = ids[(ids >= 1) & (counts >= min_area)]
        return index_map[None] == ids[:, None, None]

    def labels(self, data_samples: Sequence) -> list[torch.Tensor]:
        """The batch's instance masks, a list of ``(K_i, H, W)`` bool tensors.

        ``gt_instances.masks`` is mmdet's ``BitmapMasks`` (``.masks``: ``(K, H, W)`` uint8
        numpy) or a tensor.
        """
        out = []
        for i, s in enumerate(data_samples):
            masks = getattr(getattr(s, 'gt_instances', None), 'masks', None)
            if masks is None:
                raise ValueError(f'data sample {i} has no gt_instances.masks: load the masks '
                                 f"(LoadAnnotations(with_mask=True)) that {type(self).__name__}"
                                 ' renders')
            out.append(torch.as_tensor(getattr(masks, 'masks', masks)).bool())
        return out
