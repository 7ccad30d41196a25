from .diffusion_encoder_decoder import DiffusionEncoderDecoder, check_class_count
from .referring_segmentor import DiffusionReferringSegmentor

__all__ = ['DiffusionEncoderDecoder', 'check_class_count', 'DiffusionReferringSegmentor']
