"""Panoptic segmentation from a semantic pass and an instance pass."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def merge_panoptic(semantic: torch.Tensor, instances: torch.Tensor,
                   thing_classes: Sequence[int], num_classes: int, instance_offset: int = 1000,
                   min_area: int = 1, thing_fraction: float = 0.5) -> torch.Tensor:
    """Merge decoded semantic and instance maps into mmdet's panoptic id map.

    Fan et al. (Sec. 3.1) predict panoptic segmentation "twice with different text
    instructions and merge the results", without saying how. The rules here:

    1. An instance region (index ``k >= 1`` of ``instances`` with at least ``min_area``
       pixels) takes the most frequent *thing* class of ``semantic`` inside it (the lowest
       class on a tie), provided thing pixels make up at least ``thing_fraction`` of the
       region; otherwise it is dropped and its pixels fall back to the semantics.
    2. Kept regions, in index order (raster order of their centres), get instance ids
       1, 2, ... and cover their whole region: ``label + id * instance_offset``.
    3. Outside kept regions, a stuff pixel is ``label`` (instance id 0, as mmdet writes
       stuff) and a thing pixel is VOID, ``num_classes``: a thing without an instance.

    This is mmdet's convention (``MaskFormerFusionHead``, ``CocoPanopticMetric``:
    ``id = label + instance_id * INSTANCE_OFFSET``, INSTANCE_OFFSET 1000, VOID
    ``num_classes``).

    Args:
        semantic: ``(H, W)`` long classes, ``0..num_classes - 1``.
        instances: ``(H, W)`` long instance indices, 0 for background.
        thing_classes: the classes that are things (countable).
        num_classes: number of classes (things and stuff); also the VOID label.
        instance_offset: mmdet's ``INSTANCE_OFFSET``; must exceed ``num_classes``.
        min_area: instance regions with fewer pixels are ignored.
        thing_fraction: the least share of thing pixels for a region to be kept.

    Returns:
        ``(H, W)`` long panoptic ids.
    """
    if semantic.shape != instances.shape or semantic.ndim != 2:
        raise ValueError(f'expected two (H, W) maps of one size, got {tuple(semantic.shape)} '
                         f'and {tuple(instances.shape)}')
    if instance_offset <= num_classes:
        raise ValueError(f'instance_offset {instance_offset} must exceed num_classes '
                         f'{num_classes}, or ids would be ambiguous')
    semantic, instances = semantic.long(), instances.long()
    if bool(((semantic < 0) | (semantic >= num_classes)).any()):
        raise ValueError(f'semantic classes must be in 0..{num_classes - 1}; got '
                         f'{semantic[(semantic < 0) | (semantic >= num_classes)].unique()[:5]}')
    is_thing = torch.zeros(num_classes, dtype=torch.bool, device=semantic.device)
    is_thing[torch.as_tensor(list(thing_classes), dtype=torch.long,
                             device=semantic.device)] = True
    thing_pixel = is_thing[semantic]
    panoptic = semantic.masked_fill(thing_pixel, num_classes)  # stuff: label; things: VOID
    ids, counts = torch.unique(instances, return_counts=True)
    instance_id = 1
    for k in ids[(ids >= 1) & (counts >= min_area)].tolist():
        region = instances == k
        things = semantic[region & thing_pixel]
        if things.numel() == 0 or things.numel() < thing_fraction * int(region.sum()):
            continue  # mostly stuff: not an object, the semantics stand
        label = int(torch.bincount(things, minlength=num_classes).argmax())
        panoptic[region] = label + instance_id * instance_offset
        instance_id += 1
    return panoptic
