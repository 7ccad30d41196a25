from .depth_head import DiffusionDepthHead
from .latent_head import VAELatentHead
from .referring_mask_head import ReferringMaskHead

__all__ = ['DiffusionDepthHead', 'VAELatentHead', 'ReferringMaskHead']
