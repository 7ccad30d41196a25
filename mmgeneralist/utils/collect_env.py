"""Print the versions that matter for a bug report: ``python -m mmgeneralist.utils.collect_env``."""
from __future__ import annotations

import importlib

from mmengine.utils.dl_utils import collect_env as collect_base_env

PACKAGES = ('mmengine', 'mmcv', 'mmseg', 'mmdet', 'mmpose', 'mmpretrain', 'diffusers',
            'transformers')


def collect_env() -> dict[str, str]:
    """mmengine's environment report (Python, torch, CUDA, compilers) plus our codebases."""
    env = dict(collect_base_env())
    for name in PACKAGES:
        try:
            env[name] = importlib.import_module(name).__version__
        except ImportError as err:
            env[name] = f'not importable ({err})'
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
        env['mmcv ops'] = (f'compiled with {get_compiler_version()}, '
                           f'CUDA {get_compiling_cuda_version()}')
    except ImportError as err:
        env['mmcv ops'] = f'missing ({err}): rerun bash tools/setup_env.sh'
    import mmgeneralist
    env['mmgeneralist'] = mmgeneralist.__version__
    return env


if __name__ == '__main__':
    for key, value in collect_env().items():
        print(f'{key}: {value}')
