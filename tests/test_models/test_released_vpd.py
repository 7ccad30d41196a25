"""Our VPD backbone computes what VPD's released code computes, on the same tiny weights.

The reference below follows the released ``segmentation/models/vpd_seg.py`` and
``vpd/models.py`` step by step on a plain diffusers UNet, with forward hooks only: the VAE
posterior mode *unscaled*, t = 1, the class prompts' pooled [EOS] embeddings through the
text adapter, the features of ldm's ``output_blocks`` 1, 4 and 7 and the final decoder
output, and the head-averaged cross-attention maps of the down and up blocks at the 32 and
16 resolutions of a 512 px input (``max_attn_size`` = latent / 2), explicit softmax
attention, concatenated to the features of their size.
"""
import re

import pytest
import torch

from mmgeneralist.models import DiffusionUNetBackbone

NAMES = ['box', 'ball', 'tent']


@pytest.fixture(scope='module')
def sd_like_dir(tmp_path_factory):
    """A tiny SD with SD's layout where it matters here: two layers per down block (three
    per up block, so ldm's output blocks 1, 4, 7 are the middle ones) and SD-1's latent
    scaling 0.18215 (so feeding the latent unscaled is visible)."""
    from mmgeneralist.diffusion.tiny import save_tiny_stable_diffusion
    return save_tiny_stable_diffusion(str(tmp_path_factory.mktemp('tiny-sd-lpb2')), seed=1,
                                      layers_per_block=2, scaling_factor=0.18215)


def released_vpd_features(folder, adapter, img):
    """VPD's released forward, rebuilt on diffusers parts with hooks."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer
    unet = UNet2DConditionModel.from_pretrained(f'{folder}/unet').eval()
    vae = AutoencoderKL.from_pretrained(f'{folder}/vae').eval()
    text = CLIPTextModel.from_pretrained(f'{folder}/text_encoder').eval()
    tok = CLIPTokenizer.from_pretrained(f'{folder}/tokenizer')
    ids = tok([f'a photo of a {n}' for n in NAMES], padding='max_length',
              max_length=tok.model_max_length, return_tensors='pt').input_ids
    class_embeddings = text(input_ids=ids).pooler_output  # FrozenCLIPEmbedder(pool=True)
    context = adapter(class_embeddings).expand(img.shape[0], -1, -1)

    taps = {}  # ldm output block index -> output
    for i in (1, 4, 7):
        block = unet.up_blocks[i // 3]
        layer = block.attentions[i % 3] if hasattr(block, 'attentions') else block.resnets[i % 3]
        layer.register_forward_hook(
            lambda m, a, out, i=i: taps.__setitem__(i, out[0] if isinstance(out, tuple) else out))
    unet.up_blocks[3].register_forward_hook(lambda m, a, out: taps.__setitem__(11, out))

    maps = {}  # side -> list of (B, K, side, side)
    def attend(module, args, kwargs):  # noqa: E306 (the released ca_forward, explicit)
        x, ctx = args[0], kwargs['encoder_hidden_states']
        h = module.heads
        q, k = module.to_q(x), module.to_k(ctx)
        q, k = (t.unflatten(-1, (h, -1)).transpose(1, 2) for t in (q, k))
        attn = (q @ k.transpose(-1, -2) * module.scale).softmax(-1).mean(1)  # (B, HW, K)
        side = int(attn.shape[1]**0.5)
        maps.setdefault(side, []).append(attn.transpose(1, 2).unflatten(-1, (side, side)))
    latent_side = img.shape[-1] // 2**(len(vae.config.block_out_channels) - 1)
    for name, module in unet.named_modules():
        if name.endswith('attn2') and not name.startswith('mid_block'):  # up_cross+down_cross
            module.register_forward_pre_hook(attend, with_kwargs=True)

    latents = vae.encode(img).latent_dist.mode()  # no scaling_factor
    t = torch.ones(img.shape[0]).long()
    unet(latents, t, encoder_hidden_states=context)
    out = [taps[11], taps[7], taps[4], taps[1]]  # out_list[::-1]
    for level, side in ((1, latent_side // 2), (2, latent_side // 4)):  # <= max_attn_size
        out[level] = torch.cat([out[level], torch.stack(maps[side]).mean(0)], 1)
    return out


def test_backbone_matches_released_vpd(sd_like_dir):
    torch.manual_seed(0)
    backbone = DiffusionUNetBackbone(sd_like_dir, class_names=NAMES).eval()
    with torch.no_grad():  # a non-trivial adapter, so the reference must apply it right
        backbone.text.adapter.gamma.fill_(0.5)
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ours = backbone(img)
        ref = released_vpd_features(sd_like_dir, backbone.text.adapter, img)
    assert [tuple(f.shape) for f in ours] == [tuple(f.shape) for f in ref]
    for level, (a, b) in enumerate(zip(ours, ref)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=f'level {level}')
    # the paper's reading (t = 0, scaled latent, block ends) computes something else
    paper = DiffusionUNetBackbone(sd_like_dir, class_names=NAMES, timestep=0,
                                  scale_latent=True, taps='block_ends').eval()
    paper.load_state_dict(backbone.state_dict())
    with torch.no_grad():
        other = paper(img)
    assert all(not torch.allclose(a, b, atol=1e-3) for a, b in zip(ours, other))


def test_class_embeddings_are_saved_and_can_come_from_a_file(sd_like_dir, tmp_path):
    backbone = DiffusionUNetBackbone(sd_like_dir, class_names=NAMES)
    assert 'text.class_embeddings' in backbone.state_dict()
    released = torch.randn(3, backbone.text_encoder.config.hidden_size)
    torch.save(released, tmp_path / 'class_embeddings.pth')
    loaded = DiffusionUNetBackbone(sd_like_dir, class_names=NAMES,
                                   class_embeddings=str(tmp_path / 'class_embeddings.pth'))
    assert torch.equal(loaded.text.class_embeddings, released)
    torch.save(released[:2], tmp_path / 'two.pth')
    with pytest.raises(ValueError, match=r'holds \(2, 32\); expected a tensor of shape \(3, 32\)'):
        DiffusionUNetBackbone(sd_like_dir, class_names=NAMES,
                              class_embeddings=str(tmp_path / 'two.pth'))


def test_averaged_templates_and_spaced_names(sd_like_dir):
    """VPD's released NYU embeddings: names with spaces, averaged over templates."""
    from mmgeneralist.diffusion.text import encode_class_prompts
    templates = ['a photo of a {}', 'a {} here']
    bb = DiffusionUNetBackbone(sd_like_dir, class_names=['living_room', 'box'],
                               context='image_class', prompt_template=templates,
                               replace_underscores=True, attn_map_levels=())
    expect = torch.stack([
        encode_class_prompts(bb.text_encoder, bb.tokenizer, ['living room', 'box'], t)
        for t in templates
    ]).mean(0)
    torch.testing.assert_close(bb.text.class_embeddings, expect)
    with pytest.raises(ValueError, match='prompt_template must be a string with'):
        DiffusionUNetBackbone(sd_like_dir, class_names=['box'], prompt_template='no slot')


def test_genpercept_empty_prompt_padded_or_not(tiny_sd_dir):
    """GenPercept's v1 models: the 77-token empty prompt; its later ones: [BOS] [EOS]."""
    from mmgeneralist.diffusion.text import encode_sentences
    kw = dict(mode='genpercept', attn_map_levels=())
    padded = DiffusionUNetBackbone(tiny_sd_dir, **kw)
    short = DiffusionUNetBackbone(tiny_sd_dir, empty_prompt='unpadded', **kw)
    a, b = padded.text_context(2), short.text_context(2)
    assert a.shape[:2] == (2, 77) and b.shape[:2] == (2, 2)
    torch.testing.assert_close(b[0], encode_sentences(short.text_encoder, short.tokenizer,
                                                      [''], 2)[0])
    torch.testing.assert_close(b[0], a[0, :2])  # causal: the first two tokens agree
    with pytest.raises(ValueError, match="choose 'padded' or 'unpadded'"):
        DiffusionUNetBackbone(tiny_sd_dir, empty_prompt='short', **kw)


def test_a_released_unet_folder_replaces_the_pretrained_one(tiny_sd_dir, tmp_path):
    """GenPercept's released UNets are diffusers UNet folders: ``unet=FOLDER``."""
    from diffusers import UNet2DConditionModel
    unet = UNet2DConditionModel.from_pretrained(f'{tiny_sd_dir}/unet')
    with torch.no_grad():
        unet.conv_in.weight.mul_(-2.0)
    unet.save_pretrained(tmp_path / 'unet_depth_v1')
    kw = dict(mode='genpercept', attn_map_levels=(), outputs='latent')
    bb = DiffusionUNetBackbone(tiny_sd_dir, unet=str(tmp_path / 'unet_depth_v1'), **kw)
    assert torch.equal(bb.unet.conv_in.weight, unet.conv_in.weight)
    with pytest.raises(FileNotFoundError, match='neither a diffusers UNet folder'):
        DiffusionUNetBackbone(tiny_sd_dir, unet=str(tmp_path / 'nowhere'), **kw)


def test_ade20k_optimiser_groups_match_the_released_config(tiny_sd_dir):
    """The released config's 'norm' key (ldm names) on diffusers' names: no decay, full rate,
    for exactly the UNet's transformer norms; the rest of the UNet at 1/10 of the rate."""
    from mmengine.config import Config
    from mmengine.optim import DefaultOptimWrapperConstructor
    from torch import nn

    from tests.conftest import ROOT
    cfg = Config.fromfile(f'{ROOT}/configs/_base_/schedules/vpd_80k.py')

    class Model(nn.Module):  # the parameter names the configs' model has
        def __init__(self):
            super().__init__()
            self.backbone = DiffusionUNetBackbone(tiny_sd_dir, class_names=NAMES)

    model = Model()
    wrapper_cfg = cfg.optim_wrapper.copy()
    paramwise = wrapper_cfg.pop('paramwise_cfg')
    optim = DefaultOptimWrapperConstructor(wrapper_cfg, paramwise)(model).optimizer
    setting = {id(p): (g['lr'], g['weight_decay']) for g in optim.param_groups
               for p in g['params']}
    base_lr, wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    seen = set()
    for name, p in model.backbone.unet.named_parameters():
        transformer_norm = re.search(r'attentions\.\d+\.(norm|transformer_blocks\.0\.norm\d)\.',
                                     name)
        expect = (base_lr, 0.0) if transformer_norm else (base_lr * 0.1, wd)
        assert setting[id(p)] == pytest.approx(expect), name
        seen.add(bool(transformer_norm))
    assert seen == {True, False}
    # resnet norms keep their decay (no 'norm' in their ldm names: in_layers.0, out_layers.0)
    assert setting[id(model.backbone.unet.up_blocks[1].resnets[0].norm1.weight)][1] == wd
