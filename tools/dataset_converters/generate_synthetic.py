"""Generate the synthetic procedural world in the on-disk formats of real OpenMMLab datasets.

Example::

    python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
        --formats ade nyu coco_panoptic coco_keypoints refcoco restoration \
        --num-train 300 --num-val 100 --size 96 --seed 0

Each format goes to ``<out>/<format>`` (an earlier run's directory is replaced). The same
arguments give byte-identical files. See ``mmgeneralist/datasets/synthetic/`` for the world
and the formats.
"""
import argparse
import functools
import importlib.util
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_synthetic():
    """Import ``mmgeneralist.datasets.synthetic`` without importing the whole package.

    The generator needs only numpy and OpenCV; importing ``mmgeneralist`` would also load
    torch and the model code, which takes longer than generating the data.

    Returns:
        module: The ``synthetic`` module.
    """
    name = 'mmgeneralist.datasets.synthetic'
    if name in sys.modules:
        return sys.modules[name]
    package_dir = osp.join(ROOT, 'mmgeneralist', 'datasets', 'synthetic')
    path = osp.join(package_dir, '__init__.py')
    if not osp.exists(path):  # installed elsewhere: take the normal route
        return importlib.import_module(name)
    # Load the package under a top-level name of its own: its relative imports (``.world``,
    # ``.writers``, ...) then resolve inside it, without running ``mmgeneralist/__init__.py``.
    spec = importlib.util.spec_from_file_location(
        '_mmgeneralist_synthetic', path, submodule_search_locations=[package_dir])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # relative imports and dataclasses look modules up here
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None, synthetic=None):
    """Parse and check the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.
        synthetic (module, optional): The generator module (loaded when None).

    Returns:
        argparse.Namespace: The checked arguments.
    """
    synthetic = synthetic or load_synthetic()
    parser = argparse.ArgumentParser(
        description='Generate a small seeded procedural world (shapes, stick figures, depth, '
        'keypoints, referring expressions) in OpenMMLab dataset formats.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', default='data/synthetic',
                        help='output root; each format is written to OUT/<format>')
    parser.add_argument('--formats', nargs='+', default=list(synthetic.FORMATS),
                        choices=list(synthetic.FORMATS), metavar='FORMAT',
                        help=f'formats to write, any of: {" ".join(synthetic.FORMATS)}')
    parser.add_argument('--num-train', type=int, default=300, help='training images')
    parser.add_argument('--num-val', type=int, default=100,
                        help='validation images (RefCOCO also gets NUM_VAL/2 testA and testB '
                        'images)')
    parser.add_argument('--size', type=int, default=96,
                        help=f'image side in pixels ({synthetic.MIN_SIZE}-{synthetic.MAX_SIZE})')
    parser.add_argument('--seed', type=int, default=0, help='non-negative random seed')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    errors = synthetic.validate_arguments(args.formats, args.num_train, args.num_val,
                                          args.size, args.seed)
    if errors:
        parser.error('; '.join(errors))
    args.parser = parser
    return args


def main(argv=None):
    """Run the generator from the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        dict[str, str]: Directory of each format written.
    """
    synthetic = load_synthetic()
    args = parse_args(argv, synthetic)
    progress = None
    if not args.no_progress:
        from tqdm import tqdm
        progress = functools.partial(tqdm, desc='synthetic scenes', unit='img')
    start = time.time()
    try:
        dirs = synthetic.generate_synthetic(
            args.out, formats=args.formats, num_train=args.num_train, num_val=args.num_val,
            size=args.size, seed=args.seed, progress=progress)
    except FileExistsError as e:
        args.parser.error(str(e))
    print(f'Generated {args.num_train} train + {args.num_val} val images of '
          f'{args.size}x{args.size} px (seed {args.seed}) in {time.time() - start:.1f} s:')
    for name, path in dirs.items():
        print(f'  {name:15s} {path}')
        print(f'  {"":15s} {synthetic.FORMAT_CONFIGS[name].format(root=path)}')
    print('Constants for configs: from mmgeneralist.datasets import SYNTHETIC_ADE_CLASSES, '
          'SYNTHETIC_PANOPTIC_METAINFO')
    return dirs


if __name__ == '__main__':
    main()
