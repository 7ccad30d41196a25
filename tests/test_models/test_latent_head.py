"""GenPercept's VAE route: latent loss against the encoded label (masked as released),
VAE-decoded prediction."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmgeneralist.codecs import BaseCodec


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


def test_a_latent_cell_is_valid_only_if_all_its_pixels_are():
    from mmgeneralist.models import VAELatentHead
    valid = torch.ones(2, 1, 16, 24, dtype=torch.bool)
    valid[0, 0, 9, 3] = False  # one pixel in cell (1, 0) of image 0
    valid[1, 0, :, 16:] = False  # the last column of cells of image 1
    cells = VAELatentHead.latent_valid_mask(valid, (2, 3))
    expected = torch.ones(2, 1, 2, 3, dtype=torch.bool)
    expected[0, 0, 1, 0] = False
    expected[1, 0, :, 2] = False
    assert torch.equal(cells, expected)
    with pytest.raises(ValueError, match='whole multiple'):
        VAELatentHead.latent_valid_mask(valid, (3, 3))


@pytest.fixture(scope='module')
def depth_head(tiny_sd_dir):
    from mmgeneralist.models import VAELatentHead
    head = VAELatentHead(tiny_sd_dir, codec=dict(type='DepthCodec'))
    factor = 2 ** (len(head.vae.config.block_out_channels) - 1)
    return head, factor, head.vae.config.latent_channels


def test_masked_loss_ignores_the_cells_of_missing_depth(depth_head):
    head, factor, channels = depth_head
    size = 4 * factor
    depth = torch.rand(2, size, size) * 3 + 0.5
    depth[0, :factor, :factor + 1] = 0  # missing: touches cells (0, 0) and (0, 1)
    samples = _samples(2, size, size, depth=depth)
    torch.manual_seed(0)
    pred = torch.randn(2, channels, 4, 4)
    target = head.encode_target(samples)
    keep = torch.ones(2, channels, 4, 4, dtype=torch.bool)
    keep[0, :, 0, :2] = False
    assert torch.equal(head.latent_valid_mask(head.valid_pixels(head.codec.labels(samples)),
                                              (4, 4)).expand_as(pred), keep)
    masked = head.loss([pred], samples, None)['loss_latent']
    assert torch.allclose(masked, F.mse_loss(pred[keep], target[keep]), rtol=1e-5)
    garbage = pred.clone()
    garbage[0, :, 0, :2] = 1e3  # a wild prediction where the depth is missing ...
    assert torch.allclose(head.loss([garbage], samples, None)['loss_latent'], masked)
    head.mask_invalid = False  # ... counts only in the text's reading (Eq. 8)
    try:
        unmasked = head.loss([garbage], samples, None)['loss_latent']
    finally:
        head.mask_invalid = True
    assert unmasked > 100 * masked
    assert torch.allclose(unmasked, F.mse_loss(garbage, target), rtol=1e-5)


class _RawDepthCodec(BaseCodec):
    """Renders depth as is (clamped to [-1, 1]), so that garbage at the missing pixels
    (depth <= 0) reaches the rendered target; ``weights`` marks them."""
    label_field = 'gt_depth_map'

    def encode(self, depth):
        return depth.clamp(-1, 1).expand(-1, 3, -1, -1)

    def decode(self, rgb):
        return rgb.mean(1, keepdim=True)

    def weights(self, depth):
        return (depth > 0).float()


def test_garbage_ground_truth_at_invalid_pixels_changes_only_the_unmasked_loss(tiny_sd_dir):
    from mmgeneralist.models import VAELatentHead
    head = VAELatentHead(tiny_sd_dir, codec=_RawDepthCodec())
    # A VAE encoder whose cells see only their own 8 x 8 pixels, so that the garbage reaches
    # only the target cells over invalid pixels (SD's encoder sees wider).
    local = lambda rgb: F.avg_pool2d(rgb.float(), 8).repeat(1, 2, 1, 1)[:, :4]  # noqa: E731
    head.vae.encode = lambda rgb: SimpleNamespace(latent_dist=SimpleNamespace(
        mode=lambda: local(rgb)))
    depth = torch.rand(2, 32, 32) * 0.9 + 0.05
    depth[1, 8:20, 4:12] = 0  # missing
    garbage = depth.clone()
    garbage[1, 8:20, 4:12] = -torch.rand(12, 8)  # other garbage, still missing
    torch.manual_seed(0)
    pred = [torch.randn(2, 4, 4, 4)]
    clean_samples, garbage_samples = _samples(2, 32, 32, depth=depth), _samples(
        2, 32, 32, depth=garbage)
    masked = [head.loss(pred, s, None)['loss_latent'] for s in (clean_samples, garbage_samples)]
    assert torch.equal(masked[0], masked[1])
    head.mask_invalid = False
    unmasked = [head.loss(pred, s, None)['loss_latent'] for s in (clean_samples, garbage_samples)]
    assert not torch.allclose(unmasked[0], unmasked[1], rtol=1e-3)
    assert not torch.allclose(unmasked[0], masked[0], rtol=1e-3)


def test_class_ignore_index_is_invalid_and_no_valid_cell_gives_zero(tiny_sd_dir):
    from mmgeneralist.models import VAELatentHead
    head = VAELatentHead(tiny_sd_dir, codec=dict(type='ClassColorCodec', num_classes=3))
    seg = torch.randint(0, 3, (1, 1, 16, 16))
    seg[0, 0, 2:5, 7] = 255
    valid = head.valid_pixels(seg)
    assert valid.shape == (1, 1, 16, 16) and int((~valid).sum()) == 3
    assert not valid[0, 0, 3, 7] and valid[0, 0, 3, 8]
    size = 2 ** (len(head.vae.config.block_out_channels) - 1)
    samples = _samples(1, size, size, seg=torch.full((1, size, size), 255))  # all ignored
    pred = torch.randn(1, head.vae.config.latent_channels, 1, 1, requires_grad=True)
    loss = head.loss([pred], samples, None)['loss_latent']
    assert loss.item() == 0.0
    loss.backward()  # the graph is kept, with zero gradients
    assert pred.grad is not None and not pred.grad.any()
