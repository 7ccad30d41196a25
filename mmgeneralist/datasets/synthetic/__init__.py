"""A seeded procedural world, written in the on-disk formats of real OpenMMLab datasets.

Each image shows a room (a wall above a perspective floor, some clutter) with 3-7 objects of
five thing classes (``person`` stick figures with 17 COCO keypoints, ``box``, ``flower``,
``tent``, ``ball``) at metric depths. Depth maps, semantic labels, instance/panoptic segments,
keypoints and referring expressions all come from the same :class:`Scene`, so the formats
agree pixel for pixel, and the same arguments give byte-identical files.

The package has one module per idea:

* :mod:`.world`: classes, constants, :class:`Instance`, :class:`Scene` and
  :func:`generate_scene` (the classes, camera geometry and image ids are described there);
* :mod:`.expressions`: the referring-expression grammar (:func:`object_attributes`,
  :func:`resolve_expression`, :func:`describe_instance`);
* :mod:`.degradations`: :func:`degrade` for the restoration pairs;
* :mod:`.formats`: :data:`FORMATS` and :data:`FORMAT_CONFIGS`, plain data that needs only the
  standard library;
* :mod:`.writers`: the writer of each format (:data:`WRITERS`: ADE20K, NYU, COCO panoptic,
  COCO keypoints, RefCOCO, restoration), :func:`validate_arguments` and
  :func:`generate_synthetic`.
"""
from .degradations import degrade
from .expressions import describe_instance, object_attributes, resolve_expression
from .formats import FORMAT_CONFIGS, FORMATS
from .world import (
    ADE20K_LABELS,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    DEPTH_RANGE,
    MAX_IMAGES_PER_SPLIT,
    MAX_SIZE,
    MIN_SIZE,
    SHAPE_KEYPOINT_NAMES,
    STUFF_CLASSES,
    SYNTHETIC_ADE_CLASSES,
    SYNTHETIC_PANOPTIC_METAINFO,
    THING_CLASSES,
    Instance,
    Scene,
    generate_scene,
)
from .writers import WRITERS, generate_synthetic, validate_arguments

__all__ = [
    'ADE20K_LABELS', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'DEPTH_RANGE', 'FORMATS',
    'FORMAT_CONFIGS', 'MIN_SIZE', 'MAX_SIZE', 'MAX_IMAGES_PER_SPLIT', 'SHAPE_KEYPOINT_NAMES',
    'STUFF_CLASSES', 'SYNTHETIC_ADE_CLASSES', 'SYNTHETIC_PANOPTIC_METAINFO', 'THING_CLASSES',
    'Instance', 'Scene', 'WRITERS', 'degrade', 'describe_instance', 'generate_scene',
    'generate_synthetic', 'object_attributes', 'resolve_expression', 'validate_arguments',
]
