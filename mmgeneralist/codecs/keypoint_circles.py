"""Keypoints as opaque coloured circles in an edited image (InstructDiffusion, Sec. 3.1).

InstructDiffusion asks for keypoints with an instruction such as *"use red to encircle the
left shoulder of the man"*: the target is the source image, unchanged but for a small,
opaque disc of the named colour on each instructed keypoint (1 to 5 per instruction, each
its own colour, Sec. 4.1). The released code never published how an edited image is read
back into coordinates; :meth:`KeypointCircleCodec.read` is ours (see its docstring).

Coordinates are in pixels with pixel ``(row i, column j)`` centred at ``(x=j, y=i)``, as
mmpose's codecs and OpenCV's drawing use them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .base import BaseCodec
from .palette import rgb_of


def as_image(image: torch.Tensor, name: str = 'image') -> torch.Tensor:
    """A ``(3, H, W)`` RGB tensor in 0..255 (uint8 or float) as float (float64 kept)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image)
        raise ValueError(f'{name} must be a (3, H, W) RGB tensor in 0..255; got {shape}')
    return image if image.dtype == torch.float64 else image.float()


def disc_offsets(radius: float, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dy, dx)`` long offsets of the pixels whose centre is within ``radius`` of a pixel
    centre, the footprint :meth:`KeypointCircleCodec.read` filters with."""
    reach = int(math.floor(radius))
    d = torch.arange(-reach, reach + 1, device=device)
    dy, dx = torch.meshgrid(d, d, indexing='ij')
    inside = dy.square() + dx.square() <= radius * radius
    return dy[inside], dx[inside]


class KeypointCircleCodec(BaseCodec):
    """Keypoints <-> filled discs of named colours over the source image.

    The circle's radius is ``max(min_radius, radius_ratio * size)``, where ``size`` is the
    longer side of the person's box (of the image when no box is given): a circle scales with
    its person, and stays a few pixels wide on small ones.

    Unlike the dense codecs, the target depends on the source image and the instruction (its
    colours), not on the label alone, and an image is ``(3, H, W)`` in 0..255 here, not a
    batch in [-1, 1]. So :meth:`encode` and :meth:`decode` take dicts of the arguments of
    :meth:`render` and :meth:`read`, which are the real interface.

    Args:
        radius_ratio: circle radius as a fraction of the box's (or image's) longer side.
        min_radius: the smallest radius, in pixels.
        sigma: the colour tolerance of :meth:`read`, in 0..255 units (see there).
        min_score: a colour whose peak score (see :meth:`read`) is below this counts as
            absent: score 0, keypoint at the image centre.
    """

    label_field = 'gt_instances'
    out_channels = 2

    def __init__(self, radius_ratio: float = 0.02, min_radius: float = 2.0,
                 sigma: float = 40.0, min_score: float = 0.05):
        if radius_ratio <= 0 or min_radius <= 0 or sigma <= 0:
            raise ValueError(f'radius_ratio, min_radius and sigma must be positive; got '
                             f'{radius_ratio}, {min_radius}, {sigma}')
        if not 0 <= min_score < 1:
            raise ValueError(f'min_score must be in [0, 1); got {min_score}')
        self.radius_ratio = float(radius_ratio)
        self.min_radius = float(min_radius)
        self.sigma = float(sigma)
        self.min_score = float(min_score)

    def radius(self, box_size: float) -> float:
        """The circle radius in pixels for a box (or image) whose longer side is
        ``box_size`` pixels."""
        return max(self.min_radius, self.radius_ratio * float(box_size))

    def _radius_for(self, image: torch.Tensor, radius: float | None) -> float:
        r = self.radius(max(image.shape[-2:])) if radius is None else float(radius)
        if not r > 0:
            raise ValueError(f'radius must be positive; got {radius}')
        return r

    @staticmethod
    def _points(keypoints, count: int | None = None) -> torch.Tensor:
        pts = torch.as_tensor(keypoints, dtype=torch.float64).reshape(-1, 2)
        if count is not None and len(pts) != count:
            raise ValueError(f'got {len(pts)} keypoints but {count} colours')
        return pts

    def render(self, image: torch.Tensor, keypoints, colors: Sequence,
               radius: float | None = None) -> torch.Tensor:
        """The target image: ``image`` with a filled, opaque disc per keypoint.

        Args:
            image: ``(3, H, W)`` RGB in 0..255, uint8 or float.
            keypoints: ``(K, 2)`` xy in pixels (tensor, array or list).
            colors: ``K`` colour names (or RGB triples), one per keypoint.
            radius: disc radius in pixels; ``self.radius(max(H, W))`` when ``None``.

        Returns:
            ``(3, H, W)`` float (float64 kept) in 0..255: every pixel whose centre is within
            ``radius`` of a keypoint takes that keypoint's colour (a later keypoint paints
            over an earlier one). Keypoints that are not finite, or whose pixel
            (``round(x), round(y)``) is outside the image, are skipped.
        """
        out = as_image(image).clone()
        h, w = out.shape[-2:]
        r = self._radius_for(out, radius)
        pts = self._points(keypoints, len(colors))
        for (x, y), color in zip(pts.tolist(), colors):
            rgb = rgb_of(color, out)
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            if not (-0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5):
                continue
            x0, x1 = max(0, math.ceil(x - r)), min(w - 1, math.floor(x + r))
            y0, y1 = max(0, math.ceil(y - r)), min(h - 1, math.floor(y + r))
            ys = torch.arange(y0, y1 + 1, device=out.device, dtype=torch.float64)
            xs = torch.arange(x0, x1 + 1, device=out.device, dtype=torch.float64)
            disc = (ys[:, None] - y).square() + (xs[None] - x).square() <= r * r
            patch = out[:, y0:y1 + 1, x0:x1 + 1]
            patch[:, disc] = rgb[:, None]
        return out

    def encode(self, label: dict) -> torch.Tensor:
        """:meth:`render` of ``label``, a dict with keys ``image``, ``keypoints``, ``colors``
        and optionally ``radius`` (the target depends on more than a label tensor)."""
        return self.render(**label)

    def score_maps(self, output: torch.Tensor, source: torch.Tensor,
                   colors: Sequence) -> torch.Tensor:
        """``(K, H, W)`` per-pixel evidence in [0, 1] of a circle of each colour.

        ``exp(-|out - c|^2 / (2 sigma^2))`` (the output pixel shows colour ``c``) times
        ``1 - exp(-|out - src|^2 / (2 sigma^2))`` (it is not the source's own colour): a red
        object in the source scores nothing for "red" where the model left it unchanged.
        """
        out, src = as_image(output, 'output'), as_image(source, 'source')
        if out.shape != src.shape:
            raise ValueError(f'output {tuple(out.shape)} and source {tuple(src.shape)} differ')
        src = src.to(out)
        two_var = 2 * self.sigma**2
        changed = 1 - torch.exp(-(out - src).square().sum(0) / two_var)
        maps = [torch.exp(-(out - rgb_of(c, out)[:, None, None]).square().sum(0) / two_var)
                * changed for c in colors]
        return torch.stack(maps) if maps else out.new_zeros(0, *out.shape[-2:])

    def read(self, output: torch.Tensor, source: torch.Tensor, colors: Sequence,
             radius: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Find the circle of each instructed colour in a generated image.

        1. :meth:`score_maps`: per pixel, how much it shows the colour *and* differs from
           the source (Gaussian in RGB distance, ``sigma`` in 0..255 units).
        2. Filter each map with the mean over a disc of ``radius`` (the circle's own
           footprint) and take the argmax: the confidence is that peak, in [0, 1] (1: a
           whole disc of exactly the colour, on pixels far from it in the source).
        3. The keypoint is the centroid of the pixels within ``2 * radius`` of the peak
           that score at least half the window's best (half-maximum): the disc's own
           pixels, equally weighted, which recovers its centre to sub-pixel accuracy. (Raw
           score weights would lean toward pixels whose source colour differs more from
           the circle's.) It is taken twice, the second time around the first centroid,
           so that a circle drawn larger than ``radius`` is not cut by the window.
        4. Where that disc is cut by the image border, the plain centroid is biased inward;
           it is corrected by a few fixed-point steps ``c += m_obs - m(c)``, ``m(c)`` being
           the centroid of the pixels of a disc at ``c`` that lie in the image.

        A matched filter rather than the strongest connected component: it needs no
        threshold nor labelling (pure torch), a few noisy pixels neither split a circle nor
        bridge it to another blob, and a second colour elsewhere scores ~0 (palette colours
        are over 3 ``sigma`` apart) so it cannot move the peak. ``radius`` need only be
        about right; a wrong one mostly lowers the confidence.

        Args:
            output: ``(3, H, W)`` the generated (edited) image, RGB in 0..255.
            source: ``(3, H, W)`` the image the instruction was applied to.
            colors: ``K`` colour names (or RGB triples), as instructed.
            radius: the circles' radius; ``self.radius(max(H, W))`` when ``None``.

        Returns:
            ``keypoints`` ``(K, 2)`` float xy and ``scores`` ``(K,)`` float in [0, 1]. A
            colour whose peak is below ``min_score`` is absent: score 0, and the keypoint
            is the image centre ``((W - 1) / 2, (H - 1) / 2)`` (never NaN).
        """
        maps = self.score_maps(output, source, colors)  # (K, H, W)
        k, h, w = maps.shape
        r = self._radius_for(maps, radius)
        keypoints = maps.new_empty(k, 2)
        keypoints[:, 0], keypoints[:, 1] = (w - 1) / 2, (h - 1) / 2
        scores = maps.new_zeros(k)
        if k == 0:
            return keypoints, scores
        dy, dx = disc_offsets(r, maps.device)
        reach = int(dy.max())
        kernel = maps.new_zeros(2 * reach + 1, 2 * reach + 1)
        kernel[dy + reach, dx + reach] = 1.0 / len(dy)
        filtered = F.conv2d(maps[:, None], kernel[None, None], padding=reach)[:, 0]
        peaks, where = filtered.flatten(1).max(1)
        win = max(1, math.ceil(2 * r))
        for i in range(k):
            peak = float(peaks[i].clamp(0, 1))
            if not peak >= self.min_score:  # also catches NaN
                continue
            py, px = divmod(int(where[i]), w)
            centre = None
            for _ in range(2):  # again around the first centroid: the peak of a circle
                # drawn larger than ``radius`` is anywhere on a plateau
                centre = self._centroid(maps[i], py, px, win)
                px = min(max(round(float(centre[0])), 0), w - 1)
                py = min(max(round(float(centre[1])), 0), h - 1)
            keypoints[i] = self._unclip(centre, r, h, w)
            scores[i] = peak
        return keypoints, scores

    @staticmethod
    def _centroid(score: torch.Tensor, py: int, px: int, win: int) -> torch.Tensor:
        """xy centroid of the pixels within ``win`` of ``(px, py)`` scoring at least half
        the window's best (the window holds ``(px, py)``, whose score is > 0)."""
        h, w = score.shape
        y0, y1 = max(0, py - win), min(h, py + win + 1)
        x0, x1 = max(0, px - win), min(w, px + win + 1)
        patch = score[y0:y1, x0:x1]
        weight = (patch >= 0.5 * patch.max()).to(patch)
        ys = torch.arange(y0, y1, device=score.device, dtype=score.dtype)
        xs = torch.arange(x0, x1, device=score.device, dtype=score.dtype)
        total = weight.sum()
        return torch.stack([(weight.sum(0) * xs).sum(), (weight.sum(1) * ys).sum()]) / total

    @staticmethod
    def _unclip(centre: torch.Tensor, r: float, h: int, w: int, steps: int = 8) -> torch.Tensor:
        """Undo the inward bias of the centroid of a disc cut by the image border."""
        x, y = float(centre[0]), float(centre[1])
        if r <= x <= w - 1 - r and r <= y <= h - 1 - r:
            return centre  # the whole disc is in the image
        dy, dx = disc_offsets(r + 1)  # candidates around the rounded centre
        cx, cy = x, y
        for _ in range(steps):
            px, py = dx + round(cx), dy + round(cy)
            keep = ((px - cx).square() + (py - cy).square() <= r * r) & (px >= 0) & (
                px < w) & (py >= 0) & (py < h)
            if not bool(keep.any()):
                break
            mx, my = float(px[keep].double().mean()), float(py[keep].double().mean())
            nx, ny = cx + (x - mx), cy + (y - my)
            # the correction never exceeds the radius (a disc's centroid is within it)
            nx = min(max(nx, x - r), x + r)
            ny = min(max(ny, y - r), y + r)
            if abs(nx - cx) < 1e-3 and abs(ny - cy) < 1e-3:
                cx, cy = nx, ny
                break
            cx, cy = nx, ny
        return centre.new_tensor([cx, cy])

    def decode(self, rgb: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`read` of ``rgb``, a dict with keys ``output``, ``source``, ``colors`` and
        optionally ``radius`` (reading needs the source and the instruction's colours)."""
        return self.read(**rgb)

    def scores(self, rgb: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`decode`: the keypoints with their confidences."""
        return self.decode(rgb)

    def labels(self, data_samples: Sequence) -> torch.Tensor:
        raise NotImplementedError(
            'KeypointCircleCodec renders per-instruction targets from the image, keypoints '
            'and colours (render / encode); it has no dense label map to stack')
