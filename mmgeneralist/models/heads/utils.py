"""What the heads share."""
from __future__ import annotations

import torch


def prediction_size(batch_img_metas: list[dict]) -> tuple[int, int]:
    """The size an mmseg head resizes its prediction to, as ``BaseDecodeHead.predict_by_feat``.

    The crop's ``img_shape`` in slide inference (where the segmentor writes a
    ``torch.Size`` there), else the batch's ``pad_shape``, else ``img_shape``; the
    segmentor's ``postprocess_result`` then removes the padding and resizes to
    ``ori_shape``.
    """
    meta = batch_img_metas[0]
    if isinstance(meta['img_shape'], torch.Size):
        return tuple(meta['img_shape'])
    if meta.get('pad_shape') is not None:
        return tuple(meta['pad_shape'][:2])
    return tuple(meta['img_shape'][:2])
