"""Thin wrappers over diffusers and transformers: loading, text conditioning, attention maps."""
from .architectures import ARCHITECTURES, save_architecture
from .attention import (
                        AttentionMapStore,
                        CrossAttentionMapProcessor,
                        install_attention_map_processors,
)
from .loading import check_pretrained, load_text_encoder, load_unet, load_vae, random_weights
from .text import TextAdapter, encode_class_prompts, encode_sentences

__all__ = [
    'AttentionMapStore', 'CrossAttentionMapProcessor', 'install_attention_map_processors',
    'ARCHITECTURES', 'save_architecture', 'random_weights', 'check_pretrained', 'load_unet',
    'load_vae', 'load_text_encoder', 'TextAdapter', 'encode_class_prompts', 'encode_sentences'
]
