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
                               words: Sequence[str] | None = None) -> str:
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

    Returns:
        ``out_dir``.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    n_up = len(unet_channels)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        layers_per_block=1,
        block_out_channels=tuple(unet_channels),
        down_block_types=('CrossAttnDownBlock2D', ) * (n_up - 1) + ('DownBlock2D', ),
        up_block_types=('UpBlock2D', ) + ('CrossAttnUpBlock2D', ) * (n_up - 1),
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
        scaling_factor=1.0)
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
