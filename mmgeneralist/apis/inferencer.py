"""Run a trained model on your own images, and draw what it predicts.

:class:`DiffusionInferencer` is mmengine's ``BaseInferencer`` (as mmseg's
``MMSegInferencer`` and mmdet's ``DetInferencer`` are) for every model of this package: it
builds the model from a config and a checkpoint, prepares images with the model's own test
pipeline (``test_dataloader.dataset.pipeline`` without its annotation loading) and data
preprocessor, predicts with ``model.test_step``, and returns the codebase's data samples::

    from mmgeneralist.apis import DiffusionInferencer

    inferencer = DiffusionInferencer('configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py',
                                     'work_dirs/quickstart/iter_1000.pth', device='cpu')
    samples = inferencer('photos/', out_dir='outputs')   # outputs/vis/<name>.png
    labels = samples[0].pred_sem_seg.data[0]               # (H, W), the image's size

What the model is decides what is predicted and drawn (:data:`MODEL_KINDS`, a table that a
new method extends with one entry):

- mmseg's ``DepthEstimator`` (VPD, GenPercept): no text; ``pred_depth_map`` in metres;
- mmseg's ``EncoderDecoder`` and subclasses (``DiffusionEncoderDecoder``, GenPercept's):
  no text; ``pred_sem_seg``, class indices;
- ``DiffusionReferringSegmentor`` (mmdet): one sentence per image;
  ``pred_instances.masks`` ``(1, H, W)``;
- ``PixelDiffusionGeneralist``: a task name per image (or its instruction); the task's
  field: ``pred_depth_map``, ``pred_sem_seg`` (and ``pred_panoptic_seg``) or ``pred_image``;
- ``InstructionEditor``: an instruction per image; ``pred_image``, RGB 0..255, and for a
  keypoint, segmentation or referring instruction ``read_back``: the instructed keypoints
  and masks read back out of the edit by the model's colour decoders.

Inputs: an image path, a folder (its images, sorted by name), an ``np.ndarray`` or a list
of these. Arrays follow OpenMMLab's convention, **BGR** channel order (what
``cv2.imread`` gives; reverse an RGB array with ``rgb[..., ::-1]``), ``uint8`` (``uint16``
is scaled down, floats in [0, 1] are scaled up); grayscale ``(H, W)`` or ``(H, W, 1)``
images are repeated to three channels, and an alpha channel (BGRA, or an RGBA PNG file) is
composited over white and dropped. Every prediction has its input's original height and
width.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from torch import nn

from ..visualization.drawing import (
    draw_depth,
    draw_edit,
    draw_image_pair,
    draw_mask,
    draw_segmentation,
)

__all__ = ['DiffusionInferencer', 'ModelKind', 'MODEL_KINDS', 'IMAGE_EXTENSIONS',
           'list_images', 'load_image']

#: the files a folder input contributes (case-insensitive)
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm',
                    '.pbm', '.jp2')

#: test-pipeline steps that read annotations (dropped: there are none), matched by name
_ANNOTATION_STEPS = ('LoadAnnotations', 'LoadDepthAnnotation', 'LoadPanopticAnnotations',
                     'CheckPanopticSegments', 'LoadRestorationTarget')
#: steps that load the image (replaced by the inferencer's loader of arrays)
_LOAD_STEPS = ('LoadImageFromFile', 'LoadImage', 'InferencerLoader', 'LoadImageFromNDArray')


# ------------------------------------------------------------------------------ inputs


def list_images(folder: str) -> list[str]:
    """The image files directly in ``folder`` (by :data:`IMAGE_EXTENSIONS`), sorted."""
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(folder, n)))
    return [osp.join(folder, n) for n in names]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return (image.astype(np.float64) / 257.0).round().astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        finite = image[np.isfinite(image)]
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(np.nan_to_num(image) * scale, 0, 255).round().astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def _normalise(image: np.ndarray, where: str) -> np.ndarray:
    """Any image array -> ``(H, W, 3)`` uint8 BGR (see the module docstring)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = _to_uint8(image)
        return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2))
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f'{where}: expected an image of shape (H, W), (H, W, 1), (H, W, 3) '
                         f'(BGR) or (H, W, 4) (BGRA); got shape {image.shape}')
    if image.shape[2] == 4:  # composite over white, then drop the alpha channel
        if image.dtype == np.uint8:
            alpha = image[..., 3:].astype(np.float64) / 255.0
        elif image.dtype == np.uint16:
            alpha = image[..., 3:].astype(np.float64) / 65535.0
        else:
            alpha = np.clip(image[..., 3:].astype(np.float64), 0, 1)
        color = _to_uint8(image[..., :3]).astype(np.float64)
        image = (color * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(_to_uint8(image))


def load_image(image: str | np.ndarray) -> np.ndarray:
    """An image path or array as ``(H, W, 3)`` uint8 **BGR** (see the module docstring).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file does not decode as an image, or the array's shape is not an
            image's.
    """
    if isinstance(image, np.ndarray):
        return _normalise(image, 'array input')
    if not isinstance(image, (str, os.PathLike)):
        raise TypeError(f'an input must be an image path, a folder or an np.ndarray; got '
                        f'{type(image).__name__}')
    path = os.fspath(image)
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file not found: {path}')
    data = cv2.imread(path, cv2.IMREAD_UNCHANGED)  # keeps alpha, 16 bits and grayscale
    if data is None:  # e.g. GIF: Pillow reads more formats
        try:
            from PIL import Image
            with Image.open(path) as pil:
                pil = pil.convert('RGBA' if 'A' in pil.getbands() else 'RGB')
                data = np.asarray(pil)[..., [2, 1, 0, 3][:len(pil.getbands())]]
        except Exception as err:  # noqa: BLE001  (decoders fail in many ways)
            raise ValueError(f'{path} does not decode as an image ({err})') from None
    return _normalise(data, path)


# ------------------------------------------------------------------------------ model kinds


def _type_name(step: Any) -> str:
    """The class name of a pipeline step config (``'mmdet.PackDetInputs'`` ->
    ``'PackDetInputs'``)."""
    t = step.get('type') if isinstance(step, dict) else type(step).__name__
    t = t if isinstance(t, str) else getattr(t, '__name__', str(t))
    return t.rsplit('.', 1)[-1]


class _ArrayLoader:
    """The first pipeline step: the already-loaded BGR image of ``results['img']``, with
    ``img_shape`` / ``ori_shape`` set and ``img_path`` kept (as mmcv's
    ``LoadImageFromNDArray``, which would reset the path)."""

    def __call__(self, results: dict) -> dict:
        img = results['img']
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results.setdefault('img_path', None)
        return results

    def __repr__(self) -> str:
        return 'DiffusionInferencer._ArrayLoader()'


def build_test_pipeline(pipeline_cfg: Sequence, scope: str | None,
                        drop: Callable[[str], bool] | None = None) -> Callable:
    """A test pipeline for images in memory: the image loader replaced by one that takes
    ``results['img']``, annotation loading (and what ``drop`` names) removed, wrappers such
    as ``SkipBadSamples`` unwrapped, built in ``scope``.

    Raises:
        ValueError: the pipeline does not load an image.
    """
    from mmcv.transforms import Compose

    steps, loaded = [], False
    for step in copy.deepcopy(list(pipeline_cfg)):
        inner = step.get('transforms') if isinstance(step, dict) else None
        for sub in (inner if _type_name(step) == 'SkipBadSamples' and inner else [step]):
            name = _type_name(sub)
            if name in _LOAD_STEPS:
                if not loaded:
                    steps.append(_ArrayLoader())
                loaded = True
            elif name in _ANNOTATION_STEPS or (drop is not None and drop(name)):
                continue
            else:
                steps.append(sub)
    if not loaded:
        raise ValueError(f'the test pipeline {[_type_name(s) for s in pipeline_cfg]} has no '
                         'image loading step (LoadImageFromFile): the inferencer replaces it '
                         'with its own loader')
    with DefaultScope.overwrite_default_scope(scope):
        return Compose(steps)


class ModelKind:
    """How the inferencer serves one kind of model: which texts it needs, which test
    pipeline prepares its images, and how its predictions are drawn and saved.

    A new method subclasses this and adds an instance to :data:`MODEL_KINDS` (the first
    whose :meth:`matches` is true serves a model, so a subclass' kind goes before its
    base's).

    Attributes:
        name: what the kind is called in messages.
        text_key: the metainfo key that carries each image's text (``None``: the model
            takes no text).
        text_help: what ``texts`` must hold, for the error when it is missing.
    """

    name = 'model'
    text_key: str | None = None
    text_help = ''

    def matches(self, model: nn.Module) -> bool:
        raise NotImplementedError

    # -- preparing
    def pipelines(self, cfg: Config, scope: str | None) -> dict[str | None, Callable]:
        """The test pipeline(s), by text (``None``: one for every image)."""
        return {None: build_test_pipeline(cfg.test_dataloader.dataset.pipeline, scope)}

    def check_text(self, model: nn.Module, text: str | None, where: str) -> str | None:
        """The text an image is given, checked (``None`` for a model without texts)."""
        if self.text_key is None:
            if text is not None:
                raise ValueError(f'{self.name} ({type(model).__name__}) takes no text; got '
                                 f'texts={text!r}: leave texts out')
            return None
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f'{self.name} ({type(model).__name__}) needs '
                             f'{self.describe_text(model)} for {where}; got {text!r}: pass '
                             'texts=[...], one per image or one string for all (demo: '
                             '--texts "...")')
        return text.strip()

    def describe_text(self, model: nn.Module) -> str:
        """What ``texts`` must hold, for the error when it is missing."""
        return self.text_help

    def pipeline_key(self, text: str | None) -> str | None:
        return None

    def metainfo(self, model: nn.Module, text: str | None) -> dict:
        """Metainfo every sample gets (after the pipeline; it also sees them as results)."""
        return {} if self.text_key is None else {self.text_key: text}

    # -- results
    def finish(self, model: nn.Module, rgb: np.ndarray, sample) -> None:
        """Complete a prediction with what it needs the input for (``rgb``, the input's RGB
        at its size); nothing by default."""

    def draw(self, inferencer: DiffusionInferencer, rgb: np.ndarray, sample) -> np.ndarray:
        raise NotImplementedError

    def save_prediction(self, inferencer: DiffusionInferencer, sample, stem: str) -> str:
        """Write the raw prediction as ``stem`` + its extension; return the path."""
        raise NotImplementedError


def _labels(sample) -> np.ndarray:
    return sample.pred_sem_seg.data[0].cpu().numpy()


def _depth(sample) -> np.ndarray:
    return sample.pred_depth_map.data[0].float().cpu().numpy()


def _save_labels(labels: np.ndarray, stem: str) -> str:
    dtype = np.uint8 if labels.max(initial=0) < 256 and labels.min(initial=0) >= 0 else np.uint16
    path = stem + '.png'
    cv2.imwrite(path, labels.astype(dtype))
    return path


def _save_depth(depth: np.ndarray, stem: str) -> str:
    path = stem + '.npy'
    np.save(path, depth.astype(np.float32))
    return path


def _image(sample, field: str = 'pred_image') -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from a ``(3, H, W)`` 0..255 ``PixelData``."""
    data = sample.get(field).data.float().cpu().numpy()
    return np.clip(data.round(), 0, 255).astype(np.uint8).transpose(1, 2, 0)


class SemanticKind(ModelKind):
    """mmseg's ``EncoderDecoder`` and subclasses (``DiffusionEncoderDecoder``, GenPercept's
    segmentors): ``pred_sem_seg``."""

    name = 'semantic segmentation'

    def matches(self, model):
        from mmseg.models.segmentors import EncoderDecoder
        return isinstance(model, EncoderDecoder)

    def draw(self, inferencer, rgb, sample):
        names, palette = inferencer.class_names, inferencer.palette
        return draw_segmentation(rgb, _labels(sample), names, palette)

    def save_prediction(self, inferencer, sample, stem):
        return _save_labels(_labels(sample), stem)


class DepthKind(ModelKind):
    """mmseg's ``DepthEstimator`` (VPD, GenPercept): ``pred_depth_map`` in metres. A
    backbone that selects a scene-class prompt (``class_embed_select``, VPD's NYU context)
    is given ``category_id=-1``: unknown scene, the mean of all class prompts."""

    name = 'depth estimation'

    def matches(self, model):
        from mmseg.models.segmentors import DepthEstimator
        return isinstance(model, DepthEstimator)

    def metainfo(self, model, text):
        backbone = getattr(model, 'backbone', None)
        return {'category_id': -1} if getattr(backbone, 'class_embed_select', False) else {}

    def draw(self, inferencer, rgb, sample):
        return draw_depth(rgb, _depth(sample))

    def save_prediction(self, inferencer, sample, stem):
        return _save_depth(_depth(sample), stem)


class ReferringKind(ModelKind):
    """``DiffusionReferringSegmentor`` (mmdet): one referring expression per image, in the
    metainfo ``text`` as mmdet's ``RefCocoDataset`` gives it; ``pred_instances.masks``
    ``(1, H, W)`` bool and ``scores``."""

    name = 'referring segmentation'
    text_key = 'text'
    text_help = 'one referring expression per image (e.g. "the ball on the left")'

    def matches(self, model):
        from ..models.segmentors.referring_segmentor import DiffusionReferringSegmentor
        return isinstance(model, DiffusionReferringSegmentor)

    @staticmethod
    def _mask(sample) -> np.ndarray:
        return sample.pred_instances.masks[0].cpu().numpy().astype(bool)

    def draw(self, inferencer, rgb, sample):
        return draw_mask(rgb, self._mask(sample), sample.metainfo.get('text'))

    def save_prediction(self, inferencer, sample, stem):
        path = stem + '.png'
        cv2.imwrite(path, self._mask(sample).astype(np.uint8) * 255)
        return path


class GeneralistKind(ModelKind):
    """``PixelDiffusionGeneralist``: a task name per image (one of the model's ``tasks``,
    or its instruction), prepared by that task's test pipeline; the task's field
    (``pred_depth_map``, ``pred_sem_seg`` and for a panoptic task ``pred_panoptic_seg``,
    or ``pred_image``)."""

    name = 'pixel-diffusion generalist'
    text_key = 'task'
    text_help = 'a task name per image'

    def matches(self, model):
        from ..models.segmentors.pixel_generalist import PixelDiffusionGeneralist
        return isinstance(model, PixelDiffusionGeneralist)

    def pipelines(self, cfg, scope):
        dataset = cfg.test_dataloader.dataset
        subsets = dataset.get('datasets') or {}
        if not subsets:
            return {None: build_test_pipeline(dataset.pipeline, scope)}
        return {task: build_test_pipeline(sub.pipeline, sub.get('_scope_', scope))
                for task, sub in subsets.items()}

    def describe_text(self, model):
        return f'a task name per image, one of {list(model.tasks)}'

    def check_text(self, model, text, where):
        text = super().check_text(model, text, where)
        by_instruction = {p.instruction.lower(): name for name, task in model.tasks.items()
                          for p in task.passes[:1]}
        task = text if text in model.tasks else by_instruction.get(text.lower())
        if task is None:
            raise ValueError(f'{text!r} ({where}) is not a task of this model: pass one of '
                             f'{list(model.tasks)} (or its instruction)')
        return task

    def pipeline_key(self, text):
        return text

    def draw(self, inferencer, rgb, sample):
        task = sample.metainfo.get('task')
        if 'pred_depth_map' in sample:
            return draw_depth(rgb, _depth(sample), title=f'{task}: depth')
        if 'pred_sem_seg' in sample:
            names = inferencer.task_class_names.get(task)
            palette = inferencer.task_palettes.get(task)
            return draw_segmentation(rgb, _labels(sample), names, palette, title=task)
        return draw_image_pair(rgb, _image(sample), text=None, title=task)

    def save_prediction(self, inferencer, sample, stem):
        if 'pred_depth_map' in sample:
            return _save_depth(_depth(sample), stem)
        if 'pred_sem_seg' in sample:
            return _save_labels(_labels(sample), stem)
        path = stem + '.png'
        cv2.imwrite(path, _image(sample)[..., ::-1])
        return path


class EditorKind(ModelKind):
    """``InstructionEditor`` (InstructDiffusion): a free instruction per image (e.g. "Make
    the image brighter."); the edited image in ``pred_image``, at the input's size, and for
    an instruction in the form of a keypoint or mask template, ``read_back`` (see
    :meth:`finish`). The test
    pipeline is the config's enhancement data set's (or the first one's), without its
    target and instruction steps; a top-down keypoint pipeline (crops around boxes) is
    replaced by a resize of the whole image to its crop size."""

    name = 'instruction editor'
    text_key = 'instruction'
    text_help = 'an instruction per image (e.g. "Make the image brighter.")'

    def matches(self, model):
        from ..models.editors.instruction_editor import InstructionEditor
        return isinstance(model, InstructionEditor)

    def check_text(self, model, text, where):
        """An instruction, refused before any sampling when it asks for a colour that the
        decoders do not know."""
        from ..datasets.instructions import parse_instruction
        text = super().check_text(model, text, where)
        try:
            parse_instruction(text)
        except ValueError as err:
            raise ValueError(f'{where}: {err}') from None
        return text

    def pipelines(self, cfg, scope):
        dataset = cfg.test_dataloader.dataset
        subsets = dataset.get('datasets') or {}
        if subsets:  # an enhancement data set's steps resize the whole image, no crops
            names = [n for n, sub in subsets.items()
                     if any(_type_name(s) == 'EnhancementInstruction' for s in sub.pipeline)]
            chosen = subsets[names[0] if names else next(iter(subsets))]
            pipeline, scope = chosen.pipeline, chosen.get('_scope_', scope)
        else:
            pipeline = dataset.pipeline
        crops = [s for s in pipeline if _type_name(s) == 'TopdownAffine']
        if crops:  # a top-down keypoint pipeline crops around boxes: edit the whole image
            size = tuple(crops[0].get('input_size', (256, 256)))
            pipeline = [dict(type='LoadImageFromFile'),
                        dict(type='Resize', scale=size, keep_ratio=False),
                        dict(type='PackInstructionInputs')]
            scope = 'mmseg'
        return {None: build_test_pipeline(pipeline, scope, _is_instruction_step)}

    def finish(self, model, rgb, sample):
        """Read the instructed keypoints and masks back out of the edit, with the model's
        own colour decoders, when the instruction is a keypoint, segmentation or referring
        one (:func:`~mmgeneralist.datasets.instructions.parse_instruction`):
        ``sample.read_back``, one dict per instructed colour: the instruction's ``task``,
        ``color``, ``object`` (and ``part``), and ``keypoint`` ``(x, y)`` with its
        ``score`` in [0, 1], or ``mask`` ``(H, W)`` bool. A free-form edit reads nothing."""
        from ..datasets.instructions import parse_instruction
        asked = parse_instruction(sample.metainfo.get('instruction') or '')
        if not asked:
            return
        edited = torch.from_numpy(_image(sample)).permute(2, 0, 1).float()
        source = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float()
        points = [a for a in asked if a['task'] == 'keypoint']
        if points:
            found, scores = model.keypoint_codec.read(edited, source,
                                                      [a['color'] for a in points])
            for a, xy, score in zip(points, found.tolist(), scores.tolist()):
                a.update(keypoint=tuple(xy), score=float(score))
        for a in asked:
            if a['task'] != 'keypoint':
                a['mask'] = model.mask_codec.read(edited, source, a['color']).cpu().numpy()
        sample.read_back = asked

    def draw(self, inferencer, rgb, sample):
        asked = sample.get('read_back')
        if not asked:
            return draw_image_pair(rgb, _image(sample), sample.metainfo.get('instruction'),
                                   title='edited')
        from ..codecs.palette import color_of
        masks = [(a['mask'], color_of(a['color']), a['object']) for a in asked if 'mask' in a]
        points = [(a['keypoint'], color_of(a['color']), a['part'], a['score'])
                  for a in asked if 'keypoint' in a]
        return draw_edit(rgb, _image(sample), sample.metainfo.get('instruction'), masks, points)

    def save_prediction(self, inferencer, sample, stem):
        path = stem + '.png'
        cv2.imwrite(path, _image(sample)[..., ::-1])
        return path


def _is_instruction_step(name: str) -> bool:
    """The editor's instruction transforms: the inferencer gives the instruction itself."""
    return name.endswith('Instruction')


#: The kinds of model the inferencer serves, the first match wins (``DepthEstimator`` is an
#: ``EncoderDecoder``, so depth comes first). A new method appends its :class:`ModelKind`.
MODEL_KINDS: list[ModelKind] = [DepthKind(), SemanticKind(), ReferringKind(), GeneralistKind(),
                                EditorKind()]


def model_kind(model: nn.Module) -> ModelKind:
    """The :class:`ModelKind` that serves ``model``.

    Raises:
        NotImplementedError: no kind matches.
    """
    for kind in MODEL_KINDS:
        if kind.matches(model):
            return kind
    raise NotImplementedError(
        f'DiffusionInferencer has no entry for {type(model).__name__} models; it serves '
        f'{", ".join(k.name for k in MODEL_KINDS)} (add a ModelKind to '
        'mmgeneralist.apis.inferencer.MODEL_KINDS)')


# ------------------------------------------------------------------------------ inferencer


def _load_config(config: str | Config, cfg_options: dict | None) -> Config:
    if isinstance(config, (Config, ConfigDict, dict)):
        cfg = copy.deepcopy(config if isinstance(config, Config) else Config(dict(config)))
    else:
        path = os.fspath(config)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file not found: {path}')
        cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    for key, why in (('model', 'to build'),
                     ('test_dataloader', 'whose dataset.pipeline prepares the images')):
        if key not in cfg:
            raise ValueError(f'{config}: the config has no "{key}" {why}; give a complete '
                             'model config (one that tools/test.py runs)')
    return cfg


def resolve_checkpoint(checkpoint: str | None) -> str | None:
    """A checkpoint path; a work dir or its ``last_checkpoint`` file (which mmengine's
    checkpoint hook writes, holding the newest checkpoint's path) resolve to that path.

    Raises:
        FileNotFoundError: the file (or the one ``last_checkpoint`` names) does not exist.
    """
    if checkpoint is None:
        return None
    path = os.fspath(checkpoint)
    if osp.isdir(path) and osp.isfile(osp.join(path, 'last_checkpoint')):
        path = osp.join(path, 'last_checkpoint')
    if osp.isfile(path) and osp.basename(path) == 'last_checkpoint':
        with open(path) as f:
            named = f.read().strip()
        if not osp.isfile(named):
            raise FileNotFoundError(f'checkpoint file not found: {named} (named by {path})')
        return named
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    return path


def _pretrained_folder(cfg: Config) -> str | None:
    model = cfg.model
    for holder in (model.get('backbone') or {}, model):
        if isinstance(holder, dict) and isinstance(holder.get('pretrained'), str):
            return holder['pretrained']
    return None


def _dataset_meta(dataset_cfg, scope: str | None) -> dict:
    """``classes`` and ``palette`` of a data set config without building it (mmseg's rule:
    a subset of the data set type's classes keeps their palette colours)."""
    from mmengine.registry import DATASETS
    meta = dict(dataset_cfg.get('metainfo') or {})
    dataset_type = dataset_cfg.get('type')
    base = {}
    if isinstance(dataset_type, str):
        with DefaultScope.overwrite_default_scope(dataset_cfg.get('_scope_', scope)):
            with DATASETS.switch_scope_and_registry(None) as registry:
                dataset_cls = registry.get(dataset_type)
        base = dict(getattr(dataset_cls, 'METAINFO', {}) or {})
    elif isinstance(dataset_type, type):
        base = dict(getattr(dataset_type, 'METAINFO', {}) or {})
    classes = meta.get('classes', base.get('classes'))
    palette = meta.get('palette')
    if palette is None and classes is not None and base.get('palette') is not None:
        base_classes = list(base.get('classes') or [])
        if all(c in base_classes for c in classes):
            palette = [base['palette'][base_classes.index(c)] for c in classes]
    return dict(classes=tuple(classes) if classes is not None else None, palette=palette)


class DiffusionInferencer(BaseInferencer):
    """Predict and draw with any model of this package, from a config and a checkpoint.

    Args:
        config: a config file (or a ``Config``).
        checkpoint: a checkpoint trained with this config (a ``.pth`` path, or a work dir or
            its ``last_checkpoint`` file). ``None``: the diffusion weights still come from the
            config's ``pretrained`` folder, but the heads are random (a warning says so).
        device: e.g. ``'cpu'``, ``'cuda:0'``; ``None``: a GPU when there is one.
        cfg_options: config overrides, as ``--cfg-options`` (dotted keys), e.g.
            ``{'model.backbone.pretrained': 'checkpoints/stable-diffusion-v1-5'}``.
        palette: RGB colours of the classes for the pictures (default: the checkpoint's or
            the data set's, else distinct colours).
        show_progress: show a progress bar for a folder or a list of several images.

    Attributes:
        model: the built model (in eval mode); ``model.dataset_meta`` holds the checkpoint's
            ``classes`` and ``palette`` when it has them.
        kind: the :class:`ModelKind` serving the model.
        written: the files the last call wrote (pictures, then predictions, per input).

    Raises:
        FileNotFoundError: the config or the checkpoint does not exist.
        NotImplementedError: the model is of a kind the inferencer does not serve.
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'out_dir'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 config: str | Config,
                 checkpoint: str | None = None,
                 device: str | None = None,
                 cfg_options: dict | None = None,
                 palette: Sequence[Sequence[int]] | None = None,
                 show_progress: bool = True) -> None:
        cfg = _load_config(config, cfg_options)
        checkpoint = resolve_checkpoint(checkpoint)
        scope = cfg.get('default_scope', None)
        self._user_palette = palette
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(model=cfg, weights=checkpoint, device=device, scope=scope,
                             show_progress=show_progress)
        self.checkpoint = checkpoint

    # -- building (BaseInferencer's hooks)
    def _init_model(self, cfg: Config, weights: str | None, device: str = 'cpu') -> nn.Module:
        # unlike BaseInferencer, keep model.pretrained: it is the diffusion weights' folder
        model = MODELS.build(cfg.model)
        model.cfg = cfg
        self.kind = model_kind(model)
        self._load_weights_to_model(model, _load_checkpoint(weights, map_location='cpu')
                                    if weights is not None else None, cfg)
        if device is None or str(device).startswith('cpu') or not torch.cuda.is_available():
            model = revert_sync_batchnorm(model)
        model.to(device)
        model.eval()
        return model

    def _load_weights_to_model(self, model: nn.Module, checkpoint: dict | None,
                               cfg: Config) -> None:
        meta = {}
        if checkpoint is not None:
            _load_checkpoint_to_model(model, checkpoint)
            meta = dict((checkpoint.get('meta') or {}).get('dataset_meta') or {})
        else:
            warnings.warn(
                f'no checkpoint given: the diffusion weights come from the config\'s '
                f'pretrained folder ({_pretrained_folder(cfg)}) but the heads are randomly '
                'initialised, so the predictions mean nothing; pass a checkpoint trained '
                'with this config', UserWarning, stacklevel=5)
        model.dataset_meta = meta

    def _init_pipeline(self, cfg: Config) -> dict[str | None, Callable]:
        return self.kind.pipelines(cfg, self.scope)

    def _init_collate(self, cfg: Config) -> Callable:
        # the config's collate_fn if it names one, else mmengine's pseudo_collate (without
        # BaseInferencer's registry warning for scopes that have no function registry)
        name = (cfg.get('test_dataloader') or {}).get('collate_fn')
        if not name:
            return pseudo_collate
        return super()._init_collate(cfg)

    def _init_visualizer(self, cfg: Config):
        return None  # pictures are drawn by mmgeneralist.visualization (readable at 64 px)

    # -- class names for the pictures
    @property
    def class_names(self) -> Sequence[str] | None:
        """The class names of a segmentation model (checkpoint, data set, backbone)."""
        if not hasattr(self, '_class_names'):
            self._class_names, self._palette = self._find_classes()
        return self._class_names

    @property
    def palette(self):
        self.class_names  # noqa: B018  (fills both)
        return self._user_palette if self._user_palette is not None else self._palette

    def _find_classes(self):
        meta = self.model.dataset_meta or {}
        classes, palette = meta.get('classes'), meta.get('palette')
        if classes is None:
            try:
                found = _dataset_meta(self.cfg.test_dataloader.dataset, self.scope)
                classes, palette = found['classes'], palette or found['palette']
            except (AttributeError, KeyError, TypeError):
                pass
        if classes is None:
            classes = getattr(getattr(self.model, 'backbone', None), 'class_names', None)
        return (tuple(classes) if classes is not None else None), palette

    @property
    def task_class_names(self) -> dict:
        """The generalist's class names by task (from each task's data set)."""
        return {t: m['classes'] for t, m in self._task_meta().items()}

    @property
    def task_palettes(self) -> dict:
        return {t: self._user_palette or m['palette'] for t, m in self._task_meta().items()}

    def _task_meta(self) -> dict:
        if not hasattr(self, '_task_meta_cache'):
            subsets = self.cfg.test_dataloader.dataset.get('datasets') or {}
            cache = {}
            for task, sub in subsets.items():
                try:
                    cache[task] = _dataset_meta(sub, self.scope)
                except (AttributeError, KeyError, TypeError):
                    cache[task] = dict(classes=None, palette=None)
            self._task_meta_cache = cache
        return self._task_meta_cache

    # -- inputs
    def _inputs_to_list(self, inputs) -> list:
        """Folders become their sorted images; one input becomes a list of one."""
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        out = []
        for item in items:
            if isinstance(item, (str, os.PathLike)):
                path = os.fspath(item)
                if osp.isdir(path):
                    images = list_images(path)
                    if not images:
                        raise ValueError(f'folder {path} has no images (files ending in '
                                         f'{", ".join(IMAGE_EXTENSIONS)})')
                    out.extend(images)
                    continue
                if not osp.exists(path):
                    raise FileNotFoundError(f'image file not found: {path}')
                out.append(path)
            elif isinstance(item, np.ndarray):
                out.append(item)
            else:
                raise TypeError(f'an input must be an image path, a folder or an np.ndarray '
                                f'(BGR); got {type(item).__name__}')
        if not out:
            raise ValueError('no inputs: give an image path, a folder, an array or a list')
        return out

    def _texts_to_list(self, texts, n: int) -> list[str | None]:
        if texts is None or isinstance(texts, str):
            return [texts] * n
        texts = list(texts)
        if len(texts) != n:
            raise ValueError(f'{len(texts)} texts for {n} images: pass one text per image (or '
                             'one string for all)')
        return texts

    @staticmethod
    def _stems(inputs: list) -> list[str]:
        """File names for the outputs: the input's name, or its index for an array; made
        unique within the call."""
        stems, seen = [], {}
        for i, item in enumerate(inputs):
            stem = (osp.splitext(osp.basename(item))[0] if isinstance(item, str)
                    else f'{i:06d}')
            if stem in seen:
                seen[stem] += 1
                stem = f'{stem}_{seen[stem]}'
            else:
                seen[stem] = 0
            stems.append(stem)
        return stems

    def _prepare(self, item, text: str | None) -> tuple[dict, np.ndarray]:
        """One input through the test pipeline: ``(data, BGR image)``."""
        bgr = load_image(item)
        meta = self.kind.metainfo(self.model, text)
        results = dict(img=bgr, img_path=item if isinstance(item, str) else None, **meta)
        pipelines = self.pipeline  # by task for the generalist, else one for all
        key = self.kind.pipeline_key(text)
        data = (pipelines[key] if key in pipelines else pipelines[None])(results)
        if data is None:
            what = item if isinstance(item, str) else 'an array input'
            raise ValueError(f'the test pipeline dropped {what}')
        data['data_samples'].set_metainfo(meta)
        return data, bgr

    def preprocess(self, inputs: list, batch_size: int = 1, texts: list | None = None,
                   **kwargs) -> Iterable[tuple[dict, list[int], list[np.ndarray]]]:
        """Batches of at most ``batch_size`` images of the same prepared size (the data
        preprocessors of mmseg stack only equal sizes in testing), in input order:
        ``(collated data, input indices, BGR images)``."""
        texts = texts if texts is not None else [None] * len(inputs)
        batch, indices, images, shape = [], [], [], None
        for i, (item, text) in enumerate(zip(inputs, texts)):
            data, bgr = self._prepare(item, text)
            size = tuple(data['inputs'].shape)
            if batch and (len(batch) >= batch_size or size != shape):
                yield self.collate_fn(batch), indices, images
                batch, indices, images = [], [], []
            batch.append(data)
            indices.append(i)
            images.append(bgr)
            shape = size
        if batch:
            yield self.collate_fn(batch), indices, images

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        return self.model.test_step(inputs)

    # -- the call
    def __call__(self,
                 inputs,
                 texts: str | Sequence[str] | None = None,
                 batch_size: int = 1,
                 out_dir: str | None = None,
                 show_progress: bool | None = None,
                 save_pred: bool = False) -> list:
        """Predict (and draw) every input.

        Args:
            inputs: an image path, a folder (its images, sorted by name), an ``np.ndarray``
                (**BGR**, ``uint8``; grayscale and BGRA too) or a list of these.
            texts: what a text-conditioned model needs per image (a referring expression, a
                task name, an instruction): one string per image, or one for all.
            batch_size: images per forward pass (consecutive images of one size).
            out_dir: write a picture of each prediction to ``out_dir/vis/<name>.png`` (the
                input file's name, or the array's index in ``inputs``).
            show_progress: a progress bar for several inputs (default: the constructor's).
            save_pred: also write the raw predictions to ``out_dir/pred/<name>.png`` (label
                maps, 0/255 masks, edited images) or ``.npy`` (depth in metres).

        Returns:
            One data sample per input, in order: mmseg ``SegDataSample`` (``pred_sem_seg``,
            ``pred_depth_map``), mmdet ``DetDataSample`` (``pred_instances``), ... at the
            input's height and width; the metainfo holds ``img_path`` and the text.

        Raises:
            ValueError: a text-conditioned model without texts (or texts for one without),
                an input that is not an image.
            FileNotFoundError: an input path that does not exist.
        """
        if batch_size < 1:
            raise ValueError(f'batch_size={batch_size} must be >= 1')
        if save_pred and not out_dir:
            raise ValueError('save_pred needs out_dir')
        items = self._inputs_to_list(inputs)
        texts = self._texts_to_list(texts, len(items))
        where = [f'input {i} ({item if isinstance(item, str) else "array"})'
                 for i, item in enumerate(items)]
        texts = [self.kind.check_text(self.model, t, w) for t, w in zip(texts, where)]
        stems = self._stems(items)
        show = self.show_progress if show_progress is None else show_progress
        from tqdm import tqdm
        bar = tqdm(total=len(items), desc='inference', unit='img',
                   disable=not show or len(items) < 2)
        results: list = [None] * len(items)
        self.written: list[str] = []
        try:
            for data, indices, images in self.preprocess(items, batch_size, texts=texts):
                preds = self.forward(data)
                for i, pred, bgr in zip(indices, preds, images):
                    self.kind.finish(self.model, bgr[..., ::-1], pred)
                    results[i] = pred
                    if out_dir:
                        self.written += self._write(pred, bgr, stems[i], out_dir, save_pred)
                bar.update(len(indices))
        finally:
            bar.close()
        return results

    def _write(self, pred, bgr: np.ndarray, stem: str, out_dir: str,
               save_pred: bool) -> list[str]:
        vis_dir = osp.join(out_dir, 'vis')
        os.makedirs(vis_dir, exist_ok=True)
        picture = self.kind.draw(self, bgr[..., ::-1], pred)
        path = osp.join(vis_dir, stem + '.png')
        cv2.imwrite(path, np.ascontiguousarray(picture[..., ::-1]))
        written = [path]
        if save_pred:
            pred_dir = osp.join(out_dir, 'pred')
            os.makedirs(pred_dir, exist_ok=True)
            written.append(self.kind.save_prediction(self, pred, osp.join(pred_dir, stem)))
        return written

    def visualize(self, inputs, preds: Sequence, out_dir: str | None = None) -> list[np.ndarray]:
        """Pictures (RGB ``uint8``) of ``preds``, the results of a call on ``inputs``; with
        ``out_dir``, also written to ``out_dir/vis/<name>.png``."""
        items = self._inputs_to_list(inputs)
        if len(items) != len(preds):
            raise ValueError(f'{len(preds)} predictions for {len(items)} inputs')
        pictures = []
        for item, pred, stem in zip(items, preds, self._stems(items)):
            bgr = load_image(item)
            pictures.append(self.kind.draw(self, bgr[..., ::-1], pred))
            if out_dir:
                os.makedirs(osp.join(out_dir, 'vis'), exist_ok=True)
                cv2.imwrite(osp.join(out_dir, 'vis', stem + '.png'),
                            np.ascontiguousarray(pictures[-1][..., ::-1]))
        return pictures

    def postprocess(self, preds, visualization=None, return_datasample=True, **kwargs):
        """The data samples themselves (kept for ``BaseInferencer``'s interface)."""
        return preds
