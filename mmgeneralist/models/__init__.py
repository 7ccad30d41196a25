from .backbones import DiffusionUNetBackbone
from .segmentors import DiffusionEncoderDecoder

__all__ = ['DiffusionUNetBackbone', 'DiffusionEncoderDecoder']
