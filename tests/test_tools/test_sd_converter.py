"""tools/model_converters/sd_to_diffusers.py: Stable Diffusion single files -> diffusers.

No released file can be downloaded here, so the tests write tiny ones: a tiny SD-1 folder
(HF CLIP, 1x1-convolution projections, one layer per block) and a tiny SD-2-style folder
(OpenCLIP text layout with one unused last layer, linear projections, two layers per block)
are put into the original single-file layout by :mod:`tests.ldm_layout`, saved as
``.safetensors`` and ``.ckpt``, converted by the tool's ``main`` in this process, and
loaded back through ``mmgeneralist.diffusion.loading``: every weight must come back under
its own name and the UNet, VAE and text encoder must compute what the originals compute.
"""
import os
import os.path as osp

import pytest
import safetensors.torch
import torch

from mmgeneralist.diffusion.loading import load_text_encoder, load_unet, load_vae

from ..conftest import run_tool
from ..ldm_layout import (
    CLIP_PREFIX,
    OPEN_CLIP_PREFIX,
    UNET_PREFIX,
    clip_to_ldm,
    open_clip_to_ldm,
    sd_folder_to_ldm,
    unet_to_ldm,
    vae_to_ldm,
)
from .test_cli_errors import assert_one_error_line, load_tool

TOOL = 'tools/model_converters/sd_to_diffusers.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


@pytest.fixture(autouse=True)
def _no_traceback_env(monkeypatch):
    monkeypatch.delenv('MMGEN_TRACEBACK', raising=False)


@pytest.fixture(scope='module')
def tiny_sd2_dir(tmp_path_factory, tiny_sd_dir):
    """A tiny SD-2-style folder: linear projections in the transformer blocks, per-level
    head widths, two layers per block, a GELU text encoder, and no tokenizer/ (the tests
    pass ``--tokenizer``)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    out = tmp_path_factory.mktemp('tiny-sd2')
    tokenizer = CLIPTokenizer.from_pretrained(osp.join(tiny_sd_dir, 'tokenizer'))
    torch.manual_seed(1)
    UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(32, 64), down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), cross_attention_dim=32,
        attention_head_dim=(4, 8), use_linear_projection=True, upcast_attention=True,
        norm_num_groups=8).save_pretrained(out / 'unet')
    AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=('DownEncoderBlock2D', ) * 2,
        up_block_types=('UpDecoderBlock2D', ) * 2, block_out_channels=(16, 32),
        layers_per_block=2, latent_channels=4, norm_num_groups=8,
        sample_size=32).save_pretrained(out / 'vae')
    CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, hidden_act='gelu',
        projection_dim=16, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)).save_pretrained(out / 'text_encoder')
    return str(out)


@pytest.fixture(scope='module')
def sd1_ldm(tiny_sd_dir):
    """The tiny SD-1 folder as SD-1's released single file holds it: HF CLIP with the
    ``position_ids`` buffer, the noise-schedule buffers."""
    return sd_folder_to_ldm(tiny_sd_dir)


@pytest.fixture(scope='module')
def sd1_files(tmp_path_factory, sd1_ldm):
    folder = tmp_path_factory.mktemp('sd1-files')
    safetensors.torch.save_file(sd1_ldm, folder / 'tiny-sd1.safetensors')
    torch.save(dict(state_dict=sd1_ldm, global_step=470000), folder / 'tiny-sd1.ckpt')
    return dict(safetensors=str(folder / 'tiny-sd1.safetensors'),
                ckpt=str(folder / 'tiny-sd1.ckpt'))


@pytest.fixture(scope='module')
def sd2_file(tmp_path_factory, tiny_sd2_dir):
    """The tiny SD-2 folder in SD-2's layout, with one OpenCLIP layer more than its text
    encoder uses, as SD-2's 24 for 23, saved as a .ckpt."""
    path = tmp_path_factory.mktemp('sd2-file') / 'tiny-sd2.ckpt'
    torch.save(dict(state_dict=sd_folder_to_ldm(tiny_sd2_dir, open_clip=True,
                                                extra_text_layers=1)), path)
    return str(path)


def assert_same_models(converted: str, original: str, tokenizer_dir: str | None = None):
    """Every weight under its own name and equal, and equal outputs on seeded inputs
    (the original's tokenizer from ``tokenizer_dir``, default ``original/tokenizer``)."""
    from transformers import CLIPTextModel, CLIPTokenizer
    unet, vae = load_unet(converted), load_vae(converted)
    text, tokenizer = load_text_encoder(converted)
    ref_unet, ref_vae = load_unet(original), load_vae(original)
    ref_text = CLIPTextModel.from_pretrained(osp.join(original, 'text_encoder'))
    ref_tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir or
                                                  osp.join(original, 'tokenizer'))
    for part, model, ref in (('unet', unet, ref_unet), ('vae', vae, ref_vae),
                             ('text_encoder', text, ref_text)):
        weights_file = ('model.safetensors' if part == 'text_encoder' else
                        'diffusion_pytorch_model.safetensors')
        saved = safetensors.torch.load_file(osp.join(converted, part, weights_file))
        expected = ref.state_dict()
        assert set(saved) == set(expected), (part, set(saved) ^ set(expected))
        for key, value in expected.items():
            assert torch.equal(saved[key], value), (part, key)
        config, ref_config = (({k: v for k, v in dict(m.config).items() if k != '_name_or_path'}
                               if part != 'text_encoder' else m.config.to_diff_dict())
                              for m in (model, ref))
        assert config == ref_config, part
    generator = torch.Generator().manual_seed(0)
    width = unet.config.cross_attention_dim
    latent = torch.randn(2, unet.config.in_channels, 16, 16, generator=generator)
    context = torch.randn(2, 7, width, generator=generator)
    image = torch.rand(1, 3, 32, 32, generator=generator) * 2 - 1
    ids = tokenizer(['a red ball on the left', 'the largest box'], padding='max_length',
                    return_tensors='pt').input_ids
    assert torch.equal(ids, ref_tokenizer(['a red ball on the left', 'the largest box'],
                                          padding='max_length', return_tensors='pt').input_ids)
    with torch.no_grad():
        t = torch.tensor([10, 500])
        torch.testing.assert_close(unet(latent, t, context).sample,
                                   ref_unet(latent, t, context).sample, rtol=0, atol=0)
        posterior = vae.encode(image).latent_dist.mean
        torch.testing.assert_close(posterior, ref_vae.encode(image).latent_dist.mean,
                                   rtol=0, atol=0)
        torch.testing.assert_close(vae.decode(posterior).sample,
                                   ref_vae.decode(posterior).sample, rtol=0, atol=0)
        torch.testing.assert_close(text(ids).last_hidden_state,
                                   ref_text(ids).last_hidden_state, rtol=0, atol=0)


# ---- conversions -----------------------------------------------------------------------

@pytest.mark.parametrize('kind', ['safetensors', 'ckpt'])
def test_sd1_file_converts_to_the_same_models(tool, tiny_sd_dir, sd1_files, tmp_path, capsys,
                                              kind):
    out = str(tmp_path / 'converted')
    assert tool.main([sd1_files[kind], out, '--architecture', tiny_sd_dir]) == 0
    assert 'ignored 12 keys outside the three models' in capsys.readouterr().out
    assert_same_models(out, tiny_sd_dir)
    scheduler = load_json(out, 'scheduler/scheduler_config.json')
    # SD-1's scheduler, its schedule read back from the file's betas
    assert scheduler['_class_name'] == 'PNDMScheduler'
    assert (scheduler['beta_start'], scheduler['beta_end'], scheduler['prediction_type']) == (
        0.00085, 0.012, 'epsilon')
    assert load_json(out, 'model_index.json')['scheduler'] == ['diffusers', 'PNDMScheduler']
    assert not [name for name in os.listdir(tmp_path) if name != 'converted']  # no leftovers


def test_sd2_open_clip_file_converts_to_the_same_models(tool, tiny_sd_dir, tiny_sd2_dir,
                                                        sd2_file, tmp_path, capsys):
    keys = torch.load(sd2_file, weights_only=True, mmap=True)['state_dict']
    # the released layout: OpenCLIP names, fused q/k/v, linear projections, one extra layer
    assert keys[OPEN_CLIP_PREFIX + 'transformer.resblocks.0.attn.in_proj_weight'].shape == (96, 32)
    assert OPEN_CLIP_PREFIX + 'transformer.resblocks.2.ln_1.weight' in keys
    assert keys[UNET_PREFIX + 'input_blocks.1.1.proj_in.weight'].ndim == 2
    out = str(tmp_path / 'converted')
    # --tokenizer may name a pipeline folder: its tokenizer/ is used
    assert tool.main([sd2_file, out, '--architecture', tiny_sd2_dir,
                      '--tokenizer', tiny_sd_dir]) == 0
    printed = capsys.readouterr().out
    assert 'dropped OpenCLIP layer(s) [2]' in printed
    assert 'v_prediction' in printed
    assert_same_models(out, tiny_sd2_dir, osp.join(tiny_sd_dir, 'tokenizer'))
    scheduler = load_json(out, 'scheduler/scheduler_config.json')
    assert (scheduler['_class_name'], scheduler['prediction_type']) == ('DDIMScheduler',
                                                                         'v_prediction')


def test_extract_ema_takes_the_ema_weights(tool, tiny_sd_dir, sd1_ldm, tmp_path, capsys):
    """A file with both copies (v1-5-pruned.ckpt): the EMA ones under model_ema.<key
    without dots>; --force replaces the folder of an earlier conversion."""
    from diffusers import UNet2DConditionModel
    ema = UNet2DConditionModel.from_pretrained(osp.join(tiny_sd_dir, 'unet'))
    with torch.no_grad():
        for p in ema.parameters():
            p.mul_(0.5)
    state = dict(sd1_ldm)
    state.update(('model_ema.' + ''.join(k.split('.')[1:]), v)
                 for k, v in unet_to_ldm(ema.state_dict(), ema.config).items())
    src = tmp_path / 'both.safetensors'
    safetensors.torch.save_file(state, src)
    out = tmp_path / 'out'
    assert tool.main([str(src), str(out), '--architecture', tiny_sd_dir]) == 0
    plain = load_unet(str(out)).state_dict()
    assert tool.main([str(src), str(out), '--architecture', tiny_sd_dir, '--extract-ema',
                      '--force']) == 0
    taken = load_unet(str(out)).state_dict()
    key = 'conv_in.weight'
    assert torch.equal(plain[key], load_unet(tiny_sd_dir).state_dict()[key])
    assert torch.equal(taken[key], ema.state_dict()[key])
    assert sorted(os.listdir(tmp_path)) == ['both.safetensors', 'out']


@pytest.mark.parametrize('name', ['sd15', 'sd21'])
def test_published_sizes_fit_in_the_ldm_layout(tool, name):
    """At SD's real widths, on the meta device (shapes only): the fixture writes the
    released key names (those diffusers itself looks for), and the tool's checks accept
    them for the published architecture, dropping SD-2's unused 24th OpenCLIP layer."""
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type
    arch = tool.resolve_architecture(name)
    models = {part: tool._empty_model(part, arch[part])
              for part in ('unet', 'vae', 'text_encoder')}
    state = {**unet_to_ldm(models['unet'].state_dict(), arch['unet']),
             **vae_to_ldm(models['vae'].state_dict(), arch['vae'])}
    text = models['text_encoder'].state_dict()
    if name == 'sd15':
        state.update(clip_to_ldm(text, position_ids=True))
    else:
        state.update(open_clip_to_ldm(text, arch['text_encoder'], extra_layers=1))
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert infer_diffusers_model_type(state) == ('v1' if name == 'sd15' else 'v2')
    for key, shape in {  # names and shapes of the released files
            'model.diffusion_model.input_blocks.3.0.op.weight': (320, 320, 3, 3),
            'model.diffusion_model.output_blocks.2.1.conv.weight': (1280, 1280, 3, 3),
            'model.diffusion_model.output_blocks.5.2.conv.weight': (1280, 1280, 3, 3),
            'model.diffusion_model.output_blocks.11.0.skip_connection.weight':
            (320, 640, 1, 1),
            'model.diffusion_model.middle_block.1.proj_in.weight':
            (1280, 1280, 1, 1) if name == 'sd15' else (1280, 1280),
            'first_stage_model.encoder.mid.attn_1.q.weight': (512, 512, 1, 1),
            'first_stage_model.decoder.up.1.upsample.conv.weight': (256, 256, 3, 3),
            'first_stage_model.decoder.up.0.block.0.nin_shortcut.weight': (128, 256, 1, 1),
    }.items():
        assert shapes[key] == shape, key
    if name == 'sd21':
        assert shapes[OPEN_CLIP_PREFIX + 'transformer.resblocks.23.attn.in_proj_weight'] == (
            3072, 1024)
        assert shapes[OPEN_CLIP_PREFIX + 'text_projection'] == (1024, 1024)
    layout = tool.check_ldm_layout(state, 'meta')
    assert tool.detect_architecture(state, layout)[0] == name
    converted, notes = tool.convert_state_dict(state, layout, arch)
    assert notes == ([] if name == 'sd15' else [
        'dropped OpenCLIP layer(s) [23]: the text encoder uses the first 23 (as SD-2 '
        'conditions on the penultimate layer)'])
    assert sum(p.numel() for p in converted['unet'].parameters()) == (
        859_520_964 if name == 'sd15' else 865_910_724)


# ---- bad input -------------------------------------------------------------------------

def test_wrong_kind_of_file_names_the_expected_keys(tool, tiny_sd_dir, tmp_path, capsys):
    src = tmp_path / 'unet.safetensors'  # a diffusers UNet's weights, not a single file
    safetensors.torch.save_file({'down_blocks.0.resnets.0.conv1.weight': torch.zeros(2, 2),
                                 'conv_in.weight': torch.zeros(1),
                                 'mid_block.attentions.0.norm.bias': torch.zeros(1)}, src)
    with pytest.raises(SystemExit) as exc:
        tool.main([str(src), str(tmp_path / 'out'), '--architecture', tiny_sd_dir])
    assert exc.value.code == 1
    assert_one_error_line(capsys, 'not a Stable Diffusion single file', 'model.diffusion_model.*',
                          'found 3 keys: ', 'down_blocks.* (1)', 'conv_in.* (1)',
                          'mid_block.* (1)',
                          'diffusers / transformers key names')
    assert not (tmp_path / 'out').exists()


def test_file_without_text_encoder_names_the_missing_part(tool, tiny_sd_dir, sd1_ldm,
                                                          tmp_path, capsys):
    src = tmp_path / 'no-text.safetensors'
    safetensors.torch.save_file({k: v for k, v in sd1_ldm.items()
                                 if not k.startswith(CLIP_PREFIX)}, src)
    with pytest.raises(SystemExit):
        tool.main([str(src), str(tmp_path / 'out'), '--architecture', tiny_sd_dir])
    assert_one_error_line(capsys, 'has the UNet', 'not the text encoder',
                          'cond_stage_model.transformer.*')


@pytest.mark.parametrize('kind', ['safetensors', 'ckpt'])
def test_truncated_file_is_reported_as_cut_short(tool, tiny_sd_dir, sd1_files, tmp_path,
                                                 capsys, kind):
    data = open(sd1_files[kind], 'rb').read()
    src = tmp_path / f'cut.{kind}'
    src.write_bytes(data[:len(data) // 2])  # a download that stopped half-way
    with pytest.raises(SystemExit):
        tool.main([str(src), str(tmp_path / 'out'), '--architecture', tiny_sd_dir])
    reader = 'a safetensors file' if kind == 'safetensors' else 'a torch checkpoint'
    assert_one_error_line(capsys, f'cannot read {src} as {reader}', 'cut short',
                          f'{len(data) // 2} bytes')


def test_missing_paths_and_existing_out(tool, tiny_sd_dir, sd1_files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'nope.ckpt'), str(tmp_path / 'out')])
    assert_one_error_line(capsys, 'no such checkpoint file', 'nope.ckpt')
    (tmp_path / 'out').mkdir()
    with pytest.raises(SystemExit):
        tool.main([sd1_files['ckpt'], str(tmp_path / 'out'), '--architecture', tiny_sd_dir])
    assert_one_error_line(capsys, 'already exists', '--force')
    with pytest.raises(SystemExit):
        tool.main([sd1_files['ckpt'], str(tmp_path / 'out2'), '--architecture',
                   str(tmp_path / 'not-a-folder')])
    assert_one_error_line(capsys, "is neither one of ['sd15', 'sd21', 'auto'] nor a folder")


def test_missing_tokenizer_says_what_to_pass(tool, tiny_sd2_dir, sd2_file, tmp_path, capsys):
    for architecture in ('sd21', tiny_sd2_dir):  # neither carries a tokenizer
        with pytest.raises(SystemExit):
            tool.main([sd2_file, str(tmp_path / 'out'), '--architecture', architecture])
        assert_one_error_line(capsys, 'the tokenizer cannot be converted from the file',
                              'pass --tokenizer DIR', 'vocab.json and merges.txt')
    with pytest.raises(SystemExit):
        tool.main([sd2_file, str(tmp_path / 'out'), '--architecture', tiny_sd2_dir,
                   '--tokenizer', str(tmp_path)])
    assert_one_error_line(capsys, '--tokenizer: no CLIP tokenizer in this folder')
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('family, detected', [('sd1', 'sd15'), ('sd2', 'sd21')])
def test_auto_detects_the_family_and_reports_a_size_mismatch(tool, tiny_sd_dir, sd1_files,
                                                             sd2_file, tmp_path, capsys,
                                                             family, detected):
    """``auto`` picks SD-1 / SD-2 from the keys; the tiny weights then do not fit the
    published sizes, which is said in one line, with the way out."""
    src = sd1_files['safetensors'] if family == 'sd1' else sd2_file
    with pytest.raises(SystemExit):
        tool.main([src, str(tmp_path / 'out'), '--tokenizer', tiny_sd_dir])
    why = 'OpenCLIP' if family == 'sd2' else 'HF CLIP'
    assert_one_error_line(capsys, f'do not fit the architecture {detected} (detected from {why}',
                          '; vae: ', '; text_encoder: ', 'Pass --architecture DIR',
                          'of another shape (e.g. conv_in.weight: file (32, '
                          f'{8 if family == "sd1" else 4}, 3, 3), architecture (320, 4, 3, 3))')


def test_interrupted_write_leaves_no_folder(tool, tiny_sd_dir, sd1_files, tmp_path,
                                            monkeypatch):
    from transformers import CLIPTokenizer

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(CLIPTokenizer, 'save_pretrained', interrupt)
    with pytest.raises(KeyboardInterrupt):  # after unet/, vae/, text_encoder/ were written
        tool.main([sd1_files['safetensors'], str(tmp_path / 'out'), '--architecture',
                   tiny_sd_dir])
    assert os.listdir(tmp_path) == []


def test_help():
    """The one subprocess: what a user sees."""
    proc = run_tool(TOOL, '--help')
    assert proc.stdout.startswith('usage: sd_to_diffusers.py [-h] [--architecture')
    for text in ('SRC OUT', 'Convert a Stable Diffusion single file', '--tokenizer DIR',
                 '--force'):
        assert text in proc.stdout
    assert 'Traceback' not in proc.stderr


def load_json(folder, name):
    import json
    with open(osp.join(folder, name)) as f:
        return json.load(f)
