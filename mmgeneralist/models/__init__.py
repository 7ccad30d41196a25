"""OpenMMLab modules: backbones, segmentors and heads over ``mmgeneralist.diffusion``."""
from .backbones import DiffusionUNetBackbone

__all__ = ['DiffusionUNetBackbone']
