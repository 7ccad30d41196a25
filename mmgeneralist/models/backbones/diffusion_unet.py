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

Where VPD's text and its released code differ, the released code is the default (it made the
published numbers) and the text's reading is an option:

=================  ==========================================  ===============================
option             default: VPD's released code                paper's text
=================  ==========================================  ===============================
``timestep``       1 (``t = torch.ones(...)`` in                0 (Sec. 3.2)
                   ``segmentation/models/vpd_seg.py``)
``scale_latent``   ``False``: the posterior mode as is          ``True``: times SD's 0.18215,
                   (``encoder_vq.encode(img).mode()``, same      as SD's training (Sec. 3.2
                   file)                                        does not say)
``taps``           ``'released'``: ldm ``output_blocks``        ``'block_ends'``: each up
                   1, 4, 7 and the last output                  block's end (Sec. 3.3)
                   (``vpd/models.py``)
maps               ``attn_map_levels=(1, 2)``: 32 and 16 at     (0, 1, 2) reads Sec. 3.3's
                   512 px (``max_attn_size`` = latent / 2,      "all resolutions but the
                   ``vpd/models.py``)                           lowest" (A64, Table 2)
=================  ==========================================  ===============================

GenPercept mode keeps t = 1 and the scaled latent, as its released code
(``genpercept/genpercept_pipeline.py``, ``src/trainer/genpercept_trainer.py``: 0.18215), and
the block ends for its feature heads: its released DPT head reads every up block's output
*after* the upsampler (``genpercept/models/custom_unet.py``), together with a DPT head of
its own, neither of which is here yet (our DPT-style and UperNet heads are our options).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from mmengine.model import BaseModule

from ...diffusion import (
    check_pretrained,
    install_attention_map_processors,
    load_text_encoder,
    load_unet,
    load_vae,
)
from ...diffusion.conditioning import (
    ClassNamesContext,
    EmptyPromptContext,
    ImageClassContext,
    SentenceContext,
    TextConditioning,
)
from ...diffusion.features import UpBlockFeatureTap
from ...diffusion.lora import add_lora
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
#: the ``context`` option and its part; ``'empty'`` is GenPercept's, set by ``mode``
CONTEXTS = dict(classes=ClassNamesContext, image_class=ImageClassContext,
                sentence=SentenceContext, empty=EmptyPromptContext)


@register('models')
class DiffusionUNetBackbone(BaseModule):
    """Stable-Diffusion UNet as a backbone for mmseg / mmdet heads.

    It composes parts of :mod:`mmgeneralist.diffusion`: the loaders, a text-conditioning part
    per context kind (``self.text``, :mod:`~mmgeneralist.diffusion.conditioning`: it owns the
    frozen CLIP text encoder and the adapter), the up-block feature tap
    (:class:`~mmgeneralist.diffusion.features.UpBlockFeatureTap`) and the attention-map
    processors (:mod:`~mmgeneralist.diffusion.attention`).

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
        context: what the VPD text is (Sec. 3.4; GenPercept mode always uses SD's empty
            prompt, ``context`` then reads ``'empty'``): ``'classes'``, all class prompts for
            every image (semantic segmentation); ``'image_class'``, the prompt of each
            image's class, given as ``forward((img, class_ids))`` the way mmseg's
            ``DepthEstimator`` passes NYU scene ids (id -1, unknown, gets the mean of all
            classes); ``'sentence'``, the token embeddings of one sentence per image, given
            as ``forward(img, texts=[...])`` (referring segmentation).
        prompt_template: VPD's "a photo of a [CLS]" (Sec. 3.2).
        max_text_length: tokens per sentence in the ``'sentence'`` context (padded or
            truncated with a warning); ``None``: the text encoder's length (77 for CLIP).
        timestep: the UNet's timestep; ``None``: 1, both in VPD's released code (the
            paper's text says t = 0, Sec. 3.2) and in GenPercept (Eq. 8).
        scale_latent: multiply the VAE latent by its ``scaling_factor`` (0.18215 for SD);
            ``None``: ``False`` in VPD mode (its released code feeds the posterior mode
            unscaled), ``True`` in GenPercept mode.
        taps: which decoder layer of each resolution is the feature
            (:mod:`~mmgeneralist.diffusion.features`); ``None``: ``'released'`` in VPD
            mode, ``'block_ends'`` in GenPercept mode.
        replace_underscores: ``'_'`` -> ``' '`` in the class names before prompting (VPD's
            released NYU embeddings); ``prompt_template`` may then be a list of templates
            whose embeddings are averaged.
        class_embeddings: a ``.pth`` file with the ``(num_classes, width)`` class embeddings
            to use instead of encoding the prompts (VPD's released ``class_embeddings.pth``).
            Either way they are a persistent buffer, saved with the model.
        empty_prompt: GenPercept's prompt: ``'padded'`` to 77 tokens (its v1 models) or
            ``'unpadded'`` ([BOS] [EOS], its later release); see
            :class:`~mmgeneralist.diffusion.conditioning.EmptyPromptContext`.
        unet: a diffusers UNet folder to use instead of ``pretrained``'s ``unet/`` (e.g.
            one of GenPercept's released fine-tuned UNets); the VAE and the text encoder
            still come from ``pretrained``.
        adapter_gamma: initial scale of the text adapter; 1e-4 in VPD (Sec. 4).
        attn_map_levels: feature levels (0 = highest resolution) whose averaged
            cross-attention maps (of the down and up blocks at that resolution, one channel
            per text token) are concatenated to the features. ``(1, 2)``, VPD's released
            default, is its A32 variant at 512 px; ``(0, 1, 2)`` A64 (Table 2); ``()`` for
            none.
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
        vae_dtype: keep the frozen VAE encoder's weights in this dtype (e.g.
            ``'bfloat16'``) and encode in it; the latent is handed to the UNet in the
            image's dtype. At SD-1.5 shapes and 512 px the encoder costs more than the UNet
            (``docs/benchmarks.md``); a device with bf16 units runs it faster in bf16, at
            the cost measured there on the latent. ``None``: the loaded dtype (float32).
            Not with FSDP, which flattens a module's parameters into one dtype.
        lora: train low-rank adapters instead of the UNet's weights (``peft.LoraConfig``
            arguments, e.g. ``dict(r=8)``; :func:`~mmgeneralist.diffusion.lora.add_lora`).
        init_cfg: unused; the weights come from ``pretrained``.

    Returns from ``forward``:
        A tuple of four feature maps, highest resolution first, one per up block of the UNet
        (``taps``; strides 8, 16, 32, 64 for SD's 8x VAE), as VPD collects them; widths
        in ``out_channels`` (the UNet's block width, plus the number of classes at the
        levels in ``attn_map_levels``).
    """

    #: UNet parts trained in full under ``lora`` (none: the backbone re-shapes nothing)
    lora_train_also: tuple[str, ...] = ()

    def __init__(self,
                 pretrained: str,
                 class_names: Sequence[str] | str | None = None,
                 mode: str = 'vpd',
                 context: str = 'classes',
                 prompt_template: str | Sequence[str] = 'a photo of a {}',
                 max_text_length: int | None = None,
                 timestep: int | None = None,
                 scale_latent: bool | None = None,
                 taps: str | None = None,
                 replace_underscores: bool = False,
                 class_embeddings: str | None = None,
                 empty_prompt: str = 'padded',
                 unet: str | None = None,
                 adapter_gamma: float = 1e-4,
                 attn_map_levels: Sequence[int] = (1, 2),
                 outputs: str = 'features',
                 freeze_unet: bool = False,
                 gradient_checkpointing: bool = False,
                 autocast_dtype: str | None = None,
                 vae_dtype: str | None = None,
                 lora: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.context = self._check_options(mode, context, outputs, attn_map_levels, class_names)
        self.mode, self.outputs = mode, outputs
        if isinstance(class_names, str):
            class_names = dataset_class_names(class_names)
        pretrained = check_pretrained(pretrained, ('unet', 'vae', 'text_encoder', 'tokenizer'))
        self.unet = load_unet(pretrained, unet)
        self.vae = load_vae(pretrained)
        self.vae.requires_grad_(False)
        text_encoder, tokenizer = load_text_encoder(pretrained)
        if text_encoder.config.hidden_size != self.unet.config.cross_attention_dim:
            raise ValueError(f'text encoder width {text_encoder.config.hidden_size} != UNet '
                             f'cross_attention_dim {self.unet.config.cross_attention_dim} in '
                             f'{pretrained!r}')
        #: the text conditioning part (:mod:`mmgeneralist.diffusion.conditioning`)
        if empty_prompt not in ('padded', 'unpadded'):
            raise ValueError(f"empty_prompt={empty_prompt!r}; choose 'padded' or 'unpadded'")
        self.text = self._conditioning(self.context, text_encoder, tokenizer, class_names,
                                       prompt_template, max_text_length, adapter_gamma,
                                       replace_underscores, class_embeddings,
                                       empty_prompt == 'padded')
        self.class_names = getattr(self.text, 'class_names', None)
        self.timestep = int(timestep if timestep is not None else 1)
        self.scale_latent = bool(scale_latent if scale_latent is not None else
                                 mode == 'genpercept')
        #: read by mmseg's DepthEstimator: it then passes ``(img, category_ids)``
        self.class_embed_select = isinstance(self.text, ImageClassContext)

        if outputs == 'features':
            # Parts the features never use go, as VPD's released code deletes them
            # (``del self.encoder_vq.decoder``, ``del ...diffusion_model.out``): the UNet's
            # output layers (which would get no gradient, and DistributedDataParallel
            # refuses unused parameters) and the VAE decoder; less memory, and a released
            # checkpoint loads strictly.
            self.unet.conv_norm_out = None  # diffusers skips the norm and its activation
            self.unet.conv_out = torch.nn.Identity()
            self.vae.decoder = self.vae.post_quant_conv = None
        if freeze_unet:
            self.unet.requires_grad_(False)
        add_lora(self.unet, lora, train_also=self.lora_train_also)
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.autocast_dtype = _dtype(autocast_dtype, 'autocast_dtype')
        if vae_dtype is not None:
            self.set_vae_dtype(vae_dtype)

        taps = taps if taps is not None else ('released' if mode == 'vpd' else 'block_ends')
        self.features = UpBlockFeatureTap(self.unet, taps)
        num_levels = len(self.unet.config.block_out_channels)
        self.attn_map_levels = tuple(sorted(set(attn_map_levels)))
        if any(not 0 <= level < num_levels for level in self.attn_map_levels):
            raise ValueError(f'attn_map_levels {attn_map_levels} must lie in 0..{num_levels - 1}')
        self.attn_maps = (install_attention_map_processors(self.unet, self.attn_map_levels)
                          if self.attn_map_levels else None)
        vae_factor = 2**(len(self.vae.config.block_out_channels) - 1)
        #: feature widths and strides, highest resolution first (for necks and heads)
        self.out_channels = tuple(
            ch + (self.text.num_tokens if level in self.attn_map_levels else 0)
            for level, ch in enumerate(self.unet.config.block_out_channels))
        self.strides = tuple(vae_factor * 2**i for i in range(num_levels))
        if outputs == 'latent':
            self.out_channels = (self.unet.config.out_channels, )
            self.strides = (vae_factor, )

    @staticmethod
    def _check_options(mode, context, outputs, attn_map_levels, class_names) -> str:
        """Refuse options that cannot work before any weights are loaded; return the
        context kind (GenPercept's ``'empty'`` in its mode)."""
        if mode not in MODES:
            raise ValueError(f'mode={mode!r}; choose one of {MODES}')
        choices = tuple(k for k in CONTEXTS if k != 'empty')
        if context not in choices:
            raise ValueError(f'context={context!r}; choose one of {choices}')
        if outputs not in ('features', 'latent'):
            raise ValueError(f"outputs={outputs!r}; choose 'features' or 'latent'")
        if outputs == 'latent' and mode != 'genpercept':
            raise ValueError("outputs='latent' is GenPercept's target latent: set "
                             "mode='genpercept'")
        kind = 'empty' if mode == 'genpercept' else context
        if attn_map_levels and not CONTEXTS[kind].maps_informative:
            raise ValueError(f'attn_map_levels={tuple(attn_map_levels)} with mode={mode!r}, '
                             f'context={context!r}: the context is the empty prompt or one '
                             'token per image, whose attention map is constant; set '
                             'attn_map_levels=()')
        if issubclass(CONTEXTS[kind], ClassNamesContext) and not class_names:
            raise ValueError(f'class_names is empty: context={context!r} needs one name per '
                             'class of the head (or a dataset type name)')
        return kind

    @staticmethod
    def _conditioning(context, text_encoder, tokenizer, class_names, prompt_template,
                      max_text_length, adapter_gamma, replace_underscores=False,
                      class_embeddings=None, padded_empty_prompt=True) -> TextConditioning:
        """The text part of a context kind: GenPercept keeps SD's empty prompt, no adapter."""
        if context == 'empty':
            return EmptyPromptContext(text_encoder, tokenizer, padded_empty_prompt)
        if context == 'sentence':
            return SentenceContext(text_encoder, tokenizer, max_text_length, adapter_gamma)
        return CONTEXTS[context](text_encoder, tokenizer, class_names, prompt_template,
                                 adapter_gamma, replace_underscores, class_embeddings)

    # the frozen encoder, its tokenizer and the adapter live in the text part
    @property
    def text_encoder(self):
        return self.text.encoder

    @property
    def tokenizer(self):
        return self.text.tokenizer

    @property
    def text_adapter(self):
        return self.text.adapter

    @property
    def max_text_length(self) -> int:
        return getattr(self.text, 'max_text_length', self.tokenizer.model_max_length)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen parts stay in eval mode (no dropout)
        return self

    def text_context(self,
                     batch_size: int,
                     class_ids: torch.Tensor | None = None,
                     texts: Sequence[str] | None = None) -> torch.Tensor:
        """The cross-attention context ``(B, tokens, D)`` of the configured ``context``."""
        return self.text(batch_size, class_ids, texts)

    def set_vae_dtype(self, dtype: str | torch.dtype) -> None:
        """Keep the frozen VAE's weights in ``dtype`` (``vae_dtype``); :meth:`encode_image`
        then encodes in it."""
        if not isinstance(dtype, torch.dtype):
            dtype = _dtype(dtype, 'vae_dtype')
        # nn.Module's own cast: diffusers' ModelMixin.to() warns about fp32-only modules
        # even when, as for AutoencoderKL, there are none
        torch.nn.Module.to(self.vae, dtype)

    @torch.no_grad()
    def encode_image(self, img: torch.Tensor) -> torch.Tensor:
        """VAE latent (mode of the posterior), times the VAE's scaling factor when
        ``scale_latent``."""
        latent = self.vae.encode(img.to(self.vae.dtype)).latent_dist.mode().to(img.dtype)
        return latent * self.vae.config.scaling_factor if self.scale_latent else latent

    def forward(self,
                img: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
                texts: Sequence[str] | None = None,
                latent: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """Run the UNet once and return its decoder features (or the target latent).

        Args:
            img: images normalised to [-1, 1], sides multiples of the total stride; or
                ``(img, class_ids)`` for the ``'image_class'`` context (mmseg's
                ``DepthEstimator`` passes that when ``class_embed_select`` is set).
            texts: one sentence per image, for the ``'sentence'`` context.
            latent: ``encode_image(img)`` when the caller already has it (the referring
                segmentor encodes an image once for all its expressions): the frozen VAE
                encoder, the costliest part at 512 px, is skipped.
        """
        class_ids = None
        if isinstance(img, (tuple, list)):
            img, class_ids = img[:2]
        if img.shape[1] != 3:
            raise ValueError(f'expected 3-channel images, got shape {tuple(img.shape)}')
        if latent is None:
            latent = self.encode_image(img)
        elif latent.shape[0] != img.shape[0]:
            raise ValueError(f'{latent.shape[0]} latents for {img.shape[0]} images')
        t = torch.full((img.shape[0], ), self.timestep, device=img.device, dtype=torch.long)
        self.features.reset()
        if self.attn_maps is not None:
            self.attn_maps.reset()
        # outside autocast: the cached class embeddings keep full precision for later calls
        context = self.text_context(img.shape[0], class_ids, texts)
        autocast = (torch.autocast(img.device.type, dtype=self.autocast_dtype)
                    if self.autocast_dtype is not None else contextlib.nullcontext())
        with autocast:
            out = self.unet(latent, t, encoder_hidden_states=context).sample
        feats = self.features.collect()
        if self.outputs == 'latent':
            return (-out.float(), )  # GenPercept Eq. 8: z_y = -v(z_x, t=1)
        for level in self.attn_map_levels:
            maps = self.attn_maps.averaged(*feats[level].shape[-2:])
            feats[level] = torch.cat([feats[level], maps.float()], dim=1)
        if self.attn_maps is not None:
            self.attn_maps.reset()  # do not keep the graph alive between calls
        return tuple(feats)


def _dtype(name: str | None, what: str) -> torch.dtype | None:
    """The torch dtype named ``name`` (``None`` stays ``None``)."""
    if name is None:
        return None
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"{what}={name!r} is not a torch dtype name; use e.g. 'bfloat16' or "
                         "'float16'")
    return dtype
