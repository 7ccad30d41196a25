"""Check that a COCO-panoptic PNG and its JSON ``segments_info`` describe the same segments.

mmdet's ``LoadPanopticAnnotations`` trusts the two to agree. When they do not, it says
nothing: pixels whose id the JSON lacks become ``255`` (ignore) in ``gt_seg_map`` and are
missing from ``gt_masks``, and a JSON segment without pixels becomes an empty mask (a thing
with a box but no pixel). :class:`CheckPanopticSegments` turns both into an error naming the
PNG. Place it right before ``LoadPanopticAnnotations`` in a pipeline built in mmdet's scope
(it is registered in mmengine's root registry, which mmdet's falls back to)::

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='CheckPanopticSegments'),
        dict(type='LoadPanopticAnnotations'),
        ...
    ]

It costs one extra decode of the panoptic PNG per sample; for a one-off check of a whole
data set, run the pipeline once (e.g. in ``tools/analysis_tools/check_dataset.py``) rather
than keeping it in every training run.
"""
from __future__ import annotations

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from ..registry import register
from ..utils.safe_loading import truncation_problem

__all__ = ['CheckPanopticSegments']

#: How many unexpected ids an error lists (with their pixel counts).
MAX_LISTED = 5


def rgb2id(color: np.ndarray) -> np.ndarray:
    """COCO panoptic's segment id of each pixel of an ``(H, W, 3)`` RGB array:
    ``R + 256 * G + 256**2 * B`` (as ``panopticapi.utils.rgb2id``)."""
    color = color.astype(np.int64)
    return color[..., 0] + 256 * color[..., 1] + 256 * 256 * color[..., 2]


@register('transforms')
class CheckPanopticSegments(BaseTransform):
    """Raise if a panoptic PNG's segment ids differ from ``results['segments_info']``.

    Reads ``results['seg_map_path']`` with mmengine's fileio, decodes it with
    ``mmcv.imfrombytes(flag='color', channel_order='rgb')`` and turns each pixel's colour
    into its segment id (``R + 256 * G + 256**2 * B``, panopticapi's ``rgb2id``), as
    ``LoadPanopticAnnotations`` does. The set of non-zero ids in the PNG (``0`` is VOID,
    unlabelled) must equal the set of ``id`` values in ``results['segments_info']``.

    ``segments_info`` is what ``CocoPanopticDataset`` kept of the JSON: it drops segments
    with ``area <= 0`` or a box narrower or lower than 1 px, so such a segment that does
    have pixels is reported as an id the JSON lacks.

    The results are returned unchanged (nothing is added). Samples without a
    ``seg_map_path`` (``None``: a test set without ground truth) are passed through, as
    ``LoadPanopticAnnotations`` does.

    Required keys: ``seg_map_path``, ``segments_info`` (each with ``id``).

    Args:
        backend_args: mmengine fileio backend arguments (``None``: local files).

    Raises:
        KeyError: ``segments_info`` is not in the results.
        OSError: the PNG is missing, truncated or does not decode (the file is named).
        ValueError: the PNG holds ids that ``segments_info`` lacks (the file, up to 5 of
            the ids and their pixel counts are named), or ``segments_info`` has segments
            without a pixel in the PNG (the file and the ids are named).
    """

    def __init__(self, backend_args: dict | None = None) -> None:
        self.backend_args = backend_args

    def _load_ids(self, path: str) -> np.ndarray:
        """The ``(H, W)`` segment ids of the PNG at ``path``."""
        problem = truncation_problem(path)
        if problem is not None:
            raise OSError(f'panoptic annotation {path} does not load: {problem}')
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except Exception as err:  # noqa: BLE001  (fileio backends fail in many ways)
            raise OSError(f'panoptic annotation {path} does not load: '
                          f'{type(err).__name__}: {err}') from err
        try:
            # a failed decode is None, or (channel_order='rgb') an OpenCV error on None
            png = mmcv.imfrombytes(data, flag='color', channel_order='rgb')
        except Exception as err:  # noqa: BLE001
            png, cause = None, f': {type(err).__name__}: {str(err).strip()}'
        else:
            cause = ''
        if png is None:
            raise OSError(f'panoptic annotation {path} does not decode as an image '
                          f'(corrupt or not an image file){cause}')
        return rgb2id(png)

    def transform(self, results: dict) -> dict:
        """Check the sample's PNG against its ``segments_info``; return ``results``."""
        path = results.get('seg_map_path')
        if path is None:
            return results
        if 'segments_info' not in results:
            raise KeyError(f'CheckPanopticSegments needs results["segments_info"] (set by '
                           f'CocoPanopticDataset) to check {path}')
        ids, counts = np.unique(self._load_ids(path), return_counts=True)
        png_counts = {int(i): int(c) for i, c in zip(ids, counts) if i != 0}
        json_ids = [int(seg['id']) for seg in results['segments_info']]

        extra = sorted(set(png_counts) - set(json_ids), key=lambda i: (-png_counts[i], i))
        if extra:
            listed = ', '.join(f'{i} ({png_counts[i]} px)' for i in extra[:MAX_LISTED])
            more = f' and {len(extra) - MAX_LISTED} more' if len(extra) > MAX_LISTED else ''
            raise ValueError(
                f'panoptic annotation {path} has {len(extra)} segment id(s) that its JSON '
                f'segments_info lacks: {listed}{more}; LoadPanopticAnnotations would '
                'silently mark these pixels as ignore (the segment is missing from the '
                'JSON, or CocoPanopticDataset dropped it for area <= 0 or a bbox side < 1)')

        empty = sorted(set(i for i in json_ids if i not in png_counts))
        if empty:
            raise ValueError(
                f'panoptic annotation {path} has no pixel of {len(empty)} segment(s) of its '
                f'JSON segments_info: ids {empty}; LoadPanopticAnnotations would give them '
                'empty masks (ids are R + 256*G + 256**2*B of the PNG\'s RGB colours)')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args!r})'
