"""OpenMMLab modules: backbones, segmentors and heads over ``mmgeneralist.diffusion``."""
from .backbones import DiffusionUNetBackbone
from .heads import DiffusionDepthHead, VAELatentHead
from .segmentors import DiffusionEncoderDecoder

__all__ = [
    'DiffusionUNetBackbone', 'DiffusionDepthHead', 'VAELatentHead', 'DiffusionEncoderDecoder'
]
