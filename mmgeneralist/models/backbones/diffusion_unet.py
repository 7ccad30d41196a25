"""A text-to-image diffusion UNet used as a dense-feature backbone (VPD style).

The image is encoded by the frozen VAE, the UNet runs once at a fixed timestep with no
noise added, conditioned on one [EOS] embedding per class name refined by a text adapter,
and the outputs of its decoder (up) blocks at four resolutions are the features, with the
averaged cross-attention maps of the chosen resolutions concatenated to them
(Zhao et al., ICCV 2023, Sec. 3.2-3.3).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseModule

from ...diffusion import (
    TextAdapter,
    check_pretrained,
    encode_class_prompts,
    install_attention_map_processors,
    load_text_encoder,
    load_unet,
    load_vae,
)
from ...registry import register


def dataset_class_names(dataset_type: str) -> tuple[str, ...]:
    """``METAINFO['classes']`` of a dataset class registered in the current scope."""
    from mmengine.registry import DATASETS
    with DATASETS.switch_scope_and_registry(None) as registry:
        dataset_cls = registry.get(dataset_type)
    if dataset_cls is None or 'classes' not in getattr(dataset_cls, 'METAINFO', {}):
        raise ValueError(f'class_names={dataset_type!r} is neither a list of class names nor a '
                         'registered dataset type with METAINFO["classes"] in the current '
                         'scope; pass the names as a list')
    return tuple(dataset_cls.METAINFO['classes'])


@register('models')
class DiffusionUNetBackbone(BaseModule):
    """Stable-Diffusion UNet as a backbone for mmseg / mmdet heads.

    Args:
        pretrained: a diffusers-format folder (``unet/``, ``vae/``, ``text_encoder/``,
            ``tokenizer/``) or a hub id. Checked when the model is built, so a missing
            folder fails before any training starts.
        class_names: the names put into ``prompt_template``, one text token per class; or
            the name of a registered dataset class (e.g. ``'ADE20KDataset'``) whose
            ``METAINFO['classes']`` to use.
        prompt_template: VPD's "a photo of a [CLS]" (Sec. 3.2).
        timestep: the UNet's timestep; VPD sets t = 0, no noise (Sec. 3.2).
        adapter_gamma: initial scale of the text adapter; 1e-4 in VPD (Sec. 4).
        attn_map_levels: feature levels (0 = highest resolution) whose averaged
            cross-attention maps, one channel per class, are concatenated to the features.
            VPD leaves out the lowest resolution by default (Sec. 3.3): ``(0, 1, 2)`` is
            its A64 variant at 512 px, ``(1, 2)`` A32 (Table 2); ``()`` for none.
        freeze_unet: keep the UNet's weights fixed as well (the VAE and the text encoder
            are always frozen).
        gradient_checkpointing: recompute the UNet's activations in the backward pass
            (diffusers' ``enable_gradient_checkpointing``): less memory, more compute.
        autocast_dtype: run the UNet under ``torch.autocast`` in this dtype (e.g.
            ``'bfloat16'``); features are returned in float32 for the head.
        init_cfg: unused; the weights come from ``pretrained``.

    Returns from ``forward``:
        A tuple of four feature maps, highest resolution first, from the ends of the UNet's
        four up blocks (strides 8, 16, 32, 64 for SD's 8x VAE), as VPD collects them; widths
        in ``out_channels`` (the UNet's block width, plus the number of classes at the
        levels in ``attn_map_levels``).
    """

    def __init__(self,
                 pretrained: str,
                 class_names: Sequence[str] | str,
                 prompt_template: str = 'a photo of a {}',
                 timestep: int = 0,
                 adapter_gamma: float = 1e-4,
                 attn_map_levels: Sequence[int] = (0, 1, 2),
                 freeze_unet: bool = False,
                 gradient_checkpointing: bool = False,
                 autocast_dtype: str | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(class_names, str):
            class_names = dataset_class_names(class_names)
        if not class_names:
            raise ValueError('class_names is empty: give one name per class of the head')
        pretrained = check_pretrained(pretrained, ('unet', 'vae', 'text_encoder', 'tokenizer'))
        self.unet = load_unet(pretrained)
        self.vae = load_vae(pretrained)
        self.text_encoder, self.tokenizer = load_text_encoder(pretrained)
        self.class_names = tuple(class_names)
        self.prompt_template = prompt_template
        self.timestep = int(timestep)

        self.vae.requires_grad_(False)
        self.text_encoder.requires_grad_(False)
        # Decoder features are taken before the UNet's output layers, which therefore get
        # no gradient; freezing them keeps DistributedDataParallel free of unused params.
        self.unet.conv_norm_out.requires_grad_(False)
        self.unet.conv_out.requires_grad_(False)
        if freeze_unet:
            self.unet.requires_grad_(False)
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.autocast_dtype = None
        if autocast_dtype is not None:
            self.autocast_dtype = getattr(torch, str(autocast_dtype), None)
            if not isinstance(self.autocast_dtype, torch.dtype):
                raise ValueError(f'autocast_dtype={autocast_dtype!r} is not a torch dtype name; '
                                 "use e.g. 'bfloat16' or 'float16'")

        text_dim = self.text_encoder.config.hidden_size
        if text_dim != self.unet.config.cross_attention_dim:
            raise ValueError(f'text encoder width {text_dim} != UNet cross_attention_dim '
                             f'{self.unet.config.cross_attention_dim} in {pretrained!r}')
        self.text_adapter = TextAdapter(text_dim, adapter_gamma)
        # The frozen text encoder's class embeddings are computed once, on first use.
        self.register_buffer('class_embeddings', torch.empty(0), persistent=False)

        self._features: list[torch.Tensor] = []
        blocks = list(self.unet.up_blocks)
        for block in blocks:
            if block.upsamplers is not None:  # the block's output before it is upsampled
                block.upsamplers[0].register_forward_pre_hook(self._keep_input)
            else:
                block.register_forward_hook(self._keep_output)
        num_levels = len(self.unet.config.block_out_channels)
        self.attn_map_levels = tuple(sorted(set(attn_map_levels)))
        if any(not 0 <= level < num_levels for level in self.attn_map_levels):
            raise ValueError(f'attn_map_levels {attn_map_levels} must lie in 0..{num_levels - 1}')
        self.attn_maps = (install_attention_map_processors(self.unet, self.attn_map_levels)
                          if self.attn_map_levels else None)
        vae_factor = 2**(len(self.vae.config.block_out_channels) - 1)
        #: feature widths and strides, highest resolution first (for necks and heads)
        self.out_channels = tuple(
            ch + (len(self.class_names) if level in self.attn_map_levels else 0)
            for level, ch in enumerate(self.unet.config.block_out_channels))
        self.strides = tuple(vae_factor * 2**i for i in range(num_levels))

    def _keep_input(self, module, args):
        self._features.append(args[0])

    def _keep_output(self, module, args, output):
        self._features.append(output)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen parts stay in eval mode (no dropout)
        self.text_encoder.eval()
        return self

    def text_context(self, batch_size: int) -> torch.Tensor:
        """The cross-attention context: adapted class embeddings, ``(B, K, D)``."""
        if self.class_embeddings.numel() == 0:
            self.class_embeddings = encode_class_prompts(self.text_encoder, self.tokenizer,
                                                         self.class_names, self.prompt_template)
        context = self.text_adapter(self.class_embeddings)
        return context.unsqueeze(0).expand(batch_size, -1, -1)

    @torch.no_grad()
    def encode_image(self, img: torch.Tensor) -> torch.Tensor:
        """VAE latent (mode of the posterior) times the VAE's scaling factor."""
        latent = self.vae.encode(img.to(self.vae.dtype)).latent_dist.mode()
        return latent * self.vae.config.scaling_factor

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``img``: normalised to [-1, 1], sides multiples of the total stride."""
        if img.shape[1] != 3:
            raise ValueError(f'expected 3-channel images, got shape {tuple(img.shape)}')
        latent = self.encode_image(img)
        t = torch.full((img.shape[0], ), self.timestep, device=img.device, dtype=torch.long)
        self._features = []
        if self.attn_maps is not None:
            self.attn_maps.reset()
        # outside autocast: the cached class embeddings keep full precision for later calls
        context = self.text_context(img.shape[0])
        with torch.autocast(img.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            self.unet(latent, t, encoder_hidden_states=context)
        feats, self._features = [f.float() for f in reversed(self._features)], []
        for level in self.attn_map_levels:
            maps = self.attn_maps.averaged(*feats[level].shape[-2:])
            feats[level] = torch.cat([feats[level], maps.float()], dim=1)
        if self.attn_maps is not None:
            self.attn_maps.reset()  # do not keep the graph alive between calls
        return tuple(feats)

