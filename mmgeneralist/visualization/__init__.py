"""Readable pictures of predictions.

:mod:`.drawing` (numpy, OpenCV and Pillow only) draws them, for
:class:`mmgeneralist.apis.DiffusionInferencer` and ``demo/image_demo.py``;
:mod:`.visualizers` puts the same pictures into OpenMMLab's visualization hooks
(``tools/test.py --show-dir``).
"""
from .drawing import (
    default_palette,
    depth_colormap,
    draw_depth,
    draw_edit,
    draw_image_pair,
    draw_mask,
    draw_segmentation,
    draw_summary,
    upscale,
    write_summary,
)
from .visualizers import ReadableSegVisualizer, ReferringVisualizer

__all__ = [
    'draw_segmentation', 'draw_summary', 'draw_depth', 'draw_mask', 'draw_image_pair',
    'draw_edit',
    'default_palette', 'depth_colormap', 'upscale', 'ReadableSegVisualizer',
    'ReferringVisualizer', 'write_summary'
]
