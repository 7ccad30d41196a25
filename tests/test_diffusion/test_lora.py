"""LoRA through peft: only the adapters (and re-shaped parts) train, and they load back."""
import copy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import load_checkpoint, save_checkpoint
from mmengine.structures import PixelData

from mmgeneralist.diffusion.lora import add_lora, lora_parameter_names
from mmgeneralist.models import InstructionEditor
from mmgeneralist.utils.random_models import build_model, synthetic_samples

from ..conftest import TINY_VPD_CONFIG
from ..test_models.test_pixel_generalist import _model as build_generalist

pytest.importorskip('peft')


def _vpd(tiny_sd_dir, lora):
    cfg = Config.fromfile(TINY_VPD_CONFIG)
    cfg.model.backbone.lora = lora
    torch.manual_seed(0)
    return build_model(cfg, tiny_sd_dir, random=False)


def _trainable(module):
    return {n for n, p in module.named_parameters() if p.requires_grad}


def test_adapters_start_as_the_pretrained_function(tiny_sd_dir):
    plain, lora = _vpd(tiny_sd_dir, None).eval(), _vpd(tiny_sd_dir, dict(r=4)).eval()
    unet = lora.backbone.unet
    names = lora_parameter_names(unet)
    assert names and _trainable(unet) == set(names)  # the UNet's own weights are frozen
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():  # B = 0 at the start: the same features as without adapters
        for a, b in zip(plain.backbone(img), lora.backbone(img)):
            torch.testing.assert_close(a, b)


def test_training_changes_only_adapters_and_the_checkpoint_loads_back(tiny_sd_dir, tmp_path):
    model = _vpd(tiny_sd_dir, dict(r=4)).train()
    unet = model.backbone.unet
    frozen = {n: p.detach().clone() for n, p in unet.named_parameters() if not p.requires_grad}
    before = {n: p.detach().clone() for n, p in unet.named_parameters() if p.requires_grad}
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    samples = synthetic_samples(model, 2, (64, 64))
    for sample in samples:
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, 64, 64)))
    optim = OptimWrapper(torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                           lr=1e-2))
    for _ in range(3):
        model.train_step(dict(inputs=images, data_samples=copy.deepcopy(samples)), optim)
    after = dict(unet.named_parameters())
    assert all(torch.equal(frozen[n], after[n]) for n in frozen)
    assert any(not torch.equal(before[n], after[n]) for n in before)
    save_checkpoint(model.state_dict(), str(tmp_path / 'lora.pth'))
    fresh = _vpd(tiny_sd_dir, dict(r=4)).eval()
    load_checkpoint(fresh, str(tmp_path / 'lora.pth'), strict=True)
    model.eval()
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        for a, b in zip(model.backbone(img), fresh.backbone(img)):
            torch.testing.assert_close(a, b)


def test_reshaped_parts_stay_trainable(tiny_sd_dir):
    editor = InstructionEditor(tiny_sd_dir, lora=dict(r=4))
    trainable = _trainable(editor.unet)
    assert {'conv_in.weight', 'conv_in.bias'} <= trainable
    assert trainable - {'conv_in.weight', 'conv_in.bias'} == set(
        lora_parameter_names(editor.unet))
    generalist = build_generalist(tiny_sd_dir, lora=dict(r=4))
    trainable = _trainable(generalist.unet)
    assert {'conv_in.weight', 'conv_out.weight', 'conv_out.bias'} <= trainable
    assert not any('to_q.base_layer' in n for n in trainable)
    assert _trainable(generalist.image_encoder)  # the condition's encoder still trains


def test_missing_peft_says_what_to_install(tiny_sd_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, 'peft', None)
    editor = InstructionEditor(tiny_sd_dir)
    with pytest.raises(ImportError, match='pip install peft'):
        add_lora(editor.unet, dict(r=4))
