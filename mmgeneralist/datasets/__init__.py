"""Datasets of mmgeneralist.

Only the synthetic-world generator lives here so far (:mod:`.synthetic`); it needs numpy and
OpenCV (and pycocotools when writing COCO-style masks), not mmseg, mmdet or mmpose. Its
public names are re-exported here.
"""
from . import synthetic
from .synthetic import *  # noqa: F401,F403

__all__ = list(synthetic.__all__)
