"""Thin wrappers over diffusers and transformers: loading and text conditioning."""
from .loading import check_pretrained, load_text_encoder, load_unet, load_vae
from .text import TextAdapter, encode_class_prompts

__all__ = [
    'check_pretrained', 'load_unet', 'load_vae', 'load_text_encoder', 'TextAdapter',
    'encode_class_prompts'
]
