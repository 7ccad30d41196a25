"""Write a tiny random Stable-Diffusion stand-in in the diffusers folder format.

    python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd

The folder loads through the same path as real SD weights
(``model.backbone.pretrained='checkpoints/tiny-sd'``); tiny configs use it on the CPU.
Its CLIP tokenizer keeps each word of the synthetic world's expressions, of the ADE20K class
names and of the NYU scene names whole (one token each); ``--extra-words`` adds more words and
``--char-level`` writes the character-level tokenizer of earlier versions instead.
"""
import argparse
import os.path as osp

from mmgeneralist.diffusion.tiny import TINY_VOCABULARY_WORDS, save_tiny_stable_diffusion


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='checkpoints/tiny-sd', help='folder to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='overwrite an existing folder')
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
