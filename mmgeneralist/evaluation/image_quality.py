"""PSNR and SSIM of restored images, for the restoration task of a pixel-space generalist.

Both come from torchmetrics' functional API, computed per image and then averaged over the
images (the usual way restoration papers report them):

- PSNR: ``peak_signal_noise_ratio(pred, gt, data_range=255)`` =
  ``10 * log10(255^2 / MSE)``, the MSE over all pixels and the three channels (in float64;
  torchmetrics converts the log base with a float32 ``log(10)``, about 1e-8 relative). An image
  identical to its target has MSE 0 and PSNR ``inf`` (torchmetrics' value, kept as is, not
  clamped); the mean over the images is then ``inf`` too, and a warning says how many
  images were exact.
- SSIM: ``structural_similarity_index_measure(pred, gt, data_range=255)`` with torchmetrics'
  defaults: a Gaussian window of 11x11 pixels with sigma 1.5, k1 = 0.01, k2 = 0.03,
  reflection padding at the borders, computed per channel on the RGB image and averaged
  over the channels and pixels.
"""
from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ..registry import register

#: SSIM's Gaussian window (torchmetrics' defaults); an image must be at least this large.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


@register('metrics')
class ImageQualityMetric(BaseMetric):
    """PSNR (dB) and SSIM between predicted and ground-truth images (see the module doc).

    It reads ``data_sample['pred_image']['data']`` and ``data_sample['gt_image']['data']``,
    each a ``(3, H, W)`` RGB tensor with values in 0..255 (uint8 or float; the ground truth
    as :class:`~mmgeneralist.datasets.PackRestorationInputs` packs it). The prediction is
    clamped to 0..255, as it would be when saved as an 8-bit image, but not rounded. Both
    are compared in float64 at the ground truth's size: a prediction of another size is an
    error (the model must predict at the target's size), not resized here.

    Args:
        crop_border: pixels removed from each border of both images before the metrics
            (0: none), as restoration benchmarks often do.
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: prefix of the metric names; ``None`` for none.

    Raises:
        ValueError: a negative ``crop_border``; (in :meth:`process`) images that are not
            ``(C, H, W)``, differ in shape, or are smaller than the 11x11 SSIM window after
            the crop.
    """

    METRICS = ('PSNR', 'SSIM')

    def __init__(self,
                 crop_border: int = 0,
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(crop_border, int) or crop_border < 0:
            raise ValueError(f'crop_border must be a non-negative int; got {crop_border!r}')
        self.crop_border = crop_border

    def image_metrics(self, pred: Tensor, gt: Tensor, name: str = 'image') -> dict[str, float]:
        """PSNR and SSIM of one image.

        Args:
            pred: predicted ``(C, H, W)`` image, values in 0..255 (clamped to it).
            gt: ground-truth image of the same shape.
            name: how the image is named in errors (its file).

        Raises:
            ValueError: see the class docstring.
        """
        if pred.ndim != 3 or gt.ndim != 3:
            raise ValueError(f'{name}: pred_image and gt_image must be (C, H, W) images; got '
                             f'shapes {tuple(pred.shape)} and {tuple(gt.shape)}')
        if pred.shape != gt.shape:
            raise ValueError(f'{name}: pred_image {tuple(pred.shape)} and gt_image '
                             f'{tuple(gt.shape)} differ in shape (C, H, W); the model must '
                             "predict at the ground truth's size")
        c = self.crop_border
        if c:
            pred, gt = pred[:, c:-c, c:-c], gt[:, c:-c, c:-c]
        if min(gt.shape[1:]) < SSIM_WINDOW:
            raise ValueError(f'{name}: the image is {gt.shape[2]}x{gt.shape[1]} after '
                             f'crop_border={c}, smaller than the {SSIM_WINDOW}x{SSIM_WINDOW} '
                             'SSIM window')
        pred = pred.double().clamp(0, 255)[None]
        gt = gt.to(pred.device).double()[None]
        psnr = peak_signal_noise_ratio(pred, gt, data_range=255.0)
        ssim = structural_similarity_index_measure(
            pred, gt, gaussian_kernel=True, sigma=SSIM_SIGMA, kernel_size=SSIM_WINDOW,
            data_range=255.0)
        return dict(PSNR=psnr.item(), SSIM=ssim.item())

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Compute the per-image metrics of a batch into ``self.results``.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples: the model's outputs, as dicts with ``pred_image`` and ``gt_image``
                (each a dict with ``data`` of shape ``(3, H, W)``).
        """
        for data_sample in data_samples:
            for key in ('pred_image', 'gt_image'):
                if key not in data_sample:
                    raise KeyError(f'ImageQualityMetric needs {key!r} in each data sample; '
                                   f'got keys {sorted(data_sample)}')
            name = data_sample.get('gt_img_path') or data_sample.get('img_path') or 'image'
            self.results.append(self.image_metrics(
                data_sample['pred_image']['data'], data_sample['gt_image']['data'], name))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Average the per-image metrics over the images.

        Args:
            results: per-image metric dicts from :meth:`process` (all ranks).

        Returns:
            ``PSNR`` and ``SSIM`` averaged over the images (NaN without images; PSNR ``inf``
            when an image equals its target).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if not results:
            print_log('ImageQualityMetric: no image to evaluate', logger=logger,
                      level=logging.WARNING)
            return OrderedDict((k, math.nan) for k in self.METRICS)
        exact = sum(math.isinf(r['PSNR']) for r in results)
        if exact:
            print_log(f'ImageQualityMetric: {exact} of {len(results)} predictions equal their '
                      'target exactly (PSNR inf), so the mean PSNR is inf', logger=logger,
                      level=logging.WARNING)
        metrics = OrderedDict(
            (k, sum(r[k] for r in results) / len(results)) for k in self.METRICS)
        print_log(f'image quality over {len(results)} images (crop_border={self.crop_border}): '
                  f'PSNR {metrics["PSNR"]:.3f} dB, SSIM {metrics["SSIM"]:.4f}', logger=logger)
        return metrics
