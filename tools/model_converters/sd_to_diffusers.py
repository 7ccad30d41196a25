"""Convert a Stable Diffusion single file (original "ldm" layout) to a diffusers folder.

    python tools/model_converters/sd_to_diffusers.py SRC OUT [--architecture sd15|sd21|auto|DIR]
        [--tokenizer DIR] [--prediction-type epsilon|v_prediction] [--extract-ema] [--force]

``SRC`` is a ``.ckpt`` (a torch pickle, its weights under ``state_dict``) or a
``.safetensors`` file in the CompVis / Stability layout (``model.diffusion_model.*``,
``first_stage_model.*``, ``cond_stage_model.*``), e.g. ``v1-5-pruned-emaonly.safetensors``
or ``v2-1_768-ema-pruned.ckpt``. ``OUT`` becomes a diffusers-format folder (``unet/``,
``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``, ``model_index.json``) that
``model.backbone.pretrained=OUT`` loads like a downloaded one::

    python tools/model_converters/sd_to_diffusers.py checkpoints/v1-5-pruned-emaonly.safetensors \\
        checkpoints/stable-diffusion-v1-5 --tokenizer checkpoints/clip-tokenizer

Nothing is downloaded: the architecture comes from ``--architecture``, one of

- ``sd15`` / ``sd21``: SD-1.x / SD-2.x at their published sizes
  (:data:`mmgeneralist.diffusion.architectures.ARCHITECTURES`);
- ``auto`` (default): ``sd21`` when the file holds OpenCLIP's text tower
  (``cond_stage_model.model.*``) or 1024-wide cross-attention, ``sd15`` for HF CLIP
  (``cond_stage_model.transformer.*``) or 768-wide cross-attention;
- a diffusers-format folder whose ``unet/``, ``vae/`` and ``text_encoder/config.json`` give
  the architecture (any other size; its ``tokenizer/`` and ``scheduler/`` are used too).

The weights are mapped by diffusers' own single-file functions
(``convert_ldm_unet_checkpoint``, ``convert_ldm_vae_checkpoint``,
``convert_ldm_clip_checkpoint``, ``convert_open_clip_checkpoint``) and must fit the
architecture exactly: every weight present, none left over, every shape equal. SD-2's file
holds one more OpenCLIP layer than its text encoder uses (SD-2 conditions on the
penultimate layer); layers beyond the architecture's ``num_hidden_layers`` are dropped, and
said so. The file's noise-schedule buffers (``betas``), when present, set the scheduler's
``beta_start`` / ``beta_end``.

The tokenizer is not in the file: it is copied from ``--tokenizer DIR`` (a CLIP tokenizer
folder: ``vocab.json`` and ``merges.txt``, e.g. the ``tokenizer/`` folder of any SD
pipeline folder of the same family) or from the architecture folder's ``tokenizer/``.

The folder is written as ``OUT.partial-*`` next to ``OUT`` and renamed when complete, so an
interrupted run never leaves a folder that looks converted. ``--force`` replaces an
existing ``OUT``. Every expected failure (a missing or cut-short file, a file of another
kind, weights that do not fit) is one ``error: ...`` line; ``MMGEN_TRACEBACK=1`` shows
the traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

UNET_PREFIX = 'model.diffusion_model.'
VAE_PREFIXES = ('first_stage_model.', )
CLIP_PREFIX = 'cond_stage_model.transformer.'
OPEN_CLIP_PREFIX = 'cond_stage_model.model.'
EMA_PREFIX = 'model_ema.'
#: files larger than this get a progress bar while their tensors are read
PROGRESS_BYTES = 256 * 2**20
#: the scheduler of each family's official diffusers folder, less its noise schedule
SCHEDULERS = dict(
    sd15=dict(_class_name='PNDMScheduler', skip_prk_steps=True, steps_offset=1,
              set_alpha_to_one=False, clip_sample=False, prediction_type='epsilon'),
    sd21=dict(_class_name='DDIMScheduler', steps_offset=1, set_alpha_to_one=False,
              clip_sample=False, prediction_type='v_prediction'),
)
SD_SCHEDULE = dict(num_train_timesteps=1000, beta_schedule='scaled_linear',
                   beta_start=0.00085, beta_end=0.012)
_TOKENIZER_HINT = (
    'pass --tokenizer DIR, a CLIP tokenizer folder (vocab.json and merges.txt; the tokenizer/ '
    'folder of a diffusers Stable Diffusion folder of the same family, e.g. of '
    'stable-diffusion-v1-5/stable-diffusion-v1-5 for SD-1 or stabilityai/stable-diffusion-2-1 '
    'for SD-2), or --architecture DIR with a diffusers folder that has a tokenizer/')


# ---- reading the file ------------------------------------------------------------------

def _file_kind(path: str) -> str:
    """``'safetensors'``, ``'torch'`` (zip archive or legacy pickle) or ``'unknown'``, from
    the first bytes."""
    with open(path, 'rb') as f:
        head = f.read(10)
    if head[:4] == b'PK\x03\x04':
        return 'torch'
    if head[:1] == b'\x80':  # a pickle (protocol 2+): torch's format before 1.6
        return 'torch'
    if len(head) >= 9 and head[8:9] == b'{':  # 8-byte header length, then JSON
        return 'safetensors'
    return 'unknown'


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split('. ')[0].rstrip('.')


def read_checkpoint(path: str, progress: bool | None = None) -> tuple[dict, dict]:
    """The tensors of a ``.safetensors`` or torch checkpoint file, and its other entries.

    The format is told from the first bytes, not the name. A torch file is loaded with
    ``torch.load(weights_only=True)``, memory-mapped when it is a zip archive (torch's format
    since 1.6), so its tensors are read from disk only as they are converted and written;
    nested ``state_dict`` entries are unwrapped, as Lightning writes them.

    Args:
        path: the file.
        progress: show a progress bar over the tensors; ``None``: for files over 256 MiB.

    Returns:
        ``(state_dict, extras)``: the tensors by key, and the file's top-level entries that
        are not the state dict (e.g. ``global_step``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be read (cut short, another format) or holds no tensors.
    """
    import torch
    from tqdm import tqdm
    if osp.isdir(path):
        hint = (' (it holds unet/: already a diffusers folder)'
                if osp.isdir(osp.join(path, 'unet')) else '')
        raise ValueError(f'{path} is a folder{hint}; expected a Stable Diffusion single file '
                         '(.ckpt or .safetensors)')
    if not osp.isfile(path):
        raise FileNotFoundError(2, 'no such checkpoint file', path)
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(f'{path} is empty (0 bytes): a download or copy that did not finish?')
    if progress is None:
        progress = size > PROGRESS_BYTES
    kind = _file_kind(path)
    cut_short = (f'; {size} bytes: cut short while being downloaded or copied? Fetch it '
                 'again')
    extras = {}
    if kind == 'safetensors':
        from safetensors import safe_open
        try:
            with safe_open(path, framework='pt') as f:
                state = {key: f.get_tensor(key)
                         for key in tqdm(list(f.keys()), desc='reading tensors',
                                         unit='tensor', disable=not progress)}
        except Exception as err:  # noqa: BLE001  (SafetensorError is a bare Exception)
            raise ValueError(f'cannot read {path} as a safetensors file: {_first_line(err)}'
                             f'{cut_short}') from err
    elif kind == 'torch':
        try:
            checkpoint = torch.load(path, map_location='cpu', weights_only=True,
                                    mmap=zipfile_ok(path))
        except torch.serialization.pickle.UnpicklingError as err:
            if 'weights only' in str(err).lower() or 'unsupported global' in str(err).lower():
                found = re.search(r'Unsupported global: GLOBAL ([\w.]+)', str(err))
                raise ValueError(
                    f'{path} holds Python objects besides tensors'
                    f'{f" ({found.group(1)})" if found else ""}, which '
                    'torch.load(weights_only=True) refuses. If you trust the file, save its '
                    'state dict alone once: python -c "import torch; torch.save(torch.load('
                    f"'{path}', weights_only=False)['state_dict'], 'weights.ckpt')\" and "
                    'convert weights.ckpt') from err
            raise ValueError(f'cannot read {path} as a torch checkpoint: '
                             f'{_first_line(err)}{cut_short}') from err
        except Exception as err:  # noqa: BLE001  (torch raises RuntimeError, EOFError, ...)
            raise ValueError(f'cannot read {path} as a torch checkpoint: '
                             f'{_first_line(err)}{cut_short}') from err
        if not isinstance(checkpoint, Mapping):
            raise ValueError(f'{path} holds a {type(checkpoint).__name__}, not a dict of '
                             'tensors; expected a Stable Diffusion checkpoint (a dict with '
                             'state_dict, or the state dict itself)')
        while isinstance(checkpoint.get('state_dict'), Mapping):
            extras.update((k, v) for k, v in checkpoint.items() if k != 'state_dict')
            checkpoint = checkpoint['state_dict']
        state = {}
        for key, value in tqdm(checkpoint.items(), desc='reading tensors', unit='tensor',
                               disable=not progress):
            if isinstance(value, torch.Tensor):
                state[key] = value
            else:
                extras[key] = value
    else:
        with open(path, 'rb') as f:
            head = f.read(16)
        raise ValueError(f'{path} is neither a torch checkpoint (.ckpt: a zip archive or a '
                         'pickle) nor a safetensors file: it starts with '
                         f'{head!r}')
    if not state:
        raise ValueError(f'{path} holds no tensors (top-level keys: '
                         f'{sorted(map(str, extras))[:8]}); expected a Stable Diffusion '
                         'checkpoint')
    return state, extras


def zipfile_ok(path: str) -> bool:
    """Whether ``path`` is a complete zip archive (torch's format), which can be mmapped."""
    import zipfile
    return zipfile.is_zipfile(path)


def describe_keys(keys: Sequence[str], limit: int = 6) -> str:
    """``'down_blocks.* (120), mid_block.* (24), ...'``: the top-level key prefixes."""
    counts = Counter(key.split('.', 1)[0] + ('.*' if '.' in key else '') for key in keys)
    text = ', '.join(prefix + (f' ({n})' if prefix.endswith('*') else '')
                     for prefix, n in counts.most_common(limit))
    return text + (f' and {len(counts) - limit} more' if len(counts) > limit else '')


def check_ldm_layout(state: Mapping, path: str) -> str:
    """Check that ``state`` is an SD single file with all three parts; return the text
    encoder's layout, ``'clip'`` (SD-1) or ``'open_clip'`` (SD-2).

    Raises:
        ValueError: another kind of file (saying what was found), or a part missing.
    """
    keys = list(state)
    has = dict(unet=any(k.startswith(UNET_PREFIX) for k in keys),
               vae=any(k.startswith(VAE_PREFIXES) for k in keys),
               clip=any(k.startswith(CLIP_PREFIX) for k in keys),
               open_clip=any(k.startswith(OPEN_CLIP_PREFIX) for k in keys))
    found = f'found {len(keys)} keys: {describe_keys(keys)}'
    if not has['unet']:
        if any(k.startswith('conditioner.embedders.') for k in keys):
            raise ValueError(f'{path} looks like an SDXL file (conditioner.embedders.*); only '
                             'SD-1.x / SD-2.x single files are supported')
        hint = ''
        nested = next((k[:k.index(UNET_PREFIX)] for k in keys if UNET_PREFIX in k), None)
        if nested:
            hint = (f' (the UNet\'s keys are there under the prefix {nested!r}: a checkpoint '
                    'of a model that holds SD, not an SD single file)')
        elif any(k.startswith(('down_blocks.', 'conv_in.', 'encoder.down_blocks.',
                               'text_model.')) for k in keys):
            hint = (' (diffusers / transformers key names: a part of a diffusers folder, which '
                    'needs no conversion)')
        raise ValueError(
            f'{path} is not a Stable Diffusion single file in the original layout: expected '
            f'ldm keys such as {UNET_PREFIX}* (UNet), first_stage_model.* (VAE) and '
            f'cond_stage_model.* (text encoder); {found}{hint}')
    missing = [name for name, present in (('the VAE (first_stage_model.*)', has['vae']), (
        'the text encoder (cond_stage_model.transformer.* or cond_stage_model.model.*)',
        has['clip'] or has['open_clip'])) if not present]
    if missing:
        raise ValueError(f'{path} has the UNet ({UNET_PREFIX}*) but not {" nor ".join(missing)}'
                         f'; {found}')
    return 'open_clip' if has['open_clip'] else 'clip'


# ---- the architecture ------------------------------------------------------------------

def cross_attention_width(state: Mapping) -> int | None:
    """The UNet's cross-attention (text) width: ``attn2.to_k``'s input features."""
    for key, value in state.items():
        if key.startswith(UNET_PREFIX) and key.endswith('attn2.to_k.weight'):
            return int(value.shape[-1])
    return None


def detect_architecture(state: Mapping, text_layout: str) -> tuple[str, str]:
    """``('sd15' | 'sd21', why)`` for ``--architecture auto``.

    Raises:
        ValueError: the file matches neither.
    """
    width = cross_attention_width(state)
    if text_layout == 'open_clip':
        return 'sd21', "OpenCLIP's text tower (cond_stage_model.model.*)"
    if width == 1024:
        return 'sd21', 'cross-attention width 1024'
    if text_layout == 'clip' or width == 768:
        return 'sd15', 'HF CLIP text encoder (cond_stage_model.transformer.*)'
    raise ValueError(f'cannot tell SD-1 from SD-2 (cross-attention width {width}); pass '
                     '--architecture sd15, sd21 or DIR')


def resolve_architecture(arg: str) -> dict | None:
    """The architecture that ``--architecture`` names, before the file is read.

    Returns:
        ``None`` for ``auto``; else ``dict(name, unet, vae, text_encoder, tokenizer,
        scheduler)``: diffusers config dicts, a ``CLIPTextConfig``, and a tokenizer folder /
        scheduler config when the architecture folder has them (else ``None``).

    Raises:
        FileNotFoundError: a folder without one of the configs.
        ValueError: neither a known name nor a folder.
    """
    from transformers import CLIPTextConfig

    from mmgeneralist.diffusion.architectures import ARCHITECTURES
    if arg == 'auto':
        return None
    if arg in ARCHITECTURES:
        parts = ARCHITECTURES[arg]
        return dict(name=arg, unet=dict(parts['unet']), vae=dict(parts['vae']),
                    text_encoder=CLIPTextConfig(**parts['text_encoder']), tokenizer=None,
                    scheduler=None, family=arg)
    if not osp.isdir(arg):
        raise ValueError(f'--architecture {arg!r} is neither one of '
                         f'{sorted(ARCHITECTURES) + ["auto"]} nor a folder')
    configs = {}
    for part in ('unet', 'vae', 'text_encoder'):
        path = osp.join(arg, part, 'config.json')
        if not osp.isfile(path):
            raise FileNotFoundError(
                2, f'--architecture {arg} is not a diffusers-format folder of this model: '
                f'it has no {part}/config.json', path)
        if part == 'text_encoder':
            configs[part] = CLIPTextConfig.from_pretrained(osp.join(arg, part))
        else:
            with open(path) as f:
                configs[part] = json.load(f)
    scheduler = None
    path = osp.join(arg, 'scheduler', 'scheduler_config.json')
    if osp.isfile(path):
        with open(path) as f:
            scheduler = json.load(f)
    tokenizer = osp.join(arg, 'tokenizer')
    return dict(name=arg, tokenizer=tokenizer if osp.isdir(tokenizer) else None,
                scheduler=scheduler, family=None, **configs)


def find_tokenizer(arg: str | None, architecture: dict | None) -> str:
    """The CLIP tokenizer folder to copy: ``--tokenizer`` (or its ``tokenizer/``), else the
    architecture folder's ``tokenizer/``.

    Raises:
        FileNotFoundError: none given, or the folder does not hold a tokenizer.
    """
    if arg is None:
        folder = architecture and architecture['tokenizer']
        if not folder:
            where = ('auto-detected architectures carry none'
                     if architecture is None else f'{architecture["name"]} carries none')
            raise FileNotFoundError(f'the tokenizer cannot be converted from the file and '
                                    f'{where}: {_TOKENIZER_HINT}')
        return folder
    if not osp.isdir(arg):
        raise FileNotFoundError(2, f'--tokenizer: no such folder ({_TOKENIZER_HINT})', arg)
    for folder in (arg, osp.join(arg, 'tokenizer')):
        names = set(os.listdir(folder)) if osp.isdir(folder) else set()
        if {'vocab.json', 'merges.txt'} <= names or 'tokenizer.json' in names:
            return folder
    raise FileNotFoundError(
        2, f'--tokenizer: no CLIP tokenizer in this folder (no vocab.json and merges.txt, nor '
        f'a tokenizer/ sub-folder with them; it has {sorted(os.listdir(arg))[:8]})', arg)


# ---- converting ------------------------------------------------------------------------

def _empty_model(part: str, config):
    """The part's model on the ``meta`` device (no memory, no initialisation)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel
    with torch.device('meta'):
        if part == 'unet':
            return UNet2DConditionModel.from_config(config)
        if part == 'vae':
            return AutoencoderKL.from_config(config)
        return CLIPTextModel(config)


def _mismatches(part: str, expected: Mapping, converted: Mapping) -> str | None:
    """``'unet: 3 missing, 1 left over (e.g. ...)'``, or ``None`` when everything fits."""
    missing = [k for k in expected if k not in converted]
    unexpected = [k for k in converted if k not in expected]
    shapes = [f'{k}: file {tuple(converted[k].shape)}, architecture {tuple(expected[k].shape)}'
              for k in expected if k in converted
              and tuple(converted[k].shape) != tuple(expected[k].shape)]
    counts = [f'{len(items)} {what}' for what, items in (
        ('missing', missing), ('left over', unexpected), ('of another shape', shapes)) if items]
    if not counts:
        return None
    example = (shapes or [f'{k} missing' for k in missing] or [f'{k} left over'
                                                               for k in unexpected])[0]
    return f'{part}: {", ".join(counts)} (e.g. {example})'


def convert_state_dict(state: Mapping, text_layout: str, architecture: dict,
                       extract_ema: bool = False) -> tuple[dict, list[str]]:
    """The models of ``state`` (ldm keys), built for ``architecture``, their weights assigned.

    Returns:
        ``({'unet': model, 'vae': model, 'text_encoder': model}, notes)``; notes say what
        was dropped.

    Raises:
        ValueError: the weights do not fit the architecture (every mismatch counted, a few
            named).
    """
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        convert_open_clip_checkpoint,
    )
    notes = []
    models = {part: _empty_model(part, architecture[part])
              for part in ('unet', 'vae', 'text_encoder')}
    if extract_ema and not any(k.startswith(EMA_PREFIX) for k in state):
        raise ValueError('--extract-ema: the file has no EMA weights (model_ema.*); convert '
                         'it without --extract-ema')
    converted = dict(
        unet=convert_ldm_unet_checkpoint(state, dict(architecture['unet']),
                                         extract_ema=extract_ema),
        vae=convert_ldm_vae_checkpoint(state, dict(architecture['vae'])))
    missing_ema = [k for k, v in converted['unet'].items() if v is None]
    if missing_ema:
        raise ValueError(f'--extract-ema: {len(missing_ema)} UNet weights have no EMA copy '
                         f'(e.g. {missing_ema[0]}); convert without --extract-ema')
    text_model = models['text_encoder']
    expected_text = text_model.state_dict()
    if text_layout == 'clip':
        text = convert_ldm_clip_checkpoint(state)
        for key in ('text_model.embeddings.position_ids', ):  # saved by transformers < 4.31
            if key in text and key not in expected_text:
                del text[key]
    else:
        layers = text_model.config.num_hidden_layers
        pattern = re.compile(re.escape(OPEN_CLIP_PREFIX) + r'transformer\.resblocks\.(\d+)\.')
        beyond = sorted({int(m.group(1)) for k in state if (m := pattern.match(k))
                         and int(m.group(1)) >= layers})
        if beyond:
            notes.append(f'dropped OpenCLIP layer(s) {beyond}: the text encoder uses the '
                         f'first {layers} (as SD-2 conditions on the penultimate layer)')
            state = {k: v for k, v in state.items()
                     if not ((m := pattern.match(k)) and int(m.group(1)) >= layers)}
        text = convert_open_clip_checkpoint(text_model, state, prefix=OPEN_CLIP_PREFIX)
    converted['text_encoder'] = text
    problems = [problem for part, model in models.items() if (problem := _mismatches(
        part, expected_text if part == 'text_encoder' else model.state_dict(),
        converted[part]))]
    if problems:
        why = f' (detected from {architecture["why"]})' if architecture.get('why') else ''
        raise ValueError(f'the weights do not fit the architecture {architecture["name"]}{why}'
                         f': {"; ".join(problems)}. Pass --architecture DIR, a diffusers-format '
                         'folder whose unet/, vae/ and text_encoder/config.json describe this '
                         'model')
    for part, model in models.items():
        model.load_state_dict(converted[part], strict=True, assign=True)
        model.eval()
    return models, notes


def scheduler_config(architecture: dict, family: str, state: Mapping,
                     prediction_type: str | None) -> dict:
    """The scheduler's config: the architecture folder's, else the family's official one;
    the noise schedule from the file's ``betas`` when it has them; ``prediction_type``
    when given."""
    import torch
    config = dict(architecture['scheduler'] or SCHEDULERS[family])
    if not architecture['scheduler']:
        config.update(SD_SCHEDULE)
    betas = state.get('betas')
    if betas is not None and betas.ndim == 1 and len(betas) > 1:
        betas = betas.double()
        roots = betas.clamp(min=0).sqrt()
        line = torch.linspace(float(roots[0]), float(roots[-1]), len(roots),
                              dtype=roots.dtype)
        config.update(num_train_timesteps=len(betas))
        if (roots - line).abs().max() < 1e-6:  # sqrt(beta) linear: diffusers' scaled_linear
            config.update(beta_schedule='scaled_linear', trained_betas=None,
                          beta_start=float(f'{float(betas[0]):.6g}'),
                          beta_end=float(f'{float(betas[-1]):.6g}'))
        else:
            config.update(trained_betas=betas.tolist())
    if prediction_type:
        config['prediction_type'] = prediction_type
    return config


# ---- writing ---------------------------------------------------------------------------

def write_folder(out: str, models: Mapping, tokenizer_dir: str, scheduler: dict,
                 force: bool) -> None:
    """Write the diffusers folder at ``out`` through ``out.partial-*`` and a rename."""
    import diffusers
    from transformers import CLIPTokenizer
    parent = osp.dirname(osp.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=osp.basename(osp.abspath(out)) + '.partial-', dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        for part, model in models.items():
            model.save_pretrained(osp.join(tmp, part))
        try:
            tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
        except Exception as err:  # noqa: BLE001  (transformers raises many kinds)
            raise ValueError(f'cannot load the tokenizer in {tokenizer_dir}: '
                             f'{_first_line(err)} ({_TOKENIZER_HINT})') from err
        vocab = models['text_encoder'].config.vocab_size
        if len(tokenizer) > vocab:
            raise ValueError(f'the tokenizer in {tokenizer_dir} has {len(tokenizer)} tokens, '
                             f'more than the text encoder\'s {vocab}: it belongs to another '
                             f'model ({_TOKENIZER_HINT})')
        tokenizer.save_pretrained(osp.join(tmp, 'tokenizer'))
        scheduler = dict(scheduler)
        cls = getattr(diffusers, scheduler.pop('_class_name', 'DDIMScheduler'))
        scheduler.pop('_diffusers_version', None)
        cls.from_config(scheduler).save_pretrained(osp.join(tmp, 'scheduler'))
        index = dict(_class_name='StableDiffusionPipeline',
                     _diffusers_version=diffusers.__version__,
                     unet=['diffusers', 'UNet2DConditionModel'],
                     vae=['diffusers', 'AutoencoderKL'],
                     text_encoder=['transformers', 'CLIPTextModel'],
                     tokenizer=['transformers', 'CLIPTokenizer'],
                     scheduler=['diffusers', cls.__name__],
                     safety_checker=[None, None], feature_extractor=[None, None],
                     image_encoder=[None, None], requires_safety_checker=False)
        with open(osp.join(tmp, 'model_index.json'), 'w') as f:
            json.dump(index, f, indent=2)
        old = None
        if osp.lexists(out):
            if not force:  # checked before, but it may have appeared since
                raise FileExistsError(f'{out} already exists; pass --force to replace it')
            old = tempfile.mkdtemp(prefix=osp.basename(osp.abspath(out)) + '.old-', dir=parent)
            os.replace(out, osp.join(old, 'previous'))
        os.replace(tmp, out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- the command -----------------------------------------------------------------------

def convert(src: str, out: str, architecture: str = 'auto', tokenizer: str | None = None,
            prediction_type: str | None = None, extract_ema: bool = False,
            force: bool = False, progress: bool | None = None) -> dict:
    """Convert the single file ``src`` into the diffusers folder ``out`` (see the module's
    docstring); return a summary (``architecture``, ``parameters``, ``ignored`` keys,
    ``notes``, ``scheduler``)."""
    out = osp.normpath(out)
    if not osp.lexists(src):
        raise FileNotFoundError(2, 'no such checkpoint file', src)
    if osp.lexists(out) and not force:
        raise FileExistsError(f'{out} already exists; pass --force to replace it')
    if force and osp.isdir(out) and osp.abspath(src).startswith(osp.abspath(out) + os.sep):
        raise ValueError(f'{src} is inside {out}, which --force would replace; write the '
                         'folder elsewhere')
    arch = resolve_architecture(architecture)
    tokenizer_dir = find_tokenizer(tokenizer, arch)
    state, _ = read_checkpoint(src, progress)
    text_layout = check_ldm_layout(state, src)
    notes = []
    if arch is None:
        name, why = detect_architecture(state, text_layout)
        notes.append(f'architecture {name} (detected from {why})')
        arch = dict(resolve_architecture(name), why=why)
    family = arch['family'] or ('sd21' if text_layout == 'open_clip' or
                                cross_attention_width(state) == 1024 else 'sd15')
    models, convert_notes = convert_state_dict(state, text_layout, arch, extract_ema)
    notes += convert_notes
    scheduler = scheduler_config(arch, family, state, prediction_type)
    if family == 'sd21' and not prediction_type and not arch['scheduler']:
        notes.append("prediction_type v_prediction (SD-2's 768 px models); pass "
                     '--prediction-type epsilon for the 512 px -base models')
    write_folder(out, models, tokenizer_dir, scheduler, force)
    ignored = [k for k in state if not k.startswith(
        (UNET_PREFIX, *VAE_PREFIXES, CLIP_PREFIX, OPEN_CLIP_PREFIX)) and not (
            extract_ema and k.startswith(EMA_PREFIX))]
    return dict(architecture=arch['name'], notes=notes, ignored=ignored, scheduler=scheduler,
                parameters=sum(p.numel() for m in models.values() for p in m.parameters()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', metavar='SRC', help='the .ckpt or .safetensors file')
    parser.add_argument('out', metavar='OUT', help='the diffusers-format folder to write')
    parser.add_argument('--architecture', default='auto', metavar='sd15|sd21|auto|DIR',
                        help='the model\'s architecture: a published one, detected from the '
                        'keys (default), or a diffusers folder whose config.json files give it')
    parser.add_argument('--tokenizer', metavar='DIR',
                        help='a CLIP tokenizer folder to copy (default: DIR/tokenizer of '
                        '--architecture DIR)')
    parser.add_argument('--prediction-type', choices=['epsilon', 'v_prediction'],
                        help='what the UNet predicts (default: epsilon for SD-1, v_prediction '
                        'for SD-2, or the architecture folder\'s scheduler)')
    parser.add_argument('--extract-ema', action='store_true',
                        help='take the UNet\'s EMA weights (model_ema.*) when the file has both')
    parser.add_argument('--force', action='store_true', help='replace an existing OUT')
    args = parser.parse_args(argv)
    from mmgeneralist.utils.cli import USER_ERRORS, report_errors  # after --help: it is slow
    with report_errors(*USER_ERRORS, FileExistsError):
        summary = convert(args.src, args.out, args.architecture, args.tokenizer,
                          args.prediction_type, args.extract_ema, args.force)
    for note in summary['notes']:
        print(f'note: {note}')
    if summary['ignored']:
        print(f'ignored {len(summary["ignored"])} keys outside the three models: '
              f'{describe_keys(summary["ignored"])}')
    print(f'converted {args.src} ({summary["parameters"] / 1e6:.1f}M parameters) to '
          f'{args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
