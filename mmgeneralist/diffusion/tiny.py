"""Tiny random stand-ins for Stable Diffusion, saved in the real diffusers folder format.

No weights can be downloaded in tests or CI, so tests, tiny configs and the main demo load
these through exactly the loading path used for the real SD-1.5 / SD-2.1 folders.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from collections.abc import Sequence

import torch


def _write_byte_level_clip_vocab(folder: str) -> None:
    """A CLIP BPE vocabulary with the 256 byte symbols and no merges (character level).

    Same layout as CLIP's own (bytes, bytes + ``</w>``, merges, then the two special tokens),
    so transformers' ``CLIPTokenizer`` reads it unchanged.
    """
    from transformers.models.clip.tokenization_clip import bytes_to_unicode
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + '</w>' for s in symbols] + ['<|startoftext|>', '<|endoftext|>']
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f, ensure_ascii=False)
    with open(osp.join(folder, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n')


def save_tiny_stable_diffusion(out_dir: str,
                               seed: int = 0,
                               unet_channels: Sequence[int] = (32, 64, 64, 64),
                               vae_channels: Sequence[int] = (16, 32, 32),
                               latent_channels: int = 8,
                               text_width: int = 32,
                               max_text_len: int = 77) -> str:
    """Build a tiny UNet, VAE, CLIP text encoder and tokenizer; ``save_pretrained`` them.

    Args:
        out_dir: the diffusers-format folder to write (``unet/``, ``vae/``, ...).
        seed: seed of the random weights.
        unet_channels: UNet block widths; four blocks give VPD's four feature levels.
        vae_channels: VAE block widths; ``n`` blocks downsample by ``2**(n-1)``.
        latent_channels: VAE latent width (SD has 4; a random frozen VAE loses less with 8).
        text_width: CLIP hidden size, and the UNet's cross-attention width.
        max_text_len: tokenizer/text-encoder length (77 in SD).

    Returns:
        ``out_dir``.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    n_up = len(unet_channels)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        layers_per_block=1,
        block_out_channels=tuple(unet_channels),
        down_block_types=('CrossAttnDownBlock2D', ) * (n_up - 1) + ('DownBlock2D', ),
        up_block_types=('UpBlock2D', ) + ('CrossAttnUpBlock2D', ) * (n_up - 1),
        cross_attention_dim=text_width,
        attention_head_dim=8,
        norm_num_groups=8)
    n_vae = len(vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=('DownEncoderBlock2D', ) * n_vae,
        up_block_types=('UpDecoderBlock2D', ) * n_vae,
        block_out_channels=tuple(vae_channels),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=1.0)
    tok_dir = osp.join(out_dir, 'tokenizer')
    _write_byte_level_clip_vocab(tok_dir)
    tokenizer = CLIPTokenizer(osp.join(tok_dir, 'vocab.json'), osp.join(tok_dir, 'merges.txt'),
                              model_max_length=max_text_len)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=text_width,
            intermediate_size=2 * text_width,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=max_text_len,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
    unet.save_pretrained(osp.join(out_dir, 'unet'))
    vae.save_pretrained(osp.join(out_dir, 'vae'))
    text_encoder.save_pretrained(osp.join(out_dir, 'text_encoder'))
    tokenizer.save_pretrained(tok_dir)
    with open(osp.join(out_dir, 'model_index.json'), 'w') as f:
        json.dump(
            {
                '_class_name': 'StableDiffusionPipeline',
                'unet': ['diffusers', 'UNet2DConditionModel'],
                'vae': ['diffusers', 'AutoencoderKL'],
                'text_encoder': ['transformers', 'CLIPTextModel'],
                'tokenizer': ['transformers', 'CLIPTokenizer'],
            }, f, indent=2)
    return out_dir
