"""OpenMMLab visualizers that draw readable test pictures (``tools/test.py --show-dir``).

mmseg's ``SegLocalVisualizer`` draws ground truth | prediction at the image's own size with
class names in small boxes; on 64-px images that cannot be read, and mmdet's
``DetLocalVisualizer`` fails on referring samples, which have no class labels. These two keep
the codebases' hooks (``SegVisualizationHook``, ``DetVisualizationHook``) and backends and
change only what one sample looks like, with :mod:`.drawing`:

* :class:`ReadableSegVisualizer`: input | ground truth | prediction, enlarged, with a legend
  of the classes present (segmentation), or on one colour scale with a bar in metres
  (depth);
* :class:`ReferringVisualizer`: for each expression of the image, the expression above
  input | true mask | predicted mask.

Samples of other kinds (e.g. an edited image, boxes) are drawn by the base class as before.
"""
from __future__ import annotations

import cv2
import numpy as np
from mmdet.visualization import DetLocalVisualizer
from mmengine.registry import VISUALIZERS
from mmseg.visualization import SegLocalVisualizer

from .drawing import _caption_above, draw_depth, draw_mask, draw_segmentation

#: expressions of one image drawn by :class:`ReferringVisualizer` (the rest are counted)
MAX_EXPRESSIONS = 6


def _fit(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``array`` (H, W) at ``shape``, nearest neighbour when the sizes differ."""
    if array.shape[:2] == tuple(shape):
        return array
    return cv2.resize(array, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _array(masks) -> np.ndarray:
    """Masks (a tensor, mmdet's ``BitmapMasks`` / ``PolygonMasks`` or an array) as numpy."""
    if hasattr(masks, 'to_ndarray'):
        return masks.to_ndarray()
    return masks.detach().cpu().numpy() if hasattr(masks, 'detach') else np.asarray(masks)


def _numpy(data) -> np.ndarray:
    data = data.detach().cpu().numpy() if hasattr(data, 'detach') else np.asarray(data)
    return data[0] if data.ndim == 3 and data.shape[0] == 1 else data


def _emit(visualizer, name: str, drawn: np.ndarray, show: bool, wait_time: float,
          out_file: str | None, step: int) -> None:
    """Show, write or hand ``drawn`` (RGB) to the backends, as the base classes do."""
    if show:
        visualizer.show(drawn, win_name=name, wait_time=wait_time)
    if out_file is not None:
        import mmcv
        mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
    else:
        visualizer.add_image(name, drawn, step)


@VISUALIZERS.register_module()
class ReadableSegVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer``, drawing input | ground truth | prediction readably."""

    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, step=0, with_labels=True):
        fields = data_sample.keys() if data_sample is not None else ()
        if 'pred_sem_seg' in fields and draw_pred:
            meta = self.dataset_meta or {}
            labels = _numpy(data_sample.pred_sem_seg.data)
            gt = (_fit(_numpy(data_sample.gt_sem_seg.data), labels.shape)
                  if draw_gt and 'gt_sem_seg' in fields else None)
            drawn = draw_segmentation(_fit(image, labels.shape), labels, meta.get('classes'),
                                      meta.get('palette'), ground_truth=gt)
        elif 'pred_depth_map' in fields and draw_pred:
            depth = _numpy(data_sample.pred_depth_map.data).astype(np.float32)
            gt = (_fit(_numpy(data_sample.gt_depth_map.data).astype(np.float32), depth.shape)
                  if draw_gt and 'gt_depth_map' in fields else None)
            drawn = draw_depth(_fit(image, depth.shape), depth, ground_truth=gt)
        else:
            return super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                          wait_time, out_file, step, with_labels)
        _emit(self, name, drawn, show, wait_time, out_file, step)


@VISUALIZERS.register_module()
class ReferringVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` that draws referring samples: each expression above
    input | true mask | predicted mask (at most :data:`MAX_EXPRESSIONS` per image)."""

    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, pred_score_thr=0.3, step=0):
        texts = data_sample.metainfo.get('text') if data_sample is not None else None
        preds = data_sample.get('pred_instances') if data_sample is not None else None
        if not texts or preds is None or 'masks' not in preds:
            return super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                          wait_time, out_file, pred_score_thr, step)
        texts = [texts] if isinstance(texts, str) else list(texts)
        masks = _array(preds.masks)
        masks = masks.reshape(-1, *masks.shape[-2:])
        gt_masks = data_sample.metainfo.get('gt_masks') if draw_gt else None
        if gt_masks is not None:
            gt_masks = _array(gt_masks)
        rows = []
        for i, text in enumerate(texts[:min(MAX_EXPRESSIONS, len(masks))]):
            gt = (_fit(gt_masks[i].astype(np.uint8), masks.shape[-2:])
                  if gt_masks is not None and len(gt_masks) > i else None)
            rows.append(draw_mask(_fit(image, masks.shape[-2:]), masks[i], text,
                                  ground_truth=gt))
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                for r in rows]
        drawn = np.concatenate(rows, 0)
        if len(texts) > MAX_EXPRESSIONS:
            drawn = _caption_above(drawn, f'(and {len(texts) - MAX_EXPRESSIONS} more '
                                   'expressions, not drawn)')
        _emit(self, name, drawn, show, wait_time, out_file, step)
