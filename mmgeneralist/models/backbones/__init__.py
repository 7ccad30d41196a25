from .diffusion_unet import DiffusionUNetBackbone

__all__ = ['DiffusionUNetBackbone']
