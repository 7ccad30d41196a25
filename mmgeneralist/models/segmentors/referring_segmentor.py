"""Referring image segmentation with a diffusion UNet backbone (VPD, Sec. 3.4 and Sec. 4).

The referring expression is the UNet's text context (VPD, Sec. 3.4: "we simply use the
referring expression (a single sentence) to compute the conditioning inputs"), so the
backbone runs once per (image, expression) pair; a simple convolutional head (LAVT's, see
:class:`~mmgeneralist.models.heads.ReferringMaskHead`) turns the features into a mask,
trained with cross-entropy.

Data come from mmdet's ``RefCocoDataset``, which groups the expressions by image: a data
sample holds the image, ``metainfo['text']`` (one string per expression) and
``gt_instances.masks`` (one mask per expression, the referred object's mask repeated for each
of its expressions). Which expressions are used:

* training: one expression per image, drawn afresh at every iteration (VPD, Sec. 4:
  "during the training phase, we randomly choose a language description"). This is done
  here rather than with the dataset's ``text_mode='random'``, which draws once when the
  dataset is built, so every object would keep one description for the whole training;
  and rather than in a pipeline transform, so that the same dataset settings
  (``text_mode='original'``: every expression) serve training and evaluation.
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
import torch.nn.functional as F
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor

from ...registry import register

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
        head: the mask head config, e.g. ``dict(type='ReferringMaskHead', ...)``; it needs
            ``forward(feats)`` (two-class logits), ``resize_logits(logits, size)`` and
            ``loss(feats, targets)``.
        neck: an optional neck (e.g. mmdet's ``FPN``) between backbone and head.
        train_expression: which expressions of an image are trained on in an iteration:
            ``'random'``, one drawn afresh each time (VPD, Sec. 4); ``'all'``, every one
            (one backbone pass per expression).
        inference_batch_size: at most this many (image, expression) pairs go through the
            backbone at once in ``predict`` and tensor mode (an image has several
            expressions); ``None``: all pairs of the batch at once.
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
        self.train_expression = train_expression
        self.inference_batch_size = inference_batch_size

    def extract_feat(self, batch_inputs: Tensor, texts: Sequence[str]) -> tuple[Tensor, ...]:
        """Backbone (and neck) features of images ``(B, 3, H, W)`` given one text each."""
        feats = self.backbone(batch_inputs, texts=list(texts))
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats)

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

    def _logits(self, batch_inputs: Tensor, images: list[int],
                texts: list[str]) -> Tensor:
        """Head logits of each (image, expression) pair, in chunks of the inference size."""
        step = self.inference_batch_size or max(len(texts), 1)
        out = []
        for start in range(0, len(texts), step):
            idx = torch.as_tensor(images[start:start + step], device=batch_inputs.device)
            feats = self.extract_feat(batch_inputs[idx], texts[start:start + step])
            out.append(self.head(feats))
        return torch.cat(out)

    @staticmethod
    def _target(sample: DetDataSample, index: int, pad_hw: tuple[int, int],
                ignore_index: int, device: torch.device) -> Tensor:
        """Mask ``index`` of a sample on the padded canvas (padding = ``ignore_index``)."""
        gt = sample.get('gt_instances')
        masks = gt.get('masks') if gt is not None else None
        n_text = len(_expressions(sample))
        if masks is None or len(masks) != n_text:
            raise ValueError(
                f'data sample {sample.metainfo.get("img_path", "")!r} has {n_text} expressions '
                f'but {0 if masks is None else len(masks)} gt masks: load one mask per '
                'expression (RefCocoDataset + LoadAnnotations(with_mask=True))')
        h, w = sample.metainfo['img_shape'][:2]
        mask = masks[[index]].to_tensor(dtype=torch.long, device=device)[0]
        # img_shape, or padded by the data preprocessor (pad_mask=True)
        allowed = {(h, w)} | {tuple(sample.metainfo[k][:2])
                              for k in ('pad_shape', 'batch_input_shape') if k in sample}
        if tuple(mask.shape) not in allowed:
            raise ValueError(f'gt mask of shape {tuple(mask.shape)} for an image of shape '
                             f'{(h, w)}: load the annotations before Resize in the training '
                             'pipeline so that the masks are resized with the image')
        target = torch.full(pad_hw, ignore_index, dtype=torch.long, device=device)
        target[:h, :w] = mask[:h, :w]
        return target

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: Sequence[DetDataSample]) -> dict[str, Tensor]:
        """Cross-entropy of the masks of the chosen expressions (see ``train_expression``)."""
        images, texts, indices = self._pairs(batch_data_samples, training=True)
        idx = torch.as_tensor(images, device=batch_inputs.device)
        feats = self.extract_feat(batch_inputs[idx], texts)
        pad_hw = tuple(batch_inputs.shape[-2:])
        targets = torch.stack([
            self._target(batch_data_samples[i], j, pad_hw, self.head.ignore_index,
                         batch_inputs.device) for i, j in zip(images, indices)
        ])
        return self.head.loss(feats, targets)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: Sequence[DetDataSample],
                rescale: bool = True) -> list[DetDataSample]:
        """One mask per expression in ``pred_instances.masks`` (bool, ``(N, H, W)``).

        The logits are upsampled to the padded input size, cropped to the image
        (``img_shape``) and, with ``rescale``, resized to ``ori_shape`` before the
        argmax, so the masks line up with the original image and mmdet's ``gt_masks``.
        ``pred_instances.scores`` holds the highest object probability of each mask.
        (mmdet's ``DetLocalVisualizer`` cannot paint these samples: it needs class labels,
        which referring data do not have.)
        """
        images, texts, _ = self._pairs(batch_data_samples, training=False)
        logits = self._logits(batch_inputs, images, texts)
        owner = torch.as_tensor(images, device=logits.device)
        for i, sample in enumerate(batch_data_samples):
            h, w = sample.metainfo['img_shape'][:2]
            own = self.head.resize_logits(logits[owner == i], batch_inputs.shape[-2:])
            own = own[..., :h, :w]
            if rescale:
                own = F.interpolate(own, size=tuple(sample.metainfo['ori_shape'][:2]),
                                    mode='bilinear', align_corners=self.head.align_corners)
            prob = own.softmax(1)[:, 1]
            sample.pred_instances = InstanceData(
                masks=prob > 0.5,  # the argmax of the two classes
                scores=prob.flatten(1).amax(1))
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
        return self._logits(batch_inputs, images, texts)
