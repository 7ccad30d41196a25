"""Pure tensor codecs between dense labels and RGB images in [-1, 1].

``encode(label) -> rgb`` renders a label as an image a diffusion model can generate;
``decode(rgb) -> label`` (or per-class scores) reads it back. One codec per module, on the
contract of :class:`BaseCodec`; they import only torch, and are registered in
:mod:`mmgeneralist.registry` (``CODECS``) so that heads build them from config.
"""
from .base import BaseCodec
from .class_colors import ClassColorCodec
from .depth import DepthCodec
from .image import ImageCodec
from .instance_colors import InstanceColorCodec
from .keypoint_circles import KeypointCircleCodec
from .mask_overlay import MaskOverlayCodec, mask_to_box
from .painter_palette import PainterClassCodec
from .palette import PALETTE, color_of
from .panoptic import merge_panoptic
from .quantized_depth import QuantizedDepthCodec

__all__ = ['BaseCodec', 'ClassColorCodec', 'DepthCodec', 'ImageCodec', 'InstanceColorCodec',
           'PainterClassCodec', 'QuantizedDepthCodec', 'merge_panoptic', 'KeypointCircleCodec',
           'MaskOverlayCodec', 'mask_to_box', 'PALETTE', 'color_of']
