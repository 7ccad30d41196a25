"""The tools' shared argument, thread and error path (mmgeneralist.utils.cli).

Library code raises ordinary exceptions; the tools print them as one ``error: ...`` line
and exit with status 1. Most checks call the tools' ``main`` in this process; one runs
eval_vs_trivial.py as a subprocess to see what a user sees.
"""
import argparse
import importlib.util
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmgeneralist.utils.cli import (
    add_common_args,
    choose_num_threads,
    configure_threads,
    parse_tool_args,
    report_errors,
)
from mmgeneralist.utils.launch import enable_amp, load_tool_config, setup_launcher
from mmgeneralist.utils.visualization import enable_visualization

from ..conftest import ROOT, TINY_VPD_CONFIG, run_tool, tiny_cfg_options


def load_tool(relpath):
    """Import a script under tools/ as a module (its ``main`` takes ``argv``)."""
    name = 'tool_' + osp.splitext(relpath)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_one_error_line(capsys, *fragments):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err
    assert 'Traceback' not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def clean_env(monkeypatch):
    """Keep the tools' environment changes (LOCAL_RANK) out of other tests."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('OMP_NUM_THREADS', str(torch.get_num_threads()))
    monkeypatch.delenv('MMGEN_TRACEBACK', raising=False)


# ---- threads -------------------------------------------------------------------------

@pytest.mark.parametrize('env, cores, expected', [
    ({}, 2, None),  # one process keeps torch's default: all cores
    ({'OMP_NUM_THREADS': '3', 'LOCAL_WORLD_SIZE': '2'}, 2, 3),  # the user's choice wins
    ({'LOCAL_WORLD_SIZE': '2', 'WORLD_SIZE': '2'}, 2, 1),  # 2 ranks on 2 cores
    ({'LOCAL_WORLD_SIZE': '4', 'WORLD_SIZE': '8'}, 16, 4),  # local ranks share this node
    ({'LOCAL_WORLD_SIZE': '3'}, 2, 1),  # never fewer than one
    ({'WORLD_SIZE': '2'}, 8, 4),  # launchers that set no LOCAL_WORLD_SIZE
    ({'LOCAL_WORLD_SIZE': '1', 'WORLD_SIZE': '4'}, 8, None),  # alone on this node
])
def test_thread_count_rule(env, cores, expected):
    threads, reason = choose_num_threads(env, num_cores=cores)
    assert threads == expected, reason
    assert reason


def test_bad_omp_num_threads_says_what_to_set():
    with pytest.raises(ValueError, match='OMP_NUM_THREADS=.*whole number'):
        choose_num_threads({'OMP_NUM_THREADS': 'four'}, num_cores=2)


def test_configure_threads_keeps_the_users_setting(clean_env):
    assert configure_threads() == torch.get_num_threads()


# ---- arguments -----------------------------------------------------------------------

def test_common_args(clean_env, monkeypatch):
    monkeypatch.delenv('LOCAL_RANK')
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    args = parse_tool_args(parser, ['c.py', '--work-dir', 'w', '--local-rank', '3',
                                    '--cfg-options', 'a.b=1', 'c=[1,2]'])
    assert (args.config, args.work_dir, args.launcher) == ('c.py', 'w', 'none')
    assert args.cfg_options == {'a.b': 1, 'c': [1, 2]}
    assert os.environ['LOCAL_RANK'] == '3'

    bare = argparse.ArgumentParser()
    add_common_args(bare, work_dir=False, launcher=False)
    assert set(vars(bare.parse_args([]))) == {'cfg_options'}


# ---- library code raises, report_errors reports ---------------------------------------

def test_report_errors_prints_one_line_and_exits_1(capsys, clean_env):
    with pytest.raises(SystemExit) as exc, report_errors():
        raise FileNotFoundError('data root(s) not found:\n  data/x: generate it')
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error: data root(s) not found:') and 'Traceback' not in err


def test_report_errors_names_the_file_of_an_oserror(capsys, clean_env):
    with pytest.raises(SystemExit), report_errors():
        open('/nonexistent/x.py')
    assert_one_error_line(capsys, 'No such file or directory: /nonexistent/x.py')


def test_report_errors_lets_other_errors_through(clean_env, monkeypatch):
    with pytest.raises(KeyError), report_errors():
        raise KeyError('a bug keeps its traceback')
    monkeypatch.setenv('MMGEN_TRACEBACK', '1')
    with pytest.raises(FileNotFoundError), report_errors():
        raise FileNotFoundError('shown with its traceback when asked')


def test_library_code_raises_ordinary_exceptions(tmp_path):
    with pytest.raises(FileNotFoundError, match='config file not found'):
        load_tool_config(str(tmp_path / 'nope.py'), None, 'none', None)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='--launcher pytorch'):
            setup_launcher(Config(dict(launcher='slurm')))
        with pytest.raises(RuntimeError, match='Drop --amp on the CPU'):
            enable_amp(Config(dict(optim_wrapper=dict(type='OptimWrapper'))))
    with pytest.raises(ValueError, match='"visualization" hook'):
        enable_visualization(Config(dict(default_hooks=dict())), 'vis')


# ---- the tools -----------------------------------------------------------------------

def test_train_missing_config_and_data_root(capsys, clean_env, tmp_path):
    train = load_tool('tools/train.py')
    with pytest.raises(SystemExit) as exc:
        train.main([str(tmp_path / 'missing.py')])
    assert exc.value.code == 1
    assert_one_error_line(capsys, 'config file not found', 'missing.py')

    with pytest.raises(SystemExit) as exc:
        train.main([TINY_VPD_CONFIG, '--work-dir', str(tmp_path / 'w'),
                    *tiny_cfg_options(str(tmp_path / 'sd'), 'data/synthetic_missing/ade')])
    assert exc.value.code == 1
    assert_one_error_line(capsys, 'data/synthetic_missing/ade',
                          'generate_synthetic.py --out data/synthetic_missing')
    assert not osp.exists(tmp_path / 'w')


@pytest.mark.skipif(torch.cuda.is_available(), reason='--amp works with a GPU')
def test_train_amp_on_cpu(capsys, clean_env, tmp_path):
    train = load_tool('tools/train.py')
    with pytest.raises(SystemExit) as exc:
        train.main([TINY_VPD_CONFIG, '--amp', '--work-dir', str(tmp_path)])
    assert exc.value.code == 1
    assert_one_error_line(capsys, 'Drop --amp on the CPU')


def test_test_tool_missing_checkpoint(capsys, clean_env, tmp_path):
    test_tool = load_tool('tools/test.py')
    with pytest.raises(SystemExit) as exc:
        test_tool.main([TINY_VPD_CONFIG, str(tmp_path / 'iter_9.pth')])
    assert exc.value.code == 1
    assert_one_error_line(capsys, 'checkpoint file not found', 'iter_9.pth')


def test_test_tool_show_dir_without_visualization_hook(capsys, clean_env, tmp_path):
    ckpt = tmp_path / 'iter_1.pth'
    ckpt.write_bytes(b'x')
    test_tool = load_tool('tools/test.py')
    with pytest.raises(SystemExit) as exc:
        test_tool.main([TINY_VPD_CONFIG, str(ckpt), '--show-dir', str(tmp_path / 'vis'),
                        '--cfg-options', 'default_hooks.visualization=None'])
    assert exc.value.code == 1
    assert_one_error_line(capsys, '"visualization" hook')


def test_eval_vs_trivial_missing_data_root_is_one_line(tmp_path):
    """The one subprocess: what a user sees (the tool used to print a traceback)."""
    ckpt = tmp_path / 'iter_1.pth'
    ckpt.write_bytes(b'not loaded: the data root is checked first')
    proc = run_tool('tools/analysis_tools/eval_vs_trivial.py', TINY_VPD_CONFIG, str(ckpt),
                    *tiny_cfg_options(str(tmp_path / 'sd'), 'data/synthetic_missing/ade'),
                    check=False)
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert errors == ['error: data root(s) not found:'], proc.stderr
    assert 'generate_synthetic.py --out data/synthetic_missing' in proc.stderr
    assert 'intra-op thread (OMP_NUM_THREADS=1)' in proc.stdout + proc.stderr


def test_deepspeed_configs_say_what_to_install_and_how_to_launch(monkeypatch):
    import importlib.util

    from mmengine.config import Config

    from mmgeneralist.utils.launch import check_strategy
    cfg = Config(dict(strategy=dict(type='DeepSpeedStrategy'), launcher='none'))
    with pytest.raises(RuntimeError, match='tools/dist_train.sh'):
        check_strategy(cfg)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if 'onebit' in name else find_spec(name, *a))
    cfg.launcher = 'pytorch'
    with pytest.raises(RuntimeError, match=r'installed\); mmengine works with pip install '
                       r'--no-build-isolation deepspeed==0\.18\.9'):
        check_strategy(cfg)
    check_strategy(Config(dict(launcher='none')))  # other configs: nothing to check


def test_deepspeed_clip_grad_points_at_the_strategy():
    from mmgeneralist.utils.sharding import DiffusionDeepSpeedOptimWrapper
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match='gradient_clipping'):
        DiffusionDeepSpeedOptimWrapper(optimizer, clip_grad=dict(max_norm=1.0))
    assert DiffusionDeepSpeedOptimWrapper(optimizer, clip_grad=None).optimizer is optimizer
