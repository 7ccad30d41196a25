"""tools/train.py, test.py, dist_*.sh: errors before training, resume after SIGKILL, 2 ranks."""
import glob
import os
import os.path as osp
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch

from ..conftest import ROOT, TINY_VPD_CONFIG, run_tool, tiny_cfg_options, tool_env

pytestmark = pytest.mark.slow(seconds=35)  # each test, one thread of the CI machine

# A short run: 12 iterations of batch 4, a checkpoint every 4, validation at the end.
SHORT = {
    'train_cfg.max_iters': 12,
    'train_cfg.val_interval': 12,
    'train_dataloader.batch_size': 4,
    'default_hooks.checkpoint.interval': 4,
    'default_hooks.checkpoint.max_keep_ckpts': 5,
    'default_hooks.logger.interval': 4,
    'param_scheduler': None,
}


def short_opts(tiny_sd_dir, data_root, **extra):
    return tiny_cfg_options(tiny_sd_dir, data_root, **SHORT, **extra)


def test_missing_data_root_names_the_generator(tiny_sd_dir, tmp_path):
    proc = run_tool('tools/train.py', TINY_VPD_CONFIG, '--work-dir', str(tmp_path),
                    *tiny_cfg_options(tiny_sd_dir, 'data/synthetic_missing/ade'), check=False)
    assert proc.returncode != 0
    assert 'data/synthetic_missing/ade' in proc.stderr
    assert 'generate_synthetic.py --out data/synthetic_missing' in proc.stderr
    assert not os.listdir(tmp_path)  # failed before the runner made anything


def test_missing_weights_fail_before_training(synthetic_ade_root, tmp_path):
    proc = run_tool('tools/train.py', TINY_VPD_CONFIG, '--work-dir', str(tmp_path / 'w'),
                    *tiny_cfg_options(str(tmp_path / 'no-weights'), synthetic_ade_root),
                    check=False)
    assert proc.returncode != 0
    assert f"{tmp_path / 'no-weights'}' does not exist" in proc.stderr
    assert 'make_tiny_diffusion.py' in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr


def _weights(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['state_dict'], ckpt['meta']


def test_resume_after_sigkill_matches_uninterrupted_run(tiny_sd_dir, synthetic_ade_root,
                                                         tmp_path):
    opts = short_opts(tiny_sd_dir, synthetic_ade_root)
    full = tmp_path / 'full'
    run_tool('tools/train.py', TINY_VPD_CONFIG, '--work-dir', str(full), *opts)

    broken = tmp_path / 'broken'
    proc = subprocess.Popen([sys.executable, osp.join(ROOT, 'tools/train.py'), TINY_VPD_CONFIG,
                             '--work-dir', str(broken), *opts], cwd=ROOT, env=tool_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not (broken / 'last_checkpoint').exists():  # written after iter_4.pth is complete
        assert proc.poll() is None, 'training ended before its first checkpoint'
        assert time.time() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (broken / 'iter_12.pth').exists(), 'killed too late to test anything'
    killed_at = (broken / 'last_checkpoint').read_text().strip()

    resumed = run_tool('tools/train.py', TINY_VPD_CONFIG, '--work-dir', str(broken), '--resume',
                       *opts)
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()
    a, meta_a = _weights(full / 'iter_12.pth')
    b, meta_b = _weights(broken / 'iter_12.pth')
    assert meta_b['iter'] == meta_a['iter'] == 12
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert differing == [], f'resumed from {killed_at}; weights differ: {differing[:5]}'
    # and training did change the weights, so equality is not trivial
    first, _ = _weights(full / 'iter_4.pth')
    assert any(not torch.equal(first[k], a[k]) for k in a)


def _four_sharded_iterations(base: str, port: str, tiny_sd_dir, data_root, tmp_path,
                             extra: str = ''):
    """Four iterations of the tiny config with ``configs/_base_/<base>`` added, over two
    gloo ranks: (the log, the work dir, the plain model's state dict)."""
    config = tmp_path / f'tiny_{base}'
    config.write_text(f'_base_ = [{TINY_VPD_CONFIG!r}, '
                      f'{osp.join(ROOT, "configs/_base_", base)!r}]\n{extra}')
    work = tmp_path / 'work'
    opts = tiny_cfg_options(tiny_sd_dir, data_root,
                            **dict(SHORT, **{'train_cfg.max_iters': 4,
                                             'train_cfg.val_interval': 100}))
    train = run_tool('tools/dist_train.sh', str(config), '2', '--work-dir', str(work), *opts,
                     env=dict(PORT=port, PYTHON=sys.executable))
    from mmengine.config import Config

    from mmgeneralist.utils.random_models import build_model
    plain = build_model(Config.fromfile(TINY_VPD_CONFIG), tiny_sd_dir, random=False)
    return train.stdout + train.stderr, work, plain.state_dict()


def test_fsdp_trains_with_two_cpu_ranks_and_saves_a_whole_checkpoint(tiny_sd_dir,
                                                                     synthetic_ade_root,
                                                                     tmp_path):
    """configs/_base_/fsdp.py on the tiny config: mmengine's FlexibleRunner shards the model
    over two gloo ranks; the checkpoint is the plain model's state dict."""
    log, work, plain = _four_sharded_iterations('fsdp.py', '29519', tiny_sd_dir,
                                                synthetic_ade_root, tmp_path)
    assert 'MMFullyShardedDataParallel' in log or 'FullyShardedDataParallel' in log
    assert 'Iter(train) [4/4]' in log
    saved = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert set(saved['state_dict']) == set(plain)
    assert all(saved['state_dict'][k].shape == v.shape for k, v in plain.items())


@pytest.mark.slow(seconds=105)  # DeepSpeed's first use builds a C++ op
def test_deepspeed_zero2_trains_with_two_cpu_ranks(tiny_sd_dir, synthetic_ade_root, tmp_path):
    """configs/_base_/deepspeed_zero2.py on the tiny config: DeepSpeed partitions gradients
    and moments over two gloo ranks, with the config's parameter groups; the checkpoint
    folder holds the whole model's state dict."""
    log, work, plain = _four_sharded_iterations(
        'deepspeed_zero2.py', '29521', tiny_sd_dir, synthetic_ade_root, tmp_path,
        extra="optim_wrapper = dict(type='DiffusionDeepSpeedOptimWrapper')\n")
    assert 'DeepSpeed' in log and 'Iter(train) [4/4]' in log
    assert 'backbone.unet.conv_in.weight:lr_mult=0.1' in log  # the schedule's groups
    saved = torch.load(work / 'iter_4.pth' / 'mp_rank_00_model_states.pt', map_location='cpu',
                       weights_only=False)['module']
    assert set(saved) == set(plain)
    assert all(saved[k].shape == v.shape for k, v in plain.items())
    # trained: the UNet moved away from the saved weights it started from
    unet = [k for k in saved if k.startswith('backbone.unet.') and saved[k].is_floating_point()]
    assert any(not torch.equal(saved[k], plain[k]) for k in unet)


def test_dist_train_and_test_with_two_cpu_ranks(tiny_sd_dir, synthetic_ade_root, tmp_path):
    opts = short_opts(tiny_sd_dir, synthetic_ade_root)
    work = tmp_path / 'dist'
    # log_level=DEBUG makes mmengine write one log file per rank
    train = run_tool('tools/dist_train.sh', TINY_VPD_CONFIG, '2', '--work-dir', str(work), *opts,
                     'log_level=DEBUG', env=dict(PORT='29517', PYTHON=sys.executable))
    log = train.stdout + train.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    rank_logs = {}
    for path in glob.glob(str(work / '*' / '*_rank*.log')):
        rank = path.rsplit('_rank', 1)[1].split('.')[0]
        with open(path) as f:
            rank_logs[rank] = [line for line in f if 'Iter(train) [12/12]' in line]
    assert sorted(rank_logs) == ['0', '1']
    losses = {r: lines[0].split('loss: ')[1].split()[0] for r, lines in rank_logs.items()}
    assert losses['0'] != losses['1'], 'both ranks saw the same data'
    ckpt = work / 'iter_12.pth'
    assert ckpt.exists()

    out = tmp_path / 'preds.pkl'
    test = run_tool('tools/dist_test.sh', TINY_VPD_CONFIG, str(ckpt), '2', '--work-dir',
                    str(tmp_path / 'dist_test'), '--out', str(out), *opts,
                    env=dict(PORT='29518', PYTHON=sys.executable))
    dist_log = test.stdout + test.stderr
    assert dist_log.count('mIoU:') == 1  # the metric was computed once, on rank 0
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    n_val = len(os.listdir(osp.join(synthetic_ade_root, 'images/validation')))
    assert len(preds) == n_val  # the whole validation set, gathered from both ranks
    assert len({p['img_path'] for p in preds}) == n_val

    single = run_tool('tools/test.py', TINY_VPD_CONFIG, str(ckpt), '--work-dir',
                      str(tmp_path / 'single_test'), *opts)
    dist_miou = float(dist_log.split('mIoU:')[1].split()[0])
    single_miou = float((single.stdout + single.stderr).split('mIoU:')[1].split()[0])
    assert dist_miou == pytest.approx(single_miou, abs=0.01)
