"""Test fixtures in the original CompVis / Stability ("ldm") single-file layout.

Stable Diffusion's released single files (``v1-5-pruned-emaonly.ckpt``,
``v2-1_768-ema-pruned.safetensors``, ...) and VPD's released checkpoints store the weights
under the key names of the original ``ldm`` code base, not diffusers'. No such file can be
downloaded in the tests, so the functions below turn the state dicts of diffusers /
transformers models (tiny ones, in the tests) into that layout: the released key names with
tiny shapes. They are the inverse of diffusers' ``convert_ldm_unet_checkpoint``,
``convert_ldm_vae_checkpoint``, ``convert_ldm_clip_checkpoint`` and
``convert_open_clip_checkpoint`` (``diffusers.loaders.single_file_utils``), written
independently of them so that a test of a converter built on diffusers' functions checks
them against a second reading of the layout.

The layout, for a UNet with ``n`` blocks of ``L = layers_per_block`` layers::

    model.diffusion_model.
      time_embed.{0,2}                    <- time_embedding.linear_{1,2}
      input_blocks.0.0                    <- conv_in
      input_blocks.{1 + b(L+1) + j}.0     <- down_blocks.b.resnets.j        (ResBlock)
      input_blocks.{1 + b(L+1) + j}.1     <- down_blocks.b.attentions.j     (SpatialTransformer)
      input_blocks.{(b+1)(L+1)}.0.op      <- down_blocks.b.downsamplers.0.conv
      middle_block.{0,1,2}                <- mid_block.resnets.0, attentions.0, resnets.1
      output_blocks.{b(L+1) + j}.0        <- up_blocks.b.resnets.j          (L+1 layers)
      output_blocks.{b(L+1) + j}.1        <- up_blocks.b.attentions.j
      output_blocks.{b(L+1) + L}.{1|2}.conv <- up_blocks.b.upsamplers.0.conv (2 after an attention)
      out.{0,2}                           <- conv_norm_out, conv_out
    ResBlock: in_layers.{0,2}, emb_layers.1, out_layers.{0,3}, skip_connection
              <- norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut

A SpatialTransformer's parameters keep their names (``norm``, ``proj_in``,
``transformer_blocks.0.attn1.to_q``, ``ff.net.0.proj``, ``proj_out``, ...) and their shapes:
diffusers' ``Transformer2DModel`` builds ``proj_in``/``proj_out`` as 1x1 convolutions
(``(C, C, 1, 1)``, SD-1) or, with ``use_linear_projection`` (SD-2), as linear layers
(``(C, C)``), exactly as the original code does for ``use_linear_in_transformer``.

The VAE (``first_stage_model.``) keeps ``encoder``/``decoder``/``quant_conv``/
``post_quant_conv``; its blocks are ``encoder.down.i.block.j`` / ``downsample.conv``,
``decoder.up.{n-1-i}.block.j`` / ``upsample.conv`` (the decoder's levels are numbered from
the bottom), ``mid.block_{1,2}``, ``mid.attn_1.{norm,q,k,v,proj_out}`` (1x1 convolutions,
``(C, C, 1, 1)``), ``norm_out`` and ``nin_shortcut``.

The text encoder is HF's CLIP under ``cond_stage_model.transformer.`` (SD-1) or OpenCLIP's
text tower under ``cond_stage_model.model.`` (SD-2: ``token_embedding``,
``positional_embedding``, ``transformer.resblocks.N.{ln_1, attn.in_proj_weight,
attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}``, ``ln_final``, ``text_projection``,
``logit_scale``). SD-2's file holds one more resblock than its text encoder uses (it takes
the penultimate layer's output); ``extra_layers`` adds such unused layers.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

UNET_PREFIX = 'model.diffusion_model.'
VAE_PREFIX = 'first_stage_model.'
CLIP_PREFIX = 'cond_stage_model.transformer.'
OPEN_CLIP_PREFIX = 'cond_stage_model.model.'

_UNET_TOP = {
    'time_embedding.linear_1': 'time_embed.0',
    'time_embedding.linear_2': 'time_embed.2',
    'conv_in': 'input_blocks.0.0',
    'conv_norm_out': 'out.0',
    'conv_out': 'out.2',
}
_UNET_RESNET = {
    'norm1': 'in_layers.0',
    'conv1': 'in_layers.2',
    'time_emb_proj': 'emb_layers.1',
    'norm2': 'out_layers.0',
    'conv2': 'out_layers.3',
    'conv_shortcut': 'skip_connection',
}
_VAE_ATTENTION = {
    'group_norm': 'norm',
    'to_q': 'q',
    'to_k': 'k',
    'to_v': 'v',
    'to_out.0': 'proj_out',
    # the names of diffusers' attention before 0.14, which some saved VAEs still use
    'query': 'q',
    'key': 'k',
    'value': 'v',
    'proj_attn': 'proj_out',
}
_CLIP_LAYER = {
    'layer_norm1': 'ln_1',
    'layer_norm2': 'ln_2',
    'self_attn.out_proj': 'attn.out_proj',
    'mlp.fc1': 'mlp.c_fc',
    'mlp.fc2': 'mlp.c_proj',
}
_QKV = r'encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)'


def _get(config, name, default=None):
    if isinstance(config, Mapping):
        return config.get(name, default)
    return getattr(config, name, default)


def _layers_per_block(config) -> int:
    layers = _get(config, 'layers_per_block', 2)
    if isinstance(layers, (list, tuple)):
        if len(set(layers)) != 1:
            raise ValueError(f'the ldm layout has one layers_per_block for all blocks; got '
                             f'{layers}')
        layers = layers[0]
    return int(layers)


def _split(key: str, pattern: str):
    match = re.fullmatch(pattern, key)
    return match.groups() if match else None


def unet_to_ldm(state_dict: Mapping[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """A diffusers ``UNet2DConditionModel`` state dict in the ldm layout.

    Args:
        state_dict: the UNet's ``state_dict()`` (diffusers key names).
        config: its config (``unet.config`` or the ``config.json`` dict); only
            ``layers_per_block`` and ``up_block_types`` (which up blocks hold attentions,
            which moves their upsampler from index 1 to 2) are read.

    Returns:
        ``{'model.diffusion_model.<ldm key>': tensor}``, the same tensors (not copies).

    Raises:
        ValueError: a key this layout has no place for (class or addition embeddings, ...).
    """
    per_level = _layers_per_block(config) + 1  # input/output blocks per UNet level
    up_types = list(_get(config, 'up_block_types', ()))
    up_has_attention = [('CrossAttn' in t or 'Attn' in t) for t in up_types]
    out = {}
    for key, value in state_dict.items():
        name, param = key.rsplit('.', 1)
        new = None
        if name in _UNET_TOP:
            new = _UNET_TOP[name]
        elif parts := _split(name, r'down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)'):
            b, kind, j, rest = int(parts[0]), parts[1], int(parts[2]), parts[3]
            index = 1 + b * per_level + j
            new = (f'input_blocks.{index}.0.{_UNET_RESNET.get(rest, rest)}'
                   if kind == 'resnets' else f'input_blocks.{index}.1.{rest}')
        elif parts := _split(name, r'down_blocks\.(\d+)\.downsamplers\.0\.conv'):
            new = f'input_blocks.{(int(parts[0]) + 1) * per_level}.0.op'
        elif parts := _split(name, r'mid_block\.(resnets|attentions)\.(\d+)\.(.+)'):
            kind, k, rest = parts[0], int(parts[1]), parts[2]
            new = (f'middle_block.{2 * k}.{_UNET_RESNET.get(rest, rest)}'
                   if kind == 'resnets' else f'middle_block.{2 * k + 1}.{rest}')
        elif parts := _split(name, r'up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)'):
            b, kind, j, rest = int(parts[0]), parts[1], int(parts[2]), parts[3]
            index = b * per_level + j
            new = (f'output_blocks.{index}.0.{_UNET_RESNET.get(rest, rest)}'
                   if kind == 'resnets' else f'output_blocks.{index}.1.{rest}')
        elif parts := _split(name, r'up_blocks\.(\d+)\.upsamplers\.0\.conv'):
            b = int(parts[0])
            if up_has_attention:
                has_attention = up_has_attention[b]
            else:  # no config entry: look for the block's attentions in the state dict
                has_attention = any(k.startswith(f'up_blocks.{b}.attentions.')
                                    for k in state_dict)
            new = f'output_blocks.{b * per_level + per_level - 1}.{2 if has_attention else 1}.conv'
        if new is None:
            raise ValueError(f'unet_to_ldm: no ldm key for the UNet parameter {key!r}')
        out[f'{UNET_PREFIX}{new}.{param}'] = value
    return out


def vae_to_ldm(state_dict: Mapping[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """A diffusers ``AutoencoderKL`` state dict in the ldm layout.

    Args:
        state_dict: the VAE's ``state_dict()``.
        config: its config; ``up_block_types`` (or ``block_out_channels``) gives the number
            of levels, which numbers the decoder's ``up.*`` blocks from the bottom.

    Returns:
        ``{'first_stage_model.<ldm key>': tensor}``; the middle attention's ``q``, ``k``,
        ``v`` and ``proj_out`` weights as ``(C, C, 1, 1)`` convolutions, the rest unchanged.

    Raises:
        ValueError: a key this layout has no place for.
    """
    levels = len(_get(config, 'up_block_types', None) or _get(config, 'block_out_channels'))
    out = {}
    for key, value in state_dict.items():
        name, param = key.rsplit('.', 1)
        new = None
        if name in ('quant_conv', 'post_quant_conv') or re.fullmatch(
                r'(encoder|decoder)\.(conv_in|conv_out)', name):
            new = name
        elif parts := _split(name, r'(encoder|decoder)\.conv_norm_out'):
            new = f'{parts[0]}.norm_out'
        elif parts := _split(name, r'encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)'):
            rest = parts[2].replace('conv_shortcut', 'nin_shortcut')
            new = f'encoder.down.{parts[0]}.block.{parts[1]}.{rest}'
        elif parts := _split(name, r'encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv'):
            new = f'encoder.down.{parts[0]}.downsample.conv'
        elif parts := _split(name, r'decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)'):
            rest = parts[2].replace('conv_shortcut', 'nin_shortcut')
            new = f'decoder.up.{levels - 1 - int(parts[0])}.block.{parts[1]}.{rest}'
        elif parts := _split(name, r'decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv'):
            new = f'decoder.up.{levels - 1 - int(parts[0])}.upsample.conv'
        elif parts := _split(name, r'(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)'):
            rest = parts[2].replace('conv_shortcut', 'nin_shortcut')
            new = f'{parts[0]}.mid.block_{int(parts[1]) + 1}.{rest}'
        elif parts := _split(name, r'(encoder|decoder)\.mid_block\.attentions\.0\.(.+)'):
            if parts[1] in _VAE_ATTENTION:
                new = f'{parts[0]}.mid.attn_1.{_VAE_ATTENTION[parts[1]]}'
                if param == 'weight' and value.ndim == 2:  # linear -> 1x1 convolution
                    value = value[:, :, None, None]
        if new is None:
            raise ValueError(f'vae_to_ldm: no ldm key for the VAE parameter {key!r}')
        out[f'{VAE_PREFIX}{new}.{param}'] = value
    return out


def clip_to_ldm(state_dict: Mapping[str, torch.Tensor], *,
                position_ids: bool = False) -> dict[str, torch.Tensor]:
    """A transformers ``CLIPTextModel`` state dict in SD-1's layout.

    SD-1's files hold HF's CLIP text model as it is, under ``cond_stage_model.transformer.``.

    Args:
        state_dict: the text encoder's ``state_dict()`` (keys ``text_model.*``).
        position_ids: add ``text_model.embeddings.position_ids`` (``(1, positions)``,
            int64), the buffer that transformers saved before 4.31 and that SD-1's released
            files hold; transformers 4.31+ no longer expects it.

    Returns:
        ``{'cond_stage_model.transformer.<HF key>': tensor}``.
    """
    out = {CLIP_PREFIX + key: value for key, value in state_dict.items()}
    if position_ids:
        positions = state_dict['text_model.embeddings.position_embedding.weight'].shape[0]
        out[CLIP_PREFIX + 'text_model.embeddings.position_ids'] = torch.arange(positions)[None]
    return out


def open_clip_to_ldm(state_dict: Mapping[str, torch.Tensor], config, *, extra_layers: int = 0,
                     seed: int = 0) -> dict[str, torch.Tensor]:
    """A transformers ``CLIPTextModel`` state dict in SD-2's OpenCLIP layout.

    Args:
        state_dict: the text encoder's ``state_dict()`` (keys ``text_model.*``, and
            ``text_projection.weight`` for a ``CLIPTextModelWithProjection``).
        config: its ``CLIPTextConfig`` (or dict): ``hidden_size`` gives
            ``text_projection``'s shape, ``(hidden, hidden)`` as in SD-2's file (ViT-H's
            embedding width is its text width), when the state dict has none.
        extra_layers: resblocks to add after the model's own, seeded random values of the
            same shapes: SD-2's file has 24 resblocks for a 23-layer text encoder, the last
            one unused.
        seed: the seed of the values made up here (extra layers, ``text_projection``).

    Returns:
        ``{'cond_stage_model.model.<OpenCLIP key>': tensor}``: q/k/v concatenated into
        ``attn.in_proj_weight``/``in_proj_bias`` (new tensors), ``text_projection`` as
        ``(hidden, projection)`` (the transpose of HF's linear weight; made up when the state
        dict has none) and ``logit_scale`` (``log(1 / 0.07)``), which the released files
        hold and a text encoder does not use.

    Raises:
        ValueError: a key this layout has no place for.
    """
    generator = torch.Generator().manual_seed(seed)
    out = {}
    attn = {}  # layer -> {(q|k|v, weight|bias): tensor}
    for key, value in state_dict.items():
        key = key.removeprefix('text_model.')
        new = None
        if key == 'embeddings.token_embedding.weight':
            new = 'token_embedding.weight'
        elif key == 'embeddings.position_embedding.weight':
            new = 'positional_embedding'
        elif key == 'embeddings.position_ids':
            continue  # a buffer of older transformers; OpenCLIP has none
        elif key.startswith('final_layer_norm.'):
            new = 'ln_final.' + key.split('.')[-1]
        elif key == 'text_projection.weight':
            new, value = 'text_projection', value.T.contiguous()
        elif parts := _split(key, _QKV):
            attn.setdefault(int(parts[0]), {})[parts[1], parts[2]] = value
            continue
        elif parts := _split(key, r'encoder\.layers\.(\d+)\.(.+)\.(weight|bias)'):
            if parts[1] in _CLIP_LAYER:
                new = f'transformer.resblocks.{parts[0]}.{_CLIP_LAYER[parts[1]]}.{parts[2]}'
        if new is None:
            raise ValueError(f'open_clip_to_ldm: no OpenCLIP key for the text encoder '
                             f'parameter {key!r}')
        out[new] = value
    for layer, qkv in attn.items():
        for param, name in (('weight', 'in_proj_weight'), ('bias', 'in_proj_bias')):
            if any((p, param) not in qkv for p in 'qkv'):
                raise ValueError(f'open_clip_to_ldm: layer {layer} lacks one of q/k/v_proj.'
                                 f'{param}')
            out[f'transformer.resblocks.{layer}.attn.{name}'] = torch.cat(
                [qkv[p, param] for p in 'qkv'])
    if 'text_projection' not in out:  # square in SD's towers (ViT-H: 1024 x 1024)
        hidden = _get(config, 'hidden_size')
        out['text_projection'] = torch.randn(hidden, hidden, generator=generator) * hidden**-0.5
    out['logit_scale'] = torch.tensor(math.log(1 / 0.07))
    layers = len(attn)
    block = {k.split('.', 3)[3]: v for k, v in out.items()
             if k.startswith('transformer.resblocks.0.')}
    for extra in range(layers, layers + extra_layers):
        for name, value in block.items():
            noise = torch.randn(value.shape, generator=generator).to(value.dtype)
            out[f'transformer.resblocks.{extra}.{name}'] = noise * 0.02
    return {OPEN_CLIP_PREFIX + key: value for key, value in out.items()}


def ldm_schedule_buffers(num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                         beta_end: float = 0.012) -> dict[str, torch.Tensor]:
    """The noise-schedule buffers an ldm ``LatentDiffusion`` checkpoint holds besides the
    weights (``betas``, ``alphas_cumprod``, ...; float32), for SD's "linear" schedule: the
    betas' square roots evenly spaced (diffusers' ``scaled_linear``)."""
    betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps,
                           dtype=torch.float64)**2
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    previous = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
    posterior_variance = betas * (1 - previous) / (1 - alphas_cumprod)
    buffers = dict(
        betas=betas,
        alphas_cumprod=alphas_cumprod,
        alphas_cumprod_prev=previous,
        sqrt_alphas_cumprod=alphas_cumprod.sqrt(),
        sqrt_one_minus_alphas_cumprod=(1 - alphas_cumprod).sqrt(),
        log_one_minus_alphas_cumprod=(1 - alphas_cumprod).log(),
        sqrt_recip_alphas_cumprod=(1 / alphas_cumprod).sqrt(),
        sqrt_recipm1_alphas_cumprod=(1 / alphas_cumprod - 1).sqrt(),
        posterior_variance=posterior_variance,
        posterior_log_variance_clipped=posterior_variance.clamp(min=1e-20).log(),
        posterior_mean_coef1=betas * previous.sqrt() / (1 - alphas_cumprod),
        posterior_mean_coef2=(1 - previous) * (1 - betas).sqrt() / (1 - alphas_cumprod),
    )
    return {k: v.float() for k, v in buffers.items()}


def sd_folder_to_ldm(folder: str, *, open_clip: bool = False, extra_text_layers: int = 0,
                     schedule: bool = True) -> dict[str, torch.Tensor]:
    """A diffusers-format SD folder (``unet/``, ``vae/``, ``text_encoder/``) as one ldm
    single-file state dict, as released: SD-1's layout (HF CLIP, with its ``position_ids``)
    or, with ``open_clip``, SD-2's (OpenCLIP, ``extra_text_layers`` unused resblocks);
    ``schedule`` adds :func:`ldm_schedule_buffers`."""
    import os.path as osp

    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel
    unet = UNet2DConditionModel.from_pretrained(osp.join(folder, 'unet'))
    vae = AutoencoderKL.from_pretrained(osp.join(folder, 'vae'))
    text = CLIPTextModel.from_pretrained(osp.join(folder, 'text_encoder'))
    out = {**unet_to_ldm(unet.state_dict(), unet.config),
           **vae_to_ldm(vae.state_dict(), vae.config)}
    if open_clip:
        out.update(open_clip_to_ldm(text.state_dict(), text.config,
                                    extra_layers=extra_text_layers))
    else:
        out.update(clip_to_ldm(text.state_dict(), position_ids=True))
    if schedule:
        out.update(ldm_schedule_buffers())
    return out
