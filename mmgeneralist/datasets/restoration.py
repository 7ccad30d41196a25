"""Paired image-restoration data: a degraded input and its clean target, same file name.

Layout (what ``tools/dataset_converters/generate_synthetic.py --formats restoration`` writes)::

    {data_root}/{task}/{split}/input/<id>.png    # degraded (noisy, blurred, dark ...)
    {data_root}/{task}/{split}/target/<id>.png   # clean, same file name

A pixel-space diffusion generalist *generates* the clean image from the degraded one. The
pipeline loads the input as the model input (``img``, mmcv's ``LoadImageFromFile``) and the
clean image as the ground truth (``gt_img``, :class:`LoadRestorationTarget`)::

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadRestorationTarget'),
        dict(type='Resize', scale=(256, 256), keep_ratio=False),  # resizes 'img' only
        dict(type='PackRestorationInputs'),
    ]

The target keeps its loaded size: the generalist resizes targets itself (and the metric
compares at the target's size), so only ``img`` goes through the usual mmcv ``Resize``.
Transforms that move pixels (flips, crops, rotations) are *not* applied to ``gt_img`` by
mmcv/mmseg, so they must not be used in a restoration pipeline: input and target would no
longer match.

Colour order: the packed input stays BGR, as mmseg packs images (the data preprocessor's
``bgr_to_rgb=True`` converts it); the packed target ``gt_image`` is RGB, the order in which
the model predicts images and :class:`~mmgeneralist.evaluation.ImageQualityMetric` compares
them.
"""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Mapping, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, to_tensor
from mmengine.dataset import BaseDataset
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from ..registry import register
from ..utils.safe_loading import truncation_problem

__all__ = ['PairedRestorationDataset', 'LoadRestorationTarget', 'PackRestorationInputs']

#: Image extensions listed in ``input/`` (lower case; other files are ignored).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')

_HOW_TO_MAKE = ('paired data must be laid out as {data_root}/{task}/{split}/input/<name> and '
                '{data_root}/{task}/{split}/target/<name> (same file name); a small synthetic '
                'set is made with: python tools/dataset_converters/generate_synthetic.py '
                '--formats restoration --out data/synthetic (then data_root='
                "'data/synthetic/restoration', task one of 'denoise', 'deblur', 'lowlight')")


@register('datasets')
class PairedRestorationDataset(BaseDataset):
    """Pairs of degraded and clean images of one restoration task and split.

    ``load_data_list`` lists ``{data_root}/{task}/{split}/input/*.{png,jpg,jpeg}`` (sorted by
    name) and pairs each file with the file of the same name in ``target/``. Each entry is
    ``dict(img_path=<input>, gt_img_path=<target>, restoration_task=task)`` (plus mmengine's
    ``sample_idx``). Extra files in ``target/`` without an input are ignored. The listing is
    local (``os``); the files themselves are read by the pipeline's loaders.

    ``metainfo`` is ``dict(task_name=task)``; there are no classes.

    Args:
        data_root: root of the paired data, e.g. ``'data/synthetic/restoration'``.
        task: sub-folder of ``data_root`` holding one task, e.g. ``'denoise'``.
        split: sub-folder of the task, e.g. ``'train'`` or ``'val'``.
        pipeline: transforms (configs or callables), see the module docstring.
        test_mode: whether the dataset serves evaluation (mmengine then refuses samples
            that a transform drops).
        metainfo: extra meta information; a ``task_name`` in it must equal ``task``.
        lazy_init: do not list the files until :meth:`full_init` is called.
        serialize_data: keep the data list as one serialized buffer (shared by workers).
        max_refetch: how often ``__getitem__`` draws another index when the pipeline
            returns ``None`` (training only).
        indices: keep only these samples (an int: the first ``indices``).

    Raises:
        FileNotFoundError: (on :meth:`full_init`) ``input/`` or ``target/`` is missing, or
            an input has no target of the same name.
        ValueError: ``task`` or ``split`` is empty, ``metainfo['task_name']`` differs from
            ``task``, or ``input/`` holds no image.
    """

    METAINFO: dict = dict(task_name=None)

    def __init__(self,
                 data_root: str,
                 task: str,
                 split: str = 'train',
                 pipeline: Sequence[dict | Callable] = (),
                 test_mode: bool = False,
                 metainfo: Mapping | None = None,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 max_refetch: int = 1000,
                 indices: int | Sequence[int] | None = None) -> None:
        if not task or not isinstance(task, str):
            raise ValueError(f'task must name a sub-folder of data_root such as '
                             f"'denoise'; got {task!r}")
        if not split or not isinstance(split, str):
            raise ValueError(f"split must name a sub-folder such as 'train'; got {split!r}")
        metainfo = dict(metainfo or {})
        if metainfo.get('task_name', task) != task:
            raise ValueError(f"metainfo['task_name']={metainfo['task_name']!r} differs from "
                             f'task={task!r}; leave it out (it is set from task)')
        # set after mmengine's _load_metainfo, which would try to read a string value as a
        # file of names (and warn that 'denoise' is not one)
        metainfo.pop('task_name', None)
        self.task = task
        self.split = split
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)
        self._metainfo['task_name'] = task

    @property
    def split_dir(self) -> str:
        """``{data_root}/{task}/{split}``."""
        return osp.join(self.data_root, self.task, self.split)

    def _missing_dir_message(self, path: str) -> str:
        """Which level of ``{data_root}/{task}/{split}/...`` is missing, and what exists."""
        if not osp.isdir(self.data_root):
            return f'data_root {self.data_root} does not exist; {_HOW_TO_MAKE}'
        parent = path
        while not osp.isdir(osp.dirname(parent)):
            parent = osp.dirname(parent)
        parent = osp.dirname(parent)
        found = sorted(d for d in os.listdir(parent) if osp.isdir(osp.join(parent, d)))
        shown = ', '.join(found[:20]) + (' ...' if len(found) > 20 else '')
        return (f'{path} does not exist ({parent} holds: {shown or "no folders"}); '
                f'{_HOW_TO_MAKE}')

    def load_data_list(self) -> list[dict]:
        """List the input images and pair each with its target (see the class docstring)."""
        input_dir = osp.join(self.split_dir, 'input')
        target_dir = osp.join(self.split_dir, 'target')
        for d in (input_dir, target_dir):
            if not osp.isdir(d):
                raise FileNotFoundError(self._missing_dir_message(d))
        names = sorted(n for n in os.listdir(input_dir)
                       if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
                       and osp.isfile(osp.join(input_dir, n)))
        if not names:
            raise ValueError(f'{input_dir} holds no image ({", ".join(IMAGE_EXTENSIONS)}); '
                             f'{_HOW_TO_MAKE}')
        unpaired = [n for n in names if not osp.isfile(osp.join(target_dir, n))]
        if unpaired:
            shown = ', '.join(osp.join(target_dir, n) for n in unpaired[:10])
            more = f' and {len(unpaired) - 10} more' if len(unpaired) > 10 else ''
            raise FileNotFoundError(
                f'{len(unpaired)} of the {len(names)} inputs in {input_dir} have no target of '
                f'the same name: missing {shown}{more}; {_HOW_TO_MAKE}')
        return [dict(img_path=osp.join(input_dir, n), gt_img_path=osp.join(target_dir, n),
                     restoration_task=self.task) for n in names]


@register('transforms')
class LoadRestorationTarget(BaseTransform):
    """Load the clean target of a restoration pair into ``results['gt_img']``.

    Reads ``results['gt_img_path']`` with mmengine's fileio and decodes it with
    ``mmcv.imfrombytes``: a ``(H, W, 3)`` uint8 array in **BGR** order, as mmcv's
    ``LoadImageFromFile`` loads images (:class:`PackRestorationInputs` turns it into RGB).

    Place it after ``LoadImageFromFile``: the target must have the input's *original* size,
    ``results['ori_shape']`` (or the shape of ``results['img']`` when there is no
    ``ori_shape``), so a ``Resize`` of ``img`` may come before or after it. The target
    itself is never resized here.

    Args:
        imdecode_backend: ``mmcv.imfrombytes`` backend (``'cv2'``, ``'pillow'`` ...).
        backend_args: mmengine fileio backend arguments (``None``: local files).
        check_truncation: also check that a local PNG/JPEG target ends with its format's end
            marker (a cut-short JPEG may otherwise decode into a partly grey image).

    Raises:
        KeyError: ``gt_img_path`` is not in the results.
        OSError: the target is missing, truncated or does not decode (the file is named).
        ValueError: the target's size differs from the input's.
    """

    def __init__(self, imdecode_backend: str = 'cv2', backend_args: dict | None = None,
                 check_truncation: bool = True) -> None:
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args
        self.check_truncation = check_truncation

    def transform(self, results: dict) -> dict:
        """Load ``gt_img`` and check its size against the input's."""
        if 'gt_img_path' not in results:
            raise KeyError('LoadRestorationTarget needs results["gt_img_path"] (set by '
                           'PairedRestorationDataset)')
        path = results['gt_img_path']
        problem = truncation_problem(path) if self.check_truncation else None
        if problem is not None:
            raise OSError(f'restoration target {path} does not load: {problem}')
        try:
            data = fileio.get(path, backend_args=self.backend_args)
            gt_img = mmcv.imfrombytes(data, flag='color', channel_order='bgr',
                                      backend=self.imdecode_backend)
        except Exception as err:  # noqa: BLE001  (fileio and decoders fail in many ways)
            raise OSError(f'restoration target {path} does not load: '
                          f'{type(err).__name__}: {err}') from err
        if gt_img is None:
            raise OSError(f'restoration target {path} does not decode as an image '
                          '(corrupt or not an image file)')
        if 'ori_shape' in results:
            in_hw = tuple(results['ori_shape'][:2])
        elif 'img' in results:
            in_hw = tuple(results['img'].shape[:2])
        else:
            in_hw = None
        if in_hw is not None and in_hw != tuple(gt_img.shape[:2]):
            raise ValueError(
                'a restoration pair must have the same size: input '
                f'{results.get("img_path", "<unknown>")} is {in_hw[1]}x{in_hw[0]} but target '
                f'{path} is {gt_img.shape[1]}x{gt_img.shape[0]} (width x height)')
        results['gt_img'] = gt_img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(imdecode_backend={self.imdecode_backend!r}, '
                f'backend_args={self.backend_args!r}, '
                f'check_truncation={self.check_truncation})')


@register('transforms')
class PackRestorationInputs(PackSegInputs):
    """Pack a restoration sample: mmseg's ``PackSegInputs`` plus the target image.

    - ``inputs``: ``img`` as a contiguous ``(C, H, W)`` tensor of its dtype (uint8 from
      ``LoadImageFromFile``), in **BGR** order as mmseg packs it (the data preprocessor's
      ``bgr_to_rgb=True`` converts it);
    - ``data_samples``: a ``SegDataSample`` with ``gt_image = PixelData(data=...)``, the
      target as a contiguous ``(3, h, w)`` uint8 tensor in **RGB** order (converted from the
      BGR ``gt_img``), at its loaded size; mmseg fields that are present (``gt_seg_map``
      ...) are packed as ``PackSegInputs`` packs them;
    - the metainfo: each key of ``meta_keys`` present in the results.

    Args:
        meta_keys: keys copied into the data sample's metainfo. Default: mmseg's
            ``PackSegInputs`` keys plus ``'gt_img_path'`` and ``'restoration_task'``.
    """

    DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                         'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                         'gt_img_path', 'restoration_task')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=tuple(meta_keys))

    def transform(self, results: dict) -> dict:
        """Pack ``inputs`` and ``data_samples`` (see the class docstring)."""
        packed = super().transform(results)
        if 'gt_img' in results:
            gt = results['gt_img']
            if gt.ndim == 2:
                gt = gt[..., None]
            elif gt.shape[2] == 3:
                gt = gt[..., ::-1]  # BGR -> RGB
            gt = np.ascontiguousarray(gt.transpose(2, 0, 1))
            packed['data_samples'].set_data(dict(gt_image=PixelData(data=to_tensor(gt))))
        return packed
