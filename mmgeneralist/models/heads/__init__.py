from .depth_head import DiffusionDepthHead
from .latent_head import VAELatentHead

__all__ = ['DiffusionDepthHead', 'VAELatentHead']
