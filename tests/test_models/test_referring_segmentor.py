"""DiffusionReferringSegmentor and ReferringMaskHead: build, loss, predict, tensor mode."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from ..conftest import ROOT

TINY_REFER_CONFIG = osp.join(
    ROOT, 'configs/vpd/vpd_tiny-refer_1xb8-1k_synthetic-refcoco-64x64.py')
SD15_REFER_CONFIG = osp.join(ROOT, 'configs/vpd/vpd_sd15-refer_4xb8-40e_refcoco-512x512.py')


def _model_cfg(tiny_sd_dir):
    cfg = Config.fromfile(TINY_REFER_CONFIG)
    cfg.model.backbone.pretrained = tiny_sd_dir
    return cfg


def _build(model_cfg):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    return MODELS.build(copy.deepcopy(model_cfg))


@pytest.fixture(scope='module')
def model(tiny_sd_dir):
    torch.manual_seed(0)
    return _build(_model_cfg(tiny_sd_dir).model)


def _sample(texts, h, w, ori=None, masks=True, seed=0):
    """A packed sample as mmdet's pipeline makes it: uint8 image, metainfo, gt masks."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    rng = np.random.default_rng(seed)
    ds = DetDataSample(metainfo=dict(img_path=f'img_{seed}.jpg', img_shape=(h, w),
                                     ori_shape=ori or (h, w), scale_factor=(1.0, 1.0)))
    if texts is not None:
        ds.set_metainfo(dict(text=texts))
    n = len(texts) if isinstance(texts, list) else 1
    if masks:
        m = np.zeros((n, h, w), dtype=np.uint8)
        for k in range(n):
            y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
            m[k, y:y + h // 3, x:x + w // 3] = 1
        ds.gt_instances = InstanceData(masks=BitmapMasks(m, h, w))
    img = torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8))
    return dict(inputs=img, data_samples=ds)


def _batch(model, samples, training):
    return model.data_preprocessor(pseudo_collate(samples), training)


def test_build_checks_head_and_backbone(model, tiny_sd_dir):
    from mmgeneralist.models.heads import ReferringMaskHead
    assert isinstance(model.head, ReferringMaskHead)
    assert model.head.in_channels == model.backbone.out_channels == (32, 104, 104, 64)
    cfg = _model_cfg(tiny_sd_dir).model
    cfg.backbone.context = 'classes'
    cfg.backbone.class_names = ['ball']
    cfg.backbone.max_text_length = None
    with pytest.raises(ValueError, match="context='sentence'"):
        _build(cfg)
    cfg = _model_cfg(tiny_sd_dir).model
    cfg.train_expression = 'first'
    with pytest.raises(ValueError, match='train_expression'):
        _build(cfg)
    with pytest.raises(ValueError, match='two entries'):
        ReferringMaskHead([8, 8], class_weight=[1.0])


def test_loss_is_finite_and_reaches_head_and_adapter(model):
    model.train()
    model.zero_grad()
    samples = [_sample(['the red ball', 'the ball on the left'], 64, 64, seed=0),
               _sample(['the person'], 64, 64, seed=1)]
    losses = model(**_batch(model, samples, True), mode='loss')
    assert set(losses) == {'loss_mask', 'mask_iou'}
    assert torch.isfinite(losses['loss_mask']) and losses['loss_mask'] > 0
    losses['loss_mask'].backward()
    grads = {
        'head': model.head.conv_seg.weight.grad,
        'fusion': model.head.fuse[0][0].conv.weight.grad,
        'adapter': model.backbone.text_adapter.fc[0].weight.grad,
        'adapter gamma': model.backbone.text_adapter.gamma.grad,
        'unet': model.backbone.unet.conv_in.weight.grad,
    }
    for name, grad in grads.items():
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.backbone.vae.parameters())  # frozen
    model.zero_grad()


def test_training_draws_one_expression_per_image(model):
    samples = [_sample(['a', 'b', 'c'], 64, 64)['data_samples'],
               _sample(['d', 'e'], 64, 64)['data_samples']]
    seen = set()
    for _ in range(40):
        images, texts, indices = model._pairs(samples, training=True)
        assert images == [0, 1]
        assert texts[0] in 'abc' and texts[1] in 'de'
        assert [samples[i].text[j] for i, j in zip(images, indices)] == texts
        seen.update(texts)
    assert seen == set('abcde')  # drawn afresh each time (VPD Sec. 4)
    images, texts, _ = model._pairs(samples, training=False)  # evaluation: all of them
    assert images == [0, 0, 0, 1, 1] and texts == list('abcde')


def test_predict_masks_at_original_size_for_odd_image(model):
    from mmdet.evaluation import RefSegMetric
    model.eval()
    texts = ['the blue box', 'the tent on the right', 'the nearest person']
    samples = [_sample(texts, 70, 90, seed=2), _sample(['the ball'], 64, 64, seed=3)]
    data = _batch(model, samples, False)
    assert data['inputs'].shape[-2:] == (128, 128)  # padded to /64
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert len(results) == 2
    pred = results[0].pred_instances
    assert pred.masks.shape == (3, 70, 90) and pred.masks.dtype == torch.bool
    assert pred.scores.shape == (3, ) and ((pred.scores >= 0) & (pred.scores <= 1)).all()
    assert results[1].pred_instances.masks.shape == (1, 64, 64)
    # exactly what mmdet's RefSegMetric reads: pred_instances.masks and gt_masks
    metric = RefSegMetric()
    for r in results:
        r.set_metainfo(dict(gt_masks=r.gt_instances.masks))
    metric.process({}, [r.to_dict() for r in results])
    scores = metric.compute_metrics(metric.results)
    assert metric.results[0][3] == 3  # one IoU per expression
    assert 0 <= scores['cIoU'] <= 100 and 0 <= scores['mIoU'] <= 100
    # tensor mode: head logits of every (image, expression) pair
    with torch.no_grad():
        logits = model(**data, mode='tensor')
    assert logits.shape == (4, 2, 32, 32)  # stride 4 of the tiny model


def test_an_image_is_encoded_once_for_all_its_expressions(model, monkeypatch):
    """reuse_latents: the VAE encoder runs once per image, and every output is the same as
    when each (image, expression) pair is encoded again."""
    model.eval()
    samples = [_sample(['the blue box', 'the tent', 'the nearest person'], 64, 64, seed=4),
               _sample(['the ball', 'the red ball'], 64, 64, seed=5)]
    data = _batch(model, samples, False)
    rows = []
    hook = model.backbone.vae.encoder.register_forward_hook(
        lambda module, args, out: rows.append(args[0].shape[0]))
    outputs = {}
    try:
        for reuse in (True, False):
            monkeypatch.setattr(model, 'reuse_latents', reuse)
            rows.clear()
            with torch.no_grad():
                logits = model(**data, mode='tensor')
                masks = [r.pred_instances.masks for r in model(**copy.deepcopy(data),
                                                               mode='predict')]
            outputs[reuse] = (rows.copy(), logits, masks)
    finally:
        hook.remove()
    assert outputs[True][0] == [2, 2]  # two images, tensor mode then predict
    assert outputs[False][0] == [5, 5]  # five (image, expression) pairs
    assert torch.allclose(outputs[True][1], outputs[False][1], atol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(outputs[True][2], outputs[False][2]))


def test_predict_crops_the_padding_and_rescales(model, monkeypatch):
    """Logits are cropped to img_shape, then resized to ori_shape (a 2x-downscaled input)."""
    model.eval()
    samples = [_sample(['the ball'], 70, 90, ori=(140, 180))]
    data = _batch(model, samples, False)

    pad_hw = data['inputs'].shape[-2:]

    def fake_logits(feats):  # logits at the padded input size, as the head returns them
        out = torch.zeros(feats[0].shape[0], 2, *pad_hw)
        out[:, 1, :35, :45] = 1.0  # the top-left quarter of the 70x90 image
        out[:, 1, 70:, :] = 5.0  # padding: must be cropped away
        out[:, 1, :, 90:] = 5.0
        return out

    monkeypatch.setattr(model.head, 'forward', fake_logits)
    with torch.no_grad():
        (result, ) = model(**data, mode='predict')
    mask = result.pred_instances.masks[0]
    assert mask.shape == (140, 180)
    expected = torch.zeros(140, 180, dtype=torch.bool)
    expected[:70, :90] = True
    assert (mask ^ expected).float().mean() < 0.01  # up to the bilinear edge


@pytest.mark.parametrize('texts', [None, [], [''], '  '])
def test_missing_expression_is_a_clear_error(model, texts):
    model.train()
    samples = [_sample(['the ball'], 64, 64), _sample(texts, 64, 64, masks=False)]
    data = _batch(model, samples, True)
    with pytest.raises(ValueError, match='no referring expression'):
        model(**data, mode='loss')
    model.eval()
    with pytest.raises(ValueError, match='no referring expression'), torch.no_grad():
        model(**_batch(model, samples, False), mode='predict')


def test_mask_count_and_shape_mismatch_are_clear_errors(model):
    from mmdet.structures.mask import BitmapMasks
    model.train()
    sample = _sample(['the ball', 'the box'], 64, 64)
    sample['data_samples'].gt_instances = sample['data_samples'].gt_instances[:1]
    with pytest.raises(ValueError, match='2 expressions but 1 gt masks'):
        model(**_batch(model, [sample], True), mode='loss')
    sample = _sample(['the ball'], 64, 64)  # masks at another size than the image
    sample['data_samples'].gt_instances.masks = BitmapMasks(np.ones((1, 100, 100)), 100, 100)
    with pytest.raises(ValueError, match='before Resize'):
        model(**_batch(model, [sample], True), mode='loss')
    with pytest.raises(ValueError, match='data samples'):
        model(torch.zeros(1, 3, 64, 64), None, mode='tensor')


@pytest.fixture(scope='module')
def refcoco_root(tmp_path_factory):
    from mmgeneralist.datasets import generate_synthetic
    out = str(tmp_path_factory.mktemp('refcoco'))
    generate_synthetic(out, ['refcoco'], num_train=2, num_val=2, size=64, seed=0)
    return osp.join(out, 'refcoco')


@pytest.mark.parametrize('config', [TINY_REFER_CONFIG, SD15_REFER_CONFIG],
                         ids=['tiny', 'sd15-pipelines'])
def test_refcoco_pipeline_predict_and_metric(model, refcoco_root, config):
    """A config's RefCocoDataset pipelines, loss, predict and RefSegMetric, end to end.

    The SD-1.5 config's pipelines resize the 64 px images to a non-square 96x80 (instead of
    512x512) here: training masks must follow the image, predictions and gt_masks must come
    back at the original 64x64.
    """
    from mmdet.registry import DATASETS, METRICS
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    metric = METRICS.build(cfg.val_evaluator)
    for split, loader in (('train', cfg.train_dataloader), ('val', cfg.val_dataloader)):
        loader.dataset.data_root = refcoco_root
        for step in loader.dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (96, 80)  # (w, h)
        ds = DATASETS.build(loader.dataset)
        samples = [ds[i] for i in range(len(ds))]
        for packed in samples:
            sample = packed['data_samples']
            assert len(sample.text) == len(sample.gt_instances.masks) > 0
            if split == 'train':
                assert sample.gt_instances.masks.masks.shape[1:] == sample.img_shape
        if split == 'train':
            model.train()
            losses = model(**_batch(model, samples, True), mode='loss')
            assert torch.isfinite(losses['loss_mask'])
            continue
        model.eval()
        with torch.no_grad():
            results = model(**_batch(model, samples, False), mode='predict')
        for r in results:
            n = len(r.text)
            assert r.ori_shape == (64, 64)
            assert r.pred_instances.masks.shape == r.gt_masks.masks.shape == (n, 64, 64)
        metric.process({}, [r.to_dict() for r in results])
    scores = metric.evaluate(len(results))
    assert set(scores) == {'cIoU', 'mIoU'}
