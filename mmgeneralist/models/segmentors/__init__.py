from .diffusion_encoder_decoder import (
    DiffusionEncoderDecoder,
    check_class_count,
    check_feature_widths,
)
from .referring_segmentor import DiffusionReferringSegmentor

__all__ = [
    'DiffusionEncoderDecoder', 'check_class_count', 'check_feature_widths',
    'DiffusionReferringSegmentor'
]
