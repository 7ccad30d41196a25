"""Thin wrappers over diffusers and transformers: loading, text conditioning, attention maps."""
from .attention import (
                        AttentionMapStore,
                        CrossAttentionMapProcessor,
                        install_attention_map_processors,
)
from .loading import check_pretrained, load_text_encoder, load_unet, load_vae
from .text import TextAdapter, encode_class_prompts, encode_sentences

__all__ = [
    'AttentionMapStore', 'CrossAttentionMapProcessor', 'install_attention_map_processors',
    'check_pretrained', 'load_unet', 'load_vae', 'load_text_encoder', 'TextAdapter',
    'encode_class_prompts', 'encode_sentences'
]
