"""The backbone's text contexts (class list, per-image class, sentence) and GenPercept mode."""
import pytest
import torch

from mmgeneralist.models import DiffusionUNetBackbone

IMG = torch.rand(2, 3, 64, 64) * 2 - 1


def test_image_class_context_selects_each_images_class(tiny_sd_dir):
    bb = DiffusionUNetBackbone(tiny_sd_dir, class_names=['kitchen', 'bedroom', 'office'],
                               context='image_class', attn_map_levels=())
    assert bb.class_embed_select  # the attribute mmseg's DepthEstimator reads
    with torch.no_grad():
        ctx = bb.text_context(3, torch.tensor([0, 2, -1]))
        emb = bb.text_adapter(bb.text.embeddings)
    assert ctx.shape == (3, 1, bb.text_encoder.config.hidden_size)
    assert torch.allclose(ctx[0, 0], emb[0]) and torch.allclose(ctx[1, 0], emb[2])
    # id -1 (a scene not in the list) gets the mean of the class embeddings, as in mmseg
    assert torch.allclose(ctx[2, 0], bb.text_adapter(bb.text.embeddings[:3].mean(0)), atol=1e-6)
    with torch.no_grad():
        a = bb((IMG, torch.tensor([0, 0])))
        b = bb((IMG, torch.tensor([1, 1])))
    assert len(a) == 4 and not torch.allclose(a[0], b[0])
    with pytest.raises(ValueError, match='do not fit'):
        bb((IMG, torch.tensor([0, 3])))


def test_depth_estimator_passes_scene_ids(tiny_sd_dir):
    """mmseg's DepthEstimator gives the backbone ``(img, category_id)`` from the img metas."""
    from mmengine.registry import init_default_scope
    from mmseg.models.segmentors import DepthEstimator
    init_default_scope('mmseg')
    seen = []
    bb = DiffusionUNetBackbone(tiny_sd_dir, class_names=['kitchen', 'bedroom'],
                               context='image_class', attn_map_levels=())
    bb.text_context = lambda n, ids=None, texts=None: seen.append(ids) or torch.zeros(n, 1, 32)
    DepthEstimator.extract_feat(
        type('M', (), dict(backbone=bb, with_neck=False))(), IMG,
        [dict(category_id=1), dict(category_id=-1)])
    assert seen[0].tolist() == [1, -1]


def test_sentence_context_uses_each_sentences_tokens(tiny_sd_dir):
    # 40 tokens: VPD's referring neck widths (320, 680, 1320, 1280) = SD's + 40 map channels
    bb = DiffusionUNetBackbone(tiny_sd_dir, context='sentence', max_text_length=40,
                               attn_map_levels=(1, 2))
    # one attention-map channel per token position at the chosen levels
    assert bb.out_channels == (32, 64 + 40, 64 + 40, 64)
    texts = ['the red ball on the left', 'the person']
    with torch.no_grad():
        feats = bb(IMG, texts=texts)
        swapped = bb(IMG, texts=texts[::-1])
    assert [f.shape[1] for f in feats] == list(bb.out_channels)
    assert not torch.allclose(feats[1][0], swapped[1][0])  # the sentence conditions image 0
    maps = feats[1][:, 64:]  # softmax over the 40 tokens
    assert torch.allclose(maps.sum(1), torch.ones_like(maps[:, 0]), atol=1e-5)
    with pytest.raises(ValueError, match='one sentence per image'):
        bb(IMG)
    with pytest.warns(UserWarning, match='truncated'):
        bb(IMG, texts=['word ' * 40, 'short'])


def test_genpercept_latent_mode_is_one_deterministic_step(tiny_sd_dir):
    bb = DiffusionUNetBackbone(tiny_sd_dir, mode='genpercept', attn_map_levels=(),
                               outputs='latent')
    assert bb.timestep == 1 and bb.text_adapter is None  # Eq. 8, SD's empty prompt
    bb.eval()
    with torch.no_grad():
        (z, ), (z2, ) = bb(IMG), bb(IMG)
        latent = bb.encode_image(IMG)
        v = bb.unet(latent, torch.ones(2, dtype=torch.long),
                    encoder_hidden_states=bb.text_context(2)).sample
    assert torch.equal(z, z2)  # no noise anywhere
    assert torch.allclose(z, -v, atol=1e-6) and z.shape == latent.shape
    assert bb.out_channels == (bb.unet.config.out_channels, )
    # the UNet's output layers are trained in latent mode, the VAE and text encoder are not
    bb.train()
    bb(IMG)[0].square().mean().backward()
    assert bb.unet.conv_out.weight.grad is not None
    assert all(p.grad is None for p in bb.vae.parameters())


def test_genpercept_feature_mode(tiny_sd_dir):
    bb = DiffusionUNetBackbone(tiny_sd_dir, mode='genpercept', attn_map_levels=())
    feats = bb(IMG)
    assert [f.shape[1] for f in feats] == [32, 64, 64, 64] == list(bb.out_channels)
    assert bb.class_names is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(mode='vdp'), 'choose one of'),
    (dict(context='words', class_names=['a']), 'choose one of'),
    (dict(mode='genpercept'), 'attn_map_levels'),
    (dict(context='image_class', class_names=['a']), 'constant'),
    (dict(outputs='latent', class_names=['a']), "mode='genpercept'"),
    (dict(context='classes'), 'class_names is empty'),
])
def test_bad_option_combinations_are_explained(tmp_path, kwargs, match):
    # refused before any weights are read: the folder does not even exist
    with pytest.raises(ValueError, match=match):
        DiffusionUNetBackbone(str(tmp_path / 'no-weights'), **kwargs)


def test_class_count_must_match_the_head(tiny_sd_dir):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = dict(
        type='DiffusionEncoderDecoder',
        backbone=dict(type='DiffusionUNetBackbone', pretrained=tiny_sd_dir,
                      class_names=['wall', 'floor', 'person'], attn_map_levels=()),
        decode_head=dict(type='FPNHead', in_channels=[32, 64, 64, 64], in_index=[0, 1, 2, 3],
                         feature_strides=[4, 8, 16, 32], channels=16, num_classes=4))
    with pytest.raises(ValueError, match='3 class names but decode_head.num_classes is 4'):
        MODELS.build(cfg)
    cfg['decode_head']['num_classes'] = 3
    cfg['auxiliary_head'] = dict(type='FCNHead', in_channels=64, in_index=2, channels=8,
                                 num_classes=5)
    with pytest.raises(ValueError, match=r'auxiliary_head\[0\]\.num_classes is 5'):
        MODELS.build(cfg)
    del cfg['auxiliary_head']
    assert MODELS.build(cfg).decode_head.num_classes == 3


def test_feature_widths_must_match_the_neck_or_head(tiny_sd_dir):
    """A neck or head built for other widths is refused at build time, with the numbers."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    head = dict(type='FPNHead', in_channels=[16] * 4, in_index=[0, 1, 2, 3],
                feature_strides=[4, 8, 16, 32], channels=16, num_classes=3)
    cfg = dict(
        type='DiffusionEncoderDecoder',
        backbone=dict(type='DiffusionUNetBackbone', pretrained=tiny_sd_dir,
                      class_names=['wall', 'floor', 'person'], attn_map_levels=(1, 2)),
        neck=dict(type='FPN', in_channels=[32, 64, 64, 64], out_channels=16, num_outs=4),
        decode_head=head)
    with pytest.raises(ValueError, match=r'set model\.neck\.in_channels=\[32, 67, 67, 64\]'):
        MODELS.build(cfg)
    cfg['neck']['in_channels'] = [32, 67, 67, 64]
    assert MODELS.build(cfg).backbone.out_channels == (32, 67, 67, 64)
    del cfg['neck']  # no neck: the head's widths at its in_index
    cfg['decode_head'] = dict(head, in_channels=[32, 64], in_index=[0, 2], feature_strides=[4, 16])
    with pytest.raises(ValueError, match=r'set model\.decode_head\.in_channels=\[32, 67\]'):
        MODELS.build(cfg)
