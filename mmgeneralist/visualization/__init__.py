"""Readable pictures of predictions (numpy, OpenCV and Pillow only; no OpenMMLab visualizer).

Used by :class:`mmgeneralist.apis.DiffusionInferencer` and ``demo/image_demo.py``.
"""
from .drawing import (
    default_palette,
    depth_colormap,
    draw_depth,
    draw_image_pair,
    draw_mask,
    draw_segmentation,
    upscale,
)

__all__ = [
    'draw_segmentation', 'draw_depth', 'draw_mask', 'draw_image_pair', 'default_palette',
    'depth_colormap', 'upscale'
]
