from .diffusion_encoder_decoder import (
    DiffusionEncoderDecoder,
    check_class_count,
    check_feature_widths,
)
from .pixel_generalist import PixelDiffusionGeneralist
from .referring_segmentor import DiffusionReferringSegmentor

__all__ = [
    'DiffusionEncoderDecoder', 'check_class_count', 'check_feature_widths',
    'DiffusionReferringSegmentor', 'PixelDiffusionGeneralist'
]
