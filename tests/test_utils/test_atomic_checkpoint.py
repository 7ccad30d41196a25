"""Checkpoints are written to a temporary file and renamed: a kill never truncates one."""
import os
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import save_checkpoint

from mmgeneralist.utils.checkpoint import (
    ATOMIC_BACKEND,
    AtomicLocalBackend,
    atomic_write,
    checkpoint_problem,
    use_atomic_checkpoints,
)

ATOMIC = dict(backend=ATOMIC_BACKEND)


def ckpt(step):
    return dict(meta=dict(iter=step), state_dict=dict(w=torch.full((1000, ), float(step))))


def test_mmengine_save_goes_through_temp_file_and_rename(tmp_path):
    path = str(tmp_path / 'iter_4.pth')
    real_replace = os.replace
    renames = []

    def replace(src, dst):
        renames.append((src, dst))
        assert os.path.getsize(src) > 0 and not os.path.exists(dst)  # complete before rename
        real_replace(src, dst)

    with mock.patch('os.replace', replace):
        save_checkpoint(ckpt(4), path, backend_args=ATOMIC)  # what Runner.save_checkpoint calls
    (src, dst), = renames
    assert dst == path and os.path.dirname(src) == str(tmp_path)  # same folder: atomic rename
    assert os.path.basename(src).startswith('.iter_4.pth.') and src.endswith('.tmp')
    assert torch.load(path, weights_only=True)['meta']['iter'] == 4
    assert os.listdir(tmp_path) == ['iter_4.pth']


@pytest.mark.parametrize('fail_in', ['write', 'fsync'])
def test_failure_mid_write_keeps_the_old_checkpoint(tmp_path, fail_in):
    path = str(tmp_path / 'iter_8.pth')
    save_checkpoint(ckpt(4), path, backend_args=ATOMIC)  # an earlier save under the same name
    size_before = os.path.getsize(path)

    real_fdopen = os.fdopen

    class HalfWritten:  # writes half of the bytes, then the process "dies"
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:len(data) // 2])
            raise KeyboardInterrupt('killed while saving')

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    patch = (mock.patch('os.fdopen', lambda *a, **k: HalfWritten(real_fdopen(*a, **k)))
             if fail_in == 'write' else
             mock.patch('os.fsync', side_effect=OSError(5, 'Input/output error')))
    with patch, pytest.raises((KeyboardInterrupt, OSError)):
        save_checkpoint(ckpt(8), path, backend_args=ATOMIC)
    assert os.listdir(tmp_path) == ['iter_8.pth']  # no partial file, no temp file left over
    assert os.path.getsize(path) == size_before
    assert checkpoint_problem(path) is None
    assert torch.load(path, weights_only=True)['meta']['iter'] == 4  # the old one, intact


def test_plain_write_would_have_truncated_it(tmp_path):
    """The failure the atomic write prevents, with mmengine's own local backend."""
    path = str(tmp_path / 'iter_8.pth')
    save_checkpoint(ckpt(4), path)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # what LocalBackend.put does, killed half-way
        f.write(data[:len(data) // 2])
    assert checkpoint_problem(path) is not None


def test_atomic_write_text_and_missing_folder(tmp_path):
    target = tmp_path / 'new' / 'last_checkpoint'
    atomic_write('work/iter_4.pth', target)
    assert target.read_text() == 'work/iter_4.pth'
    AtomicLocalBackend().put_text('x', str(target))
    assert target.read_text() == 'x'


def test_checkpoint_hook_uses_the_atomic_backend(tmp_path):
    cfg = Config(dict(default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))))
    assert use_atomic_checkpoints(cfg)
    hook_cfg = dict(cfg.default_hooks.checkpoint)
    hook_cfg.pop('type')
    hook = CheckpointHook(**hook_cfg)
    runner = mock.MagicMock(work_dir=str(tmp_path))
    hook.before_train(runner)
    assert isinstance(hook.file_backend, AtomicLocalBackend)
    assert isinstance(get_file_backend(str(tmp_path), backend_args=hook.backend_args),
                      AtomicLocalBackend)


@pytest.mark.parametrize('hook, expected', [
    (dict(out_dir='s3://bucket/ckpts'), False),  # remote storage: left alone
    (dict(backend_args=dict(backend='petrel')), False),  # the config chose a backend
    (dict(file_client_args=dict(backend='disk')), False),
    (dict(out_dir='/local/ckpts'), True),
])
def test_use_atomic_checkpoints_leaves_other_storage_alone(hook, expected):
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', **hook))))
    assert use_atomic_checkpoints(cfg) is expected
    assert (cfg.default_hooks.checkpoint.get('backend_args') == ATOMIC) is expected
