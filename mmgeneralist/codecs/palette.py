"""The named colours of instruction-driven targets (InstructDiffusion, Sec. 3.1 and 4.1).

An instruction names a colour ("put a **red** circle on the left shoulder", "apply a **blue**
semi-transparent mask to the dog"); the target image is drawn in that colour, and the
decoders (:mod:`.keypoint_circles`, :mod:`.mask_overlay`) look for it in the generated image.
Both sides read this one table, so a name always means the same RGB value.

The choice: the eight corners of the RGB cube (red, green, blue, yellow, cyan, magenta,
white, black; each at least 255 from every other corner) and three in-between colours
whose everyday name is unambiguous, each placed far from the corners: orange
``(255, 128, 0)`` (half way from red to yellow), purple ``(128, 0, 128)`` (half way from
black to magenta; 180 from its nearest neighbours, magenta, blue and black) and pink
``(255, 128, 192)`` (142 from white, 143 from magenta). Every pair is at least 127 apart in
0..255 units (orange to yellow and to red, the closest pairs), i.e. over three times the
``sigma = 40`` with which :class:`~.keypoint_circles.KeypointCircleCodec` scores closeness
to a colour, so that a circle of one colour scores ``exp(-127**2 / (2 * 40**2)) < 0.7 %``
for another.

White and black are kept because instructions use them, but they are poor choices on
bright or dark images: an over-exposed region (or a night scene) already *is* that colour,
so a circle or mask there leaves the image (almost) unchanged and cannot be read back.
Prefer the saturated colours.
"""
from __future__ import annotations

import torch

#: name -> RGB in 0..255. Names are lower case; :func:`color_of` is case-insensitive.
PALETTE: dict[str, tuple[int, int, int]] = {
    'red': (255, 0, 0),
    'green': (0, 255, 0),
    'blue': (0, 0, 255),
    'yellow': (255, 255, 0),
    'cyan': (0, 255, 255),
    'magenta': (255, 0, 255),
    'orange': (255, 128, 0),
    'purple': (128, 0, 128),
    'pink': (255, 128, 192),
    'white': (255, 255, 255),
    'black': (0, 0, 0),
}


def color_of(name: str) -> tuple[int, int, int]:
    """The RGB (0..255) of a colour name, case-insensitive (surrounding blanks ignored).

    Raises:
        ValueError: for a name not in :data:`PALETTE`; the message lists the known names.
    """
    if not isinstance(name, str):
        raise TypeError(f'a colour name must be a str; got {name!r}')
    key = name.strip().lower()
    if key not in PALETTE:
        raise ValueError(f'unknown colour {name!r}; known colours: {", ".join(PALETTE)}')
    return PALETTE[key]


def rgb_of(color, like: torch.Tensor | None = None) -> torch.Tensor:
    """A colour name (see :data:`PALETTE`) or an RGB triple (0..255) as a
    ``(3,)`` float tensor (in ``like``'s float dtype and device when given)."""
    value = color_of(color) if isinstance(color, str) else tuple(color)
    if len(value) != 3:
        raise ValueError(f'a colour is a name or 3 RGB values in 0..255; got {color!r}')
    out = torch.tensor([float(v) for v in value])
    return out if like is None else out.to(dtype=like.dtype, device=like.device)
