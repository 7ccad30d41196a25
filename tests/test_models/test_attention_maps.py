"""Cross-attention maps: shapes, provenance (softmax over the class tokens), fast path kept."""
import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from mmgeneralist.diffusion import CrossAttentionMapProcessor
from mmgeneralist.diffusion.attention import processor_level
from mmgeneralist.models import DiffusionUNetBackbone

CLASSES = ['box', 'ball', 'tent', 'flower']


def build(tiny_sd_dir, **kwargs):
    torch.manual_seed(0)  # the text adapter's MLP is randomly initialised
    return DiffusionUNetBackbone(tiny_sd_dir, class_names=kwargs.pop('classes', CLASSES),
                                 **kwargs)


@pytest.fixture(scope='module')
def img():
    torch.manual_seed(1)
    return torch.rand(2, 3, 64, 96) * 2 - 1


def test_map_shapes_and_widths(tiny_sd_dir, img):
    bb = build(tiny_sd_dir, attn_map_levels=(0, 1, 2))
    feats = bb(img)
    k = len(CLASSES)
    assert bb.out_channels == (32 + k, 64 + k, 64 + k, 64)
    for feat, ch, stride in zip(feats, bb.out_channels, bb.strides):
        assert feat.shape == (2, ch, 64 // stride, 96 // stride)
    for level in (0, 1, 2):
        maps = feats[level][:, -k:]
        # a softmax over the K class tokens, averaged over heads and layers: sums to one
        torch.testing.assert_close(maps.sum(1), torch.ones_like(maps[:, 0]))
        assert maps.min() >= 0


def test_only_requested_cross_attention_layers_change_processor(tiny_sd_dir):
    bb = build(tiny_sd_dir, attn_map_levels=(1, ))
    procs = bb.unet.attn_processors
    capturing = {n for n, p in procs.items() if isinstance(p, CrossAttentionMapProcessor)}
    assert capturing and all(n.endswith('attn2.processor') for n in capturing)
    assert all(processor_level(n, 4) == 1 for n in capturing)
    # everything else keeps diffusers' fused SDPA processor
    assert all(isinstance(p, AttnProcessor2_0) for n, p in procs.items() if n not in capturing)


def test_maps_leave_the_unet_features_unchanged(tiny_sd_dir, img):
    with torch.no_grad():
        with_maps = build(tiny_sd_dir, attn_map_levels=(0, 1, 2))(img)
        without = build(tiny_sd_dir, attn_map_levels=())(img)
    for a, b in zip(with_maps, without):
        torch.testing.assert_close(a[:, :b.shape[1]], b, rtol=1e-5, atol=1e-5)


def test_maps_equal_an_explicit_attention_computation(tiny_sd_dir, img):
    """The captured map of one layer equals softmax(q k^T / sqrt(d)) computed by hand."""
    bb = build(tiny_sd_dir, attn_map_levels=(0, ))
    attn = bb.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn2
    seen = {}

    def keep_inputs(module, args, kwargs):
        seen['hidden'] = args[0]
        seen['context'] = kwargs['encoder_hidden_states']

    handle = attn.register_forward_pre_hook(keep_inputs, with_kwargs=True)
    with torch.no_grad():
        bb(img)
        handle.remove()
        bb.attn_maps.reset()
        hidden, context = seen['hidden'], seen['context']
        q = attn.to_q(hidden).unflatten(-1, (attn.heads, -1)).transpose(1, 2)
        k = attn.to_k(context).unflatten(-1, (attn.heads, -1)).transpose(1, 2)
        expected = (q @ k.transpose(-1, -2) * q.shape[-1]**-0.5).softmax(-1).mean(1)
        got = CrossAttentionMapProcessor.attention_map(attn, hidden, context)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_renaming_a_class_changes_its_own_channel_most(tiny_sd_dir, img):
    k = len(CLASSES)
    with torch.no_grad():
        a = build(tiny_sd_dir, attn_map_levels=(0, ))(img)[0][:, -k:]
        b = build(tiny_sd_dir, attn_map_levels=(0, ),
                  classes=['sailing boat'] + CLASSES[1:])(img)[0][:, -k:]
    change = (a - b).abs().mean(dim=(0, 2, 3))
    assert change[0] > 0 and change[0] == change.max()


def test_maps_carry_gradients_to_the_text_adapter(tiny_sd_dir, img):
    bb = build(tiny_sd_dir, attn_map_levels=(0, ))
    bb(img)[0][:, -len(CLASSES):].pow(2).sum().backward()
    assert bb.text_adapter.gamma.grad is not None and bb.text_adapter.gamma.grad.abs().sum() > 0


def test_bad_levels_are_refused(tiny_sd_dir):
    with pytest.raises(ValueError, match='must lie in 0..3'):
        build(tiny_sd_dir, attn_map_levels=(4, ))

def test_lowest_level_maps_come_from_the_mid_block(tiny_sd_dir, img):
    bb = build(tiny_sd_dir, attn_map_levels=(3, ))
    capturing = [n for n, p in bb.unet.attn_processors.items()
                 if isinstance(p, CrossAttentionMapProcessor)]
    assert capturing and all(n.startswith('mid_block.') for n in capturing)
    assert bb(img)[3].shape[1] == 64 + len(CLASSES)
