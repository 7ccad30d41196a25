"""Shared fixtures: a tiny diffusers-format model and generated data, built once per session."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_VPD_CONFIG = osp.join(ROOT, 'configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py')


@pytest.fixture(scope='session')
def tiny_sd_dir(tmp_path_factory):
    """A tiny random Stable-Diffusion folder saved with ``save_pretrained``."""
    from mmgeneralist.diffusion.tiny import save_tiny_stable_diffusion
    return save_tiny_stable_diffusion(str(tmp_path_factory.mktemp('tiny-sd')), seed=0)


@pytest.fixture(scope='session')
def synthetic_ade_root(tmp_path_factory):
    """Generated ADE20K-format data: 160 training and 48 validation images of 64 px."""
    out = tmp_path_factory.mktemp('synthetic')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'ade', '--num-train', '160', '--num-val', '48', '--size', '64', '--seed', '0')
    return str(out / 'ade')


@pytest.fixture(scope='session')
def synthetic_nyu_root(tmp_path_factory):
    """Generated NYUv2-format data: 160 training and 48 test images of 64 px."""
    out = tmp_path_factory.mktemp('synthetic-nyu')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'nyu', '--num-train', '160', '--num-val', '48', '--size', '64', '--seed', '0')
    return str(out / 'nyu')


@pytest.fixture(scope='session')
def synthetic_multitask_root(tmp_path_factory):
    """Generated data of the pixel generalist's four tasks (ADE20K, NYUv2, COCO panoptic and
    restoration formats): 96 training and 16 validation images of 64 px each."""
    out = tmp_path_factory.mktemp('synthetic-multitask')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'ade', 'nyu', 'coco_panoptic', 'restoration', '--num-train', '96', '--num-val',
             '16', '--size', '64', '--seed', '0')
    return str(out)


@pytest.fixture(scope='session')
def synthetic_editor_root(tmp_path_factory):
    """Generated data of the InstructDiffusion editor's tasks (COCO keypoints, ADE20K,
    RefCOCO and restoration formats): 96 training and 16 validation images of 64 px each."""
    out = tmp_path_factory.mktemp('synthetic-editor')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'coco_keypoints', 'ade', 'refcoco', 'restoration', '--num-train', '96',
             '--num-val', '16', '--size', '64', '--seed', '0')
    return str(out)


@pytest.fixture(scope='session')
def tiny_editor_sd_dir(tmp_path_factory, synthetic_editor_root):
    """The editor's tiny SD folder, its VAE fitted to the generated training images, made
    by the command a user runs (``make_tiny_diffusion.py --editor``)."""
    out = tmp_path_factory.mktemp('tiny-editor')
    run_tool('tools/model_converters/make_tiny_diffusion.py', '--editor',
             synthetic_editor_root, '--out', str(out), '--force',
             env={'OMP_NUM_THREADS': str(worker_threads())})
    return str(out)


def multitask_overrides(tiny_sd_dir, root, **extra) -> dict:
    """Overrides pointing the tiny multi-task config (data root ``data/synthetic``) at
    ``root``: every task's data set, and the panoptic metric's ground truth."""
    opts = {'model.pretrained': tiny_sd_dir}
    folders = dict(semantic='ade', depth='nyu', panoptic='coco_panoptic', lowlight='restoration')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for task, folder in folders.items():
            opts[f'{loader}.dataset.datasets.{task}.data_root'] = f'{root}/{folder}'
    for evaluator in ('val_evaluator', 'test_evaluator'):
        panoptic = f'{root}/coco_panoptic/annotations/panoptic_val2017'
        opts[f'{evaluator}.metrics.panoptic.ann_file'] = panoptic + '.json'
        opts[f'{evaluator}.metrics.panoptic.seg_prefix'] = panoptic + '/'
    opts.update(extra)
    return opts


#: the generated folder of each task of the tiny InstructDiffusion editor's configs
EDITOR_FOLDERS = dict(keypoint='coco_keypoints', semantic='ade', referring='refcoco',
                      lowlight='restoration')


def editor_task_overrides(sd_dir, root, task) -> dict:
    """Overrides pointing one task's tiny editor config (``..._synthetic-<task>-32x32.py``,
    data root ``data/synthetic``) at ``root``: its validation and test data, and its
    training data (the keypoints config trains on keypoints alone, the others on the
    multi-task mixture)."""
    opts = {'model.pretrained': sd_dir}
    for loader in ('val_dataloader', 'test_dataloader'):
        opts[f'{loader}.dataset.data_root'] = f'{root}/{EDITOR_FOLDERS[task]}'
    if task == 'keypoint':  # trains on keypoints alone; CocoMetric then PCKAccuracy
        opts['train_dataloader.dataset.data_root'] = f'{root}/{EDITOR_FOLDERS[task]}'
        ann = f'{root}/coco_keypoints/annotations/person_keypoints_val2017.json'
        opts['val_evaluator.0.ann_file'] = opts['test_evaluator.0.ann_file'] = ann
        return opts
    for task_, folder in EDITOR_FOLDERS.items():
        opts[f'train_dataloader.dataset.datasets.{task_}.data_root'] = f'{root}/{folder}'
    return opts


# ------------------------------------------------------------------ parallel runs (xdist)
def worker_threads() -> int:
    """The intra-op threads each test process may use: the cores shared among pytest-xdist's
    workers (``tools/run_tests.sh`` starts one per core), all of them without xdist.

    The tiny models gain little from a second thread (the VPD learning test: 87.7 s with
    two, 103.6 s with one), so on this project's 2-core machines two 1-thread workers ran
    the whole suite in 1005 s, one 2-thread process in 1453 s.
    """
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    return max(1, (os.cpu_count() or 1) // workers)


def pytest_configure(config):
    if 'PYTEST_XDIST_WORKER' in os.environ:  # a worker: its share of the cores, and its
        threads = worker_threads()               # tools' too (over-subscribed OpenMP threads
        os.environ['OMP_NUM_THREADS'] = str(threads)  # spin: up to 30x slower)
        import torch
        torch.set_num_threads(threads)


def _expected_seconds(item) -> float:
    """A slow test's ``pytest.mark.slow(seconds=...)``; 0 for the others."""
    mark = item.get_closest_marker('slow')
    return float(mark.kwargs.get('seconds', 60)) if mark else 0.0


def pytest_collection_modifyitems(config, items):
    """Under ``-n N --dist worksteal``, order the tests so that the first deal is balanced.

    worksteal first hands worker k the next ``remaining // (N - k)`` tests of this order;
    a worker that runs out steals the back half of the longest queue. The slow tests are
    dealt longest first to the least loaded worker's chunk, at its front, and the quick ones
    fill the chunks up behind them, where they can be stolen.
    """
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers < 2:
        return
    slow = sorted((i for i in items if _expected_seconds(i)), key=_expected_seconds,
                  reverse=True)
    quick = iter([i for i in items if not _expected_seconds(i)])
    sizes, left = [], len(items)
    for k in range(workers):
        sizes.append(left // (workers - k))
        left -= sizes[-1]
    chunks, load = [[] for _ in sizes], [0.0] * workers
    for item in slow:
        k = min((k for k in range(workers) if len(chunks[k]) < sizes[k]), key=load.__getitem__)
        chunks[k].append(item)
        load[k] += _expected_seconds(item)
    for k, chunk in enumerate(chunks):
        chunk.extend(next(quick) for _ in range(sizes[k] - len(chunk)))
    items[:] = [i for chunk in chunks for i in chunk]


def tool_env(extra=None) -> dict:
    """The environment the tests run tools in.

    One OpenMP thread unless told otherwise: with another process on a small machine,
    torch's spinning threads made training steps up to 30x slower (0.6 s -> 20 s). Runs
    that are compared tensor for tensor must use the same thread count.
    """
    env = dict(os.environ, PYTHONPATH=ROOT, **(extra or {}))
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def run_tool(script, *args, check=True, timeout=900, env=None, **kwargs):
    """Run a repo script with this interpreter; return the CompletedProcess (text output)."""
    full_env = tool_env(env)
    cmd = [sys.executable, osp.join(ROOT, script), *args] if script.endswith('.py') else [
        'bash', osp.join(ROOT, script), *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=full_env, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


def tiny_overrides(tiny_sd_dir, data_root, **extra) -> dict:
    """Config overrides pointing a tiny config at fixture paths (dotted keys)."""
    opts = {
        'model.backbone.pretrained': tiny_sd_dir,
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
    }
    opts.update(extra)
    return opts


def tiny_cfg_options(tiny_sd_dir, data_root, **extra):
    """``--cfg-options`` pointing a tiny config at fixture paths."""
    opts = tiny_overrides(tiny_sd_dir, data_root, **extra)
    return ['--cfg-options', *[f'{k}={v}' for k, v in opts.items()]]


def load_config(config: str, work_dir, **overrides):
    """A config as ``tools/train.py`` loads it, for runs inside the test process."""
    from mmgeneralist.utils.launch import load_tool_config
    cfg = load_tool_config(config, overrides, 'none', str(work_dir))
    # mmengine keeps one visualizer per name: let each runner of this process have its own
    cfg.visualizer.pop('name', None)
    return cfg


def train_in_process(config: str, work_dir, **overrides):
    """Train with mmengine's Runner in this process (the learning tests: tools/train.py's
    command line is tested once, in test_train_tools); return the config it ran."""
    from mmengine.runner import Runner
    cfg = load_config(config, work_dir, **overrides)
    Runner.from_cfg(cfg).train()
    return cfg
