"""mmseg's ``EncoderDecoder`` with a diffusion backbone whose text lists the classes."""
from __future__ import annotations

from mmseg.models.segmentors import EncoderDecoder
from torch import nn

from ...registry import register


def check_class_count(backbone, num_classes: int, head_name: str = 'decode_head') -> None:
    """Refuse a class-name list whose length differs from the head's number of classes.

    With VPD's class-list context, text token ``k`` and the attention-map channel ``k`` stand
    for class ``k`` of the head (Sec. 3.2-3.3); a list of another length silently pairs
    the wrong names with the labels.
    """
    names = getattr(backbone, 'class_names', None)
    if getattr(backbone, 'context', None) != 'classes' or names is None:
        return
    if len(names) != num_classes:
        raise ValueError(
            f'the backbone has {len(names)} class names but {head_name}.num_classes is '
            f'{num_classes}: give model.backbone.class_names one name per class of the head, '
            f'in label order (or the dataset type, e.g. class_names="ADE20KDataset"), or set '
            f'{head_name}.num_classes={len(names)}')


def check_feature_widths(backbone, neck=None, head=None, head_name: str = 'decode_head') -> None:
    """Refuse a neck (or, without one, a head) built for other widths than the backbone's.

    The backbone states its ``out_channels`` (the UNet's block widths plus the attention-map
    channels of the levels that carry them); a neck's ``in_channels``, or a head's
    ``in_channels`` at its ``in_index``, must equal them. Without this check a wrong width
    surfaces as a convolution error at the first forward pass, after the weights are loaded.
    """
    widths = getattr(backbone, 'out_channels', None)
    if widths is None:
        return
    widths = [int(c) for c in widths]
    if neck is not None:
        expected = getattr(neck, 'in_channels', None)
        if expected is not None and [int(c) for c in expected] != widths:
            raise ValueError(
                f'model.neck.in_channels={list(expected)} but the backbone gives {widths} '
                '(its block widths plus the attention-map channels of attn_map_levels): set '
                f'model.neck.in_channels={widths}')
        return
    expected = getattr(head, 'in_channels', None)
    if expected is None:
        return
    in_index = getattr(head, 'in_index', None)
    if isinstance(in_index, int):
        given, expected = widths[in_index], int(expected)
    elif in_index is not None:
        given, expected = [widths[i] for i in in_index], [int(c) for c in expected]
    else:
        given, expected = widths, [int(c) for c in expected]
    if given != expected:
        raise ValueError(
            f'model.{head_name}.in_channels={expected} but the backbone gives {given} at '
            f'those levels (its block widths plus the attention-map channels of '
            f'attn_map_levels): set model.{head_name}.in_channels={given}')


@register('models')
class DiffusionEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` for a :class:`DiffusionUNetBackbone` with a class-list context.

    It is mmseg's segmentor unchanged, plus two checks when it is built: the backbone's
    class names and the decode (and auxiliary) head's ``num_classes`` must agree, because
    class ``k``'s prompt and attention-map channel are the head's class ``k``; and the neck
    (or the head, without a neck) must take the backbone's widths
    (:func:`check_feature_widths`). Arguments are those of
    :class:`mmseg.models.EncoderDecoder`.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: dict | None = None,
                 auxiliary_head: dict | list | None = None,
                 train_cfg: dict | None = None,
                 test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None,
                 pretrained: str | None = None,
                 init_cfg: dict | list | None = None):
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        check_class_count(self.backbone, self.decode_head.num_classes)
        check_feature_widths(self.backbone, self.neck if self.with_neck else None,
                             self.decode_head)
        if self.with_auxiliary_head:
            aux = self.auxiliary_head
            for i, head in enumerate(aux if isinstance(aux, nn.ModuleList) else [aux]):
                check_class_count(self.backbone, head.num_classes, f'auxiliary_head[{i}]')
