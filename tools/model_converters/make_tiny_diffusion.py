"""Write a tiny random Stable-Diffusion stand-in in the diffusers folder format.

    python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd

The folder loads through the same path as real SD weights
(``model.backbone.pretrained='checkpoints/tiny-sd'``); tiny configs use it on the CPU.
"""
import argparse
import os.path as osp

from mmgeneralist.diffusion.tiny import save_tiny_stable_diffusion


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='checkpoints/tiny-sd', help='folder to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='overwrite an existing folder')
    args = parser.parse_args()
    if osp.isfile(osp.join(args.out, 'unet', 'config.json')) and not args.force:
        print(f'{args.out} already holds a model (use --force to rewrite it)')
        return
    save_tiny_stable_diffusion(args.out, seed=args.seed)
    print(f'tiny diffusion model written to {args.out}')


if __name__ == '__main__':
    main()
