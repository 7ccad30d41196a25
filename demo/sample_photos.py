"""Write scikit-image's sample photos as image files, to try the demo on.

    python demo/sample_photos.py data/demo_photos [--height 96]

The five photos test the inferencer's input handling: an astronaut, a cat (chelsea) and a
coffee cup in colour, the grayscale cameraman, and scikit-image's RGBA logo (written as a
PNG with its alpha channel). They ship inside the scikit-image wheel, so nothing is
downloaded. ``--height`` resizes them (the quick start's tiny model was trained on 64-px
images; 0 keeps the originals, 300 to 512 px).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

#: scikit-image's ``skimage.data`` loaders used here, and what each one tests
PHOTOS = {
    'astronaut': 'RGB',
    'chelsea': 'RGB, not square',
    'coffee': 'RGB, not square',
    'camera': 'grayscale',
    'logo': 'RGBA',
}


def write_photos(out: str, height: int = 96) -> list[str]:
    """Write each of :data:`PHOTOS` to ``out/<name>.png``; return the paths."""
    try:
        from skimage import data
    except ImportError:
        raise SystemExit('error: scikit-image is not installed: run `bash tools/setup_env.sh` '
                         '(it installs the requirements) or `pip install scikit-image`') from None
    os.makedirs(out, exist_ok=True)
    paths = []
    for name in PHOTOS:
        image = np.ascontiguousarray(getattr(data, name)())
        if image.ndim == 3:  # RGB(A) -> BGR(A), the order OpenCV writes
            image = image[..., [2, 1, 0, 3][:image.shape[2]]]
        if height:
            h, w = image.shape[:2]
            image = cv2.resize(image, (max(1, round(w * height / h)), height),
                               interpolation=cv2.INTER_AREA)
        path = osp.join(out, f'{name}.png')
        if not cv2.imwrite(path, image):
            raise SystemExit(f'error: could not write {path}')
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='folder to write the photos to')
    parser.add_argument('--height', type=int, default=96,
                        help='resize to this height in pixels (0: the original size)')
    args = parser.parse_args(argv)
    if args.height < 0:
        parser.error(f'--height must be 0 or more; got {args.height}')
    for path in write_photos(args.out, args.height):
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
