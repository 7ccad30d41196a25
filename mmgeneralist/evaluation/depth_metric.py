"""Affine-invariant depth evaluation, as GenPercept (and Marigold, MiDaS) report it.

GenPercept predicts affine-invariant depth: "The estimated depth is formulated as
affine-invariant depth, and should be recovered by performing least square regression
with the ground truth ... We compute the absolute relative error (AbsRel) and percentage
of accurate valid depth pixels (delta1). Invalid regions are filtered out and the metrics
are averaged on all images." (Xu et al., Sec. 3.1, "Monocular Depth Estimation").
mmseg's ``DepthMetric`` compares metric depth as is, so it cannot score such a model; this
metric fits a scale and a shift per image first and reads the same data-sample fields.
"""
from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable
from torch import Tensor

from ..registry import register


def fit_scale_shift(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """Least-squares ``s, t`` minimising ``||s * pred + t - gt||^2`` (closed form).

    Args:
        pred: 1-D predictions at the valid pixels (float64 recommended).
        gt: 1-D ground truth at the same pixels.

    Returns:
        ``(s, t)`` as 0-d tensors. A constant prediction gets ``s = 0`` and
        ``t = mean(gt)``, the least-squares solution of smallest norm.
    """
    pred_mean, gt_mean = pred.mean(), gt.mean()
    pred_c = pred - pred_mean
    var = (pred_c * pred_c).sum()
    if var <= 0:
        scale = torch.zeros_like(var)
    else:
        scale = (pred_c * (gt - gt_mean)).sum() / var
    return scale, gt_mean - scale * pred_mean


@register('metrics')
class AffineInvariantDepthMetric(BaseMetric):
    """AbsRel, delta1 and RMSE after a per-image least-squares scale-and-shift alignment.

    For each image, the valid pixels are those with ``min_depth_eval < gt <
    max_depth_eval`` (the same strict bounds as mmseg's ``DepthMetric``), inside the NYU
    crop when ``crop_type='nyu_crop'``. On them, ``s`` and ``t`` minimising
    ``||s * pred + t - gt||^2`` are fitted in float64, the aligned prediction is clamped
    to ``min_pred_depth``, and

    - ``abs_rel`` = mean(|pred - gt| / gt),
    - ``delta1`` = mean(max(pred / gt, gt / pred) < 1.25),
    - ``rmse`` = sqrt(mean((pred - gt)^2))

    are computed; each is then averaged over the images (GenPercept, Sec. 3.1: "the
    metrics are averaged on all images"). Images without a valid pixel are skipped.

    It reads ``data_sample['pred_depth_map']['data']`` and
    ``data_sample['gt_depth_map']['data']`` as mmseg's ``DepthMetric`` does, so it can
    replace that metric in a depth config's ``val_evaluator`` / ``test_evaluator``.

    Args:
        min_depth_eval: ground truth at or below this is invalid (0 marks missing
            depth in NYUv2 and KITTI).
        max_depth_eval: ground truth at or above this is invalid.
        crop_type: ``'nyu_crop'`` (Eigen's crop, as in mmseg's ``DepthMetric``) or
            ``None``.
        alignment: ``'least_squares'`` (scale and shift, for affine-invariant models) or
            ``'none'`` (compare the prediction as is, for metric-depth models).
        min_pred_depth: the aligned prediction is clamped to at least this, so that the
            ratios stay finite where the fit goes to zero or below.
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: prefix of the metric names; ``None`` for none.

    Raises:
        ValueError: for an unknown ``alignment`` or ``crop_type``, or a non-positive
            ``min_pred_depth``.
    """

    METRICS = ('abs_rel', 'delta1', 'rmse')
    ALIGNMENTS = ('least_squares', 'none')

    def __init__(self,
                 min_depth_eval: float = 0.0,
                 max_depth_eval: float = float('inf'),
                 crop_type: str | None = None,
                 alignment: str = 'least_squares',
                 min_pred_depth: float = 1e-6,
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if alignment not in self.ALIGNMENTS:
            raise ValueError(f'alignment must be one of {self.ALIGNMENTS}; got {alignment!r}')
        if crop_type not in (None, 'nyu_crop'):
            raise ValueError(f"crop_type must be None or 'nyu_crop'; got {crop_type!r}")
        if not min_pred_depth > 0:
            raise ValueError(f'min_pred_depth must be positive; got {min_pred_depth}')
        self.min_depth_eval = min_depth_eval
        self.max_depth_eval = max_depth_eval
        self.crop_type = crop_type
        self.alignment = alignment
        self.min_pred_depth = min_pred_depth

    def _eval_mask(self, gt: Tensor) -> Tensor:
        mask = (gt > self.min_depth_eval) & (gt < self.max_depth_eval)
        if self.crop_type == 'nyu_crop':
            # Eigen's NYUv2 crop, the same rows and columns as mmseg's DepthMetric.
            crop = torch.zeros_like(mask)
            crop[45:471, 41:601] = True
            mask &= crop
        return mask

    def image_metrics(self, pred: Tensor, gt: Tensor) -> dict[str, float] | None:
        """The metrics of one image, or ``None`` when it has no valid pixel.

        Args:
            pred: predicted depth ``(H, W)`` (or any shape matching ``gt``).
            gt: ground-truth depth of the same shape.

        Raises:
            ValueError: when the shapes differ.
        """
        if pred.shape != gt.shape:
            raise ValueError(f'pred_depth_map {tuple(pred.shape)} and gt_depth_map '
                             f'{tuple(gt.shape)} differ in shape; the segmentor should '
                             'resize the prediction to the original image size')
        mask = self._eval_mask(gt)
        if not bool(mask.any()):
            return None
        # float64 for the fit: the normal equations sum squares of up to ~10^6 pixels.
        pred = pred[mask].double()
        gt = gt[mask].double()
        if self.alignment == 'least_squares':
            scale, shift = fit_scale_shift(pred, gt)
            pred = scale * pred + shift
        pred = pred.clamp(min=self.min_pred_depth)
        diff = pred - gt
        ratio = torch.maximum(pred / gt, gt / pred)
        return dict(
            abs_rel=(diff.abs() / gt).mean().item(),
            delta1=(ratio < 1.25).double().mean().item(),
            rmse=diff.pow(2).mean().sqrt().item())

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Compute the per-image metrics of a batch into ``self.results``.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples: the model's outputs, as dicts with ``pred_depth_map`` and
                ``gt_depth_map`` (each a dict with ``data`` of shape ``(1, H, W)``).
        """
        for data_sample in data_samples:
            pred = data_sample['pred_depth_map']['data'].squeeze()
            gt = data_sample['gt_depth_map']['data'].squeeze().to(pred.device)
            metrics = self.image_metrics(pred, gt)
            if metrics is not None:
                self.results.append(metrics)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Average the per-image metrics and log them as a table.

        Args:
            results: per-image metric dicts from :meth:`process` (all ranks).

        Returns:
            ``abs_rel``, ``delta1`` and ``rmse`` averaged over the images; NaN if no image
            had a valid pixel.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if not results:
            print_log('AffineInvariantDepthMetric: no image had a valid ground-truth pixel',
                      logger=logger, level=logging.WARNING)
            return OrderedDict((k, math.nan) for k in self.METRICS)
        metrics = OrderedDict(
            (k, sum(r[k] for r in results) / len(results)) for k in self.METRICS)
        table = PrettyTable()
        for key, val in metrics.items():
            table.add_column(key, [round(val, 5)])
        print_log(f'affine-invariant depth ({self.alignment} alignment, '
                  f'{len(results)} images):', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics
