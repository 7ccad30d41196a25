"""What every label <-> RGB codec provides (after mmpose's ``codecs/base.py``)."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Sequence

import torch


class BaseCodec(metaclass=ABCMeta):
    """Renders dense labels as RGB images in ``[-1, 1]`` and reads them back.

    A codec is pure tensor code (batched, any device): it imports nothing from OpenMMLab and
    is registered and built from config in :mod:`mmgeneralist.registry`
    (``codec=dict(type='ClassColorCodec', num_classes=150)``). A head that generates images
    asks the codec for its targets (:meth:`labels`, :meth:`encode`) and for its predictions
    (:meth:`scores`), so it needs no branch on the kind of label.

    Attributes:
        label_field: the data-sample field holding the label, e.g. ``'gt_sem_seg'``
            (mmseg's ``SegDataSample``) or ``'gt_depth_map'``.
        out_channels: channels of :meth:`scores` (classes, or 1 for a value map).
    """

    label_field: str = ''
    out_channels: int = 1

    @abstractmethod
    def encode(self, label: torch.Tensor) -> torch.Tensor:
        """``(B, H, W)`` or ``(B, 1, H, W)`` labels -> ``(B, 3, H, W)`` RGB in [-1, 1]."""

    @abstractmethod
    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB -> the labels ``encode`` rendered."""

    def scores(self, rgb: torch.Tensor) -> torch.Tensor:
        """The prediction as the downstream segmentor reads it, ``(B, out_channels, H, W)``.

        Class scores whose argmax is :meth:`decode` for class labels; the decoded map
        itself for a value such as depth (the default).
        """
        return self.decode(rgb)

    def weights(self, label: torch.Tensor) -> torch.Tensor:
        """Per-pixel loss weights of ``label``'s rendering, ``(B, 1, H, W)``: 0 where the
        label has no target (ignored or missing pixels). The default weighs all pixels 1."""
        return torch.ones(label.shape[0], 1, *label.shape[-2:], device=label.device)

    def labels(self, data_samples: Sequence) -> torch.Tensor:
        """The batch's ground truth from ``label_field``: ``(B, C, H, W)``.

        The field is a ``PixelData`` holding one map: ``data`` (mmseg's name) or
        ``sem_seg`` (mmdet's, for the semantic map of a panoptic sample).
        """
        if not self.label_field:
            raise NotImplementedError(f'{type(self).__name__} names no label_field')
        missing = [i for i, s in enumerate(data_samples) if self.label_field not in s]
        if missing:
            raise ValueError(f'data samples {missing} have no {self.label_field!r}: load the '
                             f'annotations that {type(self).__name__} renders')
        return torch.stack([_the_map(getattr(s, self.label_field)) for s in data_samples])


def _the_map(pixel_data) -> torch.Tensor:
    for key in ('data', 'sem_seg'):
        if key in pixel_data:
            return pixel_data.get(key)
    raise ValueError(f'expected a PixelData with "data" or "sem_seg"; got keys '
                     f'{list(pixel_data.keys())}')
