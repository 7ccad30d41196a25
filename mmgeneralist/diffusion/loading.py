"""Loading the parts of a text-to-image diffusion model from a diffusers-format folder.

A diffusers-format folder (what ``save_pretrained`` / ``huggingface-cli download`` give)
holds one sub-folder per part: ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``.
``pretrained`` may be such a local folder, or a hub id (``org/name``) when the machine
is online or the hub cache holds it. Every failure names the path and says how to fix it
before any training starts.
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import threading

SUBFOLDERS = dict(unet='unet', vae='vae', text_encoder='text_encoder', tokenizer='tokenizer')

_HOW_TO = (
    'Provide the weights as a diffusers-format folder (sub-folders unet/, vae/, text_encoder/, '
    'tokenizer/), e.g. `huggingface-cli download stable-diffusion-v1-5/stable-diffusion-v1-5 '
    '--local-dir checkpoints/stable-diffusion-v1-5` on a machine that is online, then set '
    "model.backbone.pretrained='checkpoints/stable-diffusion-v1-5' (or pass "
    '--cfg-options model.backbone.pretrained=PATH). For a tiny random stand-in run '
    '`python tools/model_converters/make_tiny_diffusion.py --out PATH`.')


def looks_like_hub_id(name: str) -> bool:
    """``org/name`` with no local-path markers (``./``, ``/``, ``~``, backslashes)."""
    return (name.count('/') == 1 and not name.startswith(('.', '/', '~'))
            and '\\' not in name and not name.endswith('/'))


def check_pretrained(pretrained: str, parts: tuple[str, ...]) -> str:
    """Check that ``pretrained`` can provide ``parts``; return the resolved local path or id.

    Raises:
        FileNotFoundError: a local folder (or one of its sub-folders) is missing.
    """
    path = osp.expanduser(str(pretrained))
    if osp.isdir(path):
        missing = [SUBFOLDERS[p] for p in parts if not osp.isdir(osp.join(path, SUBFOLDERS[p]))]
        if missing:
            raise FileNotFoundError(
                f'The diffusion weights folder {path!r} has no sub-folder(s) {missing} '
                f'(it has {sorted(os.listdir(path))}). {_HOW_TO}')
        return path
    if looks_like_hub_id(path):
        return path  # resolved by from_pretrained (hub cache or download)
    raise FileNotFoundError(f'The diffusion weights folder {path!r} does not exist. {_HOW_TO}')


_state = threading.local()


@contextlib.contextmanager
def random_weights():
    """Build the UNet, VAE and text encoder from their ``config.json`` with fresh weights.

    Inside this context the loaders read only each part's configuration (the tokenizer is
    loaded as usual) and build the model with its own initialisation: the real
    architecture, no checkpoint. Combined with ``torch.device('meta')`` the parameters take
    no memory and a forward pass computes only shapes, which is how the tests run every
    real config at SD's real widths; on a real device it gives random-weight models of the
    real size for benchmarks. A folder of configs only is written by
    :func:`~mmgeneralist.diffusion.architectures.save_architecture`.

    Example:
        >>> with torch.device('meta'), random_weights():
        ...     model = MODELS.build(cfg.model)
    """
    previous = getattr(_state, 'random', False)
    _state.random = True
    try:
        yield
    finally:
        _state.random = previous


def _from_config(cls, pretrained: str, subfolder: str | None):
    """``cls`` built from ``pretrained/<subfolder>/config.json`` with fresh weights."""
    if hasattr(cls, 'config_class'):  # transformers
        return cls(cls.config_class.from_pretrained(pretrained, subfolder=subfolder))
    return cls.from_config(cls.load_config(pretrained, subfolder=subfolder))  # diffusers


def _from_pretrained(cls, pretrained: str, part: str, subfolder: str | None = '', **kwargs):
    """``cls`` from ``pretrained``'s sub-folder of ``part`` (``subfolder=None``: the folder
    itself), or fresh from its config inside :func:`random_weights`."""
    subfolder = SUBFOLDERS[part] if subfolder == '' else subfolder
    try:
        if getattr(_state, 'random', False) and part != 'tokenizer':
            return _from_config(cls, pretrained, subfolder)
        return cls.from_pretrained(pretrained, subfolder=subfolder, **kwargs)
    except OSError as err:  # offline hub id, truncated files, ...
        where = ('' if osp.isdir(pretrained) else
                 ' (no such local folder, so it was tried as a hub id)')
        raise FileNotFoundError(f'Could not load the {part} of {pretrained!r}{where}: {err}\n'
                                f'{_HOW_TO}') from err


def load_unet(pretrained: str, folder: str | None = None):
    """``UNet2DConditionModel`` from ``pretrained/unet``, or from ``folder``: a diffusers UNet
    folder of its own (``config.json`` and weights, e.g. a released fine-tuned UNet such as
    GenPercept's), or a model folder holding one in ``unet/``."""
    from diffusers import UNet2DConditionModel
    if folder is None:
        return _from_pretrained(UNet2DConditionModel, pretrained, 'unet')
    path = osp.expanduser(str(folder))
    if osp.isfile(osp.join(path, 'config.json')):  # the UNet's own folder
        return _from_pretrained(UNet2DConditionModel, path, 'unet', subfolder=None)
    if osp.isfile(osp.join(path, 'unet', 'config.json')):
        return _from_pretrained(UNet2DConditionModel, path, 'unet')
    raise FileNotFoundError(f'unet={folder!r} is neither a diffusers UNet folder (config.json '
                            'and diffusion_pytorch_model.safetensors) nor a folder with one in '
                            'unet/: give the folder of the fine-tuned UNet, or leave unet=None '
                            'to use the pretrained folder\'s')


def load_vae(pretrained: str):
    """``AutoencoderKL`` from ``pretrained/vae``."""
    from diffusers import AutoencoderKL
    return _from_pretrained(AutoencoderKL, pretrained, 'vae')


def load_text_encoder(pretrained: str):
    """CLIP text model and tokenizer from ``pretrained/text_encoder`` and ``/tokenizer``."""
    from transformers import CLIPTextModel, CLIPTokenizer
    return (_from_pretrained(CLIPTextModel, pretrained, 'text_encoder'),
            _from_pretrained(CLIPTokenizer, pretrained, 'tokenizer'))
