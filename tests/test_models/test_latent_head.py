"""GenPercept's VAE route: latent loss against the encoded label, VAE-decoded prediction."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample


@pytest.fixture(scope='module')
def build(tiny_sd_dir):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')

    def _build(segmentor, codec):
        return MODELS.build(ConfigDict(
            type=segmentor,
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3,
                                   std=[127.5] * 3, size_divisor=64,
                                   test_cfg=dict(size_divisor=64)),
            backbone=dict(type='DiffusionUNetBackbone', pretrained=tiny_sd_dir,
                          mode='genpercept', attn_map_levels=(), outputs='latent'),
            decode_head=dict(type='VAELatentHead', pretrained=tiny_sd_dir, codec=codec),
            test_cfg=dict(mode='whole')))
    return _build


def _samples(n, h, w, seg=None, depth=None):
    out = []
    for i in range(n):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        if seg is not None:
            s.gt_sem_seg = PixelData(data=seg[i][None])
        if depth is not None:
            s.gt_depth_map = PixelData(data=depth[i][None])
        out.append(s)
    return out


def test_segmentation_latent_loss_and_prediction(build):
    model = build('EncoderDecoder', dict(type='ClassColorCodec', num_classes=5))
    head = model.decode_head
    assert head.num_classes == head.out_channels == 5
    model.train()
    assert not head.vae.training  # the frozen VAE stays in eval mode
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    seg = torch.randint(0, 5, (2, 64, 64))
    samples = _samples(2, 64, 64, seg=seg)
    losses = model.loss(img, samples)
    feats = model.extract_feat(img)
    with torch.no_grad():
        target = head.vae.encode(head.codec.encode(seg)).latent_dist.mode()
    expected = torch.nn.functional.mse_loss(feats[0], target * head.vae.config.scaling_factor)
    assert torch.allclose(losses['decode.loss_latent'], expected, rtol=1e-4)
    losses['decode.loss_latent'].backward()
    assert model.backbone.unet.conv_out.weight.grad is not None
    assert all(p.grad is None for p in head.vae.parameters())
    model.eval()
    with torch.no_grad():
        out = model.predict(img, _samples(2, 64, 64, seg=seg))
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert out[0].seg_logits.data.shape == (5, 64, 64)


def test_depth_latent_route_in_depth_estimator(build):
    model = build('DepthEstimator', dict(type='DepthCodec'))
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    depth = torch.rand(1, 64, 64) * 3 + 0.5
    assert torch.isfinite(model.loss(img, _samples(1, 64, 64, depth=depth))['decode.loss_latent'])
    model.eval()
    with torch.no_grad():
        pred = model.predict(img, _samples(1, 64, 64, depth=depth))[0].pred_depth_map.data
    assert pred.shape == (1, 64, 64) and pred.min() >= 0 and pred.max() <= 1


def test_head_explains_wrong_inputs(build, tiny_sd_dir):
    from mmgeneralist.models import VAELatentHead
    head = build('EncoderDecoder', dict(type='ClassColorCodec', num_classes=3)).decode_head
    with pytest.raises(ValueError, match="outputs='latent'"):
        head.loss([torch.zeros(1, 8, 16, 16)] * 4, [], None)
    samples = _samples(1, 32, 32, seg=torch.zeros(1, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match='does not match the prediction'):
        head.loss([torch.zeros(1, 8, 16, 16)], samples, None)
    with pytest.raises(ValueError, match='no .gt_sem_seg.'):  # the codec's field is missing
        head.loss([torch.zeros(1, 8, 16, 16)], _samples(1, 32, 32), None)
    with pytest.raises(KeyError, match='NoSuchCodec'):
        VAELatentHead(tiny_sd_dir, codec=dict(type='NoSuchCodec'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        VAELatentHead(tiny_sd_dir + '-missing', codec=dict(type='DepthCodec'))
