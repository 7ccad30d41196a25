"""RefCOCO with one item per referred object, as VPD's (and LAVT's) released loaders iterate.

mmdet's ``RefCocoDataset`` yields one item per *image*, holding all its objects and their
expressions; drawing one expression per item and iteration then draws an image's objects
less often the more of them it has. VPD's released referring loader
(``refer/data/dataset_refer_clip.py``, LAVT's ``ReferDataset``) yields one item per referred
object (ref) and draws one of that object's sentences each time, so every object is seen
once an epoch. :class:`RefCocoObjectsDataset` reads the same files through mmdet's class and
splits each image's item into one item per object: the object's expressions in ``text`` and
its mask, repeated per expression, in ``instances`` (the layout of
``text_mode='original'``), so the referring segmentor's ``train_expression='random'`` then
draws one expression per object.
"""
from __future__ import annotations

from mmdet.datasets import RefCocoDataset

from ..registry import register


def split_objects(info: dict) -> list[dict]:
    """One data info per object of an image's ``info`` (consecutive runs of one mask)."""
    out: list[dict] = []
    for text, instance in zip(info['text'], info['instances']):
        if out and out[-1]['instances'][-1]['mask'] == instance['mask']:
            out[-1]['text'].append(text)
            out[-1]['instances'].append(instance)
        else:
            out.append(dict(info, text=[text], instances=[instance]))
    return out


@register('datasets')
class RefCocoObjectsDataset(RefCocoDataset):
    """mmdet's ``RefCocoDataset``, one item per referred object (see the module docstring).

    Takes ``RefCocoDataset``'s arguments; ``text_mode`` must stay ``'original'`` (every
    expression), which the split needs.
    """

    def __init__(self, *args, text_mode: str = 'original', **kwargs):
        if text_mode != 'original':
            raise ValueError(f"RefCocoObjectsDataset needs text_mode='original' (every "
                             f'expression of every object), got {text_mode!r}')
        super().__init__(*args, text_mode=text_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        return [obj for info in super().load_data_list() for obj in split_objects(info)]
