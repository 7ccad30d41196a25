"""Image degradations (noise, blur, low light) for the paired restoration data."""
from __future__ import annotations

import cv2
import numpy as np


def degrade(image: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
    """Degrade a clean RGB uint8 image for a restoration task.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 clean image.
        task (str): ``'denoise'`` (Gaussian noise, sigma 10-30 of 255), ``'deblur'`` (linear
            motion blur of 5-11 px, or Gaussian blur with sigma 1-2) or ``'lowlight'``
            (``alpha * x ** gamma`` with alpha 0.15-0.4, gamma 1.4-2.4, plus faint noise).
        rng (np.random.Generator): Source of the degradation parameters.

    Returns:
        np.ndarray: The degraded uint8 image, same shape.
    """
    x = image.astype(np.float64)
    if task == 'denoise':
        y = x + rng.normal(0, rng.uniform(10, 30), x.shape)
    elif task == 'deblur':
        if rng.random() < 0.7:
            k = int(rng.choice([5, 7, 9, 11]))
            kernel = np.zeros((k, k), np.float64)
            kernel[k // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (k, k), flags=cv2.INTER_LINEAR)
            kernel /= kernel.sum()
            y = cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT)
        else:
            y = cv2.GaussianBlur(x, (0, 0), rng.uniform(1.0, 2.0),
                                 borderType=cv2.BORDER_REFLECT)
    elif task == 'lowlight':
        y = 255.0 * rng.uniform(0.15, 0.4) * (x / 255.0) ** rng.uniform(1.4, 2.4)
        y += rng.normal(0, rng.uniform(0.5, 2.0), x.shape)
    else:
        raise ValueError(f'unknown restoration task {task!r}')
    return np.clip(y, 0, 255).round().astype(np.uint8)
