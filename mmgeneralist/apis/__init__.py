"""Inference on your own images: :class:`DiffusionInferencer` (also exported as
``Inferencer``), in the manner of mmseg's ``MMSegInferencer`` and mmdet's ``DetInferencer``."""
from .inferencer import (
    IMAGE_EXTENSIONS,
    MODEL_KINDS,
    DiffusionInferencer,
    ModelKind,
    list_images,
    load_image,
)

#: the short name
Inferencer = DiffusionInferencer

__all__ = ['DiffusionInferencer', 'Inferencer', 'ModelKind', 'MODEL_KINDS', 'IMAGE_EXTENSIONS',
           'list_images', 'load_image']
