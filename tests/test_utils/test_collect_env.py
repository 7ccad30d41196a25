import subprocess
import sys


def test_collect_env_reports_every_codebase():
    out = subprocess.run([sys.executable, '-m', 'mmgeneralist.utils.collect_env'],
                         capture_output=True, text=True, check=True).stdout
    for name in ('PyTorch', 'mmengine', 'mmcv', 'mmseg', 'mmdet', 'mmpose', 'mmpretrain',
                 'diffusers', 'transformers', 'mmcv ops', 'mmgeneralist'):
        assert f'\n{name}:' in '\n' + out, name
    lines = dict(line.split(': ', 1) for line in out.splitlines() if ': ' in line)
    assert lines['mmcv ops'].startswith('compiled with')
    assert not any(v.startswith('not importable') for v in lines.values())
