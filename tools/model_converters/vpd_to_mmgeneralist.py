"""Convert a released VPD checkpoint into an mmgeneralist checkpoint that loads strictly.

    python tools/model_converters/vpd_to_mmgeneralist.py SRC OUT.pth \\
        --sd checkpoints/stable-diffusion-v1-5 [--kind auto]

Source layouts (``--kind``, detected from the keys by default):

=================  ===========================================  ===============================
kind               released file                                loads into
=================  ===========================================  ===============================
``seg``            wl-zhao/VPD ``segmentation/`` (mmseg 0.x     ``configs/vpd/vpd_sd15-fpn_8xb2
                   ``VPDSeg``: ``unet.unet.diffusion_model``,   -80k_ade20k-512x512.py``
                   ``encoder_vq``, ``text_adapter``, ``gamma``,
                   ``class_embeddings``, ``neck``,
                   ``decode_head``)
``depth``          wl-zhao/VPD ``depth/`` (``VPDDepth``:         ``configs/vpd/vpd_sd15-vpdhead
                   ``encoder.*``, ``decoder.*``,                _4xb8-25k_nyu-512x512.py``
                   ``last_layer_depth.*``)                      (mmseg's ``VPDDepthHead``)
``mmseg-depth``    mmseg 1.x's VPD depth model (``backbone.*``  the same config
                   of mmseg's ``VPD``, ``decode_head.*`` of
                   ``VPDDepthHead``)
``refer``          wl-zhao/VPD ``refer/`` (``VPDRefer``:        ``configs/vpd/vpd_sd15-refer_4x
                   ``unet``, ``encoder_vq``, ``text_adapter``,  b8-40e_refcoco-512x512.py``
                   ``gamma``, ``classifier`` = LAVT's
                   ``SimpleDecoding``)
=================  ===========================================  ===============================

The UNet and the VAE encoder come from the file in the original ldm key layout and go
through diffusers' own single-file conversion (``convert_ldm_unet_checkpoint``,
``convert_ldm_vae_checkpoint``); the architecture is read from the diffusers folder given as
``--sd`` (its ``unet/`` and ``vae/`` configs), never fetched. The released files have no
text encoder (their class embeddings are stored; the referring model's CLIP was kept
outside): it is taken from ``--sd``, so the result holds the whole model. Parts the backbone
drops (the UNet's output layers, the VAE decoder) and ldm's noise-schedule buffers are left
out; any other key the tool does not know stops it, listing the keys.

Load the result with ``load_from=OUT.pth`` (or ``tools/test.py CONFIG OUT.pth``), the
config's ``model.backbone.pretrained`` pointing at the same SD folder.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from collections.abc import Callable, Mapping

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

KINDS = ('seg', 'depth', 'mmseg-depth', 'refer')

#: where each layout keeps the backbone's parts (the prefix in front of ``unet.unet.
#: diffusion_model.``, ``encoder_vq.``, ``text_adapter.``, ``gamma``, ``class_embeddings``)
BACKBONE_PREFIX = {'seg': '', 'depth': 'encoder.', 'mmseg-depth': 'backbone.', 'refer': ''}


def detect_kind(keys) -> str:
    """The source layout from its keys (see the module docstring)."""
    keys = list(keys)
    def has(prefix):  # noqa: E306
        return any(k.startswith(prefix) for k in keys)
    if has('backbone.unet.unet.diffusion_model.') and has('decode_head.'):
        return 'mmseg-depth'
    if has('encoder.unet.unet.diffusion_model.') and has('last_layer_depth.'):
        return 'depth'
    if has('unet.unet.diffusion_model.') and has('classifier.'):
        return 'refer'
    if has('unet.unet.diffusion_model.') and has('decode_head.'):
        return 'seg'
    prefixes = sorted({k.split('.')[0] for k in keys})[:8]
    raise ValueError('this is not a released VPD checkpoint: expected the UNet under '
                     "'unet.unet.diffusion_model.' (VPD's segmentation and referring models), "
                     "'encoder.unet.unet.diffusion_model.' (its depth model) or "
                     "'backbone.unet.unet.diffusion_model.' (mmseg's VPD), with a head; found "
                     f'top-level keys {prefixes}')


def _refer_head(key: str) -> str:
    """LAVT's ``SimpleDecoding`` names -> ``ReferringMaskHead`` names."""
    name, _, rest = key.partition('.')
    if name == 'conv1_1':
        return f'head.conv_seg.{rest}'
    kind, layer, stage = name[:-3], name[-3], name[-1]  # e.g. conv1_4 -> conv, 1, 4
    fuse = {'4': 0, '3': 1, '2': 2}[stage]
    module = 'conv' if kind == 'conv' else 'bn'
    return f'head.fuse.{fuse}.{int(layer) - 1}.{module}.{rest}'


#: renames of the non-backbone keys: (source prefix, function of the rest of the key)
HEAD_RENAMES: dict[str, list[tuple[str, Callable[[str], str]]]] = {
    'seg': [('neck.', lambda k: f'neck.{k}'), ('decode_head.', lambda k: f'decode_head.{k}')],
    'mmseg-depth': [('decode_head.', lambda k: f'decode_head.{k}')],
    'depth': [  # VPDDepthEncoder's fusion + Decoder + last layer = mmseg's VPDDepthHead
        ('encoder.layer1.', lambda k: f'decode_head.conv1.{k}'),
        ('encoder.layer2.', lambda k: f'decode_head.conv2.{k}'),
        ('encoder.out_layer.', lambda k: f'decode_head.conv_aggregation.{k}'),
        ('decoder.', lambda k: f'decode_head.decoder.{k}'),
        ('last_layer_depth.', lambda k: f'decode_head.depth_pred_layer.{k}'),
    ],
    'refer': [('classifier.', _refer_head)],
}

#: source keys that have no place in the model: ldm's noise-schedule buffers, and the parts
#: the backbone drops (the VAE decoder, its post_quant_conv)
DROPPED = ('sd_model.', 'encoder_vq.decoder.', 'encoder_vq.post_quant_conv.')


def _read_config(folder: str, part: str) -> dict:
    import json
    path = osp.join(folder, part, 'config.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'--sd {folder!r} has no {part}/config.json: give the '
                                'diffusers-format Stable Diffusion folder the config uses '
                                '(model.backbone.pretrained)')
    with open(path) as f:
        return json.load(f)


def convert(state: Mapping[str, torch.Tensor], sd_folder: str, kind: str = 'auto',
            progress: bool = False) -> dict[str, torch.Tensor]:
    """Released VPD ``state`` -> mmgeneralist names (see the module docstring)."""
    from diffusers.loaders.single_file_utils import (
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
    )
    if kind == 'auto':
        kind = detect_kind(state)
    if kind not in KINDS:
        raise ValueError(f'--kind {kind!r}; choose auto or one of {KINDS}')
    unet_cfg, vae_cfg = _read_config(sd_folder, 'unet'), _read_config(sd_folder, 'vae')
    pre = BACKBONE_PREFIX[kind]
    out: dict[str, torch.Tensor] = {}
    ldm: dict[str, torch.Tensor] = {}
    left = []
    items = state.items()
    if progress:
        from tqdm import tqdm
        items = tqdm(items, total=len(state), desc='renaming', unit='tensor')
    for key, value in items:
        if not key.startswith(pre):
            rest = None
        else:
            rest = key[len(pre):]
        if rest is not None and rest.startswith('unet.unet.diffusion_model.'):
            ldm['model.diffusion_model.' + rest[len('unet.unet.diffusion_model.'):]] = value
        elif rest is not None and rest.startswith(DROPPED) or key.startswith(DROPPED):
            continue
        elif rest is not None and rest.startswith('encoder_vq.'):
            ldm['first_stage_model.' + rest[len('encoder_vq.'):]] = value
        elif rest == 'gamma':
            out['backbone.text.adapter.gamma'] = value
        elif rest is not None and rest.startswith('text_adapter.'):
            out['backbone.text.adapter.' + rest[len('text_adapter.'):]] = value
        elif rest == 'class_embeddings':
            if kind == 'mmseg-depth':  # mmseg appends the mean as the row of id -1
                if not torch.allclose(value[-1], value[:-1].mean(0), atol=1e-5):
                    raise ValueError("mmseg's VPD class_embeddings should end with their mean "
                                     '(class_embed_select); this file does not')
                value = value[:-1]
            out['backbone.text.class_embeddings'] = value
        else:
            for prefix, rename in HEAD_RENAMES[kind]:
                if key.startswith(prefix):
                    out[rename(key[len(prefix):])] = value
                    break
            else:
                left.append(key)
    if left:
        raise ValueError(f'{len(left)} key(s) of the {kind!r} layout that this tool does not '
                         f'know, e.g. {left[:5]}; is --kind right?')
    unet = convert_ldm_unet_checkpoint(ldm, unet_cfg)
    for key, value in unet.items():
        if not key.startswith(('conv_out.', 'conv_norm_out.')):  # dropped by the backbone
            out['backbone.unet.' + key] = value
    for key, value in convert_ldm_vae_checkpoint(ldm, vae_cfg).items():
        if key.startswith(('encoder.', 'quant_conv.')):
            out['backbone.vae.' + key] = value
    from transformers import CLIPTextModel
    encoder = CLIPTextModel.from_pretrained(osp.join(sd_folder, 'text_encoder'))
    for key, value in encoder.state_dict().items():
        out['backbone.text.encoder.' + key] = value
    return out


def load_source(path: str) -> dict[str, torch.Tensor]:
    """The state dict of a released file (``state_dict`` / ``model`` entry, or the dict)."""
    import argparse as _argparse
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path!r} does not exist')
    torch.serialization.add_safe_globals([_argparse.Namespace])  # refer/depth save their args
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 (zip, pickle and EOF errors share no base)
        raise ValueError(f'cannot read {path!r} as a torch checkpoint ({type(err).__name__}: '
                         f'{str(err).splitlines()[0][:200]}); is the file complete?') from None
    for entry in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(entry), Mapping):
            ckpt = ckpt[entry]
            break
    if not isinstance(ckpt, Mapping) or not all(isinstance(v, torch.Tensor)
                                               for v in ckpt.values()):
        raise ValueError(f'{path!r} holds no state dict (a mapping of tensor names to tensors, '
                         "alone or under 'state_dict' / 'model')")
    return dict(ckpt)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='the released checkpoint (.pth)')
    parser.add_argument('out', help='the mmgeneralist checkpoint to write (.pth)')
    parser.add_argument('--sd', required=True,
                        help='the diffusers-format SD-1.5 folder (architecture, text encoder)')
    parser.add_argument('--kind', default='auto', choices=('auto', ) + KINDS)
    parser.add_argument('--force', action='store_true', help='overwrite OUT')
    args = parser.parse_args(argv)
    from mmgeneralist.utils.cli import report_errors
    with report_errors():
        if osp.exists(args.out) and not args.force:
            raise ValueError(f'{args.out!r} exists; pass --force to overwrite it')
        state = load_source(args.src)
        converted = convert(state, args.sd, args.kind, progress=True)
        kind = args.kind if args.kind != 'auto' else detect_kind(state)
        tmp = args.out + '.part'
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        torch.save({'state_dict': converted,
                    'meta': dict(converted_from=osp.basename(args.src), kind=kind)}, tmp)
        os.replace(tmp, args.out)  # an interrupted run leaves no half-written OUT
    print(f'wrote {args.out}: {len(converted)} tensors ({kind} layout)')


if __name__ == '__main__':
    main()
