"""Referring expressions about the objects of a :class:`~.world.Scene`.

Grammar: ``the [largest|smallest|nearest|farthest] [<colour>] <class>
[on the left|on the right|at the top|at the bottom]``. :func:`describe_instance` produces
expressions that :func:`resolve_expression` resolves to exactly one object; the RefCOCO writer
uses them for the objects that :func:`_referable` accepts.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .world import COLOURS, THING_CLASSES, Instance, Scene

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
