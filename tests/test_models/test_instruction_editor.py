"""The InstructPix2Pix-style editor of InstructDiffusion, on the tiny diffusion model.

It must produce what diffusers' ``StableDiffusionInstructPix2PixPipeline`` produces on the same
weights, scheduler, generator and inputs; load an InstructPix2Pix folder as it is; keep SD's
output when it widens the UNet; and train only its UNet.
"""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmgeneralist.diffusion import load_unet
from mmgeneralist.models.editors import InstructionEditor

PROMPT = 'Please use red to encircle the left shoulder of the person'


@pytest.fixture(scope='module')
def pix2pix_dir(tiny_sd_dir, tmp_path_factory):
    """A tiny InstructPix2Pix pipeline folder (saved by diffusers), whose widened input
    convolution has random weights on the source channels, so that the image matters, and
    whose scheduler config, like the public timbrooks/instruct-pix2pix one, does not set
    ``timestep_spacing`` (Euler's default is 'linspace', DDPM's 'leading')."""
    import json

    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionInstructPix2PixPipeline
    editor = InstructionEditor(tiny_sd_dir)
    torch.manual_seed(0)
    torch.nn.init.normal_(editor.unet.conv_in.weight, std=0.05)
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012,
                                                beta_schedule='scaled_linear')
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=editor.vae, text_encoder=editor.text_encoder, tokenizer=editor.tokenizer,
        unet=editor.unet, scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    folder = tmp_path_factory.mktemp('tiny-pix2pix')
    pipe.save_pretrained(str(folder))
    path = folder / 'scheduler' / 'scheduler_config.json'
    config = json.loads(path.read_text())
    for key in ('timestep_spacing', 'steps_offset'):
        config.pop(key, None)
    path.write_text(json.dumps(config))
    return str(folder)


def _pipeline(folder, scheduler_name):
    import diffusers
    pipe = diffusers.StableDiffusionInstructPix2PixPipeline.from_pretrained(
        folder, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = getattr(diffusers, scheduler_name).from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(seed=0, size=32):
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('scheduler', ['EulerAncestralDiscreteScheduler', 'DDIMScheduler'])
def test_edit_matches_the_diffusers_pipeline(pix2pix_dir, scheduler):
    pipe = _pipeline(pix2pix_dir, scheduler)
    editor = InstructionEditor(pix2pix_dir, test_scheduler=dict(type=scheduler)).eval()
    assert editor.unet.config.in_channels == 2 * editor.vae.config.latent_channels
    assert editor.test_scheduler.config.timestep_spacing == pipe.scheduler.config.timestep_spacing
    image = _image()
    kwargs = dict(num_inference_steps=6, guidance_scale=7.5, image_guidance_scale=1.5)
    expected = pipe(PROMPT, image=image, generator=torch.Generator().manual_seed(0),
                    output_type='latent', **kwargs).images
    mine = editor.edit(image * 2 - 1, [PROMPT], generator=torch.Generator().manual_seed(0),
                       output_latents=True, **kwargs)
    torch.testing.assert_close(mine, expected, rtol=1e-4, atol=1e-5)
    # and the decoded image, in the pipeline's [0, 1] output range
    decoded = pipe(PROMPT, image=image, generator=torch.Generator().manual_seed(0),
                   output_type='pt', **kwargs).images
    edited = editor.edit(image * 2 - 1, [PROMPT], generator=torch.Generator().manual_seed(0),
                         **kwargs)
    torch.testing.assert_close((edited + 1) / 2, decoded, rtol=1e-4, atol=1e-4)
    # the guidance matters: another image guidance scale gives another result
    other = editor.edit(image * 2 - 1, [PROMPT], generator=torch.Generator().manual_seed(0),
                        output_latents=True, **dict(kwargs, image_guidance_scale=3.0))
    assert not torch.allclose(other, mine, atol=1e-4)


def test_unit_guidance_is_plain_conditional_sampling(pix2pix_dir):
    """With both scales 1 the three-branch formula is the conditional branch alone, which
    is what the pipeline runs at guidance_scale 1."""
    editor = InstructionEditor(pix2pix_dir, test_scheduler=dict(type='DDIMScheduler')).eval()
    image = _image(1) * 2 - 1
    plain = editor.edit(image, [PROMPT], generator=torch.Generator().manual_seed(0),
                        num_inference_steps=4, guidance_scale=1.0, image_guidance_scale=1.0,
                        output_latents=True)
    # by hand: DDIM with the conditional UNet only
    from diffusers import DDIMScheduler
    scheduler = DDIMScheduler.from_config(editor.test_scheduler.config)
    scheduler.set_timesteps(4)
    latents = torch.randn(plain.shape, generator=torch.Generator().manual_seed(0))
    text, source = editor.encode_text([PROMPT]), editor.source_latents(image)
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = editor.unet(torch.cat([latents, source], 1), t,
                              encoder_hidden_states=text).sample
            latents = scheduler.step(eps, t, latents).prev_sample
    torch.testing.assert_close(plain, latents, rtol=1e-4, atol=1e-5)


def test_widened_unet_keeps_the_pretrained_output(tiny_sd_dir):
    editor = InstructionEditor(tiny_sd_dir).eval()
    original = load_unet(tiny_sd_dir).eval()
    c = original.config.in_channels
    assert editor.unet.config.in_channels == 2 * c
    assert editor.unet.conv_in.weight[:, c:].abs().sum() == 0
    x, source = torch.randn(1, c, 8, 8), torch.randn(1, c, 8, 8)
    text = editor.encode_text([PROMPT])
    with torch.no_grad():
        torch.testing.assert_close(
            editor.unet(torch.cat([x, source], 1), 50, encoder_hidden_states=text).sample,
            original(x, 50, encoder_hidden_states=text).sample, rtol=1e-5, atol=1e-5)


def _sample(instruction=PROMPT, size=32):
    sample = SegDataSample(gt_image=PixelData(
        data=torch.randint(0, 256, (3, size, size), dtype=torch.uint8)))
    sample.set_metainfo(dict(instruction=instruction, img_path='a.png', ori_shape=(size, size)))
    return sample


def test_training_updates_only_the_unet(tiny_sd_dir):
    editor = InstructionEditor(tiny_sd_dir).train()
    assert not editor.vae.training and not editor.text_encoder.training
    losses = editor.loss(torch.rand(2, 3, 32, 32) * 2 - 1, [_sample(), _sample()])
    losses['loss_diffusion'].backward()
    assert editor.unet.conv_in.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in editor.vae.parameters())
    assert all(p.grad is None for p in editor.text_encoder.parameters())


def test_dropout_rates_follow_instructpix2pix(tiny_sd_dir):
    """5% text only, 5% image only, 5% both: count what the loss feeds the UNet."""
    editor = InstructionEditor(tiny_sd_dir).train()
    seen = []
    empty = editor.encode_text([''])[0]

    class Spy(torch.nn.Module):
        def forward(self, x, t, encoder_hidden_states):
            latent = editor.vae.config.latent_channels
            no_image = x[:, latent:].flatten(1).abs().sum(1) == 0
            no_text = (encoder_hidden_states - empty).flatten(1).abs().sum(1) == 0
            seen.append(torch.stack([no_text, no_image], 1))
            return type('Out', (), dict(sample=torch.zeros_like(x[:, :latent])))

    editor.unet = Spy()
    torch.manual_seed(0)
    samples = [_sample(size=8)] * 2000
    editor.loss(torch.rand(2000, 3, 8, 8) * 2 - 1, samples)
    flags = torch.cat(seen).float()
    text_only = (flags[:, 0] * (1 - flags[:, 1])).mean()
    image_only = ((1 - flags[:, 0]) * flags[:, 1]).mean()
    both = (flags[:, 0] * flags[:, 1]).mean()
    for rate in (text_only, image_only, both):
        assert abs(rate - 0.05) < 0.015, (text_only, image_only, both)


def test_predictions_are_seeded_images(tiny_sd_dir):
    editor = InstructionEditor(tiny_sd_dir, num_inference_steps=2).eval()
    inputs = torch.rand(2, 3, 32, 32) * 2 - 1
    first = editor.predict(inputs, [_sample(), _sample()])
    again = editor.predict(inputs, [_sample(), _sample()])
    assert first[0].pred_image.data.shape == (3, 32, 32)
    assert 0 <= first[0].pred_image.data.min() and first[0].pred_image.data.max() <= 255
    torch.testing.assert_close(first[0].pred_image.data, again[0].pred_image.data)


def test_bad_inputs(tiny_sd_dir):
    editor = InstructionEditor(tiny_sd_dir)
    with pytest.raises(ValueError, match='no instruction'):
        editor.loss(torch.rand(1, 3, 32, 32), [_sample(instruction='  ')])
    with pytest.raises(ValueError, match='sum to at most 1'):
        InstructionEditor(tiny_sd_dir, text_dropout=0.6, image_dropout=0.6)
    with pytest.raises(FileNotFoundError, match='make_tiny_diffusion'):
        InstructionEditor('/no/such/folder')


def test_residual_editor_that_changes_nothing_reconstructs_the_source(tiny_sd_dir):
    """``residual=True`` diffuses target - source: a UNet predicting no change (x0 = 0) gives
    back the source's own VAE reconstruction, whatever the noise."""
    editor = InstructionEditor(
        tiny_sd_dir, residual=True, test_scheduler=dict(type='DDIMScheduler'),
        noise_scheduler=dict(type='DDPMScheduler', prediction_type='sample')).eval()
    torch.nn.init.zeros_(editor.unet.conv_out.weight)
    torch.nn.init.zeros_(editor.unet.conv_out.bias)
    image = _image(2) * 2 - 1
    edited = editor.edit(image, [PROMPT], generator=torch.Generator().manual_seed(3),
                         num_inference_steps=3, guidance_scale=1.0, image_guidance_scale=1.0)
    with torch.no_grad():
        recon = editor.vae.decode(editor.source_latents(image)).sample.clamp(-1, 1)
    torch.testing.assert_close(edited, recon, rtol=1e-4, atol=1e-4)


def test_other_samplers_share_the_training_schedule(tiny_sd_dir, pix2pix_dir):
    """``build_sampler`` (what benchmark_samplers.py swaps in) builds any diffusers sampler on
    the config's training schedule and prediction type, or, when the config sets none, on the
    folder's scheduler config, as the model's own sampler is built."""
    editor = InstructionEditor(
        tiny_sd_dir, noise_scheduler=dict(type='DDPMScheduler', beta_schedule='linear',
                                          beta_start=1e-4, beta_end=0.02,
                                          prediction_type='sample'))
    assert type(editor.build_sampler()).__name__ == 'EulerAncestralDiscreteScheduler'
    sampler = editor.build_sampler(dict(type='DPMSolverMultistepScheduler'))
    assert type(sampler).__name__ == 'DPMSolverMultistepScheduler'
    for key in ('beta_schedule', 'beta_start', 'beta_end', 'prediction_type'):
        assert sampler.config[key] == editor.noise_scheduler.config[key], key
    folder = InstructionEditor(pix2pix_dir, test_scheduler=dict(type='DDIMScheduler'))
    again = folder.build_sampler(dict(type='DDIMScheduler'))
    assert dict(again.config) == dict(folder.test_scheduler.config)
    with pytest.raises(ValueError, match='unknown diffusers scheduler'):
        folder.build_sampler(dict(type='TurboScheduler'))
