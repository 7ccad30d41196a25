"""The tiny CLIP tokenizer: listed words are single tokens, other text still round-trips."""
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmgeneralist.diffusion.tiny import (
    ADE20K_CLASS_WORDS,
    NYU_SCENE_WORDS,
    TINY_VOCABULARY_WORDS,
    clip_bpe_vocabulary,
    write_clip_bpe_tokenizer_files,
)


def _clip_tokenizer(folder, **kwargs):
    from transformers import CLIPTokenizer
    return CLIPTokenizer(osp.join(folder, 'vocab.json'), osp.join(folder, 'merges.txt'),
                         model_max_length=77, **kwargs)


@pytest.fixture(scope='module')
def tokenizer(tiny_sd_dir):
    """The tokenizer of the shared tiny model folder, loaded as the backbone loads it."""
    from transformers import CLIPTokenizer
    return CLIPTokenizer.from_pretrained(tiny_sd_dir, subfolder='tokenizer')


def _words(names):
    return {w for n in names for w in re.split(r'[\s,_]+', n.strip().lower()) if w}


def _single_token(tokenizer, word):
    ids = tokenizer(word).input_ids
    return len(ids) == 3 and ids[0] == tokenizer.bos_token_id and ids[2] == tokenizer.eos_token_id


@pytest.mark.parametrize('word', ['left', 'red', 'ball', 'wall', 'floor', 'kitchen'])
def test_key_words_are_one_token(tokenizer, word):
    ids = tokenizer(word).input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert len(ids) == 3
    assert tokenizer.convert_ids_to_tokens(ids[1]) == word + '</w>'


def test_every_listed_word_is_one_token(tokenizer):
    batch = tokenizer(list(TINY_VOCABULARY_WORDS)).input_ids
    broken = [w for w, ids in zip(TINY_VOCABULARY_WORDS, batch)
              if len(ids) != 3 or tokenizer.convert_ids_to_tokens(ids[1]) != w + '</w>']
    assert not broken


def test_word_list_covers_mmseg_class_names():
    from mmseg.datasets import ADE20KDataset, NYUDataset
    assert _words(ADE20KDataset.METAINFO['classes']) == set(ADE20K_CLASS_WORDS)
    assert _words(NYUDataset.METAINFO['classes']) == set(NYU_SCENE_WORDS)
    assert set(ADE20K_CLASS_WORDS + NYU_SCENE_WORDS) <= set(TINY_VOCABULARY_WORDS)


def test_synthetic_expressions_are_one_token_per_word(tokenizer):
    from mmgeneralist.datasets.synthetic import (
        STUFF_CLASSES,
        THING_CLASSES,
        describe_instance,
        generate_scene,
    )
    texts = ['a photo of a ' + c for c in THING_CLASSES + STUFF_CLASSES]
    for index in range(12):
        scene = generate_scene(0, 'train', index, 64)
        rng = np.random.default_rng(index)
        for inst in scene.instances:
            if inst.area:
                texts += describe_instance(scene, inst, rng, max_sentences=20)
    assert any(' on the left' in t for t in texts) and any('largest' in t for t in texts)
    for text, ids in zip(texts, tokenizer(texts).input_ids):
        assert len(ids) == len(text.split()) + 2, text


@pytest.mark.parametrize('text,n', [('a photo of a cat', 5), ('a photo of a kitchen', 5),
                                    ('a photo of a living_room', 7),  # living _ room
                                    ('a photo of a chest of drawers', 7),
                                    ('the largest red ball on the left', 7), ('', 0)])
def test_prompt_lengths(tokenizer, text, n):
    ids = tokenizer(text).input_ids
    assert len(ids) == n + 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == text.replace('_', ' _ ')


def test_unseen_words_fall_back_and_round_trip(tokenizer):
    text = 'a quokka plays the xylophone in a hall'
    ids = tokenizer(text).input_ids
    assert len(ids) > len(text.split()) + 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    # a word outside the list keeps its longest listed suffix: h + all</w>
    assert tokenizer.tokenize('hall') == ['h', 'all</w>']
    assert tokenizer.tokenize('zq') == ['z', 'q</w>']


def test_merges_compete_with_no_rank_order(tmp_path):
    # words sharing prefixes, suffixes and pairs; the merges are written in rank order and
    # reversed, and every word must be one token either way
    words = ['ball', 'all', 'ba', 'bal', 'lab', 'llama', 'allall', 'aaa', 'a', 'la', 'balla']
    vocab, merges = clip_bpe_vocabulary(words)
    write_clip_bpe_tokenizer_files(str(tmp_path / 'fwd'), words)
    reverse = tmp_path / 'rev'
    write_clip_bpe_tokenizer_files(str(reverse), words)
    (reverse / 'merges.txt').write_text(
        '#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in reversed(merges)), 'utf-8')
    for folder in (tmp_path / 'fwd', reverse):
        tok = _clip_tokenizer(str(folder))
        for w in words:
            assert tok.tokenize(w) == [w + '</w>'], (folder.name, w)
        assert tok.tokenize('alla') == ['alla</w>']  # a suffix of 'balla'
        assert tok.tokenize('bala') == ['b', 'a', 'la</w>']


def test_vocabulary_layout():
    vocab, merges = clip_bpe_vocabulary(['left', 'red'])
    tokens = sorted(vocab, key=vocab.get)
    assert list(vocab.values()) == list(range(len(vocab)))
    assert tokens[:256] == [t[:-4] for t in tokens[256:512]]
    assert all(t.endswith('</w>') for t in tokens[256:512])
    assert tokens[512:-2] == [a + b for a, b in merges]
    assert tokens[-2:] == ['<|startoftext|>', '<|endoftext|>']
    # each merge's parts come before it
    assert all(vocab[a] < vocab[a + b] and vocab[b] < vocab[a + b] for a, b in merges)
    assert len(merges) == 3 + 2  # ft</w>, eft</w>, left</w>; ed</w>, red</w>
    assert clip_bpe_vocabulary([]) == (dict(zip(tokens[:512] + tokens[-2:], range(514))), [])


def test_folder_loads_and_encodes_a_sentence(tiny_sd_dir, tokenizer):
    from transformers import CLIPTextModel
    text_encoder = CLIPTextModel.from_pretrained(tiny_sd_dir, subfolder='text_encoder')
    assert text_encoder.config.vocab_size == len(tokenizer) > 1000
    ids = tokenizer(['the red ball on the left', 'a photo of a kitchen'], padding='max_length',
                    max_length=tokenizer.model_max_length, return_tensors='pt').input_ids
    with torch.no_grad():
        out = text_encoder(ids).last_hidden_state
    assert out.shape == (2, tokenizer.model_max_length, text_encoder.config.hidden_size)
    assert torch.isfinite(out).all()


def test_fast_tokenizer_agrees(tiny_sd_dir, tokenizer):
    # AutoTokenizer would pick the fast (Rust) tokenizer, converted from vocab.json/merges.txt
    from transformers import CLIPTokenizerFast
    fast = CLIPTokenizerFast.from_pretrained(tiny_sd_dir, subfolder='tokenizer')
    texts = list(TINY_VOCABULARY_WORDS) + ['a quokka plays the xylophone in a hall',
                                           'The largest RED ball, on the left!']
    assert fast(texts).input_ids == tokenizer(texts).input_ids
