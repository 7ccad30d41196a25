"""Datasets of mmgeneralist.

Only the synthetic-world generator lives here so far; it needs numpy and OpenCV (and
pycocotools when writing COCO-style masks), not mmseg, mmdet or mmpose.
"""
from .synthetic import (
                        ADE20K_LABELS,
                        COCO_KEYPOINT_NAMES,
                        COCO_SKELETON,
                        DEPTH_RANGE,
                        FORMAT_CONFIGS,
                        FORMATS,
                        MAX_IMAGES_PER_SPLIT,
                        MAX_SIZE,
                        MIN_SIZE,
                        SHAPE_KEYPOINT_NAMES,
                        STUFF_CLASSES,
                        SYNTHETIC_ADE_CLASSES,
                        SYNTHETIC_PANOPTIC_METAINFO,
                        THING_CLASSES,
                        WRITERS,
                        Instance,
                        Scene,
                        degrade,
                        describe_instance,
                        generate_scene,
                        generate_synthetic,
                        object_attributes,
                        resolve_expression,
                        validate_arguments,
)

__all__ = [
    'ADE20K_LABELS', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'DEPTH_RANGE', 'FORMATS',
    'FORMAT_CONFIGS', 'MIN_SIZE', 'MAX_SIZE', 'MAX_IMAGES_PER_SPLIT', 'SHAPE_KEYPOINT_NAMES',
    'STUFF_CLASSES', 'SYNTHETIC_ADE_CLASSES', 'SYNTHETIC_PANOPTIC_METAINFO', 'THING_CLASSES',
    'Instance', 'Scene', 'WRITERS', 'degrade', 'describe_instance', 'generate_scene',
    'generate_synthetic', 'object_attributes', 'resolve_expression', 'validate_arguments',
]
