"""Test-time instructions: ask for *every* keypoint, class or sentence of an image.

Training draws one random instruction per sample (:mod:`.transforms`); evaluation must ask
for everything the metric scores. These transforms give a sample several *edits* of the
same source image, each with its own instruction, and draw no target:

- :class:`AllKeypointsInstruction`: all ``K`` keypoints of a top-down crop, in groups of at
  most ``group_size`` (5, the most the training transform circles at once), the ``i``-th
  keypoint of a group in the ``i``-th palette colour;
- :class:`AllClassesInstruction`: one edit per class of the data set ("Place a red mask on
  the wall."), for semantic segmentation, where any class may be present;
- :class:`AllSentencesInstruction`: one edit per referring sentence of the sample.

Each sets ``results['instruction']`` to the list of the edits' instructions,
``results['instructed']`` to one dict per asked keypoint, class or sentence with the index
``edit`` of the edit that asks for it, and ``results['instruction_task']``. The editor
(:class:`~mmgeneralist.models.editors.InstructionEditor`) runs every edit and its colour
decoders turn them into the codebase's predictions. The colours are fixed, not drawn, so an
evaluation is repeatable; the template is the task's first one unless ``instruction`` forces
another.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...registry import register
from .templates import fill, load_templates
from .transforms import (
    KeypointInstruction,
    SegmentationInstruction,
    _check_instruction,
    _source_image,
)

__all__ = ['AllKeypointsInstruction', 'AllClassesInstruction', 'AllSentencesInstruction']


def _template(forced: str | None, task: str) -> str:
    return forced if forced is not None else load_templates(task)[0]


@register('transforms')
class AllKeypointsInstruction(KeypointInstruction):
    """Ask for every keypoint of a top-down crop, ``group_size`` keypoints per edit.

    Place it where :class:`KeypointInstruction` goes in training (after ``TopdownAffine``).
    Keypoint ``k`` is asked in edit ``k // group_size`` in colour
    ``palette[k % group_size]``; the edit's instruction joins its keypoints' sentences, as
    training does. Visibility is not looked at: the metric scores every keypoint. It sets
    ``instruction`` (``ceil(K / group_size)`` strings), ``instructed``
    (``[dict(keypoint_index=k, part=<name>, color=<colour>, edit=e), ...]`` for all ``K``),
    ``instruction_task='keypoint'`` and ``circle_radius`` (as training draws circles on this
    box), and no ``target_img``.

    Args:
        group_size: keypoints per edit (at most the palette size).
        radius_ratio, min_radius, palette, object_name, part_names, instruction: as in
            :class:`KeypointInstruction`.
    """

    def __init__(self,
                 group_size: int = 5,
                 radius_ratio: float = 0.02,
                 min_radius: float = 2.0,
                 palette: Sequence[str] | None = None,
                 object_name: str = 'person',
                 part_names: Sequence[str] | None = None,
                 instruction: str | None = None) -> None:
        super().__init__(min_keypoints=1, max_keypoints=1, radius_ratio=radius_ratio,
                         min_radius=min_radius, palette=palette, object_name=object_name,
                         part_names=part_names, instruction=instruction)
        if not isinstance(group_size, int) or not 1 <= group_size <= len(self.palette):
            raise ValueError(f'group_size must be an integer from 1 to the palette size '
                             f'({len(self.palette)}: {list(self.palette)}); got {group_size}')
        self.group_size = group_size

    def transform(self, results: dict) -> dict:
        img = _source_image(results, type(self).__name__)
        key = 'transformed_keypoints' if 'transformed_keypoints' in results else 'keypoints'
        if key not in results:
            raise KeyError(f'{type(self).__name__} needs results["keypoints"] (mmpose '
                           'top-down loading)')
        kpts = np.asarray(results[key])
        if kpts.ndim != 3 or kpts.shape[0] != 1:
            raise ValueError(f'{type(self).__name__} is a top-down transform: it needs one '
                             f'instance, keypoints of shape (1, K, 2); got {kpts.shape}')
        names = self._names(results, kpts.shape[1])
        template = _template(self.instruction, 'keypoint')
        instructed, sentences = [], []
        for k, name in enumerate(names):
            edit, slot = divmod(k, self.group_size)
            color = self.palette[slot]
            if slot == 0:
                sentences.append([])
            sentences[-1].append(fill(template, color=color, part=name,
                                      object=self.object_name))
            instructed.append(dict(keypoint_index=k, part=name, color=color, edit=edit))
        results['instruction'] = [_check_instruction(' '.join(s)) for s in sentences]
        results['instructed'] = instructed
        results['instruction_task'] = 'keypoint'
        results['circle_radius'] = self._radius(results, img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(group_size={self.group_size}, '
                f'radius_ratio={self.radius_ratio}, min_radius={self.min_radius}, '
                f'palette={list(self.palette)}, object_name={self.object_name!r}, '
                f'part_names={self.part_names}, instruction={self.instruction!r})')


@register('transforms')
class AllClassesInstruction(SegmentationInstruction):
    """Ask for every class of the data set, one edit each (semantic segmentation).

    Class ``c`` is asked in edit ``c`` in colour ``palette[c % len(palette)]``. The class
    names come as in :class:`SegmentationInstruction` (``class_names=``, else the data set's
    metainfo). It sets ``instruction`` (one string per class), ``instructed``
    (``[dict(class_id=c, name=<class>, color=<colour>, edit=c), ...]``) and
    ``instruction_task`` (``output``), and no ``target_img``.

    Args:
        class_names, palette, alpha, instruction: as in :class:`SegmentationInstruction`.
        output: ``'segmentation'`` (the editor assembles ``pred_sem_seg``) or
            ``'detection'`` (it boxes each class's mask: the paper's unseen detection task).
    """

    OUTPUTS = ('segmentation', 'detection')

    def __init__(self,
                 class_names: Sequence[str] | None = None,
                 palette: Sequence[str] | None = None,
                 alpha: float = 0.5,
                 instruction: str | None = None,
                 output: str = 'segmentation') -> None:
        super().__init__(alpha=alpha, palette=palette, mode='semantic', class_names=class_names,
                         instruction=instruction)
        if output not in self.OUTPUTS:
            raise ValueError(f'output must be one of {self.OUTPUTS}; got {output!r}')
        self.output = output

    def transform(self, results: dict) -> dict:
        _source_image(results, type(self).__name__)
        names = self._classes(results)
        template = _template(self.instruction, 'segmentation')
        colors = [self.palette[c % len(self.palette)] for c in range(len(names))]
        results['instruction'] = [_check_instruction(fill(template, color=color, object=name))
                                  for name, color in zip(names, colors)]
        results['instructed'] = [dict(class_id=c, name=name, color=color, edit=c)
                                 for c, (name, color) in enumerate(zip(names, colors))]
        results['instruction_task'] = self.output
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(class_names={self.class_names}, '
                f'palette={list(self.palette)}, alpha={self.alpha}, '
                f'instruction={self.instruction!r}, output={self.output!r})')


@register('transforms')
class AllSentencesInstruction(SegmentationInstruction):
    """Ask for the object of every referring sentence of the sample, one edit each.

    Place it after mmdet's RefCOCO loading (``results['text']``, one sentence or a list).
    Sentence ``i`` is asked in edit ``i`` in colour ``palette[i % len(palette)]``. It sets
    ``instruction`` (one string per sentence), ``instructed``
    (``[dict(text_index=i, text=<sentence>, color=<colour>, edit=i), ...]``) and
    ``instruction_task='referring'``, and no ``target_img``.

    Args:
        palette, alpha, instruction: as in :class:`SegmentationInstruction`.
    """

    def __init__(self,
                 palette: Sequence[str] | None = None,
                 alpha: float = 0.5,
                 instruction: str | None = None) -> None:
        super().__init__(alpha=alpha, palette=palette, mode='referring', instruction=instruction)

    def transform(self, results: dict) -> dict:
        _source_image(results, type(self).__name__)
        if 'text' not in results:
            raise KeyError(f'{type(self).__name__} needs results["text"] (mmdet '
                           'RefCocoDataset)')
        texts = results['text']
        texts = [texts] if isinstance(texts, str) else list(texts)
        texts = [' '.join(str(t).split()) for t in texts]
        if not texts or not all(texts):
            raise ValueError(f'the sample has an empty referring sentence: {texts!r}')
        template = _template(self.instruction, 'referring')
        colors = [self.palette[i % len(self.palette)] for i in range(len(texts))]
        results['instruction'] = [_check_instruction(fill(template, color=color, object=text))
                                  for text, color in zip(texts, colors)]
        results['instructed'] = [dict(text_index=i, text=text, color=color, edit=i)
                                 for i, (text, color) in enumerate(zip(texts, colors))]
        results['instruction_task'] = 'referring'
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(palette={list(self.palette)}, alpha={self.alpha}, '
                f'instruction={self.instruction!r})')
