"""Tiny random stand-ins for Stable Diffusion, saved in the real diffusers folder format.

No weights can be downloaded in tests or CI, so tests, tiny configs and the main demo load
these through exactly the loading path used for the real SD-1.5 / SD-2.1 folders.

The tokenizer is a CLIP BPE tokenizer (``vocab.json`` + ``merges.txt`` in CLIP's own layout,
read unchanged by transformers' ``CLIPTokenizer``) whose merges make each word of
:data:`TINY_VOCABULARY_WORDS` a single token, so that the tiny text encoder sees "left", "red"
or "kitchen" as one embedding rather than as a string of characters. Other words still
tokenize, into characters and partial merges (see :func:`clip_bpe_vocabulary`).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
from collections.abc import Iterable, Sequence

import torch

#: The words of mmseg's ``ADE20KDataset.METAINFO['classes']`` (split on spaces, commas and
#: underscores), which the tiny ADE20K configs put into "a photo of a {}". A literal copy, so
#: that writing the tokenizer needs no mmseg import; the tests check it against mmseg.
ADE20K_CLASS_WORDS: tuple[str, ...] = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane',
    'grass', 'cabinet', 'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant',
    'curtain', 'chair', 'car', 'water', 'painting', 'sofa', 'shelf', 'house', 'sea',
    'mirror', 'rug', 'field', 'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe',
    'lamp', 'bathtub', 'railing', 'cushion', 'base', 'box', 'column', 'signboard', 'chest',
    'of', 'drawers', 'counter', 'sand', 'sink', 'skyscraper', 'fireplace', 'refrigerator',
    'grandstand', 'path', 'stairs', 'runway', 'case', 'pool', 'pillow', 'screen',
    'stairway', 'river', 'bridge', 'bookcase', 'blind', 'coffee', 'toilet', 'flower',
    'book', 'hill', 'bench', 'countertop', 'stove', 'palm', 'kitchen', 'island', 'computer',
    'swivel', 'boat', 'bar', 'arcade', 'machine', 'hovel', 'bus', 'towel', 'light', 'truck',
    'tower', 'chandelier', 'awning', 'streetlight', 'booth', 'television', 'receiver',
    'airplane', 'dirt', 'track', 'apparel', 'pole', 'land', 'bannister', 'escalator',
    'ottoman', 'bottle', 'buffet', 'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer',
    'belt', 'canopy', 'washer', 'plaything', 'swimming', 'stool', 'barrel', 'basket',
    'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step',
    'tank', 'trade', 'name', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher',
    'blanket', 'sculpture', 'hood', 'sconce', 'vase', 'traffic', 'tray', 'ashcan', 'fan',
    'pier', 'crt', 'plate', 'monitor', 'bulletin', 'board', 'shower', 'radiator', 'glass',
    'clock', 'flag')
#: The words of mmseg's ``NYUDataset.METAINFO['classes']`` (the 27 scene names, split on
#: underscores), the prompts of the tiny NYU depth configs.
NYU_SCENE_WORDS: tuple[str, ...] = (
    'printer', 'room', 'bathroom', 'living', 'study', 'conference', 'kitchen', 'home',
    'office', 'bedroom', 'dinette', 'playroom', 'indoor', 'balcony', 'laundry', 'basement',
    'excercise', 'foyer', 'storage', 'cafe', 'furniture', 'store', 'student', 'lounge',
    'dining', 'reception', 'computer', 'lab', 'classroom', 'bookstore')
#: The words of the synthetic world (``mmgeneralist.datasets.synthetic``): its class names,
#: colour names and the referring-expression grammar ``the [superlative] [colour] <class>
#: [relation]``, plus VPD's prompt template "a photo of a {}".
SYNTHETIC_WORDS: tuple[str, ...] = (
    'person', 'box', 'flower', 'tent', 'ball', 'wall', 'floor', 'other',
    'red', 'blue', 'green', 'yellow', 'orange', 'purple', 'pink', 'cyan',
    'the', 'a', 'an', 'on', 'at', 'left', 'right', 'top', 'bottom',
    'largest', 'smallest', 'nearest', 'farthest', 'photo', 'of')
#: A small generic English list for hand-written prompts in demos: function words, spatial
#: words, colours, sizes, counts and a few scene nouns (not derived from any corpus).
GENERIC_ENGLISH_WORDS: tuple[str, ...] = (
    'and', 'or', 'not', 'no', 'is', 'are', 'was', 'be', 'it', 'its', 'this', 'that', 'these',
    'those', 'there', 'here', 'with', 'without', 'in', 'into', 'to', 'from', 'by', 'for',
    'as', 'up', 'down', 'over', 'under', 'above', 'below', 'behind', 'front', 'next',
    'near', 'far', 'between', 'beside', 'middle', 'center', 'centre', 'side', 'back',
    'first', 'second', 'third', 'last', 'one', 'two', 'three', 'four', 'five', 'many',
    'some', 'all', 'each', 'other', 'another', 'only', 'big', 'small', 'large', 'little',
    'tall', 'short', 'long', 'wide', 'narrow', 'closest', 'furthest', 'bigger', 'smaller',
    'larger', 'nearer', 'farther', 'black', 'white', 'grey', 'gray', 'brown', 'dark',
    'bright', 'image', 'picture', 'scene', 'view', 'object', 'thing', 'stuff', 'background',
    'people', 'man', 'woman', 'child', 'dog', 'cat', 'bird', 'horse', 'who', 'which',
    'what', 'where', 'of')


#: The words of the generalists' task instructions: Fan et al.'s "Performance semantic
#: segmentation" family (Fig. 3) and InstructDiffusion's templates ("Please use red to
#: encircle the left shoulder of the person", "Apply a semi-transparent blue mask to ...").
INSTRUCTION_WORDS: tuple[str, ...] = (
    'performance', 'semantic', 'segmentation', 'panoptic', 'instance', 'depth', 'estimation',
    'restoration', 'denoising', 'deraining', 'deblurring', 'enhancement', 'please', 'use',
    'encircle', 'circle', 'mark', 'apply', 'semi', 'transparent', 'mask', 'cover', 'remove',
    'noise', 'rain', 'blur', 'make', 'brighter', 'sharper', 'clean', 'detect', 'segment',
    'keypoint', 'keypoints')


#: Further words of the tiny *editor's* tokenizer (:func:`save_tiny_editor_sd`): COCO's
#: keypoint parts, the palette's colour names and the rest of the instruction templates'
#: words, so that "Use magenta to circle the left knee" is a few whole tokens. Only the editor
#: folder gets them: the shared tiny folder's tokenizer (and so its random weights) stays as
#: the other methods' tests measured it.
EDITOR_WORDS: tuple[str, ...] = (
    'nose', 'eye', 'ear', 'shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle', 'red',
    'green', 'blue', 'yellow', 'cyan', 'magenta', 'orange', 'purple', 'pink', 'white', 'black',
    'gray', 'any', 'areas', 'around', 'brighten', 'brightness', 'changing', 'clearer', 'color',
    'colors', 'create', 'daylight', 'draw', 'enhance', 'every', 'exposure', 'fill', 'find',
    'if', 'improve', 'increase', 'keep', 'keeping', 'leave', 'lighting', 'look', 'low',
    'modify', 'paint', 'pixel', 'pixels', 'place', 'put', 'raise', 'rest', 'taken', 'they',
    'unchanged', 'underexposed', 'visibility', 'were', 'while')


def _unique(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(words))


#: The default word list of the tiny tokenizer: each becomes one token ``word</w>``.
TINY_VOCABULARY_WORDS: tuple[str, ...] = _unique(
    SYNTHETIC_WORDS + ADE20K_CLASS_WORDS + NYU_SCENE_WORDS + GENERIC_ENGLISH_WORDS +
    INSTRUCTION_WORDS)

_END = '</w>'  # CLIP's end-of-word marker on the last symbol of a word
_LETTER_RUN = re.compile(r'[^\W\d_]+')  # CLIP pre-tokenizes text into letter runs (\p{L}+)


def clip_bpe_vocabulary(words: Iterable[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A CLIP-format BPE vocabulary and merge list in which every word of ``words`` is a token.

    Each word is lower-cased and split into letter runs, as ``CLIPTokenizer`` pre-tokenizes
    text ("living_room" gives "living" and "room"); each run ``c1 ... cn`` becomes the token
    ``c1...cn</w>``. The merges build every run from its end: ``(c_n-1, c_n</w>)``, then
    ``(c_n-2, c_n-1 c_n</w>)`` and so on, so every merge joins one single byte symbol to a
    symbol that ends in ``</w>``. CLIP's BPE starts from single symbols with ``</w>`` only on
    the last one, so the only pair that can ever merge is the word's last pair: merges never
    compete and their ranks cannot break a word, whatever other words share prefixes,
    suffixes or pairs with it. A word outside the list merges as long a suffix as the list
    has ("hall" gives ``h`` + ``all</w>`` once "ball" is in the list) and keeps the rest as
    characters.

    The vocabulary has CLIP's layout: the 256 byte symbols, the same with ``</w>``, one entry
    per merge in merge order (shorter results first, so a merge's parts always come before
    it), then ``<|startoftext|>`` and ``<|endoftext|>``. An empty ``words`` gives the plain
    byte-level (character) vocabulary with no merges.

    Args:
        words: Words to make single tokens.

    Returns:
        The token-to-id mapping and the merges in rank order.
    """
    from transformers.models.clip.tokenization_clip import bytes_to_unicode
    byte_symbol = bytes_to_unicode()
    merges = set()
    for word in words:
        for run in _LETTER_RUN.findall(word.lower()):
            symbols = [byte_symbol[b] for b in run.encode('utf-8')]
            for k in range(len(symbols) - 1):
                merges.add((symbols[k], ''.join(symbols[k + 1:]) + _END))
    merges = sorted(merges, key=lambda m: (len(m[0]) + len(m[1]), m))
    symbols = list(byte_symbol.values())
    vocab = (symbols + [s + _END for s in symbols] + [a + b for a, b in merges] +
             ['<|startoftext|>', '<|endoftext|>'])
    return {tok: i for i, tok in enumerate(vocab)}, merges


def write_clip_bpe_tokenizer_files(folder: str, words: Iterable[str]) -> None:
    """Write ``vocab.json`` and ``merges.txt`` of :func:`clip_bpe_vocabulary` to ``folder``.

    Args:
        folder: Directory to write (created if missing).
        words: Words to make single tokens; empty for a character-level tokenizer.
    """
    vocab, merges = clip_bpe_vocabulary(words)
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(osp.join(folder, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n')
        f.writelines(f'{a} {b}\n' for a, b in merges)


def save_tiny_tokenizer(folder: str, max_text_len: int = 77,
                        words: Iterable[str] | None = None):
    """Write the tiny word-level CLIP tokenizer to ``folder``; return it.

    Args:
        folder: the tokenizer folder (``vocab.json``, ``merges.txt`` and transformers'
            tokenizer files).
        max_text_len: its ``model_max_length`` (77 in SD).
        words: see :func:`save_tiny_stable_diffusion`.

    Returns:
        The ``CLIPTokenizer``.
    """
    from transformers import CLIPTokenizer
    write_clip_bpe_tokenizer_files(folder, TINY_VOCABULARY_WORDS if words is None else words)
    tokenizer = CLIPTokenizer(osp.join(folder, 'vocab.json'), osp.join(folder, 'merges.txt'),
                              model_max_length=max_text_len)
    tokenizer.save_pretrained(folder)
    return tokenizer


def save_tiny_stable_diffusion(out_dir: str,
                               seed: int = 0,
                               unet_channels: Sequence[int] = (32, 64, 64, 64),
                               vae_channels: Sequence[int] = (16, 32, 32),
                               latent_channels: int = 8,
                               text_width: int = 32,
                               max_text_len: int = 77,
                               words: Sequence[str] | None = None,
                               attention_levels: Sequence[bool] | None = None,
                               vae_mid_attention: bool = True,
                               layers_per_block: int = 1,
                               scaling_factor: float = 1.0,
                               word_embedding_std: float | None = None) -> str:
    """Build a tiny UNet, VAE, CLIP text encoder and tokenizer; ``save_pretrained`` them.

    Args:
        out_dir: the diffusers-format folder to write (``unet/``, ``vae/``, ...).
        seed: seed of the random weights.
        unet_channels: UNet block widths; four blocks give VPD's four feature levels.
        vae_channels: VAE block widths; ``n`` blocks downsample by ``2**(n-1)``.
        latent_channels: VAE latent width (SD has 4; a random frozen VAE loses less with 8).
        text_width: CLIP hidden size, and the UNet's cross-attention width.
        max_text_len: tokenizer/text-encoder length (77 in SD).
        words: words the tokenizer keeps whole, one token each (see
            :func:`clip_bpe_vocabulary`); None for :data:`TINY_VOCABULARY_WORDS`, empty for a
            character-level tokenizer. The text encoder's vocabulary follows the tokenizer.
        attention_levels: which UNet levels have (self- and cross-) attention blocks, from
            the top; None for SD's pattern, every level but the deepest. Attention at the
            top level costs most at large latents.
        vae_mid_attention: whether the VAE's middle block has its self-attention (SD's has).
        layers_per_block: the UNet's layers per down block (one more per up block); SD has 2.
        scaling_factor: the VAE's latent scaling factor (SD-1's is 0.18215).
        word_embedding_std: redraw the text encoder's token embeddings with this standard
            deviation (None keeps CLIP's initialisation, 0.02).

    Returns:
        ``out_dir``.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    n_up = len(unet_channels)
    levels = [True] * (n_up - 1) + [False] if attention_levels is None else \
        list(attention_levels)
    if len(levels) != n_up:
        raise ValueError(f'attention_levels needs one flag per UNet level ({n_up}); got '
                         f'{attention_levels}')
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        layers_per_block=layers_per_block,
        block_out_channels=tuple(unet_channels),
        down_block_types=tuple('CrossAttnDownBlock2D' if a else 'DownBlock2D' for a in levels),
        up_block_types=tuple('CrossAttnUpBlock2D' if a else 'UpBlock2D'
                             for a in reversed(levels)),
        cross_attention_dim=text_width,
        attention_head_dim=8,
        norm_num_groups=8)
    n_vae = len(vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=('DownEncoderBlock2D', ) * n_vae,
        up_block_types=('UpDecoderBlock2D', ) * n_vae,
        block_out_channels=tuple(vae_channels),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=scaling_factor,
        mid_block_add_attention=vae_mid_attention)
    tokenizer = save_tiny_tokenizer(osp.join(out_dir, 'tokenizer'), max_text_len, words)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=text_width,
            intermediate_size=2 * text_width,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=max_text_len,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
    if word_embedding_std is not None:
        with torch.no_grad():
            text_encoder.get_input_embeddings().weight.normal_(0.0, word_embedding_std)
    unet.save_pretrained(osp.join(out_dir, 'unet'))
    vae.save_pretrained(osp.join(out_dir, 'vae'))
    text_encoder.save_pretrained(osp.join(out_dir, 'text_encoder'))
    with open(osp.join(out_dir, 'model_index.json'), 'w') as f:
        json.dump(
            {
                '_class_name': 'StableDiffusionPipeline',
                'unet': ['diffusers', 'UNet2DConditionModel'],
                'vae': ['diffusers', 'AutoencoderKL'],
                'text_encoder': ['transformers', 'CLIPTextModel'],
                'tokenizer': ['transformers', 'CLIPTokenizer'],
            }, f, indent=2)
    return out_dir


def _pass_through(conv_in, norm, conv_out, channels: int, offset: float) -> None:
    """Make ``conv_out(silu(norm(conv_in(x))))`` copy the first ``channels`` channels of
    ``x`` (3x3 convolutions, a ``GroupNorm`` of groups of at least 4 channels).

    Group ``i`` holds ``x_i``, ``-x_i`` and the constants ``offset`` and ``-offset``: its mean
    is 0 and its spread is set by the constants (up to ``x_i**2 / offset**2``), so the norm
    only scales ``x_i``; and ``silu(u) - silu(-u) == u`` exactly, which ``conv_out`` reads.
    """
    group = conv_in.out_channels // norm.num_groups
    if group < 4 or norm.num_groups < channels:
        raise ValueError(f'an identity start needs {channels} norm groups of at least 4 '
                         f'channels; got {norm.num_groups} of {group}')
    spread = offset * (2 / group) ** 0.5  # the group's standard deviation
    centre = conv_in.kernel_size[0] // 2
    conv_in.weight[:group * channels] = 0
    conv_in.bias[:group * channels] = 0
    conv_out.weight.zero_()
    conv_out.bias.zero_()
    for i in range(channels):
        first = group * i
        conv_in.weight[first, i, centre, centre] = 1
        conv_in.weight[first + 1, i, centre, centre] = -1
        conv_in.bias[first + 2], conv_in.bias[first + 3] = offset, -offset
        conv_out.weight[i, first, centre, centre] = spread
        conv_out.weight[i, first + 1, centre, centre] = -spread
    norm.weight.fill_(1)
    norm.bias.zero_()


@torch.no_grad()
def identity_start(vae, logvar: float = -10.0, offset: float = 100.0) -> None:
    """Set a diffusers ``AutoencoderKL`` without downsampling to an exact pass-through.

    The posterior mean's first three channels are the RGB image and the rest zero, its
    log-variance is ``logvar``, and the decoder returns the mean's first three channels: the
    last layer of every residual branch (ResNet blocks, attention) is zeroed, as in
    zero-initialised residual networks, the quant convolutions are identities
    (``torch.nn.init.dirac_``), and each GroupNorm-SiLU-convolution output stage copies its
    input (see :func:`_pass_through`). Every weight stays trainable and most keep their
    random values; :func:`fit_tiny_vae` then trains from there.

    Args:
        vae: the ``AutoencoderKL`` to change in place (one block: no downsampling).
        logvar: the posterior's initial log-variance (-10: standard deviation 0.007).
        offset: the constants that set each group's spread (larger: a more exact copy).
    """
    from diffusers.models.attention_processor import Attention
    from diffusers.models.resnet import ResnetBlock2D
    if len(vae.config.block_out_channels) != 1:
        raise ValueError('an identity start needs a VAE without downsampling (one block); '
                         f'got blocks {vae.config.block_out_channels}')
    for module in vae.modules():
        if isinstance(module, ResnetBlock2D):
            last = module.conv2
        elif isinstance(module, Attention):
            last = module.to_out[0]
        else:
            continue
        last.weight.zero_()
        last.bias.zero_()
    for conv in (vae.quant_conv, vae.post_quant_conv):
        if conv is not None:
            torch.nn.init.dirac_(conv.weight)
            conv.bias.zero_()
    encoder, decoder = vae.encoder, vae.decoder
    _pass_through(encoder.conv_in, encoder.conv_norm_out, encoder.conv_out, 3, offset)
    encoder.conv_out.bias[vae.config.latent_channels:] = logvar
    _pass_through(decoder.conv_in, decoder.conv_norm_out, decoder.conv_out, 3, offset)


def fit_tiny_vae(vae, images: torch.Tensor, steps: int = 60, batch_size: int = 16,
                 lr: float = 1e-4, kl_weight: float = 1e-4, seed: int = 0,
                 init: str = 'identity', progress: bool = False) -> dict:
    """Train a tiny ``AutoencoderKL`` to reconstruct ``images``, so that an editor trained
    through it can produce recognisable images (a random VAE cannot).

    AdamW with a linearly decaying rate, random horizontal flips, the reconstruction's mean
    squared error (decoding a posterior sample) plus ``kl_weight`` times the posterior's KL
    divergence per latent element. Deterministic for a given ``seed``.

    From its random weights the VAE learns slowly on a CPU: measured with one thread on the
    generated images at 32 px (:func:`save_tiny_editor_sd`'s VAE, lr 5e-3), 100 steps gave
    19 dB on held-out images (22 s), 200 steps 20 dB (43 s); at 64 px with random 16 px
    crops, 1500 steps (about 140 s) stayed at 28 dB. GroupNorm before each output
    convolution normalises every image, so the network must first learn to carry its
    absolute colours. With ``init='identity'`` (VAEs without downsampling) fitting starts
    from an exact pass-through (:func:`identity_start`, 96 dB) and trains from there: 60
    steps at lr 1e-4 keep 61 dB on held-out images (lr 1e-3: 40 dB).

    Args:
        vae: the diffusers ``AutoencoderKL`` to train in place.
        images: ``(N, 3, H, W)`` float images in [-1, 1].
        steps: optimisation steps.
        batch_size: images per step, drawn with replacement.
        lr: the initial learning rate.
        kl_weight: weight of the KL divergence per latent element, against the mean squared
            error per pixel. With a pass-through decoder the two balance at a posterior
            variance of about ``kl_weight / 2`` (1e-4: std 0.007, :func:`identity_start`'s).
        seed: seed of the draws, flips and posterior samples.
        init: ``'identity'`` (:func:`identity_start`) or ``'random'`` (the VAE's weights as
            given).
        progress: show a tqdm bar.

    Returns:
        ``dict(steps=..., psnr=...)``: the reconstruction PSNR in dB (peak-to-peak 2) of the
        posterior mode on ``images`` after training. The VAE is left in eval mode with
        ``requires_grad_(False)``.
    """
    from tqdm import tqdm
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f'images must be (N, 3, H, W) in [-1, 1]; got {tuple(images.shape)}')
    if init == 'identity':
        identity_start(vae)
    elif init != 'random':
        raise ValueError(f"init must be 'identity' or 'random'; got {init!r}")
    generator = torch.Generator().manual_seed(seed)
    vae.train().requires_grad_(True)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    for step in tqdm(range(steps), disable=not progress, desc='fitting the tiny VAE'):
        batch = images[torch.randint(len(images), (batch_size, ), generator=generator)]
        flip = torch.rand(batch_size, generator=generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        posterior = vae.encode(batch).latent_dist
        recon = vae.decode(posterior.sample(generator=generator)).sample
        kl = posterior.kl().mean() / posterior.mean[0].numel()
        loss = (recon - batch).square().mean() + kl_weight * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for group in optimizer.param_groups:
            group['lr'] = lr * (1 - (step + 1) / steps)
    vae.eval().requires_grad_(False)
    return dict(steps=steps, psnr=vae_psnr(vae, images))


@torch.no_grad()
def vae_psnr(vae, images: torch.Tensor, batch_size: int = 64) -> float:
    """Reconstruction PSNR in dB (images in [-1, 1], peak-to-peak 2) of the posterior mode."""
    errors = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        recon = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
        errors.append((recon - x).square().flatten(1).mean(1))
    mse = torch.cat(errors).mean()
    return float(10 * torch.log10(4 / mse))


def save_tiny_editor_sd(out_dir: str, images: torch.Tensor, seed: int = 0, steps: int = 60,
                        **fit_kwargs) -> dict:
    """A tiny SD folder for the InstructDiffusion editor, its VAE fitted to ``images``.

    The editor works on the VAE's latents and is scored on the images it decodes, so its
    tiny stand-in needs a VAE that reconstructs (:func:`fit_tiny_vae`). The VAE has one
    block, so no downsampling (a 32 px image has a 32x32 latent, which keeps small circles
    readable), 4 latent channels and no middle attention; the UNet has attention on its third
    level (8x8 for a 32 px image) only: with attention on the 32x32 and 16x16 levels too, a
    training step at batch 8 took 3.0 s instead of 0.34 s (one thread, this machine). The
    VAE keeps ``scaling_factor`` 1.0: its latent is about the image itself (standard
    deviation about 0.5 on the generated images), the scale pixel-space diffusion uses.
    Measured on the generated 64 px images (at 32 px, 960 distinct training images) with
    one thread, the defaults take about 15 s and reconstruct held-out images at about
    60 dB, against 11 dB for the random VAE.

    The text encoder stands in for a *pretrained* CLIP, whose words are far apart: a random
    tiny CLIP at its initialisation (token embeddings of standard deviation 0.02) barely
    tells "red" from "cyan" or "nose" from "left ankle" (the one-word change moves its
    output by 0.30 and 0.35 of a token's norm), and the UNet learnt to ignore the
    instruction. Its token embeddings are drawn 20x wider (0.4; the changes are then 0.85
    and 1.32). Measured with the keypoints config (1500 iterations, one thread): PCK@0.2
    0.47 against 0.30 with CLIP's initialisation, the box centre's being 0.16; the
    multi-task config's semantic mIoU after 400 iterations was 7.7 and 8.3 (seeds 0 and 1),
    and 8.7 with CLIP's initialisation (seed 1), the unchanged image's being 4.9. (A
    pooled-text path into the UNet's time embedding, diffusers'
    ``addition_embed_type='text'``, placed keypoints better still, PCK 0.69 and 0.64, but
    its semantic masks fell to 8.5 and 4.2; it is not used.)

    Args:
        out_dir: the folder to write (as :func:`save_tiny_stable_diffusion`).
        images: ``(N, 3, H, W)`` training images in [-1, 1] (the editor's source images).
        seed: seed of the random weights and of the fitting.
        steps: fitting steps.
        **fit_kwargs: further arguments of :func:`fit_tiny_vae` (``lr``, ``init``,
            ``progress``, ...).

    Returns:
        :func:`fit_tiny_vae`'s statistics, with ``folder`` (``out_dir``).
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    latent_channels = 4
    save_tiny_stable_diffusion(out_dir, seed=seed, vae_channels=(32, ),
                               latent_channels=latent_channels,
                               attention_levels=(False, False, True, False),
                               vae_mid_attention=False,
                               words=TINY_VOCABULARY_WORDS + EDITOR_WORDS,
                               word_embedding_std=0.4)
    unet = UNet2DConditionModel.load_config(osp.join(out_dir, 'unet'))
    if not unet['in_channels'] == unet['out_channels'] == latent_channels:
        raise RuntimeError(f'the UNet in {out_dir} does not match the {latent_channels} '
                           f'latent channels: {unet["in_channels"]} in, '
                           f'{unet["out_channels"]} out')
    vae = AutoencoderKL.from_pretrained(osp.join(out_dir, 'vae'))
    stats = fit_tiny_vae(vae, images, steps=steps, seed=seed, **fit_kwargs)
    vae.save_pretrained(osp.join(out_dir, 'vae'))
    return dict(stats, folder=out_dir)


def load_training_images(paths: Sequence[str], size: int = 32) -> torch.Tensor:
    """``(N, 3, size, size)`` RGB images in [-1, 1]: each file resized to ``size`` (area
    interpolation) and, when it is at least twice as large, also its central crop. Images
    that come out identical (the generator writes the same scene in several formats) are
    kept once."""
    import cv2
    import numpy as np
    out = {}
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read the image {path!r}')
        image = np.ascontiguousarray(image[..., ::-1])
        views = [cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)]
        h, w = image.shape[:2]
        if min(h, w) >= 2 * size:
            top, left = (h - size) // 2, (w - size) // 2
            views.append(np.ascontiguousarray(image[top:top + size, left:left + size]))
        out.update((view.tobytes(), view) for view in views)
    if not out:
        raise ValueError('no images to fit the tiny VAE on')
    return torch.from_numpy(np.stack(list(out.values()))).permute(0, 3, 1, 2).float() / 127.5 - 1
