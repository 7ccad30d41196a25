"""The UNet's cross-attention context: one class per kind of text a method conditions on.

Each part owns the frozen CLIP text encoder and tokenizer it reads, and the trainable text
adapter where the method has one, and returns the context ``(B, tokens, width)`` of a batch:

* :class:`ClassNamesContext`: one prompt per class, the same for every image (VPD semantic
  segmentation, Sec. 3.2);
* :class:`ImageClassContext`: the prompt of each image's own class (VPD depth: the scene
  class, Sec. 3.4; mmseg's ``DepthEstimator`` hands the class ids over);
* :class:`SentenceContext`: the token embeddings of one sentence per image (VPD referring
  segmentation, Sec. 3.4; an instruction);
* :class:`EmptyPromptContext`: Stable Diffusion's own empty prompt, no adapter (GenPercept,
  Eq. 8).

The backbones compose these instead of branching on strings; the pixel generalist and the
instruction editor take the same parts.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from .text import TextAdapter, encode_class_prompts, encode_sentences


class TextConditioning(nn.Module, metaclass=ABCMeta):
    """A frozen text encoder (and optional adapter) giving the context of a batch.

    Args:
        text_encoder: a transformers CLIP text model; frozen and kept in eval mode.
        tokenizer: its tokenizer.
        adapter_gamma: initial scale of VPD's text adapter (Eq. 5); ``None`` for no adapter.

    Attributes:
        num_tokens: tokens of the context (the width of a per-token attention map).
        maps_informative: whether each token's cross-attention map says something; ``False``
            for a context with one token per image or the same prompt for all images.
    """

    maps_informative: bool = True

    def __init__(self, text_encoder: nn.Module, tokenizer, adapter_gamma: float | None):
        super().__init__()
        self.encoder = text_encoder.requires_grad_(False)
        self.tokenizer = tokenizer
        width = text_encoder.config.hidden_size
        self.adapter = TextAdapter(width, adapter_gamma) if adapter_gamma is not None else None
        # fixed embeddings of the frozen encoder, computed on first use (and again on another
        # device or dtype). A plain attribute, not a buffer: mmengine's EMAHook copies the
        # model before the first forward and then swaps every buffer with the copy's, which
        # would meet an empty buffer here.
        self._fixed: torch.Tensor | None = None

    @property
    @abstractmethod
    def num_tokens(self) -> int:
        """Tokens of the context."""

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: no dropout
        return self

    def adapt(self, emb: torch.Tensor) -> torch.Tensor:
        return self.adapter(emb) if self.adapter is not None else emb

    def fixed_embeddings(self) -> torch.Tensor:
        """The cached embeddings of :meth:`compute_fixed` (computed on first use)."""
        weight = next(self.encoder.parameters())
        if self._fixed is None or (self._fixed.device, self._fixed.dtype) != (weight.device,
                                                                             weight.dtype):
            self._fixed = self.compute_fixed()
        return self._fixed

    @property
    def embeddings(self) -> torch.Tensor:
        """The fixed embeddings (see :meth:`fixed_embeddings`)."""
        return self.fixed_embeddings()

    def compute_fixed(self) -> torch.Tensor:
        raise NotImplementedError(f'{type(self).__name__} has no fixed embeddings')

    @abstractmethod
    def forward(self,
                batch_size: int,
                class_ids: torch.Tensor | None = None,
                texts: Sequence[str] | None = None) -> torch.Tensor:
        """The context ``(batch_size, num_tokens, width)``."""


class ClassNamesContext(TextConditioning):
    """Every class prompt for every image: one [EOS] embedding per class (VPD, Sec. 3.2).

    The embeddings are a persistent buffer (``class_embeddings``, computed when the part is
    built), as VPD's released models carry theirs (``register_buffer('class_embeddings',
    ...)`` in ``segmentation/models/vpd_seg.py`` and ``depth/models_depth/model.py``): a
    checkpoint brings its own, and a converted released checkpoint loads them strictly.

    Args:
        class_names: the names put into ``prompt_template``, in label order.
        prompt_template: e.g. VPD's ``'a photo of a {}'``; or a list of templates whose
            [EOS] embeddings are averaged per class, as VPD's released NYU embeddings were
            made; ``'imagenet80'`` names that list (CLIP's 80 ImageNet templates,
            ``depth/dump_nyu_text_embeddings.py``; :mod:`~mmgeneralist.diffusion.prompts`).
        replace_underscores: put ``' '`` for ``'_'`` in the names first (``living_room`` ->
            ``living room``), as that script does.
        class_embeddings: a ``.pth`` file holding a ``(num_classes, width)`` tensor (VPD's
            released ``class_embeddings.pth`` / ``nyu_class_embeddings.pth``) to use instead
            of encoding the prompts.
    """

    def __init__(self, text_encoder, tokenizer, class_names: Sequence[str],
                 prompt_template: str | Sequence[str] = 'a photo of a {}',
                 adapter_gamma: float | None = 1e-4, replace_underscores: bool = False,
                 class_embeddings: str | None = None):
        super().__init__(text_encoder, tokenizer, adapter_gamma)
        if not class_names:
            raise ValueError('class_names is empty: give one name per class of the head')
        self.class_names = tuple(class_names)
        from .prompts import PROMPT_TEMPLATE_SETS
        templates = PROMPT_TEMPLATE_SETS.get(prompt_template, prompt_template) if isinstance(
            prompt_template, str) else prompt_template
        templates = [templates] if isinstance(templates, str) else list(templates)
        if not templates or not all(isinstance(t, str) and '{}' in t for t in templates):
            raise ValueError(f'prompt_template must be a string with "{{}}" for the class name, '
                             f'a list of such strings or one of {sorted(PROMPT_TEMPLATE_SETS)}; '
                             f'got {prompt_template!r}')
        self.prompt_templates = tuple(templates)
        self.replace_underscores = replace_underscores
        if class_embeddings is not None:
            emb = load_class_embeddings(class_embeddings, len(self.class_names),
                                        text_encoder.config.hidden_size)
        else:
            emb = self.compute_fixed()
        self.register_buffer('class_embeddings', emb.detach().float(), persistent=True)

    @property
    def num_tokens(self) -> int:
        return len(self.class_names)

    def compute_fixed(self) -> torch.Tensor:
        names = [n.replace('_', ' ') if self.replace_underscores else n
                 for n in self.class_names]
        return torch.stack([
            encode_class_prompts(self.encoder, self.tokenizer, names, template)
            for template in self.prompt_templates
        ]).mean(0)

    def fixed_embeddings(self) -> torch.Tensor:
        return self.class_embeddings

    def forward(self, batch_size, class_ids=None, texts=None):
        return self.adapt(self.fixed_embeddings()).unsqueeze(0).expand(batch_size, -1, -1)


def load_class_embeddings(path: str, num_classes: int, width: int) -> torch.Tensor:
    """A ``(num_classes, width)`` tensor from a ``.pth`` file, with a clear error otherwise."""
    import os.path as osp
    if not osp.isfile(path):
        raise FileNotFoundError(f'class_embeddings file {path!r} does not exist: give the '
                                'path of a saved (num_classes, width) tensor, or leave '
                                'class_embeddings=None to encode the class prompts')
    try:
        emb = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 (pickle and zip errors have no common base)
        raise ValueError(f'cannot read class_embeddings {path!r} ({type(err).__name__}: '
                         f'{err}); is the file complete?') from None
    if isinstance(emb, dict) and len(emb) == 1:
        emb = next(iter(emb.values()))
    if not isinstance(emb, torch.Tensor) or tuple(emb.shape) != (num_classes, width):
        found = tuple(emb.shape) if isinstance(emb, torch.Tensor) else type(emb).__name__
        raise ValueError(f'class_embeddings {path!r} holds {found}; expected a tensor of '
                         f'shape ({num_classes}, {width}): one row per class name, the text '
                         "encoder's width")
    return emb


class ImageClassContext(ClassNamesContext):
    """The prompt of each image's class, one token per image (VPD depth, Sec. 3.4).

    ``class_ids`` of ``-1`` (unknown) and a missing ``class_ids`` get the mean of the class
    embeddings, as mmseg's VPD does.
    """

    maps_informative = False

    @property
    def num_tokens(self) -> int:
        return 1

    def forward(self, batch_size, class_ids=None, texts=None):
        emb = self.fixed_embeddings()
        emb = torch.cat([emb, emb.mean(0, keepdim=True)])  # row -1: unknown class
        if class_ids is None:
            class_ids = torch.full((batch_size, ), -1, dtype=torch.long)
        class_ids = torch.as_tensor(class_ids, device=emb.device).long()
        # (a shape-only run on the meta device cannot look at the values)
        out_of_range = not class_ids.is_meta and bool(
            ((class_ids >= len(self.class_names)) | (class_ids < -1)).any())
        if class_ids.numel() != batch_size or out_of_range:
            raise ValueError(f'class ids {class_ids.tolist()} do not fit {batch_size} images '
                             f'and {len(self.class_names)} classes (-1: unknown)')
        return self.adapt(emb[class_ids.view(-1)]).unsqueeze(1)


class SentenceContext(TextConditioning):
    """The token embeddings of one sentence per image (VPD referring, Sec. 3.4).

    Args:
        max_text_length: tokens per sentence (padded or truncated with a warning);
            ``None``: the text encoder's length (77 for CLIP).
    """

    def __init__(self, text_encoder, tokenizer, max_text_length: int | None = None,
                 adapter_gamma: float | None = 1e-4):
        super().__init__(text_encoder, tokenizer, adapter_gamma)
        self.max_text_length = max_text_length or tokenizer.model_max_length
        if self.max_text_length > tokenizer.model_max_length:
            raise ValueError(f'max_text_length={self.max_text_length} exceeds the text '
                             f"encoder's {tokenizer.model_max_length} positions")

    @property
    def num_tokens(self) -> int:
        return self.max_text_length

    def forward(self, batch_size, class_ids=None, texts=None):
        if texts is None or len(texts) != batch_size:
            raise ValueError(f"context='sentence' needs one sentence per image: "
                             f'forward(img, texts=[...]) with {batch_size} texts, got '
                             f'{None if texts is None else len(texts)}')
        emb = encode_sentences(self.encoder, self.tokenizer, texts, self.max_text_length)
        return self.adapt(emb)


class EmptyPromptContext(TextConditioning):
    """Stable Diffusion's empty prompt for every image, without an adapter (GenPercept).

    Args:
        padded: the empty prompt padded to the encoder's length (77 tokens), as GenPercept's
            v1 models were trained (``GenPercept_v1/empty_text_embed.npy``, 77 x 1024); or
            ``False``: unpadded, [BOS] and [EOS] only, as its later release tokenizes ``""``
            with ``padding="do_not_pad"`` (``genpercept/genpercept_pipeline.py``,
            ``src/trainer/genpercept_trainer.py``).
    """

    maps_informative = False

    def __init__(self, text_encoder, tokenizer, padded: bool = True):
        super().__init__(text_encoder, tokenizer, adapter_gamma=None)
        self.padded = padded

    @property
    def num_tokens(self) -> int:
        if self.padded:
            return self.tokenizer.model_max_length
        return len(self.tokenizer('').input_ids)

    def compute_fixed(self) -> torch.Tensor:
        return encode_sentences(self.encoder, self.tokenizer, [''], self.num_tokens)[0]

    def forward(self, batch_size, class_ids=None, texts=None):
        return self.fixed_embeddings().unsqueeze(0).expand(batch_size, -1, -1)


class InstructionContext(TextConditioning):
    """The token embeddings of a fixed set of task instructions, one per image.

    The pixel generalist's instructions ("Performance semantic segmentation", Fan et al.,
    Fig. 3) are known when the model is built: their embeddings through the frozen encoder
    are computed once and looked up per image. No adapter: the paper tunes no part of the
    text path (Sec. 3.2, "except for the text encoder, which is frozen").

    Args:
        instructions: every instruction the model may be given.
        max_text_length: tokens per instruction; ``None``: the text encoder's length.
    """

    def __init__(self, text_encoder, tokenizer, instructions: Sequence[str],
                 max_text_length: int | None = None):
        super().__init__(text_encoder, tokenizer, adapter_gamma=None)
        self.instructions = tuple(dict.fromkeys(instructions))
        if not self.instructions or not all(isinstance(t, str) and t.strip()
                                            for t in self.instructions):
            raise ValueError(f'instructions must be non-empty strings; got {instructions!r}')
        self.max_text_length = max_text_length or tokenizer.model_max_length

    @property
    def num_tokens(self) -> int:
        return self.max_text_length

    def compute_fixed(self) -> torch.Tensor:
        return encode_sentences(self.encoder, self.tokenizer, self.instructions,
                                self.max_text_length)

    def forward(self, batch_size, class_ids=None, texts=None):
        unknown = sorted({t for t in texts or () if t not in self.instructions})
        if texts is None or len(texts) != batch_size or unknown:
            raise ValueError(f'need one of the instructions {list(self.instructions)} per image '
                             f'({batch_size}); got {texts!r}' +
                             (f' (unknown: {unknown})' if unknown else ''))
        index = torch.tensor([self.instructions.index(t) for t in texts])
        emb = self.fixed_embeddings()
        return emb[index.to(emb.device)]
