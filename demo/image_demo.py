"""Predict on your own images and draw the predictions.

    python demo/image_demo.py IMG CONFIG [CHECKPOINT] [--texts TEXT ...] [--out-dir DIR]
                              [--device cpu] [--batch-size N] [--save-pred]
                              [--cfg-options KEY=VALUE ...]

IMG is an image file or a folder (its images, sorted by name). CHECKPOINT is a checkpoint
trained with CONFIG, or its work dir (its ``last_checkpoint`` is read); without one the
diffusion weights come from the config's ``pretrained`` folder and the heads are random.
Referring segmentation needs ``--texts`` (one sentence per image, or one for all), the
pixel generalist a task name, the instruction editor an instruction. Pictures go to
``DIR/vis/<name>.png``; ``--save-pred`` also writes the raw predictions to ``DIR/pred/``.
See demo/README.md.
"""
from __future__ import annotations

import argparse
import os.path as osp
from collections.abc import Sequence

from mmgeneralist.utils.cli import add_common_args, parse_tool_args, report_errors


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Predict on images and draw the predictions')
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config', help='the model config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='a checkpoint trained with the config, or its work dir (default: '
                        'none: pretrained diffusion weights, random heads)')
    parser.add_argument('--texts', nargs='+', default=None,
                        help='one text per image, or one for all: a referring expression, a '
                        "pixel-generalist task name, or an editor's instruction")
    parser.add_argument('--out-dir', default='work_dirs/demo',
                        help='where the pictures (vis/) and predictions (pred/) go')
    parser.add_argument('--device', default=None,
                        help='e.g. cpu or cuda:0 (default: a GPU when there is one)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--save-pred', action='store_true',
                        help='also write the raw predictions: label maps and masks as PNG, '
                        'depth in metres as .npy')
    add_common_args(parser, work_dir=False, launcher=False)
    return parse_tool_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> list:
    args = parse_args(argv)
    with report_errors():  # a missing file, a missing text, a bad option: one line
        from mmgeneralist.apis import DiffusionInferencer
        inferencer = DiffusionInferencer(args.config, args.checkpoint, device=args.device,
                                         cfg_options=args.cfg_options)
        texts = args.texts[0] if args.texts and len(args.texts) == 1 else args.texts
        results = inferencer(args.img, texts=texts, batch_size=args.batch_size,
                             out_dir=args.out_dir, save_pred=args.save_pred)
    pictures = [p for p in inferencer.written if osp.dirname(p).endswith('vis')]
    print(f'{len(pictures)} picture{"s" * (len(pictures) != 1)} in '
          f'{osp.join(args.out_dir, "vis")}:')
    for path in pictures[:20]:
        print(f'  {path}')
    if len(pictures) > 20:
        print(f'  ... and {len(pictures) - 20} more')
    if args.save_pred:
        print(f'raw predictions in {osp.join(args.out_dir, "pred")}')
    return results


if __name__ == '__main__':
    main()
