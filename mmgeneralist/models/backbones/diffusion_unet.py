"""A text-to-image diffusion UNet used as a dense-feature backbone (VPD and GenPercept).

VPD (Zhao et al., ICCV 2023, Sec. 3.2-3.4): the image is encoded by the frozen VAE, the UNet
runs once at a fixed timestep with no noise added, conditioned on text refined by a text
adapter, and the outputs of its decoder (up) blocks at four resolutions are the features,
with the averaged cross-attention maps of the chosen resolutions concatenated to them. The
text is one [EOS] embedding per class name (semantic segmentation), the embedding of each
image's own class (depth: the scene class, mmseg's ``class_embed_select`` protocol), or the
token embeddings of one sentence per image (referring segmentation).

GenPercept (Xu et al., Sec. 2.3, Eq. 8): one deterministic step at t = 1 on the RGB latent,
conditioned on the empty prompt; the UNet's output ``-v`` is the target's latent, and its
decoder features feed an ordinary head.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseModule

from ...diffusion import (
    TextAdapter,
    check_pretrained,
    encode_class_prompts,
    encode_sentences,
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


MODES = ('vpd', 'genpercept')
CONTEXTS = ('classes', 'image_class', 'sentence')


@register('models')
class DiffusionUNetBackbone(BaseModule):
    """Stable-Diffusion UNet as a backbone for mmseg / mmdet heads.

    Args:
        pretrained: a diffusers-format folder (``unet/``, ``vae/``, ``text_encoder/``,
            ``tokenizer/``) or a hub id. Checked when the model is built, so a missing
            folder fails before any training starts.
        class_names: the names put into ``prompt_template``, one text token per class; or
            the name of a registered dataset class (e.g. ``'ADE20KDataset'``) whose
            ``METAINFO['classes']`` to use. Needed by the ``'classes'`` and
            ``'image_class'`` contexts.
        mode: ``'vpd'`` (text-conditioned feature extractor) or ``'genpercept'`` (one
            deterministic step conditioned on the empty prompt, no adapter, no maps).
        context: what the VPD text is (Sec. 3.4): ``'classes'``, all class prompts for
            every image (semantic segmentation); ``'image_class'``, the prompt of each
            image's class, given as ``forward((img, class_ids))`` the way mmseg's
            ``DepthEstimator`` passes NYU scene ids (id -1, unknown, gets the mean of all
            classes); ``'sentence'``, the token embeddings of one sentence per image, given
            as ``forward(img, texts=[...])`` (referring segmentation).
        prompt_template: VPD's "a photo of a [CLS]" (Sec. 3.2).
        max_text_length: tokens per sentence in the ``'sentence'`` context (padded or
            truncated with a warning); ``None``: the text encoder's length (77 for CLIP).
        timestep: the UNet's timestep; ``None`` resolves to VPD's t = 0, no noise
            (Sec. 3.2), or GenPercept's t = 1 (Eq. 8).
        adapter_gamma: initial scale of the text adapter; 1e-4 in VPD (Sec. 4).
        attn_map_levels: feature levels (0 = highest resolution) whose averaged
            cross-attention maps, one channel per text token, are concatenated to the
            features. VPD leaves out the lowest resolution by default (Sec. 3.3): ``(0, 1,
            2)`` is its A64 variant at 512 px, ``(1, 2)`` A32 (Table 2); ``()`` for none.
            Only for the ``'classes'`` and ``'sentence'`` contexts: a single-token context
            gives a constant map.
        outputs: ``'features'`` (the four decoder features) or, in GenPercept mode,
            ``'latent'``: a one-element tuple with the predicted target latent ``-v``
            (Eq. 8), for a head that decodes it with the VAE decoder.
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
                 class_names: Sequence[str] | str | None = None,
                 mode: str = 'vpd',
                 context: str = 'classes',
                 prompt_template: str = 'a photo of a {}',
                 max_text_length: int | None = None,
                 timestep: int | None = None,
                 adapter_gamma: float = 1e-4,
                 attn_map_levels: Sequence[int] = (0, 1, 2),
                 outputs: str = 'features',
                 freeze_unet: bool = False,
                 gradient_checkpointing: bool = False,
                 autocast_dtype: str | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self._check_options(mode, context, attn_map_levels, outputs)
        self.mode, self.context, self.outputs = mode, context, outputs
        if mode == 'genpercept':
            class_names = None
        elif context == 'sentence':
            class_names = None
        elif class_names is None or len(class_names) == 0:
            raise ValueError(f'class_names is empty: context={context!r} needs one name per '
                             'class of the head (or a dataset type name)')
        elif isinstance(class_names, str):
            class_names = dataset_class_names(class_names)
        pretrained = check_pretrained(pretrained, ('unet', 'vae', 'text_encoder', 'tokenizer'))
        self.unet = load_unet(pretrained)
        self.vae = load_vae(pretrained)
        self.text_encoder, self.tokenizer = load_text_encoder(pretrained)
        self.class_names = tuple(class_names) if class_names is not None else None
        self.prompt_template = prompt_template
        if timestep is None:
            timestep = 1 if mode == 'genpercept' else 0
        self.timestep = int(timestep)
        #: read by mmseg's DepthEstimator: it then passes ``(img, category_ids)``
        self.class_embed_select = context == 'image_class' and mode == 'vpd'

        self.vae.requires_grad_(False)
        self.text_encoder.requires_grad_(False)
        if outputs == 'features':
            # Decoder features are taken before the UNet's output layers, which then get
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
        # GenPercept keeps SD's own conditioning: the empty prompt, no adapter.
        self.text_adapter = TextAdapter(text_dim, adapter_gamma) if mode == 'vpd' else None
        self.max_text_length = max_text_length or self.tokenizer.model_max_length
        # Fixed text embeddings of the frozen encoder (class prompts, or the empty prompt),
        # computed once, on first use.
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
        tokens = len(self.class_names) if self.class_names else self.max_text_length
        self.out_channels = tuple(
            ch + (tokens if level in self.attn_map_levels else 0)
            for level, ch in enumerate(self.unet.config.block_out_channels))
        self.strides = tuple(vae_factor * 2**i for i in range(num_levels))
        if outputs == 'latent':
            self.out_channels = (self.unet.config.out_channels, )
            self.strides = (vae_factor, )

    @staticmethod
    def _check_options(mode, context, attn_map_levels, outputs) -> None:
        if mode not in MODES:
            raise ValueError(f'mode={mode!r}; choose one of {MODES}')
        if context not in CONTEXTS:
            raise ValueError(f'context={context!r}; choose one of {CONTEXTS}')
        if outputs not in ('features', 'latent'):
            raise ValueError(f"outputs={outputs!r}; choose 'features' or 'latent'")
        if outputs == 'latent' and mode != 'genpercept':
            raise ValueError("outputs='latent' is GenPercept's target latent: set "
                             "mode='genpercept'")
        if attn_map_levels and (mode == 'genpercept' or context == 'image_class'):
            raise ValueError(f'attn_map_levels={tuple(attn_map_levels)} with mode={mode!r}, '
                             f'context={context!r}: the context is the empty prompt or one '
                             'token per image, whose attention map is constant; set '
                             'attn_map_levels=()')

    def _keep_input(self, module, args):
        self._features.append(args[0])

    def _keep_output(self, module, args, output):
        self._features.append(output)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen parts stay in eval mode (no dropout)
        self.text_encoder.eval()
        return self

    def _fixed_embeddings(self) -> torch.Tensor:
        if self.class_embeddings.numel() == 0:
            if self.mode == 'genpercept':
                emb = encode_sentences(self.text_encoder, self.tokenizer, [''])[0]
            else:
                emb = encode_class_prompts(self.text_encoder, self.tokenizer,
                                           self.class_names, self.prompt_template)
                if self.context == 'image_class':  # row -1: unknown class, the mean
                    emb = torch.cat([emb, emb.mean(0, keepdim=True)])
            self.class_embeddings = emb
        return self.class_embeddings

    def text_context(self,
                     batch_size: int,
                     class_ids: torch.Tensor | None = None,
                     texts: Sequence[str] | None = None) -> torch.Tensor:
        """The cross-attention context ``(B, tokens, D)`` of the configured ``context``."""
        if self.mode == 'genpercept':
            return self._fixed_embeddings().unsqueeze(0).expand(batch_size, -1, -1)
        if self.context == 'sentence':
            if texts is None or len(texts) != batch_size:
                raise ValueError(f"context='sentence' needs one sentence per image: "
                                 f'forward(img, texts=[...]) with {batch_size} texts, got '
                                 f'{None if texts is None else len(texts)}')
            emb = encode_sentences(self.text_encoder, self.tokenizer, texts,
                                   self.max_text_length)
            return self.text_adapter(emb)
        emb = self._fixed_embeddings()
        if self.context == 'image_class':
            if class_ids is None:  # no scene label: the mean of all classes, as mmseg does
                class_ids = torch.full((batch_size, ), -1, dtype=torch.long)
            class_ids = torch.as_tensor(class_ids, device=emb.device).long()
            if class_ids.numel() != batch_size or (class_ids >= len(self.class_names)).any():
                raise ValueError(f'class ids {class_ids.tolist()} do not fit {batch_size} '
                                 f'images and {len(self.class_names)} classes')
            return self.text_adapter(emb[class_ids]).unsqueeze(1)
        return self.text_adapter(emb).unsqueeze(0).expand(batch_size, -1, -1)

    @torch.no_grad()
    def encode_image(self, img: torch.Tensor) -> torch.Tensor:
        """VAE latent (mode of the posterior) times the VAE's scaling factor."""
        latent = self.vae.encode(img.to(self.vae.dtype)).latent_dist.mode()
        return latent * self.vae.config.scaling_factor

    def forward(self,
                img: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
                texts: Sequence[str] | None = None) -> tuple[torch.Tensor, ...]:
        """Run the UNet once and return its decoder features (or the target latent).

        Args:
            img: images normalised to [-1, 1], sides multiples of the total stride; or
                ``(img, class_ids)`` for the ``'image_class'`` context (mmseg's
                ``DepthEstimator`` passes that when ``class_embed_select`` is set).
            texts: one sentence per image, for the ``'sentence'`` context.
        """
        class_ids = None
        if isinstance(img, (tuple, list)):
            img, class_ids = img[:2]
        if img.shape[1] != 3:
            raise ValueError(f'expected 3-channel images, got shape {tuple(img.shape)}')
        latent = self.encode_image(img)
        t = torch.full((img.shape[0], ), self.timestep, device=img.device, dtype=torch.long)
        self._features = []
        if self.attn_maps is not None:
            self.attn_maps.reset()
        # outside autocast: the cached class embeddings keep full precision for later calls
        context = self.text_context(img.shape[0], class_ids, texts)
        with torch.autocast(img.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            out = self.unet(latent, t, encoder_hidden_states=context).sample
        feats, self._features = [f.float() for f in reversed(self._features)], []
        if self.outputs == 'latent':
            return (-out.float(), )  # GenPercept Eq. 8: z_y = -v(z_x, t=1)
        for level in self.attn_map_levels:
            maps = self.attn_maps.averaged(*feats[level].shape[-2:])
            feats[level] = torch.cat([feats[level], maps.float()], dim=1)
        if self.attn_maps is not None:
            self.attn_maps.reset()  # do not keep the graph alive between calls
        return tuple(feats)

