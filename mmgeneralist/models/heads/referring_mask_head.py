"""LAVT's simple convolutional decoder for referring image segmentation.

VPD's referring segmentation head (Zhao et al., ICCV 2023, Sec. 4, "Referring Image
Segmentation": "we follow LAVT [56] which uses a simple convolution head to fuse the
features and generate the semantic prediction") is LAVT's ``SimpleDecoding`` (Yang et al.,
CVPR 2022, Sec. 3.4): starting from the lowest-resolution map, each step upsamples the
running map to the next level's size, concatenates that level, and applies two
3x3 conv-BN-ReLU layers; a 1x1 conv gives two-class logits (background, referred object) at
the stride of the highest-resolution level. The loss is the two-class cross-entropy at
the input resolution (VPD, Sec. 3.4).

Like every mmdet and mmseg head, it owns its targets and its post-processing:
``loss(feats, data_samples)`` and ``predict(feats, data_samples)`` take one data sample per
feature map in the batch, here one per (image, expression) pair, carrying that
expression's mask in ``gt_instances.masks`` (one mask) and the image's ``img_shape``,
``batch_input_shape`` and ``ori_shape``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from ...registry import register


@register('models')
class ReferringMaskHead(BaseModule):
    """Top-down fusion of multi-level features into a two-class referred-object mask.

    Args:
        in_channels: widths of the input maps, highest resolution first, e.g. VPD's
            ``(320, 640 + 40, 1280 + 40, 1280)`` for SD-1.5 with 40-token attention maps at
            the two middle levels (or the neck's widths after an FPN).
        channels: width of the fusion convs; ``None``: half the lowest-resolution width,
            as LAVT's ``hidden_size = c4_dims // 2``.
        norm_cfg: norm layer of the fusion convs; ``None``: ``dict(type='BN')`` as in LAVT
            (use ``SyncBN`` on several GPUs, ``GN`` for small batches).
        act_cfg: activation of the fusion convs; ``None``: ReLU.
        class_weight: cross-entropy weights of (background, object); ``None`` for none.
            LAVT's training code uses ``(0.9, 1.1)``.
        loss_weight: factor on the loss.
        ignore_index: target value that is left out of the loss (the padding).
        align_corners: ``align_corners`` of every bilinear resize.
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: for empty ``in_channels``, a non-positive width, or a ``class_weight``
            that does not have two entries.
    """

    #: background and the referred object
    num_classes: int = 2

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int | None = None,
                 norm_cfg: dict | None = None,
                 act_cfg: dict | None = None,
                 class_weight: Sequence[float] | None = None,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 align_corners: bool = False,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg=init_cfg)
        in_channels = [int(c) for c in in_channels]
        if not in_channels or min(in_channels) <= 0:
            raise ValueError(f'in_channels={in_channels}: give the positive width of each '
                             'input map, highest resolution first')
        if channels is None:
            channels = max(in_channels[-1] // 2, 1)
        if channels <= 0:
            raise ValueError(f'channels={channels} must be positive')
        if class_weight is not None and len(class_weight) != self.num_classes:
            raise ValueError(f'class_weight={list(class_weight)} needs two entries: '
                             '(background, object)')
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        act_cfg = dict(type='ReLU') if act_cfg is None else act_cfg
        self.in_channels = tuple(in_channels)
        self.channels = channels
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)
        self.align_corners = align_corners
        self.register_buffer(
            'class_weight',
            torch.tensor(class_weight, dtype=torch.float32) if class_weight is not None else None,
            persistent=False)

        def conv(cin: int) -> nn.Sequential:
            return nn.Sequential(
                ConvModule(cin, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                           act_cfg=act_cfg))

        # fuse[k] joins the running map with level L-2-k (lowest resolution first)
        self.fuse = nn.ModuleList()
        width = in_channels[-1]
        for level in range(len(in_channels) - 2, -1, -1):
            self.fuse.append(conv(width + in_channels[level]))
            width = channels
        self.conv_seg = nn.Conv2d(width, self.num_classes, kernel_size=1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Two-class logits ``(B, 2, h, w)`` at the size of the first (finest) map.

        Args:
            feats: one map per entry of ``in_channels``, highest resolution first.
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps '
                             f'(in_channels={self.in_channels}), got {len(feats)}')
        x = feats[-1]
        for block, skip in zip(self.fuse, reversed(feats[:-1])):
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                                  align_corners=self.align_corners)
            x = block(torch.cat([x, skip], dim=1))
        return self.conv_seg(x)

    def resize_logits(self, logits: Tensor, size: Sequence[int]) -> Tensor:
        """Bilinearly resize logits to ``size`` (e.g. the padded input size)."""
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=tuple(size), mode='bilinear',
                             align_corners=self.align_corners)

    @staticmethod
    def _input_size(sample) -> tuple[int, int]:
        """The padded batch size the features were computed at."""
        for key in ('batch_input_shape', 'pad_shape', 'img_shape'):
            if key in sample:
                return tuple(int(v) for v in sample.metainfo[key][:2])
        raise ValueError('data sample without img_shape')

    def targets(self, data_samples: Sequence, device: torch.device) -> Tensor:
        """``(N, H, W)`` targets on the padded canvas: 1 object, 0 background, the padding
        ``ignore_index``; from each sample's single mask in ``gt_instances.masks``."""
        out = []
        for sample in data_samples:
            gt = sample.get('gt_instances')
            masks = gt.get('masks') if gt is not None else None
            if masks is None or len(masks) != 1:
                raise ValueError(
                    f'data sample {sample.metainfo.get("img_path", "")!r} carries '
                    f'{0 if masks is None else len(masks)} masks; the referring head takes '
                    'one (the expression\'s) per sample')
            h, w = sample.metainfo['img_shape'][:2]
            mask = masks.to_tensor(dtype=torch.long, device=device)[0]
            # img_shape, or padded by the data preprocessor (pad_mask=True)
            allowed = {(h, w)} | {tuple(sample.metainfo[k][:2])
                                  for k in ('pad_shape', 'batch_input_shape') if k in sample}
            if tuple(mask.shape) not in allowed:
                raise ValueError(f'gt mask of shape {tuple(mask.shape)} for an image of shape '
                                 f'{(h, w)}: load the annotations before Resize in the '
                                 'training pipeline so that the masks are resized with the '
                                 'image')
            target = torch.full(self._input_size(sample), self.ignore_index, dtype=torch.long,
                                device=device)
            target[:h, :w] = mask[:h, :w]
            out.append(target)
        return torch.stack(out)

    def loss(self, feats: Sequence[Tensor], data_samples: Sequence) -> dict[str, Tensor]:
        """Two-class cross-entropy of the logits upsampled to the padded input size.

        Args:
            feats: the input maps, as for :meth:`forward`, one batch entry per sample.
            data_samples: one per batch entry, each with its expression's mask (see
                :meth:`targets`).

        Returns:
            ``loss_mask``, and ``mask_iou`` (the batch's overall IoU, for the logs only).
        """
        logits = self.forward(feats)
        targets = self.targets(data_samples, logits.device)
        logits = self.resize_logits(logits, targets.shape[-2:])
        loss = F.cross_entropy(logits, targets, weight=self.class_weight,
                               ignore_index=self.ignore_index)
        with torch.no_grad():
            valid = targets != self.ignore_index
            pred = (logits.argmax(1) == 1) & valid
            gt = (targets == 1) & valid
            iou = (pred & gt).sum() / (pred | gt).sum().clamp(min=1)
        return dict(loss_mask=self.loss_weight * loss, mask_iou=iou)

    def predict(self, feats: Sequence[Tensor], data_samples: Sequence,
                rescale: bool = True) -> list[InstanceData]:
        """One mask per sample, at the original image size.

        The logits are upsampled to the padded input size, cropped to the image
        (``img_shape``) and, with ``rescale``, resized to ``ori_shape`` before the argmax,
        so the masks line up with the original image and mmdet's ``gt_masks``.

        Returns:
            One ``InstanceData`` per sample: ``masks`` (bool, ``(1, H, W)``) and ``scores``
            (the highest object probability of the mask, ``(1, )``).
        """
        logits = self.forward(feats)
        out = []
        for logit, sample in zip(logits, data_samples):
            h, w = sample.metainfo['img_shape'][:2]
            own = self.resize_logits(logit[None], self._input_size(sample))[..., :h, :w]
            if rescale:
                own = F.interpolate(own, size=tuple(sample.metainfo['ori_shape'][:2]),
                                    mode='bilinear', align_corners=self.align_corners)
            prob = own.softmax(1)[:, 1]
            out.append(InstanceData(masks=prob > 0.5,  # the argmax of the two classes
                                    scores=prob.flatten(1).amax(1)))
        return out
