from .diffusion_encoder_decoder import DiffusionEncoderDecoder, check_class_count

__all__ = ['DiffusionEncoderDecoder', 'check_class_count']
