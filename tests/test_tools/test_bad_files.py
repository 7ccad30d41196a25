"""Nothing is lost when a file is bad; each test makes the bad file itself.

- a truncated checkpoint named by ``last_checkpoint``: train.py --resume names it and the
  newest checkpoint that loads;
- a truncated JPEG or a garbage annotation in the training set: SkipBadSamples logs and
  skips it, and stops the run once too many are bad;
- check_dataset.py finds undecodable files, size mismatches and out-of-range labels.
(Atomic checkpoint writes: tests/test_utils/test_atomic_checkpoint.py.)
"""
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch

from mmgeneralist.utils.checkpoint import check_resume_checkpoint, checkpoint_problem

from ..conftest import ROOT, TINY_VPD_CONFIG, run_tool
from .test_cli_errors import assert_one_error_line, load_tool

TINY_VPD_DEPTH = f'{ROOT}/configs/vpd/vpd_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py'


def truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


# ---- --resume with a checkpoint that does not load -------------------------------------

def make_work_dir(tmp_path, good=(4, ), bad=8):
    work = tmp_path / 'work'
    work.mkdir()
    for step in good:
        torch.save(dict(meta=dict(iter=step), state_dict=dict(w=torch.ones(3))),
                   work / f'iter_{step}.pth')
    if bad is not None:
        torch.save(dict(meta=dict(iter=bad), state_dict=dict(w=torch.ones(300))),
                   work / f'iter_{bad}.pth')
        truncate(work / f'iter_{bad}.pth')  # a kill while mmengine was writing it
        (work / 'last_checkpoint').write_text(str(work / f'iter_{bad}.pth'))
    return work


def test_truncated_checkpoint_is_named_with_the_one_to_use(tmp_path):
    work = make_work_dir(tmp_path, good=(4, 2))
    assert checkpoint_problem(str(work / 'iter_4.pth')) is None
    assert 'cut short' in checkpoint_problem(str(work / 'iter_8.pth'))
    with pytest.raises(RuntimeError) as exc:
        check_resume_checkpoint(str(work))
    msg = str(exc.value)
    assert f'cannot resume from {work / "iter_8.pth"}' in msg
    assert f'named in {work / "last_checkpoint"}' in msg
    assert f'--resume {work / "iter_4.pth"}' in msg  # the newest good one, not iter_2


def test_resume_checks(tmp_path):
    work = make_work_dir(tmp_path, good=(), bad=8)
    with pytest.raises(RuntimeError, match='No other checkpoint in .* loads: train from the st'):
        check_resume_checkpoint(str(work))
    with pytest.raises(FileNotFoundError, match='no such checkpoint file'):
        check_resume_checkpoint(str(work), str(work / 'iter_99.pth'))
    (work / 'last_checkpoint').write_text('')  # cut short itself
    with pytest.raises(RuntimeError, match='last_checkpoint is empty'):
        check_resume_checkpoint(str(work))
    fresh = tmp_path / 'fresh'
    assert check_resume_checkpoint(str(fresh)) is None  # mmengine starts anew, as before
    (tmp_path / 'ok').mkdir()
    good = make_work_dir(tmp_path / 'ok', good=(4, ), bad=None)
    assert check_resume_checkpoint(str(good), str(good / 'iter_4.pth')) == str(
        good / 'iter_4.pth')


def test_train_resume_from_truncated_checkpoint_is_one_message(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    work = make_work_dir(tmp_path)
    train = load_tool('tools/train.py')
    with pytest.raises(SystemExit) as exc:
        train.main([TINY_VPD_CONFIG, '--work-dir', str(work), '--resume'])
    assert exc.value.code == 1
    assert_one_error_line(capsys, f'cannot resume from {work / "iter_8.pth"}',
                          f'--resume {work / "iter_4.pth"}')


# ---- generated data with bad files --------------------------------------------------------

@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp('bad-files-data')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'ade', 'nyu', '--num-train', '12', '--num-val', '6', '--size', '64', '--seed', '0')
    return out


@pytest.fixture
def data(generated, tmp_path):
    """A private copy of the generated data, to break."""
    shutil.copytree(generated, tmp_path / 'data')
    return tmp_path / 'data'


def files(folder):
    return sorted(str(p) for p in folder.iterdir())


def ade_dataset(root, loaders, **skip):
    from mmengine.registry import DATASETS, init_default_scope

    import mmgeneralist  # noqa: F401  (registers SkipBadSamples)
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='ADE20KDataset', data_root=str(root),
        metainfo=dict(classes=('wall', 'floor', 'person', 'box', 'flower', 'tent', 'ball')),
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=[dict(type='SkipBadSamples', transforms=loaders, **skip),
                  dict(type='PackSegInputs')]))


ADE_LOADERS = [dict(type='LoadImageFromFile'),
               dict(type='LoadAnnotations', reduce_zero_label=True)]


@pytest.mark.parametrize('check_truncation', [True, False])
def test_bad_training_samples_are_logged_and_skipped(data, monkeypatch, check_truncation):
    from mmgeneralist.utils import safe_loading
    logged = []
    monkeypatch.setattr(safe_loading, 'print_log', lambda msg, **kw: logged.append(msg))
    images = files(data / 'ade/images/training')
    anns = files(data / 'ade/annotations/training')
    if check_truncation:  # a JPEG cut in half: OpenCV alone may decode it partly grey
        truncate(images[3])
        bad = images[3]
    else:  # bytes that no decoder reads, under an annotation's name
        with open(anns[5], 'wb') as f:
            f.write(np.random.default_rng(0).bytes(300))
        bad = anns[5]
    dataset = ade_dataset(data / 'ade', ADE_LOADERS, max_bad_fraction=0.2, min_samples=5,
                          check_truncation=check_truncation)
    for idx in range(len(dataset)):
        sample = dataset[idx]  # the bad one is replaced by another sample, no exception
        assert sample['inputs'].shape[-2:] == (64, 64)
        assert sample['data_samples'].img_path != (bad if bad in images else '')
    skipper = dataset.pipeline.transforms[0]
    assert len(skipper.bad) == 1
    assert len(logged) == 1 and bad in logged[0], logged
    assert ('truncated JPEG' if check_truncation else 'LoadAnnotations failed') in logged[0]


def test_too_many_bad_samples_stop_the_run(data, monkeypatch):
    from mmgeneralist.utils import safe_loading
    monkeypatch.setattr(safe_loading, 'print_log', lambda msg, **kw: None)
    images = files(data / 'ade/images/training')
    for idx in (6, 9):
        truncate(images[idx], keep=0.3)
    dataset = ade_dataset(data / 'ade', ADE_LOADERS, max_bad_fraction=0.05, min_samples=5)
    with pytest.raises(RuntimeError, match='max_bad_fraction=0.05') as exc:
        for idx in range(len(dataset)):
            dataset[idx]
    assert images[6] in str(exc.value) and 'check_dataset.py' in str(exc.value)


# ---- check_dataset.py ----------------------------------------------------------------

def data_opts(root, *splits):
    return ['--cfg-options', *[f'{s}_dataloader.dataset.data_root={root}' for s in splits]]


def test_check_dataset_clean_ade_and_nyu(data, capsys, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    tool = load_tool('tools/analysis_tools/check_dataset.py')
    assert tool.main([TINY_VPD_CONFIG, *data_opts(data / 'ade', 'train', 'val', 'test')]) == 0
    out = capsys.readouterr().out
    assert 'no bad files found' in out
    lines = out.splitlines()
    assert any(line.split()[:2] == ['train', 'ADE20KDataset'] and ' 12 ' in line
               for line in lines), out
    assert any(line.startswith('val, test') and ' 6 ' in line for line in lines), out
    assert tool.main([TINY_VPD_DEPTH, *data_opts(data / 'nyu', 'train', 'val', 'test')]) == 0
    assert 'NYUDataset' in capsys.readouterr().out


def test_check_dataset_lists_each_bad_file(data, capsys, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    ade = data / 'ade'
    images = files(ade / 'images/training')
    anns = files(ade / 'annotations/training')
    val_anns = files(ade / 'annotations/validation')
    truncate(images[0])  # a truncated JPEG
    with open(anns[1], 'wb') as f:  # garbage under a PNG name
        f.write(b'\x89PNG\r\n\x1a\n' + np.random.default_rng(1).bytes(200) + b'IEND\xaeB`\x82')
    label = cv2.imread(anns[2], cv2.IMREAD_UNCHANGED)
    cv2.imwrite(anns[2], cv2.resize(label, (32, 32), interpolation=cv2.INTER_NEAREST))
    label = cv2.imread(val_anns[0], cv2.IMREAD_UNCHANGED)
    label[0, :5] = 200  # not an ADE20K id: after reduce_zero_label 199, no class, not 255
    cv2.imwrite(val_anns[0], label)

    tool = load_tool('tools/analysis_tools/check_dataset.py')
    assert tool.main([TINY_VPD_CONFIG, *data_opts(ade, 'train', 'val', 'test')]) == 1
    out = capsys.readouterr().out
    print(out)
    rows = out.split('bad files')[1].splitlines()[3:]
    assert len(rows) == 4, out

    def row(path):
        line, = [r for r in rows if f'  {osp.relpath(path, ade)}  ' in r]
        return line

    assert row(images[0]).startswith('train ') and 'truncated JPEG' in row(images[0])
    assert 'does not decode' in row(anns[1])
    assert '32x32 but the image is 64x64' in row(anns[2])
    assert row(val_anns[0]).startswith('val, test ') and 'label values [199]' in row(val_anns[0])
    train_row = next(line for line in out.splitlines() if line.startswith('train '))
    assert train_row.split()[-1] == '3'  # bad samples of 12


def test_check_dataset_says_what_it_does_not_check(data):
    from mmgeneralist.utils.dataset_check import check_dataset, format_report
    report = check_dataset(dict(type='RefCocoDataset', data_root=str(data)), ['train'])
    assert not report.checked
    assert 'not checked' in format_report([report]) and 'RefCocoDataset' in report.note


def test_label_checks():
    from mmgeneralist.utils.dataset_check import _label_problem
    img = np.zeros((4, 4, 3), np.uint8)
    depth = np.ones((4, 4), np.float32)
    assert _label_problem(dict(img=img, gt_depth_map=depth), 0, 255) is None
    depth[0, 0] = np.nan
    assert 'not finite' in _label_problem(dict(img=img, gt_depth_map=depth), 0, 255)
    depth[0, 0] = -1
    assert 'negative' in _label_problem(dict(img=img, gt_depth_map=depth), 0, 255)
    seg = np.full((4, 4), 255, np.uint8)
    seg[0, 0] = 6
    assert _label_problem(dict(img=img, gt_seg_map=seg), 7, 255) is None
    seg[0, 1] = 7
    assert 'label values [7]' in _label_problem(dict(img=img, gt_seg_map=seg), 7, 255)
