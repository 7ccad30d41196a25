"""Affine-invariant depth evaluation, as GenPercept (and Marigold, MiDaS) report it.

GenPercept predicts affine-invariant depth: "The estimated depth is formulated as
affine-invariant depth, and should be recovered by performing least square regression
with the ground truth ... We compute the absolute relative error (AbsRel) and percentage
of accurate valid depth pixels (delta1). Invalid regions are filtered out and the metrics
are averaged on all images." (Xu et al., Sec. 3.1, "Monocular Depth Estimation").
mmseg's ``DepthMetric`` compares metric depth as is, so it cannot score such a model; this
metric fits a scale and a shift per image first and reads the same data-sample fields.

The text names only the least-squares fit. GenPercept's released evaluation (``eval.py`` and
``src/util/alignment.py`` of aim-uofa/GenPercept, which follow Marigold's) does two more
things, and produced the published numbers, so they are the defaults here:

- it clips the aligned depth to the data set's depth range, the same ``min_depth`` and
  ``max_depth`` that bound its valid ground truth (``eval.py``, "Clip to dataset min max";
  ``src/dataset/nyu_dataset.py``: [1e-3, 10] for NYUv2), and then to at least 1e-6 ("clip to
  d > 0 for evaluation"): ``clip_range='eval_range'`` and ``min_pred_depth=1e-6``;
- for models that predict disparity (``--alignment least_square_disparity``, the
  ``script/eval_sd21/eval_ensemble1_step10_disparity/`` scripts) it fits the scale and shift
  to the ground truth's inverse, on the pixels where the prediction is positive, clips the
  aligned disparity to at least 1e-3 and inverts it: ``alignment='least_squares_disparity'``.

``clip_range=None`` is the text's reading (Sec. 3.1: least squares only).
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
    max_depth_eval`` (the same strict bounds as mmseg's ``DepthMetric`` and as the valid
    mask of GenPercept's released evaluation), inside the NYU crop when
    ``crop_type='nyu_crop'``. On them, in float64:

    1. alignment: with ``'least_squares'``, ``s`` and ``t`` minimising
       ``||s * pred + t - gt||^2``, and ``pred <- s * pred + t``; with
       ``'least_squares_disparity'`` (a prediction of disparity), ``s`` and ``t`` minimising
       ``||s * pred + t - 1 / gt||^2`` over the pixels where ``pred > 0``, and
       ``pred <- 1 / max(s * pred + t, 1e-3)`` at every valid pixel; with ``'none'``, as is;
    2. the result is clipped to ``clip_range`` (by default the valid range
       ``[min_depth_eval, max_depth_eval]``), then to at least ``min_pred_depth``;
    3. ``abs_rel`` = mean(|pred - gt| / gt), ``delta1`` = mean(max(pred / gt, gt / pred)
       < 1.25) and ``rmse`` = sqrt(mean((pred - gt)^2)) are computed.

    Each metric is then averaged over the images (GenPercept, Sec. 3.1: "the
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
        alignment: ``'least_squares'`` (scale and shift, for affine-invariant depth),
            ``'least_squares_disparity'`` (scale and shift in disparity space, for models
            that predict affine-invariant disparity; the released ``eval.py``'s
            ``least_square_disparity``) or ``'none'`` (compare the prediction as is, for
            metric-depth models).
        clip_range: where the aligned depth is clipped to. ``'eval_range'`` (default, as
            the released ``eval.py`` clips to the data set's ``min_depth`` / ``max_depth``,
            which also bound its valid ground truth): ``[min_depth_eval,
            max_depth_eval]``; a pair ``(low, high)``; or ``None``, no clipping (the text's
            reading, Sec. 3.1).
        min_pred_depth: after ``clip_range``, the prediction is clamped to at least this
            (the released ``eval.py``'s last clip, 1e-6), so that the ratios stay finite
            where the fit goes to zero or below, also with ``clip_range=None`` or a lower
            bound of 0. It is a no-op where ``clip_range``'s lower bound is larger.
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: prefix of the metric names; ``None`` for none.

    Raises:
        ValueError: for an unknown ``alignment`` or ``crop_type``, a non-positive
            ``min_pred_depth``, or a ``clip_range`` that is not ``'eval_range'``, ``None``
            or a pair ``low < high`` with ``high > min_pred_depth``.
    """

    METRICS = ('abs_rel', 'delta1', 'rmse')
    ALIGNMENTS = ('least_squares', 'least_squares_disparity', 'none')
    # The released eval.py clips the aligned disparity to at least this before inverting it
    # ("avoid 0 disparity"), so the depth stays at most 1000 before clip_range.
    MIN_ALIGNED_DISPARITY = 1e-3

    def __init__(self,
                 min_depth_eval: float = 0.0,
                 max_depth_eval: float = float('inf'),
                 crop_type: str | None = None,
                 alignment: str = 'least_squares',
                 clip_range: str | tuple[float, float] | None = 'eval_range',
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
        if clip_range == 'eval_range':
            self.clip_bounds = (float(min_depth_eval), float(max_depth_eval))
        elif clip_range is None:
            self.clip_bounds = None
        elif isinstance(clip_range, str) or len(clip_range) != 2:
            raise ValueError("clip_range must be 'eval_range', None or a pair (low, high); "
                             f'got {clip_range!r}')
        else:
            self.clip_bounds = (float(clip_range[0]), float(clip_range[1]))
        if self.clip_bounds is not None:
            low, high = self.clip_bounds
            # Both clamps act in this order (clip_range, then min_pred_depth), as in the
            # released eval.py; an upper bound at or below min_pred_depth would make the
            # second undo the first.
            if not (low < high and high > min_pred_depth):
                raise ValueError(f'clip_range {self.clip_bounds} (from {clip_range!r}) needs '
                                 f'low < high and high > min_pred_depth ({min_pred_depth})')
        self.clip_range = clip_range

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
        elif self.alignment == 'least_squares_disparity':
            pred = self._align_disparity(pred, gt)
        if self.clip_bounds is not None:
            pred = pred.clamp(*self.clip_bounds)
        pred = pred.clamp(min=self.min_pred_depth)
        diff = pred - gt
        ratio = torch.maximum(pred / gt, gt / pred)
        return dict(
            abs_rel=(diff.abs() / gt).mean().item(),
            delta1=(ratio < 1.25).double().mean().item(),
            rmse=diff.pow(2).mean().sqrt().item())

    def _align_disparity(self, pred: Tensor, gt: Tensor) -> Tensor:
        """Depth from a disparity prediction: fit ``s * pred + t`` to ``1 / gt`` on the
        pixels where both are positive, clip to at least ``MIN_ALIGNED_DISPARITY``, invert
        (the released ``eval.py``, ``least_square_disparity``). Pixels with ``pred <= 0``
        are left out of the fit but keep their aligned value, and are scored."""
        fit = (pred > 0) & (gt > 0)
        if bool(fit.any()):
            scale, shift = fit_scale_shift(pred[fit], 1.0 / gt[fit])
        else:  # numpy's lstsq on no rows, as released: zero scale and shift
            scale = shift = torch.zeros((), dtype=pred.dtype, device=pred.device)
        disparity = (scale * pred + shift).clamp(min=self.MIN_ALIGNED_DISPARITY)
        return 1.0 / disparity

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
        print_log(f'affine-invariant depth ({self.alignment} alignment, clipped to '
                  f'{self.clip_bounds}, {len(results)} images):', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics
