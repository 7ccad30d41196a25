"""OpenMMLab modules: backbones, segmentors and heads over ``mmgeneralist.diffusion``."""
from .backbones import DiffusionUNetBackbone
from .editors import InstructionEditor
from .heads import DiffusionDepthHead, ReferringMaskHead, VAELatentHead
from .segmentors import (
    DiffusionEncoderDecoder,
    DiffusionReferringSegmentor,
    PixelDiffusionGeneralist,
)

__all__ = [
    'DiffusionUNetBackbone', 'DiffusionDepthHead', 'ReferringMaskHead', 'VAELatentHead',
    'DiffusionEncoderDecoder', 'DiffusionReferringSegmentor', 'PixelDiffusionGeneralist',
    'InstructionEditor'
]
