"""The published Stable-Diffusion architectures, as diffusers / transformers configs.

The configs below are those of the public diffusers folders' ``config.json`` files
(``stable-diffusion-v1-5/stable-diffusion-v1-5`` and ``stabilityai/stable-diffusion-2-1``),
reduced to the entries that differ from the classes' defaults or that set a width. With
:func:`save_architecture` they are written as a diffusers-format folder *without weights*,
which :func:`~mmgeneralist.diffusion.loading.random_weights` then builds at full size, with
fresh weights, or on torch's ``meta`` device at no cost: every real config can run one
forward at SD's real widths although no weights can be downloaded here, and benchmarks can
time the real architectures.
"""
from __future__ import annotations

import json
import os
import os.path as osp

_SD_VAE = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=['DownEncoderBlock2D'] * 4,
    up_block_types=['UpDecoderBlock2D'] * 4,
    block_out_channels=[128, 256, 512, 512],
    layers_per_block=2,
    act_fn='silu',
    latent_channels=4,
    norm_num_groups=32,
    sample_size=512,
    scaling_factor=0.18215,
)

_SD_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    center_input_sample=False,
    flip_sin_to_cos=True,
    freq_shift=0,
    down_block_types=['CrossAttnDownBlock2D'] * 3 + ['DownBlock2D'],
    up_block_types=['UpBlock2D'] + ['CrossAttnUpBlock2D'] * 3,
    block_out_channels=[320, 640, 1280, 1280],
    layers_per_block=2,
    downsample_padding=1,
    mid_block_scale_factor=1,
    act_fn='silu',
    norm_num_groups=32,
    norm_eps=1e-5,
    cross_attention_dim=768,
    attention_head_dim=8,
)

_CLIP_TEXT = dict(
    vocab_size=49408,
    max_position_embeddings=77,
    layer_norm_eps=1e-5,
    bos_token_id=0,
    pad_token_id=1,
    eos_token_id=2,
)

#: part -> config of each architecture; ``text_encoder`` is a ``CLIPTextConfig``
ARCHITECTURES: dict[str, dict[str, dict]] = {
    # SD-1.5: OpenAI CLIP ViT-L/14's text tower
    'sd15': dict(
        unet=_SD_UNET,
        vae=_SD_VAE,
        text_encoder=dict(_CLIP_TEXT, hidden_size=768, intermediate_size=3072,
                          num_hidden_layers=12, num_attention_heads=12,
                          projection_dim=768, hidden_act='quick_gelu'),
    ),
    # SD-2.1: OpenCLIP ViT-H/14's text tower (its last layer dropped: 23 of 24), linear
    # projections in the transformer blocks, per-level head widths
    'sd21': dict(
        unet=dict(_SD_UNET, sample_size=96, cross_attention_dim=1024,
                  attention_head_dim=[5, 10, 20, 20], use_linear_projection=True,
                  upcast_attention=True),
        vae=dict(_SD_VAE, sample_size=768),
        text_encoder=dict(_CLIP_TEXT, hidden_size=1024, intermediate_size=4096,
                          num_hidden_layers=23, num_attention_heads=16,
                          projection_dim=512, hidden_act='gelu'),
    ),
}


def save_architecture(name: str, out_dir: str) -> str:
    """Write architecture ``name`` as a diffusers-format folder of configs, without weights.

    ``unet/`` and ``vae/`` get diffusers' ``config.json``, ``text_encoder/`` transformers'
    ``config.json``, and ``tokenizer/`` the tiny word-level CLIP tokenizer of
    :mod:`~mmgeneralist.diffusion.tiny` (CLIP's special-token ids, ids within the real
    vocabulary, 77 positions). Load it under
    :func:`~mmgeneralist.diffusion.loading.random_weights`.

    Args:
        name: a key of :data:`ARCHITECTURES` (``'sd15'``, ``'sd21'``).
        out_dir: the folder to write.

    Returns:
        ``out_dir``.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f'unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}')
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig

    from .tiny import save_tiny_tokenizer
    parts = ARCHITECTURES[name]
    for part, cls in (('unet', UNet2DConditionModel), ('vae', AutoencoderKL)):
        os.makedirs(osp.join(out_dir, part), exist_ok=True)
        with open(osp.join(out_dir, part, 'config.json'), 'w') as f:
            json.dump(dict(parts[part], _class_name=cls.__name__), f, indent=2)
    CLIPTextConfig(**parts['text_encoder']).save_pretrained(osp.join(out_dir, 'text_encoder'))
    save_tiny_tokenizer(osp.join(out_dir, 'tokenizer'),
                        max_text_len=parts['text_encoder']['max_position_embeddings'])
    return out_dir
