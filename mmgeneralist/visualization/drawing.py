"""Pictures of predictions that a person can read: numpy, OpenCV and Pillow only.

Every function takes and returns **RGB** ``uint8`` images ``(H, W, 3)`` (a grayscale
``(H, W)`` input is accepted and shown in grey). Small images are first enlarged with
nearest-neighbour interpolation, by a whole factor, to at least ``min_height`` pixels (256
by default; less where a panel would get wider than 2048 pixels), so that a 64-pixel
prediction is not a smudge next to 14-pixel text; the drawn panels are then side by side at
that height:

* :func:`draw_segmentation`: input | classes blended over the input, class boundaries, and
  a legend of the classes present (colour swatch, name, share of the pixels);
* :func:`draw_depth`: input | depth in a colour map (near red, far blue) with a vertical scale
  bar labelled in metres;
* :func:`draw_mask`: input | the mask overlaid on the input, the sentence written above;
* :func:`draw_image_pair`: input | an output image (an edited or restored image), with an
  optional caption above.

Text is drawn with Pillow's built-in scalable font (Pillow >= 10.1), else with OpenCV's
Hershey font.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    'draw_segmentation', 'draw_depth', 'draw_mask', 'draw_image_pair', 'upscale',
    'default_palette', 'depth_colormap'
]

#: the text height in pixels of captions and legends
FONT_SIZE = 14
#: the background of the margins and the legend
BACKGROUND = (255, 255, 255)
TEXT_COLOR = (20, 20, 20)
#: the thin frame around each image panel
FRAME = (170, 170, 170)
#: the gap between panels, and around the legend
GAP = 8

# ---------------------------------------------------------------------------- text


class _Font:
    """Pillow's scalable default font at ``size`` px, or OpenCV's Hershey font."""

    def __init__(self, size: int = FONT_SIZE):
        self.size = size
        self.pil = None
        try:
            from PIL import ImageFont
            font = ImageFont.load_default(size=size)
            if isinstance(font, ImageFont.FreeTypeFont):  # Pillow >= 10.1 with FreeType
                self.pil = font
        except (ImportError, TypeError, OSError):
            pass
        # Hershey simplex: a capital is ~22 px at scale 1
        self.cv_scale = size / 22.0 * 1.15
        self.cv_thickness = 1

    @property
    def line_height(self) -> int:
        return int(round(self.size * 1.3))

    def width(self, text: str) -> int:
        if self.pil is not None:
            left, _, right, _ = self.pil.getbbox(text)
            return int(math.ceil(right - min(left, 0)))
        (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, self.cv_scale,
                                    self.cv_thickness)
        return int(w)

    def draw(self, canvas: np.ndarray, xy: tuple[int, int], text: str,
             color: Sequence[int] = TEXT_COLOR) -> np.ndarray:
        """Write ``text`` with its line box's top-left corner at ``xy``; returns the canvas
        (a new array when Pillow draws)."""
        x, y = int(xy[0]), int(xy[1])
        if self.pil is not None:
            from PIL import Image, ImageDraw
            img = Image.fromarray(canvas)
            ImageDraw.Draw(img).text((x, y + (self.line_height - self.size) // 2), text,
                                     fill=tuple(int(c) for c in color), font=self.pil)
            return np.asarray(img).copy()
        baseline = y + (self.line_height + int(self.size * 0.7)) // 2
        cv2.putText(canvas, text, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, self.cv_scale,
                    tuple(int(c) for c in color), self.cv_thickness, cv2.LINE_AA)
        return canvas

    def wrap(self, text: str, max_width: int) -> list[str]:
        """Split ``text`` into lines no wider than ``max_width`` (at word boundaries; a
        word longer than a line is cut)."""
        lines, line = [], ''
        for word in str(text).split():
            candidate = f'{line} {word}'.strip()
            if self.width(candidate) <= max_width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            while self.width(line) > max_width and len(line) > 1:  # one very long word
                cut = len(line)
                while cut > 1 and self.width(line[:cut]) > max_width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        if line:
            lines.append(line)
        return lines or ['']


_FONTS: dict[int, _Font] = {}


def _font(size: int = FONT_SIZE) -> _Font:
    if size not in _FONTS:
        _FONTS[size] = _Font(size)
    return _FONTS[size]


# ---------------------------------------------------------------------------- helpers


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` -> ``(H, W, 3)`` uint8."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an RGB image (H, W, 3) or a grayscale one (H, W); got '
                         f'shape {image.shape}')
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def _check_same_size(image: np.ndarray, pred: np.ndarray, what: str) -> None:
    if tuple(pred.shape[:2]) != tuple(image.shape[:2]):
        raise ValueError(f'the {what} is {pred.shape[1]}x{pred.shape[0]} (w x h) but the image '
                         f'is {image.shape[1]}x{image.shape[0]}: predict at the image size')


def _plane(values, image: np.ndarray, what: str, dtype) -> np.ndarray:
    """``(H, W)`` values (a label map, depth, a mask) of ``image``'s size, as ``dtype``;
    ``(1, H, W)`` is accepted."""
    values = np.asarray(values)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    _check_same_size(image, values, what)
    return values.astype(dtype)


#: enlarging stops before a panel gets wider than this (a thin strip stays a strip)
MAX_PANEL_WIDTH = 2048


def upscale_factor(height: int, min_height: int, width: int = 1) -> int:
    """The whole factor that brings ``height`` to at least ``min_height`` (1 if it is),
    without making ``width`` more than :data:`MAX_PANEL_WIDTH`."""
    factor = max(1, int(math.ceil(min_height / max(height, 1))))
    return max(1, min(factor, MAX_PANEL_WIDTH // max(width, 1)))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor (every pixel becomes a square)."""
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def default_palette(num_classes: int, seed: int = 0) -> np.ndarray:
    """``(num_classes, 3)`` distinct, saturated RGB colours (golden-ratio hues)."""
    hues = (np.arange(num_classes) * 0.618033988749895 + 0.07 * seed) % 1.0
    hsv = np.stack([hues * 180, np.full(num_classes, 200), np.full(num_classes, 230)], 1)
    rgb = cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2RGB)[0]
    return rgb.astype(np.uint8)


def _palette(palette, num_classes: int) -> np.ndarray:
    if palette is None or len(palette) < num_classes:
        return default_palette(num_classes)
    return np.asarray(palette, dtype=np.uint8)[:num_classes].reshape(num_classes, 3)


def _titled(panel: np.ndarray, title: str, frame: bool = True) -> np.ndarray:
    """A panel with a title line above it and, ``frame``, a thin grey frame around it (so
    that white parts of an image stay apart from the white margin)."""
    font = _font()
    if frame:
        panel = cv2.copyMakeBorder(panel, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=FRAME)
    strip = np.full((font.line_height + GAP // 2, panel.shape[1], 3), BACKGROUND, np.uint8)
    title = _ellipsize(font, title, panel.shape[1])
    strip = font.draw(strip, (0, 0), title)
    return np.concatenate([strip, panel], 0)


def _ellipsize(font: _Font, text: str, width: int) -> str:
    if font.width(text) <= width:
        return text
    while len(text) > 1 and font.width(text + '...') > width:
        text = text[:-1]
    return text + '...'


def _hstack(panels: Sequence[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Panels side by side, top-aligned, ``gap`` white pixels apart, on a white margin."""
    height = max(p.shape[0] for p in panels)
    parts = []
    for i, p in enumerate(panels):
        if p.shape[0] < height:
            p = np.concatenate([p, np.full((height - p.shape[0], p.shape[1], 3), BACKGROUND,
                                           np.uint8)], 0)
        parts.append(p)
        if i < len(panels) - 1:
            parts.append(np.full((height, gap, 3), BACKGROUND, np.uint8))
    out = np.concatenate(parts, 1)
    return cv2.copyMakeBorder(out, GAP, GAP, GAP, GAP, cv2.BORDER_CONSTANT, value=BACKGROUND)


def _caption_above(picture: np.ndarray, text: str) -> np.ndarray:
    """``text`` (wrapped to the picture's width) in lines above the picture."""
    font = _font()
    lines = font.wrap(text, picture.shape[1] - 2 * GAP)
    strip = np.full((len(lines) * font.line_height + GAP, picture.shape[1], 3), BACKGROUND,
                    np.uint8)
    for i, line in enumerate(lines):
        strip = font.draw(strip, (GAP, GAP + i * font.line_height), line)
    return np.concatenate([strip, picture], 0)


def _boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label (bool ``(H, W)``)."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edge


def _percent(share: float) -> str:
    """A share of the pixels, ``'<1%'`` rather than ``'0%'`` for a present class."""
    return '<1%' if 0 < share < 0.005 else f'{100 * share:.0f}%'


# ---------------------------------------------------------------------------- segmentation


def _legend(entries: Sequence[tuple[str, Sequence[int]]], height: int,
            min_width: int = 1) -> np.ndarray:
    """A white panel listing ``(text, colour)`` rows (a swatch and the text), in as many
    columns as ``height`` needs, at least ``min_width`` wide (e.g. its title's width)."""
    font = _font()
    row = font.line_height + 4
    swatch = font.size
    rows_per_col = max(1, (height - GAP) // row)
    columns = [entries[i:i + rows_per_col] for i in range(0, len(entries), rows_per_col)]
    col_widths = [swatch + 6 + max(font.width(t) for t, _ in col) for col in columns] or [0]
    width = sum(col_widths) + GAP * (len(columns) + 1)
    panel = np.full((max(height, row + GAP), max(width, min_width, 1), 3), BACKGROUND,
                    np.uint8)
    x = GAP
    for col, col_width in zip(columns, col_widths):
        for r, (text, color) in enumerate(col):
            y = GAP // 2 + r * row
            top = y + (font.line_height - swatch) // 2
            cv2.rectangle(panel, (x, top), (x + swatch - 1, top + swatch - 1),
                          tuple(int(c) for c in color), -1)
            cv2.rectangle(panel, (x, top), (x + swatch - 1, top + swatch - 1), (90, 90, 90), 1)
            panel = font.draw(panel, (x + swatch + 6, y), text)
        x += col_width + GAP
    return panel


def draw_segmentation(image: np.ndarray,
                      labels: np.ndarray,
                      class_names: Sequence[str] | None = None,
                      palette: Sequence[Sequence[int]] | np.ndarray | None = None,
                      alpha: float = 0.6,
                      ignore_index: int = 255,
                      min_height: int = 256,
                      title: str | None = None,
                      ground_truth: np.ndarray | None = None) -> np.ndarray:
    """Input | [ground truth |] prediction (class colours over the input), and a legend.

    Args:
        image: the input, RGB ``(H, W, 3)`` uint8 (or grayscale ``(H, W)``).
        labels: the class index of each pixel, ``(H, W)`` (the image's size).
        class_names: the name of each class index (``None``: ``class 0``, ``class 1``...).
        palette: an RGB colour per class; ``None`` (or too short): distinct colours.
        alpha: the opacity of the class colours over the image.
        ignore_index: a label that is not coloured (and not listed).
        min_height: small images are enlarged (nearest neighbour) to at least this height.
        title: a line above the prediction panel (default ``'prediction'``).
        ground_truth: the true class of each pixel, drawn the same way between the input
            and the prediction; the legend then lists the classes of either.

    Returns:
        RGB uint8: input, [ground truth,] prediction, same height, side by side, then the
        legend of the classes present (most pixels first, with their share of the
        prediction).
    """
    image = _as_rgb(image)
    labels = _plane(labels, image, 'label map', np.int64)
    valid = (labels != ignore_index) & (labels >= 0)
    present, counts = np.unique(labels[valid], return_counts=True)
    gt = None
    if ground_truth is not None:
        gt = _plane(ground_truth, image, 'ground-truth label map', np.int64)
        gt_present = np.unique(gt[(gt != ignore_index) & (gt >= 0)])
        extra = np.setdiff1d(gt_present, present)
        present = np.concatenate([present, extra])
        counts = np.concatenate([counts, np.zeros(len(extra), counts.dtype)])
    num_classes = max(len(class_names) if class_names is not None else 0,
                      int(present.max()) + 1 if len(present) else 0, 1)
    names = list(class_names) if class_names is not None else []
    names += [f'class {i}' for i in range(len(names), num_classes)]
    colors = _palette(palette, num_classes)

    factor = upscale_factor(image.shape[0], min_height,
                            image.shape[1] * (3 if gt is not None else 2) // 2)
    big = upscale(image, factor)

    def paint(label_map):
        big_labels = upscale(np.where((label_map != ignore_index) & (label_map >= 0),
                                      label_map, -1), factor)
        color_map = colors[np.clip(big_labels, 0, num_classes - 1)]
        mask = big_labels >= 0
        blended = big.copy()
        blended[mask] = (alpha * color_map[mask] +
                         (1 - alpha) * big[mask]).round().astype(np.uint8)
        blended[_boundaries(big_labels)] = (255, 255, 255)
        return blended

    order = np.argsort(-counts, kind='stable')
    total = max(int(valid.size), 1)
    entries = [(f'{names[present[i]]}  {_percent(counts[i] / total)}', colors[present[i]])
               for i in order]
    if not entries:
        entries = [('(no class)', BACKGROUND)]
    panels = [_titled(big, 'input')]
    if gt is not None:
        panels.append(_titled(paint(gt), 'ground truth'))
    panels.append(_titled(paint(labels), title or 'prediction'))
    legend_height = panels[0].shape[0]
    heading = 'classes (% predicted)' if gt is not None else 'classes'
    legend = _titled(_legend(entries, legend_height - _font().line_height - GAP // 2,
                             min_width=_font().width(heading)), heading, frame=False)
    return _hstack([*panels, legend])


# ---------------------------------------------------------------------------- depth


def depth_colormap(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """RGB uint8 colours of ``values``: near (``vmin``) red, far (``vmax``) blue.

    matplotlib's ``'Spectral'`` when matplotlib is installed, else OpenCV's Turbo reversed.
    """
    t = np.clip((np.asarray(values, np.float64) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    try:
        from matplotlib import colormaps
        rgba = colormaps['Spectral'](t)
        return (rgba[..., :3] * 255).round().astype(np.uint8)
    except ImportError:
        idx = ((1 - t) * 255).round().astype(np.uint8)
        flat = cv2.applyColorMap(idx.reshape(-1, 1), cv2.COLORMAP_TURBO)
        return flat[..., ::-1].reshape(*t.shape, 3)


def _nice_ticks(vmin: float, vmax: float, count: int = 4) -> list[float]:
    """Round values strictly inside ``(vmin, vmax)``, about ``count`` of them."""
    span = vmax - vmin
    if not span > 0:
        return []
    raw = span / (count + 1)
    mag = 10**math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - raw))
    first = math.ceil(vmin / step) * step
    ticks = []
    v = first
    while v < vmax - 1e-9:
        # not too close to the ends, whose labels are drawn anyway
        if v - vmin > 0.12 * span and vmax - v > 0.12 * span:
            ticks.append(round(v, 10))
        v += step
    return ticks


def _metres(v: float, span: float) -> str:
    decimals = 0 if span >= 20 else (1 if span >= 2 else (2 if span >= 0.2 else 3))
    return f'{v:.{decimals}f} m'


def _scale_bar(height: int, vmin: float, vmax: float) -> np.ndarray:
    """A vertical colour bar, far (``vmax``) at the top, with labelled ticks in metres."""
    font = _font()
    bar_w = 18
    pad = font.line_height // 2  # room for the end labels' halves
    bar_h = max(height - 2 * pad, 2)
    values = np.linspace(vmax, vmin, bar_h)[:, None].repeat(bar_w, 1)
    bar = depth_colormap(values, vmin, vmax)
    span = vmax - vmin
    ticks = [vmax, *sorted(_nice_ticks(vmin, vmax), reverse=True), vmin]
    labels = [_metres(v, span) for v in ticks]
    width = bar_w + 6 + max(font.width(t) for t in labels) + GAP
    panel = np.full((height, width, 3), BACKGROUND, np.uint8)
    panel[pad:pad + bar_h, :bar_w] = bar
    cv2.rectangle(panel, (0, pad), (bar_w - 1, pad + bar_h - 1), (90, 90, 90), 1)
    for v, text in zip(ticks, labels):
        frac = (vmax - v) / span if span > 0 else 0.0
        y = pad + int(round(frac * (bar_h - 1)))
        cv2.line(panel, (bar_w - 5, y), (bar_w + 3, y), (40, 40, 40), 1)
        panel = font.draw(panel, (bar_w + 6, y - font.line_height // 2), text)
    return panel


def draw_depth(image: np.ndarray,
               depth: np.ndarray,
               vmin: float | None = None,
               vmax: float | None = None,
               min_height: int = 256,
               title: str | None = None,
               ground_truth: np.ndarray | None = None) -> np.ndarray:
    """Input | [ground truth |] depth in colour (near red, far blue), a scale bar in metres.

    Args:
        image: the input, RGB ``(H, W, 3)`` uint8 (or grayscale ``(H, W)``).
        depth: metres, ``(H, W)`` (or ``(1, H, W)``); values that are not finite or not
            positive are "no depth" and drawn black.
        vmin / vmax: the colour range; default the valid depths' minimum and maximum.
        min_height: small images are enlarged (nearest neighbour) to at least this height.
        title: a line above the depth panel (default ``'depth'``).
        ground_truth: the true depth, drawn between the input and the prediction on the
            same colour scale (whose default range then covers both).

    Returns:
        RGB uint8: input, depth and the scale bar (labelled at both ends and a few round
        values), side by side, same height.
    """
    image = _as_rgb(image)
    depth = _plane(depth, image, 'depth map', np.float64)
    maps = [depth]
    if ground_truth is not None:
        maps.insert(0, _plane(ground_truth, image, 'ground-truth depth map', np.float64))
    valid_all = np.concatenate([(np.isfinite(d) & (d > 0)).ravel() for d in maps])
    values = np.concatenate([d.ravel() for d in maps])[valid_all]
    lo = float(values.min()) if values.size else 0.0
    hi = float(values.max()) if values.size else 1.0
    vmin = lo if vmin is None else float(vmin)
    vmax = hi if vmax is None else float(vmax)
    if vmax <= vmin:  # a constant map: a small range around it
        vmin, vmax = vmin - 0.05 * max(abs(vmin), 1e-3), vmax + 0.05 * max(abs(vmax), 1e-3)

    def paint(d):
        valid = np.isfinite(d) & (d > 0)
        colored = depth_colormap(np.where(valid, d, vmin), vmin, vmax)
        colored[~valid] = 0
        return colored

    factor = upscale_factor(image.shape[0], min_height, image.shape[1] * (len(maps) + 1) // 2)
    panels = [_titled(upscale(image, factor), 'input')]
    if ground_truth is not None:
        panels.append(_titled(upscale(paint(maps[0]), factor), 'ground truth'))
    panels.append(_titled(upscale(paint(depth), factor), title or 'depth'))
    strip = _font().line_height + GAP // 2
    bar = _scale_bar(panels[0].shape[0] - strip, vmin, vmax)
    bar = np.concatenate([np.full((strip, bar.shape[1], 3), BACKGROUND, np.uint8), bar], 0)
    return _hstack([*panels, bar])


# ---------------------------------------------------------------------------- masks


def _overlay(big: np.ndarray, big_mask: np.ndarray, rgb: Sequence[int],
             alpha: float) -> np.ndarray:
    """``big`` with ``big_mask`` filled in ``rgb`` at opacity ``alpha`` and outlined."""
    out = big.copy()
    fill = np.asarray(rgb, np.float64)
    out[big_mask] = (alpha * fill + (1 - alpha) * big[big_mask]).round().astype(np.uint8)
    contours, _ = cv2.findContours(big_mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, tuple(int(c) for c in rgb), 2)
    return out


def draw_mask(image: np.ndarray,
              mask: np.ndarray,
              text: str | None = None,
              color: Sequence[int] = (255, 40, 40),
              alpha: float = 0.5,
              min_height: int = 256,
              ground_truth: np.ndarray | None = None) -> np.ndarray:
    """Input | [true mask |] the mask overlaid on the input, ``text`` above them.

    Args:
        image: the input, RGB ``(H, W, 3)`` uint8 (or grayscale ``(H, W)``).
        mask: ``(H, W)`` bool (or 0/1), the image's size.
        text: the referring expression (wrapped to the picture's width); ``None``: none.
        color: the mask's RGB colour.
        alpha: the opacity of the fill.
        min_height: small images are enlarged (nearest neighbour) to at least this height.
        ground_truth: the true mask, drawn (in green) between the input and the prediction.

    Returns:
        RGB uint8: the expression in quotes, then input, [true mask,] overlay side by side.
    """
    image = _as_rgb(image)
    mask = _plane(mask, image, 'mask', bool)
    factor = upscale_factor(image.shape[0], min_height,
                            image.shape[1] * (3 if ground_truth is not None else 2) // 2)
    big = upscale(image, factor)

    def overlay(m, rgb):
        return _overlay(big, upscale(m, factor), rgb, alpha)

    panels = [_titled(big, 'input')]
    if ground_truth is not None:
        gt = _plane(ground_truth, image, 'true mask', bool)
        panels.append(_titled(overlay(gt, (40, 200, 40)),
                              f'true mask ({_percent(float(gt.mean()))})'))
    share = _percent(float(mask.mean()))
    panels.append(_titled(overlay(mask, color), f'mask ({share} of image)'))
    picture = _hstack(panels)
    if text is not None:
        picture = _caption_above(picture, f'"{text}"')
    return picture


def draw_image_pair(image: np.ndarray,
                    output: np.ndarray,
                    text: str | None = None,
                    min_height: int = 256,
                    title: str = 'output') -> np.ndarray:
    """Input | an output image of the same size (an edit, a restoration), ``text`` above.

    Args:
        image: the input, RGB ``(H, W, 3)`` uint8 (or grayscale ``(H, W)``).
        output: RGB ``(H, W, 3)`` (or ``(3, H, W)``), 0..255.
        text: the instruction; ``None``: none.
        min_height: small images are enlarged (nearest neighbour) to at least this height.
        title: the output panel's title.
    """
    _, _, panels = _pair_panels(image, output, min_height, title, 2)
    picture = _hstack(panels)
    if text is not None:
        picture = _caption_above(picture, f'"{text}"')
    return picture


def _pair_panels(image: np.ndarray, output: np.ndarray, min_height: int, title: str,
                 count: int) -> tuple[int, np.ndarray, list[np.ndarray]]:
    """``(factor, the enlarged input, [input panel, output panel])`` of a picture that will
    have ``count`` panels side by side."""
    image = _as_rgb(image)
    output = np.asarray(output)
    if output.ndim == 3 and output.shape[0] == 3 and output.shape[2] != 3:
        output = output.transpose(1, 2, 0)
    output = _as_rgb(np.clip(np.asarray(output, np.float64).round(), 0, 255).astype(np.uint8))
    _check_same_size(image, output, 'output image')
    factor = upscale_factor(image.shape[0], min_height, image.shape[1] * count // 2)
    big = upscale(image, factor)
    return factor, big, [_titled(big, 'input'), _titled(upscale(output, factor), title)]


def draw_edit(image: np.ndarray,
              edited: np.ndarray,
              text: str | None = None,
              masks: Sequence[tuple[np.ndarray, Sequence[int], str]] = (),
              keypoints: Sequence[tuple[Sequence[float], Sequence[int], str, float]] = (),
              min_height: int = 256) -> np.ndarray:
    """Input | edited | read back, the instruction above: what the colour decoders found in
    the edit, drawn on the input, with a legend.

    Args:
        image: the input, RGB ``(H, W, 3)`` uint8 (or grayscale ``(H, W)``).
        edited: the edited image, RGB, the input's size.
        text: the instruction; ``None``: none.
        masks: ``(mask, RGB colour, label)`` per instructed mask: ``(H, W)`` bool, filled
            in its colour at half opacity.
        keypoints: ``((x, y), RGB colour, label, score)`` per instructed keypoint, in input
            pixels: a ring in its colour; a score of 0 (the colour was not found) is listed
            in the legend but not drawn.
        min_height: small images are enlarged (nearest neighbour) to at least this height.
    """
    image = _as_rgb(image)
    factor, big, panels = _pair_panels(image, edited, min_height, 'edited', 3)
    read = big.copy()
    entries = []
    for mask, color, label in masks:
        mask = _plane(mask, image, 'mask', bool)
        read = _overlay(read, upscale(mask, factor), color, 0.5)
        entries.append((f'{label} ({_percent(float(mask.mean()))})', color))
    ring = max(4, 2 * factor)
    for (x, y), color, label, score in keypoints:
        entries.append((f'{label} {score:.2f}' if score > 0 else f'{label}: not found', color))
        if score <= 0:
            continue
        centre = (int(round((x + 0.5) * factor)), int(round((y + 0.5) * factor)))
        cv2.circle(read, centre, ring + 1, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.circle(read, centre, ring, tuple(int(c) for c in color), 2, cv2.LINE_AA)
    panels.append(_titled(read, 'read back'))
    if entries:
        panels.append(_legend(entries, panels[0].shape[0]))
    picture = _hstack(panels)
    if text is not None:
        picture = _caption_above(picture, f'"{text}"')
    return picture


# ---------------------------------------------------------------------------- summaries


def draw_summary(pictures: Sequence[np.ndarray], header: Sequence[str] = (),
                 columns: int = 2) -> np.ndarray:
    """Several pictures in a grid (``columns`` wide, row by row), ``header`` lines above.

    Args:
        pictures: RGB uint8 pictures (e.g. the test pictures of a few images); smaller ones
            are padded with white to the largest.
        header: text lines drawn above the grid (e.g. a metric table, one line per row).
        columns: pictures per row.

    Returns:
        RGB uint8.
    """
    if not pictures:
        raise ValueError('draw_summary needs at least one picture')
    height = max(p.shape[0] for p in pictures)
    width = max(p.shape[1] for p in pictures)
    blank = np.full((height, width, 3), BACKGROUND, np.uint8)
    cells = []
    for p in pictures:
        cell = blank.copy()
        cell[:p.shape[0], :p.shape[1]] = _as_rgb(p)
        cells.append(cell)
    rows = []
    for start in range(0, len(cells), columns):
        row = cells[start:start + columns]
        row += [blank] * (columns - len(row))
        rows.append(np.concatenate(row, 1))
    grid = np.concatenate(rows, 0)
    if header:
        font = _font()
        strip = np.full((len(header) * font.line_height + 2 * GAP, grid.shape[1], 3),
                        BACKGROUND, np.uint8)
        for i, line in enumerate(header):
            strip = font.draw(strip, (GAP, GAP + i * font.line_height), line)
        grid = np.concatenate([strip, grid], 0)
    return grid


def write_summary(show_dir: str, header: Sequence[str] = (), count: int = 12) -> str | None:
    """``show_dir/summary.png``: the first ``count`` pictures painted under ``show_dir`` (by
    file name) in a grid under ``header`` (:func:`draw_summary`); ``None`` when there are
    none."""
    import glob
    import os.path as osp
    paths = sorted(glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True))
    paths = [p for p in paths if osp.basename(p) != 'summary.png'][:count]
    if not paths:
        return None
    pictures = [cv2.imread(p)[..., ::-1] for p in paths]
    out = osp.join(show_dir, 'summary.png')
    cv2.imwrite(out, np.ascontiguousarray(draw_summary(pictures, header)[..., ::-1]))
    return out
