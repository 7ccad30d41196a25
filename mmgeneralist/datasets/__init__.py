"""Datasets of mmgeneralist.

- :mod:`.synthetic`: the synthetic-world generator; it needs numpy and OpenCV (and
  pycocotools when writing COCO-style masks), not mmseg, mmdet or mmpose
  (``tools/dataset_converters/generate_synthetic.py`` loads it on its own, without this
  package). Its public names are re-exported here.
- :mod:`.restoration`: paired image-restoration data (:class:`PairedRestorationDataset`,
  :class:`LoadRestorationTarget`, :class:`PackRestorationInputs`); it imports mmengine, mmcv
  and mmseg, which ``import mmgeneralist`` loads anyway.
- :mod:`.multi_task`: several tasks' data sets as one (:class:`MultiTaskDataset`, which tags
  each sample with its task) and a sampler weighting the tasks (:class:`MultiTaskSampler`).
- :mod:`.panoptic_checks`: :class:`CheckPanopticSegments`, which raises (naming the PNG) when
  a COCO-panoptic PNG's segment ids differ from its JSON ``segments_info``.
- :mod:`.refcoco_objects`: :class:`RefCocoObjectsDataset`, mmdet's RefCOCO data set with one
  item per referred object, as VPD's released referring loader iterates.
- :mod:`.instructions`: InstructDiffusion's instruction triples: task templates
  (:func:`load_templates`, :func:`fill`) and the transforms :class:`KeypointInstruction`,
  :class:`SegmentationInstruction`, :class:`EnhancementInstruction`,
  :class:`PackInstructionInputs`, and the test-time :class:`AllKeypointsInstruction`,
  :class:`AllClassesInstruction`, :class:`AllSentencesInstruction`.
"""
from . import synthetic
from .instructions import (
    AllClassesInstruction,
    AllKeypointsInstruction,
    AllSentencesInstruction,
    EnhancementInstruction,
    KeypointInstruction,
    PackInstructionInputs,
    SegmentationInstruction,
    fill,
    load_templates,
)
from .multi_task import MultiTaskDataset, MultiTaskSampler
from .panoptic_checks import CheckPanopticSegments
from .refcoco_objects import RefCocoObjectsDataset
from .restoration import LoadRestorationTarget, PackRestorationInputs, PairedRestorationDataset
from .synthetic import *  # noqa: F401,F403

__all__ = list(synthetic.__all__) + [
    'PairedRestorationDataset', 'LoadRestorationTarget', 'PackRestorationInputs',
    'MultiTaskDataset', 'MultiTaskSampler', 'CheckPanopticSegments', 'RefCocoObjectsDataset']
__all__ += ['KeypointInstruction', 'SegmentationInstruction', 'EnhancementInstruction',
            'PackInstructionInputs', 'load_templates', 'fill', 'AllKeypointsInstruction',
            'AllClassesInstruction', 'AllSentencesInstruction']
