"""Pure tensor codecs between dense labels and RGB images in [-1, 1].

``encode(label) -> rgb`` renders a label as an image a diffusion model can generate;
``decode(rgb) -> label`` (or per-class logits) reads it back.
"""
from .class_colors import ClassColorCodec
from .depth import DepthCodec

__all__ = ['ClassColorCodec', 'DepthCodec']
