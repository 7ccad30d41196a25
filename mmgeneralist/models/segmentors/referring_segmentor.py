"""Referring image segmentation with a diffusion UNet backbone (VPD, Sec. 3.4 and Sec. 4).

The referring expression is the UNet's text context (VPD, Sec. 3.4: "we simply use the
referring expression (a single sentence) to compute the conditioning inputs"), so the
UNet runs once per (image, expression) pair (the frozen VAE encoder once per image); a
simple convolutional head (LAVT's, see :class:`~mmgeneralist.models.heads.ReferringMaskHead`)
turns the features into a mask, trained with cross-entropy.

Data come from mmdet's ``RefCocoDataset``, which groups the expressions by image: a data
sample holds the image, ``metainfo['text']`` (one string per expression) and
``gt_instances.masks`` (one mask per expression, the referred object's mask repeated for each
of its expressions). Which expressions are used:

* training: one expression per data item, drawn afresh at every iteration (VPD, Sec. 4:
  "during the training phase, we randomly choose a language description"). This is done
  here rather than with the dataset's ``text_mode='random'``, which draws once when the
  dataset is built, so every object would keep one description for the whole training;
  and rather than in a pipeline transform, so that the same dataset settings
  (``text_mode='original'``: every expression) serve training and evaluation. An item is
  an image with all its objects (mmdet's ``RefCocoDataset``), or one object with its
  expressions (:class:`~mmgeneralist.datasets.RefCocoObjectsDataset`, as VPD's released
  loader iterates, which the RefCOCO config trains on).
  ``train_expression='all'`` uses every expression instead.
* evaluation: every expression of every image (VPD: "in the inference time, we evaluate
  sequentially and calculate the mean results"), one predicted mask per expression in
  ``pred_instances.masks``, at the original image size, which is what mmdet's
  ``RefSegMetric`` compares with ``gt_masks`` (cIoU: overall IoU over all expressions,
  VPD's oIoU; mIoU: the mean of the per-expression IoUs).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor

from ...registry import register
from .diffusion_encoder_decoder import check_feature_widths

TRAIN_EXPRESSIONS = ('random', 'all')


def _expressions(sample: DetDataSample) -> list[str]:
    """The referring expressions of a data sample (``metainfo['text']``)."""
    text = sample.metainfo.get('text')
    if isinstance(text, str):
        text = [text]
    if not text or not all(isinstance(t, str) and t.strip() for t in text):
        raise ValueError(
            f'data sample {sample.metainfo.get("img_path", "")!r} has no referring expression '
            f'(metainfo text={text!r}): the referring segmentor needs at least one non-empty '
            "sentence per image; keep 'text' in PackDetInputs' meta_keys")
    return list(text)


@register('models')
class DiffusionReferringSegmentor(BaseDetector):
    """A diffusion-UNet backbone conditioned on a referring expression, and a mask head.

    Args:
        backbone: a :class:`DiffusionUNetBackbone` config with ``context='sentence'``.
        head: the mask head config, e.g. ``dict(type='ReferringMaskHead', ...)``: it keeps
            mmdet's head contract, ``loss(feats, data_samples)`` and
            ``predict(feats, data_samples, rescale)``, with one data sample per
            (image, expression) pair (the image's metainfo, ``text`` the expression and, in
            training, that expression's mask); ``forward(feats)`` gives tensor mode.
        neck: an optional neck (e.g. mmdet's ``FPN``) between backbone and head.
        train_expression: which expressions of an image are trained on in an iteration:
            ``'random'``, one drawn afresh each time (VPD, Sec. 4); ``'all'``, every one
            (one backbone pass per expression).
        inference_batch_size: at most this many (image, expression) pairs go through the
            backbone at once in ``predict`` and tensor mode (an image has several
            expressions); ``None``: all pairs of the batch at once.
        reuse_latents: encode each image with the frozen VAE once and give its latent to
            every expression's UNet pass (the same result: the encoder sees only the
            image). ``False`` encodes every pair again, as VPD's released code does
            (``refer/models_refer/model.py`` runs the whole model per sentence).
        data_preprocessor: e.g. mmdet's ``DetDataPreprocessor`` normalising to [-1, 1]
            and padding to a multiple of the backbone's total stride.
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: for a backbone without a sentence context, or an unknown
            ``train_expression``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: dict | None = None,
                 train_expression: str = 'random',
                 inference_batch_size: int | None = None,
                 reuse_latents: bool = True,
                 data_preprocessor: dict | None = None,
                 init_cfg: dict | list | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if train_expression not in TRAIN_EXPRESSIONS:
            raise ValueError(f'train_expression={train_expression!r}; choose one of '
                             f'{TRAIN_EXPRESSIONS}')
        if inference_batch_size is not None and inference_batch_size < 1:
            raise ValueError(f'inference_batch_size={inference_batch_size} must be >= 1 '
                             '(or None for no limit)')
        self.backbone = MMDET_MODELS.build(backbone)
        if getattr(self.backbone, 'context', None) != 'sentence':
            raise ValueError(
                f'{type(self.backbone).__name__} has context='
                f'{getattr(self.backbone, "context", None)!r}: referring segmentation '
                "conditions on one sentence per image; set model.backbone.context='sentence'")
        self.neck = MMDET_MODELS.build(neck) if neck is not None else None
        self.head = MMDET_MODELS.build(head)
        check_feature_widths(self.backbone, self.neck, self.head, head_name='head')
        self.train_expression = train_expression
        self.inference_batch_size = inference_batch_size
        self.reuse_latents = reuse_latents

    def extract_feat(self, batch_inputs: Tensor, texts: Sequence[str],
                     latents: Tensor | None = None) -> tuple[Tensor, ...]:
        """Backbone (and neck) features of images ``(B, 3, H, W)`` given one text each (and,
        optionally, their VAE latents)."""
        feats = self.backbone(batch_inputs, texts=list(texts), latent=latents)
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats)

    def _pair_features(self, batch_inputs: Tensor, images: list[int], texts: list[str],
                       latents: Tensor | None) -> tuple[Tensor, ...]:
        """Features of the (image, expression) pairs ``images[i], texts[i]``."""
        idx = torch.as_tensor(images, device=batch_inputs.device)
        return self.extract_feat(batch_inputs[idx], texts,
                                 None if latents is None else latents[idx])

    def _latents(self, batch_inputs: Tensor) -> Tensor | None:
        """Each image's VAE latent, once (``reuse_latents``), else None."""
        return self.backbone.encode_image(batch_inputs) if self.reuse_latents else None

    def _pairs(self, batch_data_samples: Sequence[DetDataSample],
               training: bool) -> tuple[list[int], list[str], list[int]]:
        """``(image index, expression, expression index)`` of each backbone pass."""
        images, texts, indices = [], [], []
        for i, sample in enumerate(batch_data_samples):
            expressions = _expressions(sample)
            if training and self.train_expression == 'random':
                chosen = [int(torch.randint(len(expressions), ()).item())]
            else:
                chosen = range(len(expressions))
            for j in chosen:
                images.append(i)
                texts.append(expressions[j])
                indices.append(j)
        return images, texts, indices

    @staticmethod
    def _pair_samples(batch_data_samples: Sequence[DetDataSample], images: list[int],
                      texts: list[str], indices: list[int],
                      with_masks: bool) -> list[DetDataSample]:
        """One data sample per (image, expression) pair: the image's metainfo with
        ``text`` set to the expression and, ``with_masks``, that expression's mask."""
        pairs = []
        for i, text, j in zip(images, texts, indices):
            sample = batch_data_samples[i]
            pair = DetDataSample(metainfo=dict(sample.metainfo, text=text))
            if with_masks:
                gt = sample.get('gt_instances')
                masks = gt.get('masks') if gt is not None else None
                n_text = len(_expressions(sample))
                if masks is None or len(masks) != n_text:
                    raise ValueError(
                        f'data sample {sample.metainfo.get("img_path", "")!r} has {n_text} '
                        f'expressions but {0 if masks is None else len(masks)} gt masks: '
                        'load one mask per expression (RefCocoDataset + '
                        'LoadAnnotations(with_mask=True))')
                pair.gt_instances = InstanceData(masks=masks[[j]])
            pairs.append(pair)
        return pairs

    def _chunks(self, n: int) -> list[slice]:
        step = self.inference_batch_size or max(n, 1)
        return [slice(start, start + step) for start in range(0, n, step)]

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: Sequence[DetDataSample]) -> dict[str, Tensor]:
        """The head's loss on the chosen expressions (see ``train_expression``)."""
        images, texts, indices = self._pairs(batch_data_samples, training=True)
        pairs = self._pair_samples(batch_data_samples, images, texts, indices, True)
        feats = self._pair_features(batch_inputs, images, texts, self._latents(batch_inputs))
        return self.head.loss(feats, pairs)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: Sequence[DetDataSample],
                rescale: bool = True) -> list[DetDataSample]:
        """One mask per expression in ``pred_instances.masks`` (bool, ``(N, H, W)``).

        The head predicts each (image, expression) pair's mask at the original image size
        (see :meth:`ReferringMaskHead.predict`); they are regrouped by image, in expression
        order, with ``pred_instances.scores`` the highest object probability of each mask.
        (mmdet's ``DetLocalVisualizer`` cannot paint these samples: it needs class labels,
        which referring data do not have.)
        """
        images, texts, indices = self._pairs(batch_data_samples, training=False)
        pairs = self._pair_samples(batch_data_samples, images, texts, indices, False)
        latents = self._latents(batch_inputs)
        preds = []
        for chunk in self._chunks(len(texts)):
            feats = self._pair_features(batch_inputs, images[chunk], texts[chunk], latents)
            preds.extend(self.head.predict(feats, pairs[chunk], rescale=rescale))
        for i, sample in enumerate(batch_data_samples):
            own = [p for p, owner in zip(preds, images) if owner == i]
            sample.pred_instances = InstanceData.cat(own)
        return list(batch_data_samples)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: Sequence[DetDataSample] | None = None) -> Tensor:
        """Head logits ``(P, 2, h, w)`` of every (image, expression) pair, in sample order.

        The expressions come from the data samples (``metainfo['text']``), so they are
        required even in tensor mode.
        """
        if batch_data_samples is None:
            raise ValueError('the referring segmentor needs data samples carrying the '
                             "expressions (metainfo 'text') in tensor mode as well")
        images, texts, _ = self._pairs(batch_data_samples, training=False)
        latents = self._latents(batch_inputs)
        return torch.cat([
            self.head(self._pair_features(batch_inputs, images[chunk], texts[chunk], latents))
            for chunk in self._chunks(len(texts))
        ])
