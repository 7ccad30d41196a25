"""Write a tiny random Stable-Diffusion stand-in in the diffusers folder format.

    python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd

The folder loads through the same path as real SD weights
(``model.backbone.pretrained='checkpoints/tiny-sd'``); tiny configs use it on the CPU.
Its CLIP tokenizer keeps each word of the synthetic world's expressions, of the ADE20K class
names and of the NYU scene names whole (one token each); ``--extra-words`` adds more words and
``--char-level`` writes the character-level tokenizer of earlier versions instead.

``--editor DATA_ROOT`` writes the InstructDiffusion editor's stand-in instead: its VAE is
fitted (about a minute on a CPU) to the generated images under ``DATA_ROOT`` (the output of
``tools/dataset_converters/generate_synthetic.py``), so that edits decode to images::

    python tools/model_converters/make_tiny_diffusion.py --editor data/synthetic \
        --out checkpoints/tiny-editor
"""
import argparse
import glob
import os.path as osp

from mmgeneralist.diffusion.tiny import (
    TINY_VOCABULARY_WORDS,
    load_training_images,
    save_tiny_editor_sd,
    save_tiny_stable_diffusion,
)

#: the generated training images the editor's VAE is fitted to (under --editor's root; not
#: refcoco/train2014/, which holds the validation scenes too)
EDITOR_IMAGES = ('coco_keypoints/train2017/*.jpg', 'ade/images/training/*.jpg',
                 'restoration/*/train/input/*.png',
                 'restoration/*/train/target/*.png')


def editor_training_images(root: str) -> list[str]:
    """The generated training images under ``root`` the editor's VAE is fitted to."""
    paths = sorted(p for pattern in EDITOR_IMAGES for p in glob.glob(osp.join(root, pattern)))
    if not paths:
        raise SystemExit(f'no generated images under {root!r}: run '
                         'tools/dataset_converters/generate_synthetic.py --out ' + root)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='checkpoints/tiny-sd', help='folder to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='overwrite an existing folder')
    parser.add_argument('--editor', metavar='DATA_ROOT',
                        help='write the editor stand-in, its VAE fitted to the generated '
                        'images under DATA_ROOT')
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument('--extra-words', metavar='FILE',
                       help='text file of further words (separated by white space) that the '
                       'tokenizer should keep whole, in addition to the default list')
    vocab.add_argument('--char-level', action='store_true',
                       help='character-level tokenizer (no merges), as in earlier versions')
    args = parser.parse_args()
    if osp.isfile(osp.join(args.out, 'unet', 'config.json')) and not args.force:
        print(f'{args.out} already holds a model (use --force to rewrite it)')
        return
    if args.editor:
        stats = save_tiny_editor_sd(args.out, load_training_images(
            editor_training_images(args.editor)), seed=args.seed, progress=True)
        print(f'tiny editor model written to {args.out} (VAE reconstruction '
              f'{stats["psnr"]:.1f} dB on its training images)')
        return
    words = None
    if args.char_level:
        words = ()
    elif args.extra_words:
        with open(args.extra_words, encoding='utf-8') as f:
            words = TINY_VOCABULARY_WORDS + tuple(f.read().split())
    save_tiny_stable_diffusion(args.out, seed=args.seed, words=words)
    print(f'tiny diffusion model written to {args.out}')


if __name__ == '__main__':
    main()
