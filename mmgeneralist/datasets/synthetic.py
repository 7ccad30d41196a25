"""A seeded procedural world, written in the on-disk formats of real OpenMMLab datasets.

Each image shows a room: a ``wall`` above a perspective ``floor`` (wooden planks whose spacing
shrinks towards the horizon), a few clutter blobs (ADE20K label 0, "other") and 3-7 objects of
five thing classes, each with its own form and colour statistics:

============  ==========================  =================  =========
class         form                        colour modes       ADE id
============  ==========================  =================  =========
``person``    stick figure, 17 COCO kpts  cyan / purple      13
``box``       rotated square, dark rim    red / blue         42
``flower``    five-pointed star           pink / yellow      67
``tent``      triangle with a door        green / orange     115
``ball``      shaded disc                 yellow / blue      120
``wall``      upper background (stuff)    beige / grey       1
``floor``     lower background (stuff)    brown              4
============  ==========================  =================  =========

(``ADE id`` is the value stored in the ADE20K label PNGs: index in
``ADE20KDataset.METAINFO['classes']`` plus one, so that ``reduce_zero_label=True`` holds.)
Every instance draws its colour from one of its class's two modes plus a per-instance jitter,
so colour is informative but not decisive (yellow and blue are each shared by two classes).

Geometry follows a pinhole camera (focal length ``0.9 * size`` px). Each object has a metric
depth in [1.0, 3.5] m and a physical size, so its size in pixels is proportional to
1 / depth; objects are drawn far to near, so nearer ones occlude farther ones. The wall is a
fronto-parallel plane at 7-9.5 m and the floor a ground plane from the wall to 3.8-4.6 m at the
bottom row, so the background is always farther than every object. Depth maps, semantic
labels, instance/panoptic segments, keypoints (with COCO visibility 2 = visible,
1 = occluded but labelled, 0 = outside the image) and referring expressions are all computed
from the same :class:`Scene`, so the formats agree pixel for pixel.

Scene ``index`` of split ``split`` depends only on ``(seed, split, index, size)``: the first six
training scenes are the same whether 6 or 600 are generated, and train and val never share a
scene. Image ids are ``offset(split) + index + 1`` with offsets 0 (train), 100000 (val),
200000 (testA), 300000 (testB), and are the same in every format.

The writers (:data:`WRITERS`) produce:

* ``ade``: mmseg ``ADE20KDataset`` layout (``images/{training,validation}/*.jpg``, 8-bit label
  PNGs in ``annotations/``), real 150-class ADE20K ids;
* ``nyu``: mmseg ``NYUDataset`` layout (``images/{train,test}``, ``annotations/{train,test}``),
  16-bit depth PNGs in millimetres (load with ``LoadDepthAnnotation(depth_rescale_factor=1e-3)``,
  as mmseg's ``nyu.py`` config does; the transform's own default factor is 1.0);
* ``coco_panoptic``: mmdet ``CocoPanopticDataset`` layout, RGB-encoded segment PNGs;
* ``coco_keypoints``: mmpose ``CocoDataset`` layout (``person_keypoints_*.json``), one
  annotation per visible stick figure;
* ``refcoco``: mmdet ``RefCocoDataset`` layout (``instances.json``, ``refs(unc).p``,
  ``train2014/``) with splits train, val, testA (people) and testB (other objects);
* ``restoration``: ``{denoise,deblur,lowlight}/{train,val}/{input,target}/*.png`` pairs.
"""
from __future__ import annotations

import dataclasses
import json
import os
import os.path as osp
import pickle
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from typing import Optional

import cv2
import numpy as np

__all__ = [
    'ADE20K_LABELS', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'DEPTH_RANGE', 'FORMATS',
    'FORMAT_CONFIGS', 'MIN_SIZE', 'MAX_SIZE', 'MAX_IMAGES_PER_SPLIT', 'SHAPE_KEYPOINT_NAMES',
    'STUFF_CLASSES', 'SYNTHETIC_ADE_CLASSES', 'SYNTHETIC_PANOPTIC_METAINFO', 'THING_CLASSES',
    'Instance', 'Scene', 'WRITERS', 'degrade', 'describe_instance', 'generate_scene',
    'generate_synthetic', 'object_attributes', 'resolve_expression', 'validate_arguments',
]

# ------------------------------------------------------------------------------------ classes
#: Thing classes, in ADE20K order.
THING_CLASSES: tuple[str, ...] = ('person', 'box', 'flower', 'tent', 'ball')
#: Stuff (background) classes, in ADE20K order.
STUFF_CLASSES: tuple[str, ...] = ('wall', 'floor')
#: Index of each class used here in ``mmseg.datasets.ADE20KDataset.METAINFO['classes']``.
ADE20K_CLASS_INDEX: dict[str, int] = {
    'wall': 0, 'floor': 3, 'person': 12, 'box': 41, 'flower': 66, 'tent': 114, 'ball': 119,
}
#: Value written to ADE20K label PNGs for each class (ADE index + 1; 0 is "other").
ADE20K_LABELS: dict[str, int] = {k: v + 1 for k, v in ADE20K_CLASS_INDEX.items()}
#: The classes used, in ADE20K order: ``metainfo=dict(classes=SYNTHETIC_ADE_CLASSES)`` makes
#: mmseg remap the labels to 0..6 (255 for "other").
SYNTHETIC_ADE_CLASSES: tuple[str, ...] = tuple(
    sorted(ADE20K_CLASS_INDEX, key=ADE20K_CLASS_INDEX.__getitem__))
_CLASS_PALETTE: dict[str, tuple[int, int, int]] = {  # ADE20K's palette entries
    'wall': (120, 120, 120), 'floor': (80, 50, 50), 'person': (150, 5, 61),
    'box': (0, 255, 20), 'flower': (255, 0, 0), 'tent': (255, 0, 143), 'ball': (255, 0, 122),
}
#: Panoptic category ids: things 1-5, stuff 6-7 (same order as ``classes`` below).
PANOPTIC_CATEGORY_IDS: dict[str, int] = {
    name: i + 1 for i, name in enumerate(THING_CLASSES + STUFF_CLASSES)}
#: ``metainfo`` for mmdet's ``CocoPanopticDataset`` (things first, as mmdet requires).
SYNTHETIC_PANOPTIC_METAINFO: dict[str, tuple] = dict(
    classes=THING_CLASSES + STUFF_CLASSES,
    thing_classes=THING_CLASSES,
    stuff_classes=STUFF_CLASSES,
    palette=[_CLASS_PALETTE[c] for c in THING_CLASSES + STUFF_CLASSES],
)

#: The 17 COCO person keypoints, in COCO order ("left" is the person's left).
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
    'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
#: COCO's person skeleton (1-based keypoint indices, as in ``person_keypoints_*.json``).
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
    (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))
#: Keypoints of each class (``Instance.keypoints`` rows, in this order).
SHAPE_KEYPOINT_NAMES: dict[str, tuple[str, ...]] = {
    'person': COCO_KEYPOINT_NAMES,
    'box': ('centre', 'corner_0', 'corner_1', 'corner_2', 'corner_3'),
    'flower': ('centre', 'tip_0', 'tip_1', 'tip_2', 'tip_3', 'tip_4'),
    'tent': ('centre', 'apex', 'base_left', 'base_right'),
    'ball': ('centre', 'top', 'right', 'bottom', 'left'),
}

# ----------------------------------------------------------------------------- world settings
#: Named colours (RGB) of the colour modes, as used in referring expressions.
COLOURS: dict[str, tuple[int, int, int]] = {
    'red': (200, 40, 40), 'blue': (45, 80, 205), 'green': (45, 160, 60),
    'yellow': (230, 200, 45), 'orange': (235, 125, 30), 'purple': (125, 50, 170),
    'pink': (235, 120, 175), 'cyan': (40, 190, 205),
}
_CLASS_COLOURS: dict[str, tuple[str, str]] = {
    'person': ('cyan', 'purple'), 'box': ('red', 'blue'), 'flower': ('pink', 'yellow'),
    'tent': ('green', 'orange'), 'ball': ('yellow', 'blue'),
}
_CLASS_PROBS = np.array([0.28, 0.18, 0.18, 0.18, 0.18])  # THING_CLASSES order
_PHYSICAL_SIZE = {'person': 0.85, 'box': 0.42, 'flower': 0.5, 'tent': 0.5, 'ball': 0.42}  # m
_SKIN = (225, 180, 145)
#: Range that every depth value lies in (metres).
DEPTH_RANGE: tuple[float, float] = (0.5, 10.0)
_OBJECT_DEPTH = (1.0, 3.5)
_WALL_DEPTH = (7.0, 9.5)
_FLOOR_NEAR_DEPTH = (3.8, 4.6)
_FOCAL = 0.9  # focal length in units of the image size

MIN_SIZE, MAX_SIZE = 32, 1024
MAX_IMAGES_PER_SPLIT = 99999
_SPLIT_CODES = {'train': 0, 'val': 1, 'testA': 2, 'testB': 3}
_SPLIT_OFFSETS = {'train': 0, 'val': 100000, 'testA': 200000, 'testB': 300000}
_OTHER = 255  # "other" in Scene.semantic
_SHIFT = 4  # fixed-point bits for sub-pixel cv2 drawing
_MARKER = '.mmgeneralist_synthetic'


@dataclasses.dataclass
class Instance:
    """One object of a scene.

    Attributes:
        id (int): 1-based id, unique within the image (value in ``Scene.instance_map``).
        category (str): One of :data:`THING_CLASSES`.
        colour (str): Name of its colour mode (a key of :data:`COLOURS`).
        rgb (tuple): Its actual base colour (mode + jitter).
        depth (float): Metric depth in metres (the object is a fronto-parallel cut-out).
        size_px (float): Its characteristic size in pixels (height for people, side or
            diameter otherwise), proportional to 1 / depth.
        keypoints (np.ndarray): ``(K, 3)`` float array of x, y, visibility (2 visible,
            1 occluded inside the image, 0 outside); see :data:`SHAPE_KEYPOINT_NAMES`.
        amodal_mask (np.ndarray): Bool mask of the whole object, occluded parts included.
        mask (np.ndarray): Bool mask of its visible pixels.
        area (int): Number of visible pixels.
        bbox (list[int] | None): COCO ``[x, y, w, h]`` box of the visible pixels (None when
            fully occluded).
    """

    id: int
    category: str
    colour: str
    rgb: tuple[int, int, int]
    depth: float
    size_px: float
    keypoints: np.ndarray
    amodal_mask: np.ndarray
    mask: np.ndarray | None = None
    area: int = 0
    bbox: list[int] | None = None


@dataclasses.dataclass
class Scene:
    """One rendered image and everything derived from it.

    Attributes:
        image_id (int): Image id, the same in every format.
        split (str): ``'train'``, ``'val'``, ``'testA'`` or ``'testB'``.
        index (int): Index within the split.
        seed (int): Generator seed.
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB image.
        semantic (np.ndarray): ``(H, W)`` uint8 index into :data:`SYNTHETIC_ADE_CLASSES`,
            255 for "other" (clutter).
        instance_map (np.ndarray): ``(H, W)`` uint8 instance id, 0 where no object is visible.
        depth (np.ndarray): ``(H, W)`` float32 depth of the visible surface in metres.
        instances (list[Instance]): The objects, ordered by id.
    """

    image_id: int
    split: str
    index: int
    seed: int
    image: np.ndarray
    semantic: np.ndarray
    instance_map: np.ndarray
    depth: np.ndarray
    instances: list[Instance]

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return self.image.shape[0]

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return self.image.shape[1]

    def rng(self, purpose: int) -> np.random.Generator:
        """A generator for side data of this scene (e.g. degradations), independent of others.

        Args:
            purpose (int): A small integer naming the use.

        Returns:
            np.random.Generator: Seeded from ``(seed, split, index, purpose)``.
        """
        return np.random.default_rng([self.seed, _SPLIT_CODES[self.split], self.index, purpose])


# --------------------------------------------------------------------------------- rendering
def _fixed(points) -> np.ndarray:
    """Float pixel coordinates to cv2 fixed-point int32 coordinates."""
    return np.round(np.asarray(points, np.float64) * (1 << _SHIFT)).astype(np.int32)


def _poly_mask(shape, points) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [_fixed(points).reshape(-1, 1, 2)], 1, cv2.LINE_8, _SHIFT)
    return canvas.astype(bool)


def _disc_mask(shape, centre, radius) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cx, cy = _fixed(centre)
    cv2.circle(canvas, (int(cx), int(cy)), int(_fixed(max(radius, 0.5))), 1, -1, cv2.LINE_8,
               _SHIFT)
    return canvas.astype(bool)


def _line_mask(shape, p0, p1, thickness) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    a, b = _fixed(p0), _fixed(p1)
    cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, int(thickness),
             cv2.LINE_8, _SHIFT)
    return canvas.astype(bool)


def _rim(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` that touch its outside."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=0)
    return mask & ~inner.astype(bool)


def _rotate(points: np.ndarray, centre, angle_deg: float) -> np.ndarray:
    t = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (np.asarray(points) - centre) @ rot.T + centre


def _background(rng: np.random.Generator, h: int, w: int):
    """Wall above a perspective floor: image (float RGB), semantic, depth, horizon row."""
    horizon = int(round(rng.uniform(0.3, 0.55) * h))
    wall_depth = rng.uniform(*_WALL_DEPTH)
    near_depth = rng.uniform(*_FLOOR_NEAR_DEPTH)
    rows = np.arange(h, dtype=np.float64)
    t = np.clip((rows - horizon) / max(h - 1 - horizon, 1), 0.0, 1.0)
    inv = 1.0 / wall_depth + t * (1.0 / near_depth - 1.0 / wall_depth)  # ground plane
    row_depth = np.where(rows < horizon, wall_depth, 1.0 / inv)
    depth = np.repeat(row_depth[:, None], w, axis=1).astype(np.float32)

    wall = np.array([200.0, 192.0, 175.0]) + rng.normal(0, 14) + rng.normal(0, 7, 3)
    floor = np.array([135.0, 98.0, 68.0]) + rng.normal(0, 12) + rng.normal(0, 6, 3)
    image = np.empty((h, w, 3), np.float64)
    image[:horizon] = wall
    image[horizon:] = floor
    # floor planks, one every 0.5 m of depth: lines crowd towards the horizon
    plank = np.floor(row_depth / rng.uniform(0.4, 0.6))
    edges = (rows >= horizon) & (np.r_[plank[1:], plank[-1]] != plank)
    image[edges] *= 0.8
    # low-frequency illumination and pixel noise
    light = cv2.resize(rng.uniform(0.82, 1.15, (3, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    image *= light[..., None]
    image += rng.normal(0, 4.0, image.shape)

    semantic = np.empty((h, w), np.uint8)
    semantic[:horizon] = SYNTHETIC_ADE_CLASSES.index('wall')
    semantic[horizon:] = SYNTHETIC_ADE_CLASSES.index('floor')
    return image, semantic, depth


def _clutter(rng: np.random.Generator, image, semantic, h: int, w: int) -> None:
    """Paint 1-3 irregular "other" blobs (ADE label 0) onto the background."""
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform(0.05, 0.95, 2) * (w, h)
        n = int(rng.integers(5, 10))
        radius = rng.uniform(0.03, 0.07) * min(h, w) * rng.uniform(0.6, 1.0, n)
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        points = centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radius[:, None]
        mask = _poly_mask((h, w), points)
        colour = 0.55 * rng.uniform(0, 255, 3) + 0.45 * rng.uniform(40, 160)
        image[mask] = colour + rng.normal(0, 5.0, (int(mask.sum()), 3))
        semantic[mask] = _OTHER


def _person_geometry(rng: np.random.Generator, centre_x: float, top: float, height: float):
    """Stick-figure keypoints (17 COCO points) and drawing primitives for one person."""
    u = height
    side = {'left': 1.0, 'right': -1.0}  # a person facing the camera: their left is image +x
    head = np.array([centre_x, top + 0.09 * u])
    head_r = 0.075 * u
    kp = {
        'nose': head + (0, 0.02 * u),
        'left_eye': head + (0.03 * u, -0.01 * u), 'right_eye': head + (-0.03 * u, -0.01 * u),
        'left_ear': head + (0.068 * u, 0.005 * u), 'right_ear': head + (-0.068 * u, 0.005 * u),
    }
    neck = np.array([centre_x, top + 0.19 * u])
    for s, sx in side.items():
        shoulder = np.array([centre_x + sx * 0.11 * u, top + 0.22 * u])
        hip = np.array([centre_x + sx * 0.07 * u, top + 0.52 * u])
        a1 = np.deg2rad(rng.uniform(8, 150))  # upper arm, from straight down, outwards
        a2 = a1 + np.deg2rad(rng.uniform(-40, 110))
        elbow = shoulder + 0.17 * u * np.array([sx * np.sin(a1), np.cos(a1)])
        wrist = elbow + 0.16 * u * np.array([sx * np.sin(a2), np.cos(a2)])
        b1 = np.deg2rad(rng.uniform(-5, 30))
        b2 = b1 + np.deg2rad(rng.uniform(-25, 10))
        knee = hip + 0.24 * u * np.array([sx * np.sin(b1), np.cos(b1)])
        ankle = knee + 0.24 * u * np.array([sx * np.sin(b2), np.cos(b2)])
        kp.update({f'{s}_shoulder': shoulder, f'{s}_elbow': elbow, f'{s}_wrist': wrist,
                   f'{s}_hip': hip, f'{s}_knee': knee, f'{s}_ankle': ankle})
    points = np.stack([kp[n] for n in COCO_KEYPOINT_NAMES] + [head, neck])
    pivot = (kp['left_hip'] + kp['right_hip']) / 2
    points = _rotate(points, pivot, rng.uniform(-12, 12))  # lean
    return points[:17], points[17], points[18], head_r


def _render_person(rng, shape, inst_rgb, size_px, centre):
    """Amodal mask, per-pixel colour (float RGB) and keypoints of a stick figure."""
    top = centre[1] - size_px / 2
    kps, head, neck, head_r = _person_geometry(rng, centre[0], top, size_px)
    k = {n: kps[i] for i, n in enumerate(COCO_KEYPOINT_NAMES)}
    thick = max(2, int(round(0.06 * size_px)))
    shirt = np.zeros(shape, bool)
    legs = np.zeros(shape, bool)
    shirt |= _poly_mask(shape, [k['left_shoulder'], k['right_shoulder'], k['right_hip'],
                                k['left_hip']])
    shirt |= _line_mask(shape, neck, (k['left_hip'] + k['right_hip']) / 2, thick)
    for s in ('left', 'right'):
        shirt |= _line_mask(shape, k[f'{s}_shoulder'], k[f'{s}_elbow'], thick)
        shirt |= _line_mask(shape, k[f'{s}_elbow'], k[f'{s}_wrist'], thick)
        legs |= _line_mask(shape, k[f'{s}_hip'], k[f'{s}_knee'], thick + 1)
        legs |= _line_mask(shape, k[f'{s}_knee'], k[f'{s}_ankle'], thick + 1)
    skin = _disc_mask(shape, head, head_r) | _line_mask(shape, neck, head, thick)
    # wrists and ankles are skin/shoes-coloured dots so their positions are visible
    ends = np.zeros(shape, bool)
    for n in ('left_wrist', 'right_wrist', 'left_ankle', 'right_ankle'):
        ends |= _disc_mask(shape, k[n], max(1.0, 0.45 * thick))
    colour = np.zeros(shape + (3,))
    colour[shirt] = inst_rgb
    colour[legs & ~shirt] = np.asarray(inst_rgb) * 0.55
    colour[ends] = np.asarray(_SKIN) * 0.8
    skin_rgb = np.asarray(_SKIN) + rng.normal(0, 8, 3)
    colour[skin] = skin_rgb
    mask = shirt | legs | skin | ends
    return mask, colour, kps


def _render_shape(rng, shape, category, inst_rgb, size_px, centre):
    """Amodal mask, per-pixel colour (float RGB) and keypoints of a non-person object."""
    r = size_px / 2
    rs = max(r, 1.0)
    cx, cy = centre
    details = []  # (mask, factor or colour) painted over the shading
    if category == 'box':
        corners = centre + np.array([[-r, -r], [r, -r], [r, r], [-r, r]])
        corners = _rotate(corners, centre, rng.uniform(-25, 25))
        mask = _poly_mask(shape, corners)
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction) + 1e-9

        def shade(xx, yy):
            return 1.0 + 0.12 * ((xx - cx) * direction[0] + (yy - cy) * direction[1]) / rs

        details.append((_rim(mask), 0.6))
        kps = np.vstack([centre, corners])
    elif category == 'ball':
        mask = _disc_mask(shape, centre, r)

        def shade(xx, yy):
            dx, dy = (xx - cx) / rs, (yy - cy) / rs
            nz = np.sqrt(np.clip(1 - dx ** 2 - dy ** 2, 0, 1))
            return 0.55 + 0.6 * np.clip(-0.45 * dx - 0.55 * dy + 0.7 * nz, 0, 1)  # top-left light

        kps = np.array([centre, centre + (0, -r), centre + (r, 0), centre + (0, r),
                        centre + (-r, 0)])
    elif category == 'tent':
        angle = rng.uniform(-15, 15)
        tri = centre + np.array([[0.0, -r * 1.05], [-r, r * 0.75], [r, r * 0.75]])
        tri = _rotate(tri, centre, angle)
        mask = _poly_mask(shape, tri)
        door = _rotate(centre + np.array([[0.0, -0.05 * r], [-0.3 * r, 0.75 * r],
                                          [0.3 * r, 0.75 * r]]), centre, angle)

        def shade(xx, yy):
            return 1.1 - 0.2 * (xx - tri[1][0]) / max(2 * r, 1) + 0 * yy

        details.append((_poly_mask(shape, door) & mask, 0.45))
        kps = np.vstack([tri.mean(0), tri])
    elif category == 'flower':
        phase = rng.uniform(0, 2 * np.pi / 5)
        angles = phase - np.pi / 2 + np.arange(10) * np.pi / 5
        radius = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
        star = centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radius[:, None]
        mask = _poly_mask(shape, star)

        def shade(xx, yy):
            return 0.85 + 0.25 * np.hypot(xx - cx, yy - cy) / rs

        details.append((_disc_mask(shape, centre, 0.25 * r) & mask, (120, 80, 30)))
        kps = np.vstack([centre, star[::2]])
    else:  # pragma: no cover - guarded by THING_CLASSES
        raise ValueError(category)
    colour = np.zeros(shape + (3,))
    x0, y0, bw, bh = cv2.boundingRect(mask.astype(np.uint8))
    if bw and bh:  # shade only the object's box
        yy, xx = np.mgrid[y0:y0 + bh, x0:x0 + bw].astype(np.float64)
        colour[y0:y0 + bh, x0:x0 + bw] = (np.asarray(inst_rgb, np.float64)
                                          * shade(xx, yy)[..., None])
    for m, value in details:
        if isinstance(value, tuple):
            colour[m] = value
        else:
            colour[m] *= value
    return mask, colour, kps


def _visibility(kps: np.ndarray, instance_map: np.ndarray, inst_id: int) -> np.ndarray:
    """COCO visibility of keypoints: 2 on a visible pixel of the instance (3x3 window),
    1 inside the image but occluded, 0 outside the image."""
    h, w = instance_map.shape
    vis = np.zeros(len(kps))
    for i, (x, y) in enumerate(kps):
        if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
            continue
        xi, yi = int(round(x)), int(round(y))
        window = instance_map[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
        vis[i] = 2 if (window == inst_id).any() else 1
    return vis


def generate_scene(seed: int, split: str, index: int, size: int = 96) -> Scene:
    """Render scene ``index`` of ``split``.

    Args:
        seed (int): Non-negative generator seed.
        split (str): ``'train'``, ``'val'``, ``'testA'`` or ``'testB'``.
        index (int): Index within the split (0-based).
        size (int): Image side in pixels.

    Returns:
        Scene: The rendered scene; identical for identical arguments.
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f'unknown split {split!r}; expected one of {list(_SPLIT_CODES)}')
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], index])
    h = w = int(size)
    focal = _FOCAL * size
    image, semantic, depth = _background(rng, h, w)
    _clutter(rng, image, semantic, h, w)
    instance_map = np.zeros((h, w), np.uint8)

    n = int(rng.integers(3, 8))
    categories = rng.choice(len(THING_CLASSES), size=n, p=_CLASS_PROBS)
    instances = []
    for i, c in enumerate(categories):
        category = THING_CLASSES[c]
        colour = _CLASS_COLOURS[category][int(rng.random() < 0.45)]
        rgb = tuple(int(v) for v in np.clip(
            np.asarray(COLOURS[colour]) + rng.normal(0, 18, 3), 0, 255))
        inst_depth = float(np.round(rng.uniform(*_OBJECT_DEPTH), 3))
        size_px = _PHYSICAL_SIZE[category] * rng.uniform(0.9, 1.1) * focal / inst_depth
        centre = rng.uniform(0.08, 0.92, 2) * (w, h)
        render = _render_person if category == 'person' else (
            lambda r, s, rgb_, sz, ctr, cat=category: _render_shape(r, s, cat, rgb_, sz, ctr))
        mask, colour_img, kps = render(rng, (h, w), rgb, size_px, centre)
        instances.append((Instance(
            id=i + 1, category=category, colour=colour, rgb=rgb, depth=inst_depth,
            size_px=float(size_px), keypoints=np.asarray(kps, np.float64),
            amodal_mask=mask), colour_img))

    # painter's algorithm: far to near (ties broken by id)
    for inst, colour_img in sorted(instances, key=lambda t: (-t[0].depth, t[0].id)):
        m = inst.amodal_mask
        texture = rng.normal(0, 5.0, (int(m.sum()), 3))
        image[m] = colour_img[m] + texture
        semantic[m] = SYNTHETIC_ADE_CLASSES.index(inst.category)
        instance_map[m] = inst.id
        depth[m] = inst.depth

    image = cv2.GaussianBlur(image, (0, 0), 0.5)
    image = np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).round().astype(np.uint8)
    result = []
    for inst, _ in instances:
        inst.mask = instance_map == inst.id
        ys, xs = np.nonzero(inst.mask)
        inst.area = len(xs)
        if inst.area:
            x0, y0 = int(xs.min()), int(ys.min())
            inst.bbox = [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]
        vis = _visibility(inst.keypoints, instance_map, inst.id)
        inst.keypoints = np.concatenate([inst.keypoints, vis[:, None]], 1)
        result.append(inst)
    return Scene(image_id=_SPLIT_OFFSETS[split] + index + 1, split=split, index=index,
                 seed=seed, image=image, semantic=semantic, instance_map=instance_map,
                 depth=depth, instances=result)


# ------------------------------------------------------------------- referring expressions
_RELATIONS = ('on the left', 'on the right', 'at the top', 'at the bottom')
_SUPERLATIVES = ('largest', 'smallest', 'nearest', 'farthest')
_EXPR_RE = re.compile(
    r'^the (?:(?P<sup>{sup}) )?(?:(?P<colour>{col}) )?(?P<noun>{noun})(?: (?P<rel>{rel}))?$'
    .format(sup='|'.join(_SUPERLATIVES), col='|'.join(COLOURS), noun='|'.join(THING_CLASSES),
            rel='|'.join(_RELATIONS)))
_POSITION_MARGIN = 0.12  # of the image side
_AREA_RATIO = 1.3
_DEPTH_RATIO = 1.15


def object_attributes(scene: Scene) -> list[dict]:
    """The attributes that referring expressions use, for every visible instance.

    Args:
        scene (Scene): The scene.

    Returns:
        list[dict]: ``id``, ``category``, ``colour``, ``bbox`` (visible, COCO xywh), ``area``
        (visible pixels) and ``depth`` of every instance with at least one visible pixel.
    """
    return [dict(id=i.id, category=i.category, colour=i.colour, bbox=i.bbox, area=i.area,
                 depth=i.depth) for i in scene.instances if i.area > 0]


def resolve_expression(text: str, objects: Sequence[dict], width: int,
                       height: int) -> list[int]:
    """The ids of the objects that a referring expression fits.

    Grammar: ``the [largest|smallest|nearest|farthest] [<colour>] <class>
    [on the left|on the right|at the top|at the bottom]``. A relation or superlative picks the
    extreme object among those of that class (and colour); objects within a margin of the
    extreme (12% of the image side in position, a factor 1.3 in visible area, 1.15 in depth)
    fit too, so an expression is unambiguous exactly when one id is returned.

    Args:
        text (str): The expression.
        objects (Sequence[dict]): Objects as returned by :func:`object_attributes` (or read
            back from ``instances.json``: ``attributes`` supplies ``colour`` and ``depth``).
        width (int): Image width.
        height (int): Image height.

    Returns:
        list[int]: Matching object ids (empty if none fits or the text is not in the grammar).
    """
    m = _EXPR_RE.match(text.strip().lower())
    if m is None:
        return []
    cands = [o for o in objects if o['area'] > 0 and o['category'] == m['noun']
             and (m['colour'] is None or o['colour'] == m['colour'])]
    if not cands:
        return []
    if m['rel']:
        axis = 0 if m['rel'] in ('on the left', 'on the right') else 1
        pos = np.array([o['bbox'][axis] + o['bbox'][axis + 2] / 2 for o in cands])
        sign = 1 if m['rel'] in ('on the left', 'at the top') else -1
        key = sign * pos
        margin = _POSITION_MARGIN * (width if axis == 0 else height)
        cands = [o for o, k in zip(cands, key) if k - key.min() < margin]
    if m['sup']:
        if m['sup'] in ('largest', 'smallest'):
            vals = np.log(np.array([o['area'] for o in cands], np.float64))
            tol = np.log(_AREA_RATIO)
        else:
            vals = np.log(np.array([o['depth'] for o in cands], np.float64))
            tol = np.log(_DEPTH_RATIO)
        if m['sup'] in ('largest', 'farthest'):
            vals = -vals
        cands = [o for o, v in zip(cands, vals) if v - vals.min() < tol]
    return [o['id'] for o in cands]


def describe_instance(scene: Scene, inst: Instance, rng: np.random.Generator,
                      max_sentences: int = 3) -> list[str]:
    """Referring expressions that single out ``inst`` in its scene.

    Only expressions that :func:`resolve_expression` resolves to ``inst`` alone are returned;
    relations and superlatives are only used when the class (and colour) alone are ambiguous.

    Args:
        scene (Scene): The scene.
        inst (Instance): The target.
        rng (np.random.Generator): Picks among the valid expressions.
        max_sentences (int): At most this many are returned.

    Returns:
        list[str]: Unique expressions, possibly empty.
    """
    objects = object_attributes(scene)
    noun, colour = inst.category, inst.colour
    same_class = [o for o in objects if o['category'] == noun]
    same_colour = [o for o in same_class if o['colour'] == colour]
    options = [f'the {noun}', f'the {colour} {noun}']
    for base, group in ((noun, same_class), (f'{colour} {noun}', same_colour)):
        if len(group) >= 2:
            options += [f'the {base} {rel}' for rel in _RELATIONS]
            options += [f'the {sup} {base}' for sup in _SUPERLATIVES]
    valid = [t for t in options
             if resolve_expression(t, objects, scene.width, scene.height) == [inst.id]]
    if len(valid) > max_sentences:
        valid = [valid[i] for i in sorted(rng.choice(len(valid), max_sentences, replace=False))]
    return valid


def _referable(scene: Scene, inst: Instance) -> bool:
    """Large and visible enough to be the target of a referring expression."""
    min_area = max(12, 0.004 * scene.height * scene.width)
    return inst.area >= min_area and inst.area >= 0.3 * inst.amodal_mask.sum()


# ------------------------------------------------------------------------------ degradations
def degrade(image: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
    """Degrade a clean RGB uint8 image for a restoration task.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 clean image.
        task (str): ``'denoise'`` (Gaussian noise, sigma 10-30 of 255), ``'deblur'`` (linear
            motion blur of 5-11 px, or Gaussian blur with sigma 1-2) or ``'lowlight'``
            (``alpha * x ** gamma`` with alpha 0.15-0.4, gamma 1.4-2.4, plus faint noise).
        rng (np.random.Generator): Source of the degradation parameters.

    Returns:
        np.ndarray: The degraded uint8 image, same shape.
    """
    x = image.astype(np.float64)
    if task == 'denoise':
        y = x + rng.normal(0, rng.uniform(10, 30), x.shape)
    elif task == 'deblur':
        if rng.random() < 0.7:
            k = int(rng.choice([5, 7, 9, 11]))
            kernel = np.zeros((k, k), np.float64)
            kernel[k // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (k, k), flags=cv2.INTER_LINEAR)
            kernel /= kernel.sum()
            y = cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT)
        else:
            y = cv2.GaussianBlur(x, (0, 0), rng.uniform(1.0, 2.0),
                                 borderType=cv2.BORDER_REFLECT)
    elif task == 'lowlight':
        y = 255.0 * rng.uniform(0.15, 0.4) * (x / 255.0) ** rng.uniform(1.4, 2.4)
        y += rng.normal(0, rng.uniform(0.5, 2.0), x.shape)
    else:
        raise ValueError(f'unknown restoration task {task!r}')
    return np.clip(y, 0, 255).round().astype(np.uint8)


# ------------------------------------------------------------------------------------ writers
def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(data)


def _encode_png(array: np.ndarray, huffman: bool = False) -> bytes:
    """Lossless PNG bytes (Huffman-only coding is faster and smaller for noisy photos)."""
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if huffman:
        params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    ok, buf = cv2.imencode('.png', array, params)
    assert ok
    return buf.tobytes()


def _write_png(path: str, array: np.ndarray) -> None:
    _write_bytes(path, _encode_png(array))


def _write_json(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


class _Writer:
    """Base class: writes scenes of one format under ``root/<name>``."""

    name = ''
    splits: tuple[str, ...] = ('train', 'val')

    def __init__(self, root: str) -> None:
        self.dir = osp.join(root, self.name)

    def add(self, scene: Scene, jpeg: bytes) -> None:
        """Write one scene (``jpeg`` is its encoded image)."""
        raise NotImplementedError

    def close(self) -> None:
        """Write what needs all scenes (annotation files)."""

    def _mkdirs(self, *dirs: str) -> None:
        for d in dirs:
            os.makedirs(osp.join(self.dir, d), exist_ok=True)


class AdeWriter(_Writer):
    """mmseg ``ADE20KDataset``: ``images/{training,validation}/ADE_{train,val}_<id>.jpg`` and
    label PNGs with real ADE20K ids (class index + 1, 0 = other)."""

    name = 'ade'
    _dirs = {'train': 'training', 'val': 'validation'}

    def __init__(self, root: str) -> None:
        super().__init__(root)
        for d in self._dirs.values():
            self._mkdirs(f'images/{d}', f'annotations/{d}')
        self._lut = np.zeros(256, np.uint8)  # 255 (other) -> 0
        for i, name in enumerate(SYNTHETIC_ADE_CLASSES):
            self._lut[i] = ADE20K_LABELS[name]

    def add(self, scene: Scene, jpeg: bytes) -> None:
        d = self._dirs[scene.split]
        stem = f'ADE_{scene.split}_{scene.image_id:08d}'
        _write_bytes(osp.join(self.dir, 'images', d, stem + '.jpg'), jpeg)
        _write_png(osp.join(self.dir, 'annotations', d, stem + '.png'), self._lut[scene.semantic])


class NyuWriter(_Writer):
    """mmseg ``NYUDataset``: ``images/{train,test}/playroom_<id>.jpg`` and uint16 depth PNGs
    in millimetres (the val split goes to ``test``, as in mmseg's NYU config)."""

    name = 'nyu'
    _dirs = {'train': 'train', 'val': 'test'}

    def __init__(self, root: str) -> None:
        super().__init__(root)
        for d in self._dirs.values():
            self._mkdirs(f'images/{d}', f'annotations/{d}')

    def add(self, scene: Scene, jpeg: bytes) -> None:
        d = self._dirs[scene.split]
        # NYUDataset parses the scene category from the name before the first digit
        stem = f'playroom_{scene.image_id:08d}'
        _write_bytes(osp.join(self.dir, 'images', d, stem + '.jpg'), jpeg)
        depth_mm = np.round(scene.depth.astype(np.float64) * 1000.0).astype(np.uint16)
        _write_png(osp.join(self.dir, 'annotations', d, stem + '.png'), depth_mm)


def _coco_image(scene: Scene, file_name: str) -> dict:
    return dict(id=scene.image_id, file_name=file_name, height=scene.height, width=scene.width)


_COCO_INFO = dict(description='mmgeneralist synthetic procedural world', version='1.0')


class PanopticWriter(_Writer):
    """mmdet ``CocoPanopticDataset``: ``{train,val}2017/<id>.jpg``,
    ``annotations/panoptic_{train,val}2017.json`` and RGB segment PNGs in
    ``annotations/panoptic_{train,val}2017/`` (id = R + 256 G + 256^2 B; 0 = void = other)."""

    name = 'coco_panoptic'

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self._data = {s: dict(images=[], annotations=[]) for s in self.splits}
        for s in self.splits:
            self._mkdirs(f'{s}2017', f'annotations/panoptic_{s}2017')

    def add(self, scene: Scene, jpeg: bytes) -> None:
        file_name = f'{scene.image_id:012d}.jpg'
        _write_bytes(osp.join(self.dir, f'{scene.split}2017', file_name), jpeg)
        seg = np.zeros(scene.semantic.shape, np.int64)
        segments = []

        def add_segment(seg_id: int, name: str, mask: np.ndarray) -> None:
            ys, xs = np.nonzero(mask)
            if len(xs) == 0:
                return
            seg[mask] = seg_id
            x0, y0 = int(xs.min()), int(ys.min())
            segments.append(dict(
                id=seg_id, category_id=PANOPTIC_CATEGORY_IDS[name], iscrowd=0,
                area=int(len(xs)),
                bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]))

        for name in STUFF_CLASSES:
            add_segment(PANOPTIC_CATEGORY_IDS[name] * 1000,
                        name, scene.semantic == SYNTHETIC_ADE_CLASSES.index(name))
        for inst in scene.instances:
            add_segment(PANOPTIC_CATEGORY_IDS[inst.category] * 1000 + inst.id, inst.category,
                        inst.mask)
        rgb = np.stack([seg % 256, seg // 256 % 256, seg // 65536], -1).astype(np.uint8)
        png_name = file_name.replace('.jpg', '.png')
        _write_png(osp.join(self.dir, 'annotations', f'panoptic_{scene.split}2017', png_name),
                   rgb[..., ::-1])
        data = self._data[scene.split]
        data['images'].append(_coco_image(scene, file_name))
        data['annotations'].append(dict(image_id=scene.image_id, file_name=png_name,
                                        segments_info=segments))

    def close(self) -> None:
        categories = [dict(id=PANOPTIC_CATEGORY_IDS[n], name=n, supercategory=n,
                           isthing=int(n in THING_CLASSES), color=list(_CLASS_PALETTE[n]))
                      for n in THING_CLASSES + STUFF_CLASSES]
        for s, data in self._data.items():
            _write_json(osp.join(self.dir, 'annotations', f'panoptic_{s}2017.json'),
                        dict(info=_COCO_INFO, licenses=[], categories=categories, **data))


class KeypointWriter(_Writer):
    """mmpose ``CocoDataset``: ``{train,val}2017/<id>.jpg`` and
    ``annotations/person_keypoints_{train,val}2017.json``, one annotation per person with at
    least one visible pixel (bbox and area of the visible pixels, as in COCO)."""

    name = 'coco_keypoints'

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self._data = {s: dict(images=[], annotations=[]) for s in self.splits}
        for s in self.splits:
            self._mkdirs(f'{s}2017', 'annotations')

    def add(self, scene: Scene, jpeg: bytes) -> None:
        file_name = f'{scene.image_id:012d}.jpg'
        _write_bytes(osp.join(self.dir, f'{scene.split}2017', file_name), jpeg)
        data = self._data[scene.split]
        data['images'].append(_coco_image(scene, file_name))
        for inst in scene.instances:
            if inst.category != 'person' or inst.area == 0:
                continue
            kps = inst.keypoints.copy()
            kps[kps[:, 2] == 0, :2] = 0  # COCO: unlabelled keypoints are (0, 0, 0)
            flat = []
            for x, y, v in kps:
                flat += [round(float(x), 2), round(float(y), 2), int(v)]
            data['annotations'].append(dict(
                id=scene.image_id * 100 + inst.id, image_id=scene.image_id, category_id=1,
                iscrowd=0, area=inst.area, bbox=inst.bbox, segmentation=_rle(inst.mask),
                num_keypoints=int((kps[:, 2] > 0).sum()), keypoints=flat))

    def close(self) -> None:
        categories = [dict(id=1, name='person', supercategory='person',
                           keypoints=list(COCO_KEYPOINT_NAMES),
                           skeleton=[list(p) for p in COCO_SKELETON])]
        for s, data in self._data.items():
            _write_json(osp.join(self.dir, 'annotations', f'person_keypoints_{s}2017.json'),
                        dict(info=_COCO_INFO, licenses=[], categories=categories, **data))


class RefCocoWriter(_Writer):
    """mmdet ``RefCocoDataset``: ``train2014/COCO_train2014_<id>.jpg``, ``instances.json``
    (every visible object, RLE masks, plus ``attributes``: colour, depth) and ``refs(unc).p``
    with splits train, val, testA (people) and testB (other objects)."""

    name = 'refcoco'
    splits = ('train', 'val', 'testA', 'testB')

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self._mkdirs('train2014')
        self._images, self._annotations, self._refs = [], [], []

    def add(self, scene: Scene, jpeg: bytes) -> None:
        file_name = f'COCO_train2014_{scene.image_id:012d}.jpg'
        _write_bytes(osp.join(self.dir, 'train2014', file_name), jpeg)
        self._images.append(_coco_image(scene, file_name))
        rng = scene.rng(1)
        for inst in scene.instances:
            if inst.area == 0:
                continue
            ann_id = scene.image_id * 100 + inst.id
            self._annotations.append(dict(
                id=ann_id, image_id=scene.image_id,
                category_id=PANOPTIC_CATEGORY_IDS[inst.category], iscrowd=0, area=inst.area,
                bbox=inst.bbox, segmentation=_rle(inst.mask),
                attributes=dict(colour=inst.colour, depth=inst.depth, instance_id=inst.id)))
            if not _referable(scene, inst):
                continue
            if scene.split == 'testA' and inst.category != 'person':
                continue
            if scene.split == 'testB' and inst.category == 'person':
                continue
            texts = describe_instance(scene, inst, rng)
            if not texts:
                continue
            ref_id = len(self._refs)
            sent_ids = [ref_id * 10 + k for k in range(len(texts))]
            self._refs.append(dict(
                ref_id=ref_id, ann_id=ann_id, image_id=scene.image_id, split=scene.split,
                category_id=PANOPTIC_CATEGORY_IDS[inst.category],
                file_name=f'COCO_train2014_{scene.image_id:012d}_{ann_id}.jpg',
                sent_ids=sent_ids,
                sentences=[dict(raw=t, sent=t, tokens=t.split(), sent_id=i)
                           for t, i in zip(texts, sent_ids)]))

    def close(self) -> None:
        categories = [dict(id=PANOPTIC_CATEGORY_IDS[n], name=n, supercategory=n)
                      for n in THING_CLASSES]
        _write_json(osp.join(self.dir, 'instances.json'),
                    dict(info=_COCO_INFO, licenses=[], images=self._images,
                         annotations=self._annotations, categories=categories))
        with open(osp.join(self.dir, 'refs(unc).p'), 'wb') as f:
            pickle.dump(self._refs, f, protocol=4)


class RestorationWriter(_Writer):
    """Paired restoration data: ``{denoise,deblur,lowlight}/{train,val}/{input,target}/<id>.png``
    (same file name in ``input`` and ``target``; the target is the clean render)."""

    name = 'restoration'
    tasks = ('denoise', 'deblur', 'lowlight')

    def __init__(self, root: str) -> None:
        super().__init__(root)
        for t in self.tasks:
            for s in self.splits:
                self._mkdirs(f'{t}/{s}/input', f'{t}/{s}/target')

    def add(self, scene: Scene, jpeg: bytes) -> None:
        name = f'{scene.image_id:08d}.png'
        target = _encode_png(scene.image[..., ::-1], huffman=True)
        for k, task in enumerate(self.tasks):
            d = osp.join(self.dir, task, scene.split)
            _write_bytes(osp.join(d, 'target', name), target)
            _write_bytes(osp.join(d, 'input', name), _encode_png(
                degrade(scene.image, task, scene.rng(10 + k))[..., ::-1], huffman=True))


#: Writer class of each format.
WRITERS: dict[str, type] = {w.name: w for w in (
    AdeWriter, NyuWriter, PanopticWriter, KeypointWriter, RefCocoWriter, RestorationWriter)}
#: The formats, in the order they are written.
FORMATS: tuple[str, ...] = tuple(WRITERS)

#: How a config points at each format (``{root}`` is the format's directory).
FORMAT_CONFIGS: dict[str, str] = {
    'ade': ("dict(type='ADE20KDataset', data_root='{root}', "
            "data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'), "
            "metainfo=dict(classes=SYNTHETIC_ADE_CLASSES))  # val: images/validation; omit "
            "metainfo for the full 150 classes"),
    'nyu': ("dict(type='NYUDataset', data_root='{root}', "
            "data_prefix=dict(img_path='images/train', depth_map_path='annotations/train'))  "
            "# val: images/test; LoadDepthAnnotation(depth_rescale_factor=1e-3)"),
    'coco_panoptic': ("dict(type='CocoPanopticDataset', data_root='{root}', "
                      "ann_file='annotations/panoptic_train2017.json', "
                      "data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'), "
                      "metainfo=SYNTHETIC_PANOPTIC_METAINFO)  # val: *val2017*"),
    'coco_keypoints': ("dict(type='CocoDataset', data_mode='topdown', data_root='{root}', "
                       "ann_file='annotations/person_keypoints_train2017.json', "
                       "data_prefix=dict(img='train2017/'))  # mmpose; val: *val2017*"),
    'refcoco': ("dict(type='RefCocoDataset', data_root='{root}', ann_file='instances.json', "
                "split_file='refs(unc).p', split='train', "
                "data_prefix=dict(img_path='train2014/'))  # splits: train, val, testA, testB"),
    'restoration': ("{root}/<denoise|deblur|lowlight>/<train|val>/<input|target>/*.png "
                    "(paired by file name)"),
}


def validate_arguments(formats: Iterable[str], num_train: int, num_val: int, size: int,
                       seed: int) -> list[str]:
    """Check generator arguments.

    Args:
        formats (Iterable[str]): Formats to write (see :data:`FORMATS`).
        num_train (int): Training images.
        num_val (int): Validation images.
        size (int): Image side in pixels.
        seed (int): Seed.

    Returns:
        list[str]: One message per problem; empty when all is well.
    """
    errors = []
    formats = list(formats)
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        errors.append(f'unknown format(s) {unknown}; choose from {list(FORMATS)}')
    if not formats:
        errors.append('no format given')
    if not MIN_SIZE <= size <= MAX_SIZE:
        errors.append(f'size must be between {MIN_SIZE} and {MAX_SIZE} px (got {size}): smaller '
                      'images cannot hold several recognisable objects')
    for name, n in (('num_train', num_train), ('num_val', num_val)):
        if not 1 <= n <= MAX_IMAGES_PER_SPLIT:
            errors.append(f'{name} must be between 1 and {MAX_IMAGES_PER_SPLIT} (got {n})')
    if seed < 0:
        errors.append(f'seed must be non-negative (got {seed})')
    return errors


def _prepare_dir(path: str) -> None:
    """Empty a format directory written by an earlier run; refuse to touch foreign data."""
    if osp.isdir(path) and os.listdir(path):
        if not osp.exists(osp.join(path, _MARKER)):
            raise FileExistsError(
                f'{path} exists and was not written by this generator; refusing to overwrite '
                'it (choose another output directory or remove it)')
        shutil.rmtree(path)
    elif osp.exists(path) and not osp.isdir(path):
        raise FileExistsError(f'{path} exists and is not a directory')
    os.makedirs(path, exist_ok=True)
    with open(osp.join(path, _MARKER), 'w') as f:
        f.write('written by mmgeneralist.datasets.synthetic; regenerated on every run\n')


def generate_synthetic(out_dir: str, formats: Sequence[str] = FORMATS, num_train: int = 300,
                       num_val: int = 100, size: int = 96, seed: int = 0,
                       progress: Optional[Callable] = None) -> dict[str, str]:
    """Generate the synthetic world and write it in the requested formats.

    Format directories under ``out_dir`` that an earlier run wrote are replaced; other
    existing non-empty directories make it fail rather than mix data.

    Args:
        out_dir (str): Output root; each format goes to ``out_dir/<format>``.
        formats (Sequence[str]): Subset of :data:`FORMATS`.
        num_train (int): Training images (RefCOCO split ``train``).
        num_val (int): Validation images (RefCOCO split ``val``; RefCOCO also gets
            ``max(1, num_val // 2)`` more images each for ``testA`` and ``testB``).
        size (int): Image side in pixels.
        seed (int): Non-negative seed; identical seeds give byte-identical files.
        progress (Callable, optional): Wraps the scene iterator, e.g. ``functools.partial(tqdm,
            desc=...)``; it is called with the iterable and ``total=``.

    Returns:
        dict[str, str]: Directory of each format written.

    Raises:
        ValueError: If an argument is invalid (all problems are listed).
        FileExistsError: If a format directory holds data not written by this generator.
    """
    errors = validate_arguments(formats, num_train, num_val, size, seed)
    if errors:
        raise ValueError('; '.join(errors))
    formats = [f for f in FORMATS if f in set(formats)]
    writers = []
    for name in formats:
        _prepare_dir(osp.join(out_dir, name))
        writers.append(WRITERS[name](out_dir))
    jobs = [(s, i) for s, n in (('train', num_train), ('val', num_val)) for i in range(n)]
    if 'refcoco' in formats:
        n_test = max(1, num_val // 2)
        jobs += [(s, i) for s in ('testA', 'testB') for i in range(n_test)]
    iterator = progress(jobs, total=len(jobs)) if progress else jobs
    for split, index in iterator:
        scene = generate_scene(seed, split, index, size)
        ok, buf = cv2.imencode('.jpg', scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert ok
        jpeg = buf.tobytes()
        for w in writers:
            if split in w.splits:
                w.add(scene, jpeg)
    for w in writers:
        w.close()
    return {w.name: w.dir for w in writers}
