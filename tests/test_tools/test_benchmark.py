"""The benchmark harness: what it measures is right (not how fast anything is)."""
import json

import pytest
import torch
from mmengine.config import Config

from mmgeneralist.utils.benchmark import PeakMemory, count_flops, parse_variant, run_benchmark
from mmgeneralist.utils.random_models import build_model

from ..conftest import ROOT, TINY_VPD_CONFIG, editor_task_overrides, run_tool, worker_threads


@pytest.fixture(scope='module')
def tiny_vpd(tiny_sd_dir):
    torch.manual_seed(0)
    return build_model(Config.fromfile(TINY_VPD_CONFIG), tiny_sd_dir, random=False)


def test_variants_share_weights_and_inputs(tiny_vpd):
    """Explicit attention reproduces SDPA's output; dropping the maps leaves the features'
    own channels unchanged; FLOPs are counted once, for the baseline."""
    before = {k: v.clone() for k, v in tiny_vpd.state_dict().items()}
    variants = ['base', 'explicit', 'nomaps', 'bf16', 'vae_bf16']
    rows = run_benchmark(tiny_vpd, torch.device('cpu'), variants, modes=['backbone'],
                         sizes=[(64, 64)], batch_sizes=[2], warmup=0, repeat=1,
                         log=lambda m: None)
    assert [r.variant for r in rows] == variants
    assert all(r.error is None and len(r.seconds) == 1 and r.seconds[0] > 0 for r in rows)
    base, explicit, nomaps, bf16, vae_bf16 = rows
    assert base.output_error is None and explicit.output_error < 1e-5
    assert nomaps.output_error < 1e-5  # features without maps = the leading channels
    assert 1e-4 < bf16.output_error < 0.2  # bf16 changes the numbers, a little
    assert 1e-5 < vae_bf16.output_error < 0.2  # so does the encoder alone in bf16
    with torch.no_grad():  # counted in the steady state: class embeddings already cached
        img = torch.rand(2, 3, 64, 64) * 2 - 1
        tiny_vpd.backbone(img)
        assert base.flops == count_flops(lambda: tiny_vpd.backbone(img)) > 0
    assert all(r.flops == base.flops for r in rows)
    # each variant ran on a copy: the model given is unchanged
    after = tiny_vpd.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_training_step_updates_only_the_copy_and_counts_backward(tiny_vpd):
    before = {k: v.clone() for k, v in tiny_vpd.state_dict().items()}
    rows = run_benchmark(tiny_vpd, torch.device('cpu'), ['base', 'checkpointing'],
                         modes=['train', 'infer'], sizes=[(64, 64)], warmup=0, repeat=1,
                         log=lambda m: None)
    train, train_ckpt, infer, _ = rows
    assert all(r.error is None for r in rows)
    after = tiny_vpd.state_dict()  # the AdamW steps changed the copies only
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert train.trainable_params == sum(p.numel() for p in tiny_vpd.parameters()
                                         if p.requires_grad)
    assert train.optimizer_state_bytes >= 2 * 4 * train.trainable_params  # two fp32 moments
    # forward + backward: about three forwards of matrix products (the frozen VAE and
    # text encoder get no backward, so less than three)
    assert 1.5 * infer.flops < train.flops < 3 * infer.flops
    assert train_ckpt.flops == train.flops  # recomputation is cost, not work
    as_dict = train_ckpt.as_dict(reference=1e12, base=train)
    assert as_dict['speedup_vs_base'] == pytest.approx(train.median / train_ckpt.median)
    assert as_dict['share_of_reference'] == pytest.approx(train_ckpt.flops / train_ckpt.median
                                                          / 1e12)


def test_a_failing_variant_is_reported_and_the_others_run(tiny_vpd):
    rows = run_benchmark(tiny_vpd, torch.device('cpu'), ['base', 'nomaps'], modes=['infer'],
                         sizes=[(64, 64)], warmup=0, repeat=1, flops=False, log=lambda m: None)
    assert rows[0].error is None and rows[0].seconds
    assert 'backbone' in rows[1].error and not rows[1].seconds
    rows = run_benchmark(tiny_vpd, torch.device('cpu'), ['encode_each'], modes=['infer'],
                         sizes=[(64, 64)], warmup=0, repeat=1, flops=False, log=lambda m: None)
    assert 'referring segmentor' in rows[0].error  # a VPD segmentor has nothing to share


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(torch.device('cpu')) as memory:
        x = torch.ones(64 * 2**20 // 4)  # 64 MiB, written
        del x
    assert memory.peak - memory.start >= 48 * 2**20


def test_unknown_switch_is_named():
    assert parse_variant('bf16+checkpointing') == ('bf16', 'checkpointing')
    assert parse_variant('base') == ()
    with pytest.raises(ValueError, match='unknown switch.*fast'):
        parse_variant('bf16+fast')


def test_command_line_prints_a_table_and_writes_json(tiny_sd_dir, tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool('tools/analysis_tools/benchmark.py', TINY_VPD_CONFIG, '--modes', 'infer',
                    'encode', '--variants', 'base', 'explicit', '--warmup', '0', '--repeat',
                    '2', '--out', str(out), '--cfg-options',
                    f'model.backbone.pretrained={tiny_sd_dir}',
                    env=dict(OMP_NUM_THREADS=str(worker_threads())))
    assert '| infer | 1 | 64x64 | - | explicit |' in proc.stdout
    result = json.loads(out.read_text())
    assert result['machine']['torch'] == torch.__version__
    assert result['reference']['flops_per_s'] > 0
    rows = {(r['mode'], r['variant']): r for r in result['rows']}
    assert set(rows) == {(m, v) for m in ('infer', 'encode') for v in ('base', 'explicit')}
    infer = rows['infer', 'explicit']
    assert len(infer['seconds']) == 2 and infer['speedup_vs_base'] > 0
    # the VAE encoder is part of the whole forward: fewer FLOPs alone
    assert 0 < rows['encode', 'base']['flops'] < rows['infer', 'base']['flops']
    bad = run_tool('tools/analysis_tools/benchmark.py', TINY_VPD_CONFIG, '--variants', 'turbo',
                   check=False)
    assert bad.returncode == 1 and 'unknown switch' in bad.stderr
    assert 'Traceback' not in bad.stderr


TINY_LOWLIGHT_EDITOR = (f'{ROOT}/configs/instruct_diffusion/'
                        'instruct-diffusion_tiny_1xb8-1k_synthetic-lowlight-32x32.py')


def test_sampler_benchmark_runs_each_sampler_on_the_test_split(tiny_editor_sd_dir,
                                                              synthetic_editor_root, tmp_path):
    """benchmark_samplers.py on a checkpoint of the tiny editor (its low-light config): one
    test run per NAME:STEPS, each with the sampler asked for, on the training schedule; a
    table and a JSON. The edits are seeded, so the same sampler twice scores the same; a
    different sampler or step count samples differently."""
    opts = editor_task_overrides(tiny_editor_sd_dir, synthetic_editor_root, 'lowlight')
    cfg = Config.fromfile(TINY_LOWLIGHT_EDITOR)
    torch.manual_seed(0)
    model = build_model(cfg, tiny_editor_sd_dir, random=False)
    checkpoint = tmp_path / 'editor.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'samplers.json'
    proc = run_tool('tools/analysis_tools/benchmark_samplers.py', TINY_LOWLIGHT_EDITOR,
                    str(checkpoint), '--samplers', 'DDIMScheduler:2', 'DDIMScheduler:2',
                    'DPMSolverMultistepScheduler:3', '--threads', str(worker_threads()),
                    '--out', str(out), '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                    *[f'{k}={v}' for k, v in opts.items()])
    rows = json.loads(out.read_text())['samplers']
    assert [(r['sampler'], r['steps']) for r in rows] == [
        ('DDIMScheduler', 2), ('DDIMScheduler', 2), ('DPMSolverMultistepScheduler', 3)]
    for row in rows:
        assert row['wall_s'] > 0 and set(row['metrics']) >= {'PSNR', 'SSIM'}, row
        # the tiny config trains on SD's schedule, predicting the sample: so does each sampler
        assert row['scheduler_config']['beta_schedule'] == 'scaled_linear'
        assert row['scheduler_config']['prediction_type'] == 'sample'
    assert rows[0]['metrics'] == rows[1]['metrics']
    assert rows[2]['metrics']['PSNR'] != rows[0]['metrics']['PSNR']
    table = proc.stdout[proc.stdout.index('samplers on'):]
    assert 'DPMSolverMultistepScheduler' in table and 'PSNR' in table
