"""The seeded procedural world: classes, constants and scene rendering.

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
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

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
