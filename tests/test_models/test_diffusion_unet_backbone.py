"""The VPD-style backbone: real loading path, features, frozen parts, clear errors."""
import pytest
import torch

from mmgeneralist.models import DiffusionUNetBackbone


@pytest.fixture(scope='module')
def backbone(tiny_sd_dir):
    return DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball', 'tent'])


def test_loaded_weights_equal_saved(tiny_sd_dir, backbone):
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file
    saved = load_file(f'{tiny_sd_dir}/unet/diffusion_pytorch_model.safetensors')
    loaded = backbone.unet.state_dict()
    # the output layers, which the features never reach, are dropped (as VPD's released
    # code deletes them); every other weight is the saved one
    unused = {k for k in saved if k.startswith(('conv_out.', 'conv_norm_out.'))}
    assert unused and saved.keys() - unused == loaded.keys()
    for key in loaded:
        assert torch.equal(saved[key], loaded[key]), key
    assert isinstance(backbone.unet, UNet2DConditionModel)
    assert backbone.vae.decoder is None and backbone.vae.encoder is not None


def test_features_shapes_and_strides(backbone):
    img = torch.rand(2, 3, 64, 96) * 2 - 1
    feats = backbone(img)
    assert len(feats) == 4
    assert backbone.strides == (4, 8, 16, 32)  # tiny VAE downsamples 4x
    for feat, ch, stride in zip(feats, backbone.out_channels, backbone.strides):
        assert feat.shape == (2, ch, 64 // stride, 96 // stride)


def test_frozen_parts_and_trainable_parts(backbone):
    assert not any(p.requires_grad for p in backbone.vae.parameters())
    assert not any(p.requires_grad for p in backbone.text_encoder.parameters())
    backbone.train()
    assert not backbone.vae.training and not backbone.text_encoder.training
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    sum(f.float().mean() for f in backbone(img)).backward()
    assert backbone.text_adapter.gamma.grad is not None
    assert backbone.unet.up_blocks[0].resnets[0].conv1.weight.grad is not None
    # every trainable parameter received a gradient (DDP needs no find_unused_parameters)
    unused = [n for n, p in backbone.named_parameters() if p.requires_grad and p.grad is None]
    assert unused == []
    backbone.zero_grad()


def test_class_names_condition_the_features(tiny_sd_dir, backbone):
    other = DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball', 'plate'])
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        a, b = backbone(img), other(img)
    assert not torch.allclose(a[0], b[0])
    assert backbone.text.embeddings.shape == (3, backbone.text_encoder.config.hidden_size)


def test_adapter_starts_near_identity(backbone):
    emb = torch.randn(3, backbone.text_encoder.config.hidden_size)
    assert torch.allclose(backbone.text_adapter(emb), emb, atol=1e-2)
    assert torch.allclose(backbone.text_adapter.gamma, torch.full_like(emb[0], 1e-4))


def test_missing_folder_says_how_to_provide_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist.*huggingface-cli download'):
        DiffusionUNetBackbone(str(tmp_path / 'nowhere'), class_names=['a'])


def test_incomplete_folder_names_missing_parts(tmp_path):
    (tmp_path / 'unet').mkdir()
    with pytest.raises(FileNotFoundError, match=r"\['vae', 'text_encoder', 'tokenizer'\]"):
        DiffusionUNetBackbone(str(tmp_path), class_names=['a'])


def test_empty_class_list_is_refused(tiny_sd_dir):
    with pytest.raises(ValueError, match='class_names is empty'):
        DiffusionUNetBackbone(tiny_sd_dir, class_names=[])


def test_long_prompt_is_truncated_with_warning(tiny_sd_dir):
    # the class embeddings are made when the model is built
    with pytest.warns(UserWarning, match='truncated'):
        bb = DiffusionUNetBackbone(tiny_sd_dir, class_names=['x' * 200, 'y'])
    assert bb(torch.zeros(1, 3, 64, 64))[0].isfinite().all()


def test_class_names_from_a_dataset_type(tiny_sd_dir):
    from mmengine.registry import init_default_scope
    from mmseg.datasets import ADE20KDataset
    init_default_scope('mmseg')
    bb = DiffusionUNetBackbone(tiny_sd_dir, class_names='ADE20KDataset')
    assert bb.class_names == ADE20KDataset.METAINFO['classes'] and len(bb.class_names) == 150
    with pytest.raises(ValueError, match='neither a list of class names'):
        DiffusionUNetBackbone(tiny_sd_dir, class_names='NoSuchDataset')


def test_bf16_autocast_and_gradient_checkpointing_run(tiny_sd_dir):
    torch.manual_seed(0)
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    plain = DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball'])
    torch.manual_seed(0)
    fast = DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball'],
                                 autocast_dtype='bfloat16', gradient_checkpointing=True)
    assert fast.unet.is_gradient_checkpointing
    seen = []
    fast.unet.up_blocks[1].resnets[0].register_forward_hook(
        lambda m, a, out: seen.append(out.dtype))
    out_fast, out_plain = fast(img), plain(img)
    assert seen[0] == torch.bfloat16  # the UNet really ran in bf16 ...
    for a, b in zip(out_fast, out_plain):
        assert a.dtype == torch.float32  # ... and the head gets float32
        assert torch.allclose(a, b, rtol=0.1, atol=0.1)
    sum(f.mean() for f in out_fast).backward()  # checkpointed backward runs
    assert fast.unet.up_blocks[0].resnets[0].conv1.weight.grad is not None
    with pytest.raises(ValueError, match='not a torch dtype'):
        DiffusionUNetBackbone(tiny_sd_dir, class_names=['a'], autocast_dtype='bf17')


def test_vae_encoder_in_bf16(tiny_sd_dir, tmp_path):
    """``vae_dtype``: the frozen encoder's weights and its run in bf16, the UNet and its
    latent in float32; the latent close to float32's; the checkpoint loads back."""
    torch.manual_seed(0)
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    plain = DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball'])
    half = DiffusionUNetBackbone(tiny_sd_dir, class_names=['box', 'ball'], vae_dtype='bfloat16')
    assert {p.dtype for p in half.vae.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in half.unet.parameters()} == {torch.float32}
    ran = []
    half.vae.encoder.conv_in.register_forward_hook(lambda m, a, out: ran.append(out.dtype))
    z, z32 = half.encode_image(img), plain.encode_image(img)
    assert ran == [torch.bfloat16] and z.dtype == torch.float32
    assert (z - z32).norm() / z32.norm() < 0.02  # bf16 keeps about 3 significant digits
    out = half(img)
    assert all(f.dtype == torch.float32 for f in out)
    sum(f.mean() for f in out).backward()  # the UNet trains as before
    torch.save(half.state_dict(), tmp_path / 'half.pth')
    plain.load_state_dict(torch.load(tmp_path / 'half.pth'))  # bf16 weights into fp32 ones
    with pytest.raises(ValueError, match='vae_dtype=.*not a torch dtype'):
        DiffusionUNetBackbone(tiny_sd_dir, class_names=['a'], vae_dtype='half16')
