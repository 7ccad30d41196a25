"""Transforms building InstructDiffusion's ``{instruction, source, target}`` triples.

InstructDiffusion (Geng et al., Sec. 3.1, 4.1) casts every vision task as instructional image
editing: the *source* is the input image, the *instruction* says what to draw, and the
*target* is the source with the answer drawn on it. These transforms make the triples from
ordinary annotations, after the codebases' own loading transforms:

- :class:`KeypointInstruction` (mmpose top-down): 1-5 visible keypoints, each circled in a
  distinct random colour ("Please use red to encircle the left shoulder of the person.");
- :class:`SegmentationInstruction` (mmseg semantic maps or mmdet RefCOCO masks): one class or
  referred object under a semi-transparent colour mask (alpha 0.5);
- :class:`EnhancementInstruction` (:class:`~mmgeneralist.datasets.LoadRestorationTarget`):
  the clean image is the target ("Make the image much sharper.");
- :class:`PackInstructionInputs`: packs the source as mmseg packs images and the target as
  ``gt_image`` (RGB), with the instruction in the metainfo.

Each instruction transform sets ``results['target_img']`` (``(H, W, 3)`` uint8 **BGR**, like
``results['img']``), ``results['instruction']`` (a non-empty string),
``results['instructed']`` (what was drawn: a list of dicts) and
``results['instruction_task']`` (the template task, e.g. ``'keypoint'``).

Randomness comes from numpy's global generator (``np.random``), as in mmcv's transforms, so
mmengine's ``randomness=dict(seed=...)`` (or ``np.random.seed``) makes the triples
reproducible; there is no ``seed`` argument. The random draws of one call are made in a fixed
order.

Colours are names of :data:`mmgeneralist.codecs.palette.PALETTE`; the drawing is done by
:class:`~mmgeneralist.codecs.keypoint_circles.KeypointCircleCodec` and
:class:`~mmgeneralist.codecs.mask_overlay.MaskOverlayCodec` on ``(3, H, W)`` RGB tensors.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, to_tensor
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from ...codecs.keypoint_circles import KeypointCircleCodec
from ...codecs.mask_overlay import MaskOverlayCodec
from ...codecs.palette import PALETTE, color_of
from ...registry import register
from ..synthetic import COCO_KEYPOINT_NAMES
from .templates import check_template, fill, load_templates

__all__ = ['KeypointInstruction', 'SegmentationInstruction', 'EnhancementInstruction',
           'PackInstructionInputs']


# --------------------------------------------------------------------------- helpers
def _check_colors(names, what: str) -> tuple[str, ...]:
    """Check colour names against the palette (``color_of`` lists the known ones)."""
    if isinstance(names, str):
        names = [names]
    names = tuple(names)
    if not names:
        raise ValueError(f'{what} must name at least one colour; known colours: '
                         f'{", ".join(PALETTE)}')
    for name in names:
        try:
            color_of(name)
        except ValueError as err:
            raise ValueError(f'{what}: {err}') from None
    return names


#: Colours left out of the default palette: the palette module advises against them (an
#: over-exposed or dark region already *is* white or black, so a mark there cannot be seen).
UNSATURATED_COLORS: tuple[str, ...] = ('white', 'black')


def _palette(palette) -> tuple[str, ...]:
    """The colour names to draw from: by default the saturated colours of :data:`PALETTE`
    (all but :data:`UNSATURATED_COLORS`), or a checked, distinct list of names."""
    if palette is None:
        return tuple(n for n in PALETTE if n not in UNSATURATED_COLORS)
    names = _check_colors(palette, 'palette')
    if len(set(names)) != len(names):
        raise ValueError(f'palette names a colour twice: {list(names)}')
    return names


def _forced_instruction(instruction, task: str) -> str | None:
    """Check a user-given template (``None``: draw templates at random)."""
    if instruction is None:
        return None
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError(f'instruction must be a non-empty template string or None (random '
                         f'templates); got {instruction!r}')
    check_template(instruction, task)
    return instruction


def _draw_template(forced: str | None, task: str) -> str:
    if forced is not None:
        return forced
    templates = load_templates(task)
    return templates[np.random.randint(len(templates))]


def _check_instruction(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f'the instruction is empty ({text!r})')
    return text


def _source_image(results: dict, who: str) -> np.ndarray:
    if 'img' not in results:
        raise KeyError(f'{who} needs results["img"] (load the image first)')
    img = results['img']
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
            or img.dtype != np.uint8:
        shape = getattr(img, 'shape', None)
        dtype = getattr(img, 'dtype', type(img).__name__)
        raise ValueError(f'{who} needs results["img"] as an (H, W, 3) uint8 BGR array; got '
                         f'shape {shape}, dtype {dtype}')
    return img


def _bgr_to_rgb_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 BGR -> ``(3, H, W)`` float RGB in 0..255."""
    return torch.from_numpy(np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))).float()


def _rgb_tensor_to_bgr(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` RGB in 0..255 -> ``(H, W, 3)`` uint8 BGR (rounded, clipped)."""
    arr = image.detach().cpu().float().round().clamp(0, 255).to(torch.uint8).numpy()
    return np.ascontiguousarray(arr.transpose(1, 2, 0)[..., ::-1])


def _readable(name) -> str:
    """``'left_shoulder'`` -> ``'left shoulder'`` (also strips, e.g. ADE20K's ``'bed '``)."""
    return ' '.join(str(name).replace('_', ' ').split())


def _meta_sources(results: dict) -> list[Mapping]:
    """Metainfo mappings reachable from the results: ``dataset_meta``, then the dataset's
    ``metainfo`` (mmpose's datasets put themselves into ``results['dataset']``)."""
    sources = []
    if isinstance(results.get('dataset_meta'), Mapping):
        sources.append(results['dataset_meta'])
    dataset = results.get('dataset')
    meta = getattr(dataset, 'metainfo', None)
    if isinstance(meta, Mapping):
        sources.append(meta)
    return sources


# --------------------------------------------------------------------------- keypoints
@register('transforms')
class KeypointInstruction(BaseTransform):
    """Circle 1-5 random keypoints in distinct random colours (InstructDiffusion).

    Place it after mmpose's top-down loading (``LoadImage``, ``GetBBoxCenterScale``,
    ``TopdownAffine``). It reads ``results['img']`` (``(H, W, 3)`` uint8 BGR), the keypoints
    (``'transformed_keypoints'`` when ``TopdownAffine`` made them, else ``'keypoints'``;
    ``(1, K, 2)``) and ``results['keypoints_visible']`` (``(1, K)``, or ``(1, K, n)`` of
    which the first channel is used). A keypoint is *visible* when its visibility is > 0 and
    its pixel (rounded xy) lies inside the image.

    Which keypoints (``select_from``): the released code (``dataset/pose/pose.py``,
    ``PoseDataset.generate_target``) picks among *all* of a person's keypoints; an invisible
    one is named in the instruction and not drawn, so the model also learns to leave a
    part that cannot be seen untouched. That is the default, ``'all'``. Sec. 4.1's text
    ("a random selection of between 1 and 5 keypoints", circles "on the chosen keypoints")
    reads as visible ones only: ``'visible'``.

    Each call draws, from ``np.random`` in this order: the number ``n`` of keypoints
    (``min_keypoints``..``max_keypoints``; at most the keypoint count, or with
    ``'visible'`` the visible count), which keypoints, a distinct palette colour for each,
    and one template per keypoint. It sets:

    - ``target_img``: the image with a circle (``KeypointCircleCodec.render``) of each
      keypoint's colour at each keypoint;
    - ``instruction``: the filled templates, one sentence per keypoint, joined by spaces
      ("Please use red to encircle the left shoulder of the person. Put a blue ...");
    - ``instructed``: ``[dict(keypoint_index=k, part=<name>, color=<colour>), ...]``, one per
      circle drawn;
    - ``instruction_task``: ``'keypoint'``.

    The circle radius is ``KeypointCircleCodec.radius(box_size)``, where ``box_size`` is the
    longer side of the person box *after the affine* (``bbox`` scaled by
    ``input_size[0] / bbox_scale[0]``, as ``TopdownAffine`` warps it), or the longer image
    side when there is no box.

    **No visible keypoint** (all invisible, or all outside the image): no circle is drawn,
    ``target_img`` is a copy of the source, ``instructed`` is empty, and the instruction names
    invisible keypoints (with ``'visible'``: one) with their colours, a correct pairing: the
    parts are not to be seen, so nothing is drawn. It does not raise.

    Part names (underscores become spaces) come, in this order, from ``part_names``,
    ``results['dataset_meta']['keypoint_id2name']``, the ``metainfo['keypoint_id2name']`` of
    ``results['dataset']`` (mmpose datasets put themselves there), or COCO's 17 names when
    there are 17 keypoints.

    Args:
        min_keypoints: fewest keypoints circled (when as many are visible).
        max_keypoints: most keypoints circled; at most the palette size.
        radius_ratio: circle radius as a fraction of the box size (``KeypointCircleCodec``).
        min_radius: smallest circle radius in pixels (``KeypointCircleCodec``).
        palette: the colour names to draw from (``None``: ``PALETTE`` but white, black).
        object_name: what fills ``{object}`` ("the left eye of the *person*").
        part_names: the keypoint names, in keypoint order (``None``: from the dataset).
        colors: force these colours (for tests and demos): the i-th circled keypoint gets
            ``colors[i]``; without ``parts``, ``len(colors)`` keypoints are circled (at most
            the visible count). Unknown names raise ValueError listing the palette.
        parts: force these keypoints by name (``'left shoulder'`` or ``'left_shoulder'``);
            the invisible ones among them are named but not drawn. A name the dataset lacks
            raises ValueError listing the dataset's names. With ``colors`` the two must have
            the same length.
        instruction: force this template (with ``{color}``, ``{part}``, ``{object}``) instead
            of random ones; an empty string raises ValueError.
        select_from: ``'all'`` (the released code's choice, the default) or ``'visible'``
            (the paper text's reading); see above.

    Raises:
        ValueError: bad arguments; an unknown forced colour or part; more than one instance
            (it is a top-down transform); keypoint names not found.
    """

    def __init__(self,
                 min_keypoints: int = 1,
                 max_keypoints: int = 5,
                 radius_ratio: float = 0.02,
                 min_radius: float = 2.0,
                 palette: Sequence[str] | None = None,
                 object_name: str = 'person',
                 part_names: Sequence[str] | None = None,
                 colors: Sequence[str] | None = None,
                 parts: Sequence[str] | None = None,
                 instruction: str | None = None,
                 select_from: str = 'all') -> None:
        if select_from not in ('all', 'visible'):
            raise ValueError(f"select_from must be 'all' (the released code's choice) or "
                             f"'visible' (the paper text's reading); got {select_from!r}")
        self.select_from = select_from
        if not (isinstance(min_keypoints, int) and isinstance(max_keypoints, int)
                and 1 <= min_keypoints <= max_keypoints):
            raise ValueError(f'need integers 1 <= min_keypoints <= max_keypoints; got '
                             f'{min_keypoints}, {max_keypoints}')
        self.palette = _palette(palette)
        if max_keypoints > len(self.palette):
            raise ValueError(f'max_keypoints={max_keypoints} needs as many distinct colours, '
                             f'but the palette has {len(self.palette)}: {list(self.palette)}')
        if not isinstance(object_name, str) or not object_name.strip():
            raise ValueError(f'object_name must be a non-empty string; got {object_name!r}')
        self.min_keypoints = min_keypoints
        self.max_keypoints = max_keypoints
        self.radius_ratio = radius_ratio
        self.min_radius = min_radius
        self.codec = KeypointCircleCodec(radius_ratio=radius_ratio, min_radius=min_radius)
        self.object_name = object_name
        self.part_names = None if part_names is None else tuple(map(_readable, part_names))
        self.colors = None if colors is None else _check_colors(colors, 'colors')
        if parts is not None:
            parts = (parts,) if isinstance(parts, str) else tuple(parts)
            if not parts:
                raise ValueError('parts must name at least one keypoint (or be None)')
            if self.colors is not None and len(self.colors) != len(parts):
                raise ValueError(f'colors and parts must have the same length; got '
                                 f'{list(self.colors)} and {list(parts)}')
            if self.colors is None and len(parts) > len(self.palette):
                raise ValueError(f'{len(parts)} parts need as many distinct colours, but the '
                                 f'palette has {len(self.palette)}: {list(self.palette)}')
        self.parts = parts
        self.instruction = _forced_instruction(instruction, 'keypoint')

    # -- lookups
    def _names(self, results: dict, num_keypoints: int) -> tuple[str, ...]:
        names = self.part_names
        if names is None:
            for meta in _meta_sources(results):
                id2name = meta.get('keypoint_id2name')
                if id2name:
                    names = tuple(_readable(id2name[i]) for i in range(len(id2name)))
                    break
        if names is None and num_keypoints == len(COCO_KEYPOINT_NAMES):
            names = tuple(map(_readable, COCO_KEYPOINT_NAMES))
        if names is None:
            raise ValueError(f'no keypoint names for {num_keypoints} keypoints: pass '
                             'part_names=, or use an mmpose dataset (its metainfo has '
                             "'keypoint_id2name')")
        if len(names) != num_keypoints:
            raise ValueError(f'{len(names)} keypoint names for {num_keypoints} keypoints: '
                             f'{list(names)}')
        return names

    def _radius(self, results: dict, hw: tuple[int, int]) -> float:
        box_size = None
        bbox, scale, size = (results.get(k) for k in ('bbox', 'bbox_scale', 'input_size'))
        if bbox is not None and scale is not None and size is not None:
            bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)[0]
            scale = np.asarray(scale, dtype=np.float64).reshape(-1, 2)[0]
            if scale[0] > 0:
                factor = float(size[0]) / scale[0]
                box_size = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) * factor
        if box_size is None or not np.isfinite(box_size) or box_size <= 0:
            box_size = float(max(hw))
        return float(self.codec.radius(float(box_size)))

    def transform(self, results: dict) -> dict:
        """Draw the keypoints and the instruction (see the class docstring)."""
        img = _source_image(results, type(self).__name__)
        h, w = img.shape[:2]
        key = 'transformed_keypoints' if isinstance(results.get('transformed_keypoints'),
                                                    np.ndarray) \
            and results['transformed_keypoints'].ndim == 3 else 'keypoints'
        if key not in results or 'keypoints_visible' not in results:
            raise KeyError(f'{type(self).__name__} needs results["keypoints"] and '
                           'results["keypoints_visible"] (mmpose top-down loading)')
        kpts = np.asarray(results[key], dtype=np.float64)
        vis = np.asarray(results['keypoints_visible'], dtype=np.float64)
        if kpts.ndim != 3 or kpts.shape[0] != 1:
            raise ValueError(f'{type(self).__name__} is a top-down transform: it needs one '
                             f'instance, keypoints of shape (1, K, 2); got {kpts.shape}')
        kpts = kpts[0, :, :2]
        vis = vis.reshape(vis.shape[0], vis.shape[1], -1)[0, :, 0]
        num = kpts.shape[0]
        names = self._names(results, num)
        # KeypointCircleCodec's test: the keypoint's pixel (rounded) is in the image
        inside = ((kpts[:, 0] >= -0.5) & (kpts[:, 0] < w - 0.5) & (kpts[:, 1] >= -0.5)
                  & (kpts[:, 1] < h - 0.5))
        visible = np.flatnonzero((vis > 0) & inside & np.isfinite(kpts).all(1))

        if self.parts is not None:
            chosen = []
            for part in self.parts:
                readable = _readable(part)
                if readable not in names:
                    raise ValueError(f'unknown keypoint {part!r}; this dataset has: '
                                     f'{", ".join(names)}')
                chosen.append(names.index(readable))
        elif self.select_from == 'visible' and len(visible) == 0:
            chosen = [int(np.random.randint(num))]
        else:
            pool = visible if self.select_from == 'visible' else np.arange(num)
            most = min(self.max_keypoints, len(pool))
            if self.colors is not None:
                most = min(len(self.colors), len(pool))
                n = most
            else:
                n = int(np.random.randint(min(self.min_keypoints, most), most + 1))
            chosen = [int(i) for i in np.random.choice(pool, n, replace=False)]
        if self.colors is not None:
            colors = list(self.colors[:len(chosen)])
        else:
            colors = [self.palette[int(i)] for i in
                      np.random.choice(len(self.palette), len(chosen), replace=False)]

        sentences = [fill(_draw_template(self.instruction, 'keypoint'), color=color,
                          part=names[k], object=self.object_name)
                     for k, color in zip(chosen, colors)]
        shown = set(visible.tolist())
        drawn = [(k, c) for k, c in zip(chosen, colors) if k in shown]
        if drawn:
            points = torch.tensor(np.stack([kpts[k] for k, _ in drawn]), dtype=torch.float32)
            rendered = self.codec.render(_bgr_to_rgb_tensor(img), points,
                                         [c for _, c in drawn], self._radius(results, (h, w)))
            results['target_img'] = _rgb_tensor_to_bgr(rendered)
        else:
            results['target_img'] = img.copy()
        results['instruction'] = _check_instruction(' '.join(sentences))
        results['instructed'] = [dict(keypoint_index=int(k), part=names[k], color=c)
                                 for k, c in drawn]
        results['instruction_task'] = 'keypoint'
        results['circle_radius'] = self._radius(results, (h, w))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_keypoints={self.min_keypoints}, '
                f'max_keypoints={self.max_keypoints}, radius_ratio={self.radius_ratio}, '
                f'min_radius={self.min_radius}, palette={list(self.palette)}, '
                f'object_name={self.object_name!r}, part_names={self.part_names}, '
                f'colors={self.colors}, parts={self.parts}, instruction={self.instruction!r}, '
                f'select_from={self.select_from!r})')


# --------------------------------------------------------------------------- segmentation
@register('transforms')
class SegmentationInstruction(BaseTransform):
    """Cover one class (semantic) or one referred object with a semi-transparent colour mask.

    ``mode='semantic'``: after mmseg's ``LoadAnnotations`` (``results['gt_seg_map']``,
    ``(H, W)``), picks a random class present in the map (``ignore_index`` excluded) and a
    random palette colour; the template's ``{object}`` is the class name. mmseg does not put
    the class names into the results, so they come from ``class_names`` (e.g. the dataset's
    ``METAINFO['classes']``, or the ``metainfo=dict(classes=...)`` the dataset was built
    with: the map's values index that list), else from ``results['dataset_meta']['classes']``
    or ``results['dataset'].metainfo['classes']`` when a dataset puts them there.

    ``mode='referring'``: after mmdet's RefCOCO loading (``results['gt_masks']``, one mask per
    sentence of ``results['text']``, from ``LoadAnnotations(with_mask=True)``), picks a random
    sentence and its mask; the template's ``{object}`` is the sentence.

    The draws, from ``np.random`` in this order: the class (or sentence), the colour, the
    template. It sets ``target_img`` (``MaskOverlayCodec(alpha).render``: the mask's pixels
    become ``(1 - alpha) * source + alpha * colour``, the others stay), ``instruction``,
    ``instructed`` (``[dict(class_id=c, name=<class>, color=<colour>)]`` or
    ``[dict(text_index=i, text=<sentence>, color=<colour>)]``) and ``instruction_task``
    (``'segmentation'`` or ``'referring'``).

    A semantic map with no class (all ``ignore_index``): no mask, ``target_img`` is a copy of
    the source, ``instructed`` is empty, and the instruction names a random class (absent, so
    nothing is covered). It does not raise.

    Args:
        alpha: the mask's opacity (0.5 in the paper).
        palette: the colour names to draw from (``None``: ``PALETTE`` but white, black).
        ignore_index: the map value that is no class (semantic mode).
        mode: ``'semantic'`` or ``'referring'``.
        class_names: the class names, in label order (semantic mode).
        color: force this colour (tests, demos); an unknown name raises ValueError listing
            the palette.
        instruction: force this template (``{color}``, ``{object}``); empty raises
            ValueError.

    Raises:
        ValueError: bad arguments; a map value with no class name; masks and sentences that
            do not match, or masks whose size differs from the image's.
        KeyError: the annotations of the mode are missing.
    """

    MODES = ('semantic', 'referring')

    def __init__(self,
                 alpha: float = 0.5,
                 palette: Sequence[str] | None = None,
                 ignore_index: int = 255,
                 mode: str = 'semantic',
                 class_names: Sequence[str] | None = None,
                 color: str | None = None,
                 instruction: str | None = None) -> None:
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}; got {mode!r}')
        self.codec = MaskOverlayCodec(alpha=alpha)  # checks alpha, in (0, 1]
        self.alpha = float(alpha)
        self.palette = _palette(palette)
        self.ignore_index = ignore_index
        self.mode = mode
        self.task = 'segmentation' if mode == 'semantic' else 'referring'
        if class_names is not None:
            class_names = tuple(map(_readable, class_names))
            if not class_names or not all(class_names):
                raise ValueError(f'class_names must be non-empty names; got {class_names}')
        self.class_names = class_names
        self.color = None if color is None else _check_colors(color, 'color')[0]
        self.instruction = _forced_instruction(instruction, self.task)

    def _classes(self, results: dict) -> tuple[str, ...]:
        if self.class_names is not None:
            return self.class_names
        for meta in _meta_sources(results):
            if meta.get('classes'):
                return tuple(map(_readable, meta['classes']))
        raise ValueError('SegmentationInstruction(mode="semantic") needs the class names: '
                         'mmseg does not put them into the results, so pass class_names= '
                         "(e.g. the dataset's METAINFO['classes'], or the classes given in "
                         'its metainfo)')

    def _semantic(self, results: dict, hw) -> tuple[np.ndarray | None, str, dict]:
        if 'gt_seg_map' not in results:
            raise KeyError('SegmentationInstruction(mode="semantic") needs '
                           'results["gt_seg_map"] (mmseg LoadAnnotations)')
        seg = np.asarray(results['gt_seg_map'])
        if seg.shape != hw:
            raise ValueError(f'gt_seg_map is {seg.shape} but the image is {hw}')
        names = self._classes(results)
        present = np.unique(seg)
        present = present[present != self.ignore_index]
        bad = present[(present < 0) | (present >= len(names))]
        if len(bad):
            raise ValueError(f'gt_seg_map holds {bad.tolist()} but there are {len(names)} '
                             f'class names ({", ".join(names)}); ignore_index is '
                             f'{self.ignore_index}')
        if len(present) == 0:
            class_id = int(np.random.randint(len(names)))
            return None, names[class_id], dict(class_id=class_id, name=names[class_id])
        class_id = int(present[np.random.randint(len(present))])
        return seg == class_id, names[class_id], dict(class_id=class_id, name=names[class_id])

    def _referring(self, results: dict, hw) -> tuple[np.ndarray, str, dict]:
        if 'gt_masks' not in results or 'text' not in results:
            raise KeyError('SegmentationInstruction(mode="referring") needs results["gt_masks"]'
                           ' and results["text"] (mmdet RefCocoDataset with '
                           'LoadAnnotations(with_mask=True))')
        masks = results['gt_masks']
        masks = masks.to_ndarray() if hasattr(masks, 'to_ndarray') else np.asarray(masks)
        if masks.ndim == 2:
            masks = masks[None]
        texts = results['text']
        texts = [texts] if isinstance(texts, str) else list(texts)
        if len(texts) == 0 or len(texts) != len(masks):
            raise ValueError(f'referring segmentation needs one mask per sentence; got '
                             f'{len(masks)} masks and {len(texts)} sentences')
        if masks.shape[1:] != hw:
            raise ValueError(f'the masks are {masks.shape[1:]} but the image is {hw}')
        i = int(np.random.randint(len(texts)))
        text = ' '.join(str(texts[i]).split())
        if not text:
            raise ValueError(f'referring sentence {i} is empty')
        return masks[i].astype(bool), text, dict(text_index=i, text=text)

    def transform(self, results: dict) -> dict:
        """Draw the mask and the instruction (see the class docstring)."""
        img = _source_image(results, type(self).__name__)
        hw = img.shape[:2]
        if self.mode == 'semantic':
            mask, name, record = self._semantic(results, hw)
        else:
            mask, name, record = self._referring(results, hw)
        color = self.color if self.color is not None else \
            self.palette[int(np.random.randint(len(self.palette)))]
        template = _draw_template(self.instruction, self.task)
        results['instruction'] = _check_instruction(fill(template, color=color, object=name))
        if mask is None:
            results['target_img'] = img.copy()
            results['instructed'] = []
        else:
            rendered = self.codec.render(_bgr_to_rgb_tensor(img), torch.from_numpy(mask), color)
            results['target_img'] = _rgb_tensor_to_bgr(rendered)
            results['instructed'] = [dict(record, color=color)]
        results['instruction_task'] = self.task
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(alpha={self.alpha}, palette={list(self.palette)}, '
                f'ignore_index={self.ignore_index}, mode={self.mode!r}, '
                f'class_names={self.class_names}, color={self.color!r}, '
                f'instruction={self.instruction!r})')


# --------------------------------------------------------------------------- enhancement
@register('transforms')
class EnhancementInstruction(BaseTransform):
    """The clean image of a restoration pair as the target, with a random task instruction.

    Place it after :class:`~mmgeneralist.datasets.LoadRestorationTarget`: the target is
    ``results['gt_img']`` (BGR), copied into ``results['target_img']``; the instruction is a
    random template of ``enhancement_<task>`` ("Make the image much sharper.");
    ``instructed`` is empty and ``instruction_task`` is ``'enhancement_<task>'``.

    Source and target must have the same size. mmcv's ``Resize`` resizes ``img`` only, so
    either resize nothing, or let this transform resize the target to the image's size with
    ``resize_target='bilinear'`` (mmcv's interpolation names; use the one the ``Resize`` of
    ``img`` used, so that both are resized the same way; with ``keep_ratio=True`` the image's
    final size still decides). Transforms that move pixels (flips, crops) must not be used:
    they do not move ``gt_img``.

    Args:
        task: ``'denoise'``, ``'deblur'`` or ``'lowlight'``.
        resize_target: ``None``: a size mismatch raises ValueError; an mmcv interpolation
            name: resize ``gt_img`` to ``img``'s size with it.
        instruction: force this template (no placeholders); empty raises ValueError.
    """

    TASKS = ('denoise', 'deblur', 'lowlight')

    def __init__(self, task: str = 'denoise', resize_target: str | None = None,
                 instruction: str | None = None) -> None:
        if task not in self.TASKS:
            raise ValueError(f'task must be one of {self.TASKS}; got {task!r}')
        self.task = task
        self.resize_target = resize_target
        self.instruction = _forced_instruction(instruction, f'enhancement_{task}')

    def transform(self, results: dict) -> dict:
        """Set the target and the instruction (see the class docstring)."""
        img = _source_image(results, type(self).__name__)
        if 'gt_img' not in results:
            raise KeyError('EnhancementInstruction needs results["gt_img"] '
                           '(LoadRestorationTarget)')
        gt = results['gt_img']
        if gt.shape[:2] != img.shape[:2]:
            if self.resize_target is None:
                raise ValueError(
                    f'the target is {gt.shape[1]}x{gt.shape[0]} but the image is '
                    f'{img.shape[1]}x{img.shape[0]} (width x height): mmcv Resize resizes '
                    "img only; pass resize_target='bilinear' (the Resize's interpolation) "
                    'to resize the target the same way')
            gt = mmcv.imresize(gt, (img.shape[1], img.shape[0]),
                               interpolation=self.resize_target)
        task = f'enhancement_{self.task}'
        results['target_img'] = np.ascontiguousarray(gt).copy()
        results['instruction'] = _check_instruction(fill(_draw_template(self.instruction,
                                                                        task)))
        results['instructed'] = []
        results['instruction_task'] = task
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(task={self.task!r}, '
                f'resize_target={self.resize_target!r}, instruction={self.instruction!r})')


# --------------------------------------------------------------------------- packing
#: The instruction keys :class:`PackInstructionInputs` always copies into the metainfo.
INSTRUCTION_META_KEYS = ('instruction', 'instructed', 'instruction_task', 'circle_radius')


@register('transforms')
class PackInstructionInputs(BaseTransform):
    """Pack an instruction sample: the source as the codebase packs images, the target as RGB.

    - ``inputs`` and ``data_samples``: made by ``packer``, the codebase's own packing
      transform: mmseg's ``PackSegInputs`` by default (a ``SegDataSample``, ``inputs`` the
      ``(3, H, W)`` uint8 image in **BGR** order: the data preprocessor's
      ``bgr_to_rgb=True`` converts it), or e.g. ``dict(type='mmpose.PackPoseInputs')`` or
      ``dict(type='mmdet.PackDetInputs', meta_keys=...)`` so that the codebase's metric finds
      the fields it reads (mmpose's ``gt_instances``, mmdet's metainfo ``gt_masks``);
    - ``gt_image``: the target ``target_img`` as a contiguous ``(3, H, W)`` uint8 tensor in
      **RGB** order (as :class:`~mmgeneralist.datasets.PackRestorationInputs` packs targets),
      when there is one: the test-time transforms (:class:`AllKeypointsInstruction` ...) ask
      for several edits of one image and draw no target;
    - the metainfo: the packer's ``meta_keys`` (``meta_keys`` here, for the default packer)
      and always the instruction's keys (:data:`INSTRUCTION_META_KEYS`) that are present.
      After mmpose's ``TopdownAffine`` (``input_size`` in the results) the packed image is
      the crop, so ``img_shape`` is set to the crop's ``(H, W)`` (mmpose keeps the original
      image's).

    Args:
        meta_keys: keys the default packer (``PackSegInputs``) copies into the metainfo.
        packer: the codebase's packing transform, as a config (``None``: ``PackSegInputs``
            with ``meta_keys``).

    Raises:
        KeyError: ``instruction`` is missing (no instruction transform).
        ValueError: an instruction is empty, or the target's size differs from the image's.
    """

    DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                         'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                         'gt_img_path', 'restoration_task', 'img_id', 'id', 'input_size',
                         *INSTRUCTION_META_KEYS)

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 packer: dict | None = None) -> None:
        if packer is None:
            self.packer = PackSegInputs(meta_keys=tuple(meta_keys))
        else:
            from mmengine.registry import TRANSFORMS
            self.packer = TRANSFORMS.build(packer)

    def transform(self, results: dict) -> dict:
        """Pack ``inputs`` and ``data_samples`` (see the class docstring)."""
        if 'instruction' not in results:
            raise KeyError('PackInstructionInputs needs results[\'instruction\']: put an '
                           'instruction transform (KeypointInstruction, '
                           'SegmentationInstruction, EnhancementInstruction, or a test-time '
                           'one such as AllKeypointsInstruction) before it')
        instruction = results['instruction']
        for text in [instruction] if isinstance(instruction, str) else list(instruction):
            _check_instruction(text)
        if not isinstance(instruction, str) and not instruction:
            raise ValueError('the instruction list is empty: nothing to edit')
        img = _source_image(results, type(self).__name__)
        target = results.get('target_img')
        if target is not None and target.shape != img.shape:
            raise ValueError(f'target_img is {target.shape} but img is {img.shape}')
        if 'input_size' in results:
            results['img_shape'] = img.shape[:2]
        packed = self.packer(results)
        sample = packed['data_samples']
        sample.set_metainfo({k: results[k] for k in INSTRUCTION_META_KEYS if k in results})
        if target is not None:
            rgb = np.ascontiguousarray(target[..., ::-1].transpose(2, 0, 1))
            sample.set_data(dict(gt_image=PixelData(data=to_tensor(rgb))))
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(packer={self.packer!r})'
