"""tools/model_converters/vpd_to_mmgeneralist.py: VPD's released layouts load strictly.

For each layout, a tiny model of ours is written out under the released key names (the
UNet and VAE in the ldm layout by ``tests/ldm_layout.py``, an independent reading of it;
the heads under the released module names), converted back, and loaded with strict key
matching into a fresh model whose weights were all changed first: its outputs must then be
the original model's.
"""
import importlib.util
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import ROOT
from tests.ldm_layout import ldm_schedule_buffers, unet_to_ldm, vae_to_ldm

spec = importlib.util.spec_from_file_location(
    'vpd_to_mmgeneralist', osp.join(ROOT, 'tools/model_converters/vpd_to_mmgeneralist.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

TINY_WIDTHS = [32, 64, 64, 64]


def _tiny_depth_head(cfg):
    cfg.model.decode_head = dict(type='VPDDepthHead', in_channels=TINY_WIDTHS, embed_dim=8,
                                 feature_dim=64, num_deconv_filters=(8, 8, 8), max_depth=10.0)


#: kind -> (config, its scope, how to shrink its head to the tiny widths)
CASES = {
    'seg': ('configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py', None),
    'refer': ('configs/vpd/vpd_tiny-refer_1xb8-1k_synthetic-refcoco-64x64.py',
              lambda cfg: cfg.model.head.__setitem__('norm_cfg', dict(type='BN'))),  # LAVT's BN
    'depth': ('configs/vpd/vpd_sd15-vpdhead_4xb6-25k_nyu-480x480.py', _tiny_depth_head),
    'mmseg-depth': ('configs/vpd/vpd_sd15-vpdhead_4xb6-25k_nyu-480x480.py', _tiny_depth_head),
}


def _refer_name(key):
    """ReferringMaskHead -> LAVT's SimpleDecoding names."""
    m = re.match(r'head\.fuse\.(\d)\.(\d)\.(conv|bn)\.(.*)', key)
    if m:
        stage = {0: 4, 1: 3, 2: 2}[int(m[1])]
        return f'classifier.{m[3]}{int(m[2]) + 1}_{stage}.{m[4]}'
    return 'classifier.conv1_1.' + key[len('head.conv_seg.'):]


def released_layout(kind, model, sd_dir):
    """``model``'s weights under the released key names of ``kind``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    unet = UNet2DConditionModel.from_pretrained(f'{sd_dir}/unet')
    vae = AutoencoderKL.from_pretrained(f'{sd_dir}/vae')
    # ours, plus the output layers and the VAE decoder that our backbone drops
    unet.load_state_dict(model.backbone.unet.state_dict(), strict=False)
    vae.load_state_dict(model.backbone.vae.state_dict(), strict=False)
    pre = {'seg': '', 'refer': '', 'depth': 'encoder.', 'mmseg-depth': 'backbone.'}[kind]
    out = {}
    for key, value in unet_to_ldm(unet.state_dict(), unet.config).items():
        out[pre + 'unet.unet.' + key[len('model.'):]] = value
    if kind == 'depth':  # the released depth model deletes the UNet's output layers
        out = {k: v for k, v in out.items() if '.diffusion_model.out.' not in k}
    for key, value in vae_to_ldm(vae.state_dict(), vae.config).items():
        if '.decoder.' not in key:  # deleted in every released model; post_quant_conv kept
            out[pre + 'encoder_vq.' + key[len('first_stage_model.'):]] = value
    if kind == 'seg':
        out.update({f'sd_model.{k}': v for k, v in ldm_schedule_buffers().items()})
    state = model.state_dict()
    for key, value in state.items():
        if key.startswith('backbone.text.adapter.fc.'):
            out[pre + 'text_adapter.' + key[len('backbone.text.adapter.'):]] = value
        elif key == 'backbone.text.adapter.gamma':
            out[pre + 'gamma'] = value
        elif key == 'backbone.text.class_embeddings':
            out[pre + 'class_embeddings'] = (torch.cat([value, value.mean(0, keepdim=True)])
                                             if kind == 'mmseg-depth' else value)
        elif key.startswith('backbone.'):
            continue  # UNet and VAE above; the text encoder is not in released files
        elif kind == 'refer':
            out[_refer_name(key)] = value
        elif kind == 'depth':
            head = key[len('decode_head.'):]
            for ours, theirs in (('conv1.', 'encoder.layer1.'), ('conv2.', 'encoder.layer2.'),
                                 ('conv_aggregation.', 'encoder.out_layer.'),
                                 ('decoder.', 'decoder.'),
                                 ('depth_pred_layer.', 'last_layer_depth.')):
                if head.startswith(ours):
                    out[theirs + head[len(ours):]] = value
        else:
            out[key] = value
    return out


def build(path, sd_dir, shrink):
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS

    from mmgeneralist.registry import MODELS  # noqa: F401 (registers our modules)
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.model.backbone.pretrained = sd_dir
    if 'nyu' in path:  # the real config, at the tiny widths
        cfg.model.backbone.class_names = ['kitchen', 'bedroom', 'living_room']
        cfg.model.backbone.prompt_template = 'a photo of a {}'
    if shrink:
        shrink(cfg)
    init_default_scope(cfg.default_scope)
    registry = DET_MODELS if cfg.default_scope == 'mmdet' else SEG_MODELS
    return registry.build(cfg.model).eval()


def outputs(kind, model, img):
    with torch.no_grad():
        if kind == 'refer':
            return model.head(model.extract_feat(img, ['the red box']))
        if kind in ('depth', 'mmseg-depth'):
            return model.decode_head(model.backbone((img, torch.tensor([1]))))
        return model.decode_head(model.neck(model.backbone(img)))


@pytest.mark.parametrize('kind', list(CASES))
def test_released_layout_converts_and_loads_strictly(kind, tiny_sd_dir, tmp_path):
    path, shrink = CASES[kind]
    torch.manual_seed(0)
    model = build(path, tiny_sd_dir, shrink)
    with torch.no_grad():  # weights unlike a fresh model's anywhere
        model.backbone.text.adapter.gamma.fill_(0.3)
        for name, p in model.named_parameters():
            if not name.startswith('backbone.text.encoder.'):
                p.add_(0.01 * torch.randn_like(p))
    src = tmp_path / f'{kind}.pth'
    torch.save({'state_dict' if kind in ('seg', 'mmseg-depth') else 'model':
                released_layout(kind, model, tiny_sd_dir), 'meta': {}}, src)
    assert tool.detect_kind(tool.load_source(str(src))) == kind
    tool.main([str(src), str(tmp_path / 'out.pth'), '--sd', tiny_sd_dir])

    fresh = build(path, tiny_sd_dir, shrink)
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    state = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    fresh.load_state_dict(state, strict=True)
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    torch.testing.assert_close(outputs(kind, fresh, img), outputs(kind, model, img))


def test_wrong_files_get_clear_errors(tiny_sd_dir, tmp_path, capsys):
    torch.save({'state_dict': {'layer.weight': torch.zeros(1)}}, tmp_path / 'other.pth')
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'other.pth'), str(tmp_path / 'o.pth'), '--sd', tiny_sd_dir])
    assert "not a released VPD checkpoint" in capsys.readouterr().err
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'other.pth').read_bytes()[:50])
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'cut.pth'), str(tmp_path / 'o.pth'), '--sd', tiny_sd_dir])
    assert 'is the file complete?' in capsys.readouterr().err
    assert not (tmp_path / 'o.pth').exists()
