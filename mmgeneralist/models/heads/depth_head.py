"""A DPT-style depth decoder for the multi-level features of a diffusion UNet.

The features of a diffusion UNet's decoder (four maps, highest resolution first) are fused
from the lowest resolution upwards as in DPT (Ranftl et al., ICCV 2021, Sec. 3,
"Convolutional decoder" and Fig. 1 right: residual conv units, bilinear 2x upsampling,
a 1x1 projection), and a small head brings the fused map to the input
resolution and turns it into a bounded depth, ``max_depth * sigmoid(x)``, as VPD's depth
head does (Zhao et al., Sec. 4.1, the head of SwinV2 [55]; mmseg's ``VPDDepthHead`` with
``max_depth=10`` for NYUv2), trained with the scale-invariant log loss (VPD, Sec. 3.4).

It is mmgeneralist's own head, an option: VPD's released depth network is mmseg's
``VPDDepthHead`` (``configs/vpd/vpd_sd15-vpdhead_*``), and GenPercept's released DPT head
(``genpercept/models/dpt_head.py``, on the up blocks' outputs *after* upsampling) is another
network; no released checkpoint loads into this one.

The head plugs into mmseg's ``DepthEstimator`` without inheriting mmseg's
``BaseDecodeHead``: it states the few attributes and methods the segmentor uses instead.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.dpt_head import PreActResidualConvUnit
from mmseg.models.utils import resize
from mmseg.registry import MODELS as MMSEG_MODELS
from torch import Tensor

from ...registry import register
from .utils import prediction_size

# ReLU that leaves its input alone: mmcv's ConvModule defaults to an in-place ReLU, which,
# placed first in a pre-activation unit, would rewrite the caller's tensor.
_RELU = dict(type='ReLU', inplace=False)


class _FusionBlock(nn.Module):
    """One DPT fusion step: ``x (+ RCU(skip)) -> RCU -> upsample -> 1x1 conv``.

    Unlike mmseg's ``FeatureFusionBlock`` (a fixed 2x upsampling, after which a skip of a
    different size is resized to fit), the upsampling goes straight to the next level's
    size, so maps of odd sizes (7 -> 13 instead of 7 -> 14) stay aligned.

    Args:
        channels: width of the maps.
        with_skip: whether the block takes a same-size skip map (all but the first block).
        norm_cfg: norm layer of the residual conv units; ``None`` as in DPT.
        align_corners: ``align_corners`` of the bilinear upsampling.
    """

    def __init__(self, channels: int, with_skip: bool, norm_cfg: dict | None,
                 align_corners: bool):
        super().__init__()
        self.align_corners = align_corners
        self.res_conv_skip = (PreActResidualConvUnit(channels, act_cfg=_RELU, norm_cfg=norm_cfg)
                              if with_skip else None)
        self.res_conv_out = PreActResidualConvUnit(channels, act_cfg=_RELU, norm_cfg=norm_cfg)
        self.project = ConvModule(channels, channels, kernel_size=1, act_cfg=None, bias=True)

    def forward(self, x: Tensor, skip: Tensor | None, size: tuple[int, int] | None) -> Tensor:
        """Fuse ``skip`` into ``x``, refine, upsample to ``size`` (2x when ``None``)."""
        if skip is not None:
            x = x + self.res_conv_skip(skip)
        x = self.res_conv_out(x)
        if size is None:
            x = resize(x, scale_factor=2, mode='bilinear', align_corners=self.align_corners)
        else:
            x = resize(x, size=size, mode='bilinear', align_corners=self.align_corners)
        return self.project(x)


@register('models')
class DiffusionDepthHead(BaseModule):
    """DPT-style fusion decoder predicting metric depth from multi-level features.

    Each level is projected to ``channels`` by a 1x1 conv; the levels are fused from the
    lowest resolution upwards by residual conv units and bilinear upsampling (DPT's
    fusion blocks), which leaves the fused map at half the stride of the first level;
    a 3x3 conv, a bilinear upsampling to stride 1, a 3x3 conv, a ReLU and a 1x1 conv give
    one channel, and ``max_depth * sigmoid`` makes it a positive, bounded depth.

    Attributes the segmentor reads (mmseg's ``EncoderDecoder._init_decode_head`` and
    ``DepthEstimator``), given here explicitly instead of through ``BaseDecodeHead``:

    - ``align_corners`` (bool): used by ``DepthEstimator.postprocess_result`` to resize
      the prediction to the original image shape.
    - ``num_classes`` (int): always 1 (one depth channel).
    - ``out_channels`` (int): always 1; ``slide_inference`` / ``slide_flip_inference``
      allocate their accumulation buffer with it.
    - ``forward(inputs)``: used by ``DepthEstimator._forward`` (``mode='tensor'``).
    - ``loss(inputs, batch_data_samples, train_cfg)``: used in training.
    - ``predict(inputs, batch_img_metas, test_cfg)``: used by ``encode_decode`` in
      ``whole``, ``slide`` and ``slide_flip`` inference.

    Args:
        in_channels: widths of the input maps, highest resolution first (e.g.
            ``(320 + K, 640 + K, 1280 + K, 1280)`` for Stable Diffusion with ``K``
            attention-map channels, or the neck's widths after an FPN).
        channels: width of the decoder.
        max_depth: the largest depth the head can output (10 m for NYUv2 in VPD).
        in_stride: stride of the first (highest-resolution) input map relative to the
            image; the output head upsamples by ``in_stride / 2`` after the fusion, so the
            last convs run at the image's resolution. 8 for a Stable-Diffusion UNet.
        align_corners: ``align_corners`` of every bilinear resize, including the one the
            segmentor does in ``postprocess_result``.
        loss_decode: an mmseg loss config, or a list of them whose values are summed per
            ``loss_name``; mmseg's ``SiLogLoss`` by default, which ignores pixels whose
            ground truth is not above its ``eps`` (missing depth is 0 in NYUv2).
        norm_cfg: norm layer of the projections and residual conv units (e.g.
            ``dict(type='SyncBN')``); ``None`` (no norm) as in DPT.
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: for an empty ``in_channels``, a non-positive width or depth, or an
            odd ``in_stride``.
    """

    num_classes: int = 1
    out_channels: int = 1

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 max_depth: float = 10.0,
                 in_stride: int = 8,
                 align_corners: bool = False,
                 loss_decode: dict | Sequence[dict] | None = None,
                 norm_cfg: dict | None = None,
                 init_cfg: dict | list[dict] | None = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int) or len(in_channels) == 0:
            raise ValueError('in_channels must be a non-empty sequence of widths, one per '
                             f'input level (highest resolution first); got {in_channels!r}')
        if any(int(c) <= 0 for c in in_channels) or channels <= 0:
            raise ValueError(f'widths must be positive; got in_channels={in_channels!r}, '
                             f'channels={channels}')
        if max_depth <= 0:
            raise ValueError(f'max_depth must be positive; got {max_depth}')
        if in_stride < 2 or in_stride % 2:
            raise ValueError('in_stride (the stride of the first input map) must be an even '
                             f'number >= 2; got {in_stride}')
        if loss_decode is None:
            loss_decode = dict(type='SiLogLoss')

        self.in_channels = tuple(int(c) for c in in_channels)
        self.channels = channels
        self.max_depth = float(max_depth)
        self.in_stride = in_stride
        self.align_corners = align_corners

        self.projections = nn.ModuleList(
            ConvModule(c, channels, kernel_size=1, norm_cfg=norm_cfg, act_cfg=None)
            for c in self.in_channels)
        # DPT: the first (lowest-resolution) block has no skip input.
        self.fusion_blocks = nn.ModuleList(
            _FusionBlock(channels, with_skip=i > 0, norm_cfg=norm_cfg,
                         align_corners=align_corners)
            for i in range(len(self.in_channels)))
        # DPT's monocular depth head (Sec. 3 / supplementary): conv, upsample, conv,
        # ReLU, 1x1 conv; here the upsampling goes from stride in_stride/2 to 1.
        mid = max(channels // 2, 1)
        self.conv_before_upsample = nn.Conv2d(channels, mid, kernel_size=3, padding=1)
        self.conv_after_upsample = ConvModule(mid, 32, kernel_size=3, padding=1,
                                              act_cfg=_RELU)
        self.conv_depth = nn.Conv2d(32, 1, kernel_size=1)

        self.loss_decode = self._build_losses(loss_decode)

    @staticmethod
    def _build_losses(loss_decode: dict | Sequence[dict]) -> nn.Module:
        if isinstance(loss_decode, dict):
            return MMSEG_MODELS.build(loss_decode)
        if isinstance(loss_decode, (list, tuple)):
            return nn.ModuleList(MMSEG_MODELS.build(cfg) for cfg in loss_decode)
        raise TypeError('loss_decode must be an mmseg loss config dict or a list of them; '
                        f'got {type(loss_decode).__name__}')

    def _check_inputs(self, inputs: Sequence[Tensor]) -> None:
        if isinstance(inputs, Tensor) or not isinstance(inputs, (list, tuple)):
            raise ValueError('DiffusionDepthHead takes a list or tuple of feature maps, one '
                             f'per level; got {type(inputs).__name__}')
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'DiffusionDepthHead got {len(inputs)} feature maps but was built '
                             f'for {len(self.in_channels)} (in_channels={self.in_channels}); '
                             "make in_channels match the backbone's (or neck's) outputs")
        got = tuple(x.shape[1] for x in inputs)
        if got != self.in_channels:
            raise ValueError(f'DiffusionDepthHead got feature maps with {got} channels but was '
                             f'built for in_channels={self.in_channels}')
        sizes = [tuple(x.shape[-2:]) for x in inputs]
        if any(b[0] > a[0] or b[1] > a[1] for a, b in zip(sizes, sizes[1:])):
            raise ValueError('DiffusionDepthHead expects the feature maps highest resolution '
                             f'first; got sizes {sizes}')

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Predict depth at the features' input resolution.

        Args:
            inputs: feature maps ``(N, in_channels[i], H_i, W_i)``, highest resolution
                first.

        Returns:
            Depth ``(N, 1, H, W)`` in ``(0, max_depth)``, with ``H = H_0 * in_stride``.

        Raises:
            ValueError: when the number, widths or order of the maps do not match.
        """
        self._check_inputs(inputs)
        feats = [proj(x) for proj, x in zip(self.projections, inputs)]
        # Fuse from the lowest resolution upwards; each block ends at the next level's size.
        out = None
        for i, block in enumerate(self.fusion_blocks):
            level = len(feats) - 1 - i
            size = tuple(feats[level - 1].shape[-2:]) if level > 0 else None
            if out is None:
                out = block(feats[level], None, size)
            else:
                out = block(out, feats[level], size)
        out = self.conv_before_upsample(out)
        out = resize(out, scale_factor=self.in_stride // 2, mode='bilinear',
                     align_corners=self.align_corners)
        out = self.conv_depth(self.conv_after_upsample(out))
        return self.max_depth * torch.sigmoid(out)

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: Sequence,
             train_cfg: dict | None) -> dict[str, Tensor]:
        """Loss of the prediction against ``data_sample.gt_depth_map``.

        Args:
            inputs: feature maps, highest resolution first.
            batch_data_samples: mmseg ``SegDataSample`` s with ``gt_depth_map`` (a
                ``PixelData`` of shape ``(1, H, W)``, as ``PackSegInputs`` produces).
            train_cfg: unused; part of the segmentor's calling convention.

        Returns:
            ``{loss_name: loss}`` for each configured loss (e.g. ``loss_silog``); the
            prediction is resized to the ground truth's size first.
        """
        del train_cfg
        pred = self.forward(inputs)
        gt = torch.stack([s.gt_depth_map.data for s in batch_data_samples]).to(pred)
        pred = resize(pred, size=gt.shape[-2:], mode='bilinear',
                      align_corners=self.align_corners)
        losses_decode = (self.loss_decode if isinstance(self.loss_decode, nn.ModuleList)
                         else [self.loss_decode])
        losses: dict[str, Tensor] = {}
        for loss_fn in losses_decode:
            value = loss_fn(pred, gt)
            losses[loss_fn.loss_name] = losses.get(loss_fn.loss_name, 0) + value
        return losses

    def predict(self, inputs: Sequence[Tensor], batch_img_metas: list[dict],
                test_cfg: dict | None) -> Tensor:
        """Depth resized to the size of the segmentor's input tensor.

        The target size follows mmseg's ``BaseDecodeHead.predict_by_feat``: the crop's
        ``img_shape`` in slide inference (where the segmentor writes a ``torch.Size``
        there), else the batch's ``pad_shape``, else ``img_shape``; the segmentor's
        ``postprocess_result`` then removes the padding and resizes to ``ori_shape``.

        Args:
            inputs: feature maps, highest resolution first.
            batch_img_metas: the images' meta information.
            test_cfg: unused; part of the segmentor's calling convention.

        Returns:
            Depth ``(N, 1, H, W)`` in ``(0, max_depth)``.
        """
        del test_cfg
        return resize(self.forward(inputs), size=prediction_size(batch_img_metas),
                      mode='bilinear', align_corners=self.align_corners)
