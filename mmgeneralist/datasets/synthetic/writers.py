"""Writers of the on-disk formats and the generator entry point.


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

Every format directory holds a marker file (``.mmgeneralist_synthetic``) so that a later run
replaces it but never touches data that this generator did not write.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import pickle
import shutil
from collections.abc import Callable, Iterable, Sequence
from typing import Optional

import cv2
import numpy as np

from .degradations import degrade
from .expressions import _referable, describe_instance
from .formats import FORMATS
from .world import (
    _CLASS_PALETTE,
    ADE20K_LABELS,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    MAX_IMAGES_PER_SPLIT,
    MAX_SIZE,
    MIN_SIZE,
    PANOPTIC_CATEGORY_IDS,
    STUFF_CLASSES,
    SYNTHETIC_ADE_CLASSES,
    THING_CLASSES,
    Scene,
    generate_scene,
)

_MARKER = '.mmgeneralist_synthetic'


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
# the order in which the formats are written is FORMATS (kept in the light ``formats`` module)
assert tuple(WRITERS) == FORMATS, 'WRITERS and formats.FORMATS must list the same formats'


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
