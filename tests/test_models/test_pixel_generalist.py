"""The pixel-space diffusion generalist (Fan et al.) on the tiny diffusion model.

What it keeps of the pretrained UNet, what removing the outermost self-attention does, the
loss, seeded and batch-independent sampling, panoptic merging into mmdet's format, and the
errors for data it cannot handle. Learning is tested in
tests/test_tools/test_pixel_generalist_learning.py.
"""
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmgeneralist.diffusion import load_unet
from mmgeneralist.diffusion.unet_surgery import (
    outermost_self_attention_names,
    remove_outermost_self_attention,
    reshape_unet_io,
)
from mmgeneralist.models.segmentors.pixel_generalist import PixelDiffusionGeneralist

TASKS = dict(
    semantic=dict(instruction='Performance semantic segmentation',
                  codec=dict(type='PainterClassCodec', num_classes=7)),
    depth=dict(instruction='Performance depth estimation',
               codec=dict(type='QuantizedDepthCodec', max_depth=10.0)),
    panoptic=dict(instruction='Performance panoptic semantic segmentation',
                  codec=dict(type='PainterClassCodec', num_classes=7),
                  instance_instruction='Performance instance segmentation',
                  instance_codec=dict(type='InstanceColorCodec', max_instances=4),
                  num_things=5),
    lowlight=dict(instruction='Performance image restoration light enhancement',
                  codec=dict(type='ImageCodec')))
TINY_CONVNEXT = dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 8, 8, 8]),
                     out_indices=(0, 1, 2, 3), gap_before_final_norm=False)


def _model(sd_dir, **kwargs):
    torch.manual_seed(0)
    args = dict(pretrained=sd_dir, tasks=TASKS, image_encoder=TINY_CONVNEXT,
                target_size=(16, 16), num_inference_steps=3,
                data_preprocessor=dict(type='ImgDataPreprocessor'))
    args.update(kwargs)
    return PixelDiffusionGeneralist(**args).eval()


def _samples(size=32):
    """One sample of each task, as the data sets' Pack transforms give them."""
    g = torch.Generator().manual_seed(0)
    out = []
    sem = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 7, (1, size, size),
                                                                 generator=g)))
    depth = SegDataSample(gt_depth_map=PixelData(data=torch.rand(1, size, size, generator=g) * 9))
    pan = SegDataSample(gt_sem_seg=PixelData(sem_seg=torch.full((1, size, size), 5)))
    masks = torch.zeros(2, size, size, dtype=torch.bool)
    masks[0, :8, :8] = masks[1, 16:, 16:] = True
    pan.gt_instances = InstanceData(masks=masks, labels=torch.tensor([0, 1]))
    restore = SegDataSample(gt_image=PixelData(data=torch.randint(0, 256, (3, size, size),
                                                                   dtype=torch.uint8,
                                                                   generator=g)))
    for task, s in zip(('semantic', 'depth', 'panoptic', 'lowlight'), (sem, depth, pan, restore)):
        s.set_metainfo(dict(task=task, img_path=f'{task}.png', ori_shape=(size, size)))
        out.append(s)
    inputs = torch.rand(len(out), 3, size, size, generator=g)
    return inputs, out


def test_reshaped_unet_keeps_the_pretrained_weights(tiny_sd_dir, tmp_path):
    original = load_unet(tiny_sd_dir).eval()
    reshaped = reshape_unet_io(load_unet(tiny_sd_dir), in_channels=3 + 6, out_channels=3,
                               keep_in_channels=3).eval()
    old_in = original.config.in_channels
    x, feats = torch.randn(1, 3, 16, 16), torch.randn(1, 6, 16, 16)
    context = torch.randn(1, 4, original.config.cross_attention_dim)
    with torch.no_grad():
        before = original(torch.cat([x, torch.zeros(1, old_in - 3, 16, 16)], 1), 10,
                          encoder_hidden_states=context).sample
        after = reshaped(torch.cat([x, feats], 1), 10, encoder_hidden_states=context).sample
    # the kept input channels and output channels compute what they computed before; the
    # image-feature channels start at zero weight
    torch.testing.assert_close(after, before[:, :3], rtol=1e-5, atol=1e-5)
    assert reshaped.conv_in.weight[:, 3:].abs().sum() == 0
    # the re-shaped UNet saves and loads back through from_pretrained with its new widths
    reshaped.save_pretrained(tmp_path / 'unet')
    from diffusers import UNet2DConditionModel
    loaded = UNet2DConditionModel.from_pretrained(tmp_path / 'unet').eval()
    assert (loaded.config.in_channels, loaded.config.out_channels) == (9, 3)
    with torch.no_grad():
        again = loaded(torch.cat([x, feats], 1), 10, encoder_hidden_states=context).sample
    torch.testing.assert_close(again, after)


def test_removing_outermost_self_attention_is_zeroing_those_layers(tiny_sd_dir):
    unet = load_unet(tiny_sd_dir).eval()
    names = outermost_self_attention_names(unet)
    assert names and all('.attn1.' in n for n in names)
    assert all(n.startswith(('down_blocks.0.', f'up_blocks.{len(unet.up_blocks) - 1}.'))
               for n in names)
    x = torch.randn(1, unet.config.in_channels, 16, 16)
    context = torch.randn(1, 4, unet.config.cross_attention_dim)
    with torch.no_grad():
        full = unet(x, 10, encoder_hidden_states=context).sample
        assert remove_outermost_self_attention(unet) == names
        removed = unet(x, 10, encoder_hidden_states=context).sample
    # independently: the same layers with zero output projections
    reference = load_unet(tiny_sd_dir).eval()
    for name in names:
        module = reference.get_submodule(name.rsplit('.processor', 1)[0])
        torch.nn.init.zeros_(module.to_out[0].weight)
        torch.nn.init.zeros_(module.to_out[0].bias)
    with torch.no_grad():
        expected = reference(x, 10, encoder_hidden_states=context).sample
    torch.testing.assert_close(removed, expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(removed, full, atol=1e-4)


def test_loss_trains_unet_and_encoder_not_text(tiny_sd_dir):
    model = _model(tiny_sd_dir).train()
    inputs, samples = _samples()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_diffusion', 'mse_semantic', 'mse_depth', 'mse_panoptic',
                           'mse_lowlight'}
    losses['loss_diffusion'].backward()
    # the feature inputs start at zero weight: they get a gradient, the encoder does not yet
    assert model.unet.conv_in.weight.grad[:, 3:].abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.image_encoder.parameters())
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    model.loss(inputs, samples)['loss_diffusion'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.image_encoder.parameters())
    assert all(p.grad is None for p in model.text.encoder.parameters())
    # every trainable parameter takes part (DDP without find_unused_parameters needs it):
    # the removed self-attention layers are frozen
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, unused[:5]
    assert model.removed_self_attention
    assert not model.text.encoder.training  # frozen, no dropout


def test_an_image_without_instances_trains(tiny_sd_dir):
    model = _model(tiny_sd_dir).train()
    inputs, samples = _samples()
    samples[2].gt_instances = InstanceData(masks=torch.zeros(0, 32, 32, dtype=torch.bool),
                                           labels=torch.zeros(0, dtype=torch.long))
    torch.manual_seed(1)  # whichever pass is drawn, the loss is finite
    for _ in range(4):
        assert torch.isfinite(model.loss(inputs[2:3], samples[2:3])['loss_diffusion'])


def test_restoration_targets_are_resized_smoothly(tiny_sd_dir):
    """A uint8 target of 1-px stripes becomes mid-grey at half size, not every other row."""
    model = _model(tiny_sd_dir)
    sample = SegDataSample(gt_image=PixelData(
        data=(torch.arange(32)[:, None].expand(32, 32) % 2 * 255).to(torch.uint8).expand(
            3, 32, 32)))
    rgb, weights = model._target(model.tasks['lowlight'].passes[0].codec, sample)
    assert rgb.shape == (1, 3, 16, 16)
    # grey inside (the antialiasing filter leans on the border rows), never black or white
    torch.testing.assert_close(rgb[..., 1:-1, :], torch.zeros(1, 3, 14, 16), atol=0.02, rtol=0)
    assert rgb.abs().max() < 0.2


def test_ignored_pixels_do_not_count(tiny_sd_dir):
    """A sample whose labels are all ignored contributes zero loss."""
    model = _model(tiny_sd_dir).train()
    inputs, samples = _samples()
    samples[0].gt_sem_seg = PixelData(data=torch.full((1, 32, 32), 255))
    losses = model.loss(inputs[:1], samples[:1])
    assert losses['loss_diffusion'].item() == 0


def test_predictions_are_seeded_and_independent_of_batching(tiny_sd_dir):
    model = _model(tiny_sd_dir)
    inputs, samples = _samples()
    first = model.predict(inputs, _samples()[1])
    second = model.predict(inputs, _samples()[1])
    # reversed batch: each sample's noise depends on its own path, not its position
    reversed_ = model.predict(inputs.flip(0), _samples()[1][::-1])[::-1]
    for a, b, c in zip(first, second, reversed_):
        for field in ('pred_sem_seg', 'pred_depth_map', 'pred_image', 'pred_panoptic_seg'):
            if field in a:
                for key in a.get(field).keys():
                    torch.testing.assert_close(a.get(field).get(key), b.get(field).get(key))
                    torch.testing.assert_close(a.get(field).get(key), c.get(field).get(key),
                                               rtol=1e-4, atol=1e-4)
    other = _model(tiny_sd_dir, seed=1).predict(inputs, _samples()[1])
    assert not torch.equal(other[3].pred_image.data, first[3].pred_image.data)


def test_predictions_land_in_the_upstream_fields(tiny_sd_dir):
    model = _model(tiny_sd_dir)
    inputs, samples = _samples()
    sem, depth, pan, restore = model.predict(inputs, samples)
    assert sem.pred_sem_seg.data.shape == (1, 32, 32)
    assert sem.pred_sem_seg.data.max() < 7
    assert depth.pred_depth_map.data.shape == (1, 32, 32)
    assert 1e-3 <= depth.pred_depth_map.data.min() and depth.pred_depth_map.data.max() <= 10
    assert restore.pred_image.data.shape == (3, 32, 32)
    pan_ids = pan.pred_panoptic_seg.sem_seg
    assert pan_ids.shape == (1, 32, 32)
    labels = pan_ids % 1000
    # things 0-4 only with an instance id; stuff 5-6 only without; 7 = void
    assert bool(((labels <= 7)).all())
    assert bool((pan_ids[labels >= 5] < 1000).all())


def test_sampler_keeps_the_training_schedule_and_its_own_options(tiny_sd_dir):
    model = _model(tiny_sd_dir, signal_scale=0.3,
                   test_scheduler=dict(type='DDIMScheduler', timestep_spacing='trailing'))
    sampler, train = model.test_scheduler.config, model.noise_scheduler.config
    assert type(model.test_scheduler).__name__ == 'DDIMScheduler'
    # diffusers' from_config resets keys listed in a config's _use_default_values: the
    # options given here must survive it
    assert (sampler.clip_sample, sampler.clip_sample_range) == (True, 0.3)
    assert sampler.timestep_spacing == 'trailing'
    assert (sampler.beta_schedule, sampler.beta_start, sampler.beta_end) == (
        train.beta_schedule, train.beta_start, train.beta_end) == ('scaled_linear', 0.00085,
                                                                   0.012)
    # the config may turn the clipping off
    unclipped = model.build_sampler(dict(type='DDIMScheduler', clip_sample=False))
    assert unclipped.config.clip_sample is False


def test_direct_concatenation_and_other_samplers(tiny_sd_dir):
    model = _model(tiny_sd_dir, image_encoder=None, conditioning='image',
                   test_scheduler=dict(type='DPMSolverMultistepScheduler'))
    assert model.unet.conv_in.in_channels == 6  # RGB target + RGB image
    inputs, samples = _samples()
    out = model.predict(inputs[:1], samples[:1])
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    with pytest.raises(ValueError, match='unknown diffusers scheduler'):
        _model(tiny_sd_dir, test_scheduler=dict(type='NoSuchScheduler'))


def test_bad_inputs_get_clear_errors(tiny_sd_dir):
    model = _model(tiny_sd_dir).train()
    inputs, samples = _samples()
    samples[0].set_metainfo(dict(task='optical_flow'))
    with pytest.raises(ValueError, match="task 'optical_flow'.*semantic"):
        model.loss(inputs, samples)
    inputs, samples = _samples()
    samples[0].gt_sem_seg = PixelData(data=torch.full((1, 32, 32), 9))  # 7 classes
    with pytest.raises(ValueError, match=r"'semantic', semantic.png: .*\[9\]"):
        model.loss(inputs[:1], samples[:1])
    with pytest.raises(ValueError, match="unknown: \\['Performance optical flow'\\]"):
        model.text(1, texts=['Performance optical flow'])
    with pytest.raises(ValueError, match='instruction'):
        _model(tiny_sd_dir, tasks=dict(semantic=dict(TASKS['semantic'], instruction=' ')))
    with pytest.raises(ValueError, match='instance_codec and num_things'):
        _model(tiny_sd_dir, tasks=dict(panoptic=dict(TASKS['semantic'],
                                                     instance_instruction='Instances')))
    with pytest.raises(ValueError, match='image_encoder'):
        _model(tiny_sd_dir, image_encoder=None)
    with pytest.raises(FileNotFoundError, match='make_tiny_diffusion'):
        _model('/no/such/folder')
