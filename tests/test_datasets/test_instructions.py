"""InstructDiffusion's instruction triples: templates, the instruction transforms, packing."""
from __future__ import annotations

import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, TRANSFORMS, DefaultScope, init_default_scope

import mmgeneralist  # noqa: F401  (registers the modules)
from mmgeneralist.codecs.palette import PALETTE
from mmgeneralist.datasets import (
    COCO_KEYPOINT_NAMES,
    SYNTHETIC_ADE_CLASSES,
    EnhancementInstruction,
    KeypointInstruction,
    PackInstructionInputs,
    SegmentationInstruction,
    fill,
    load_templates,
)
from mmgeneralist.datasets.instructions.templates import TASK_PLACEHOLDERS, template_fields
from mmgeneralist.diffusion.tiny import TINY_VOCABULARY_WORDS

from ..conftest import run_tool

SIZE = 64
KEYPOINT_HEAD = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(SIZE, SIZE)),
]


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    """Generated mmpose COCO keypoints, ADE20K, RefCOCO and restoration data (64 px)."""
    out = tmp_path_factory.mktemp('instructions')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'coco_keypoints', 'ade', 'refcoco', 'restoration', '--num-train', '4',
             '--num-val', '2', '--size', str(SIZE), '--seed', '0', '--no-progress')
    return str(out)


def keypoint_dataset(root, pipeline):
    init_default_scope('mmpose')
    return DATASETS.build(dict(
        type='CocoDataset', data_mode='topdown', data_root=osp.join(root, 'coco_keypoints'),
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'), pipeline=pipeline))


def ade_dataset(root, pipeline):
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='ADE20KDataset', data_root=osp.join(root, 'ade'),
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        metainfo=dict(classes=SYNTHETIC_ADE_CLASSES), pipeline=pipeline))


def ade_pipeline(**kwargs):
    return [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', reduce_zero_label=True),
            dict(type='SegmentationInstruction', class_names=SYNTHETIC_ADE_CLASSES, **kwargs),
            dict(type='PackInstructionInputs')]


def rgb(bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(bgr[..., ::-1]).astype(np.int64)


def fake_pose_results(visible=None, num=17, size=SIZE, seed=0):
    """The results of mmpose's top-down loading, made up: a grey-noise image and keypoints."""
    rng = np.random.default_rng(seed)
    img = rng.integers(60, 200, (size, size, 3), dtype=np.uint8)
    kpts = rng.uniform(8, size - 8, (1, num, 2)).astype(np.float32)
    vis = np.ones((1, num), np.float32) if visible is None else \
        np.asarray(visible, np.float32).reshape(1, num)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                keypoints=kpts.copy(), transformed_keypoints=kpts, keypoints_visible=vis,
                bbox=np.array([[8, 8, size - 8, size - 8]], np.float32),
                bbox_scale=np.array([[size, size]], np.float32), input_size=(size, size))


# --------------------------------------------------------------------------- templates
@pytest.mark.parametrize('task', list(TASK_PLACEHOLDERS))
def test_each_task_has_ten_distinct_templates_with_its_placeholders(task):
    templates = load_templates(task)
    assert len(templates) >= 10
    assert len(set(t.lower() for t in templates)) == len(templates)
    for t in templates:
        assert t.strip() == t and t
        assert template_fields(t) == TASK_PLACEHOLDERS[task], t
    assert load_templates(task) is templates  # cached


def test_template_words_mostly_in_tiny_vocabulary():
    """The templates were written from the tiny tokenizer's words where possible."""
    vocab = set(TINY_VOCABULARY_WORDS)
    words = [w for task in TASK_PLACEHOLDERS for t in load_templates(task)
             for w in re.findall(r'[a-z]+', re.sub(r'\{\w+\}', ' ', t).lower())]
    assert sum(w in vocab for w in words) / len(words) > 0.5


def test_paper_examples_are_templates():
    assert 'Please use {color} to encircle the {part} of the {object}.' in \
        load_templates('keypoint')
    assert ('Apply a {color} semi-transparent mask to the {object} while keeping the rest '
            'unchanged.') in load_templates('segmentation')
    assert 'Make the image much sharper.' in load_templates('enhancement_deblur')


def test_unknown_task_lists_the_tasks():
    with pytest.raises(ValueError, match='unknown instruction task') as err:
        load_templates('dance')
    for task in TASK_PLACEHOLDERS:
        assert task in str(err.value)


@pytest.mark.parametrize('bad, problem', [
    ('Use {color} to encircle the {object}.', 'missing {part}'),
    ('Use {color} for the {part} of the {object} in {style}.', 'unexpected {style}'),
    ('   ', 'non-empty'),
    ('Use {color} to encircle the {part} of the {object}', None),  # fine: control
    ('Use {0} to encircle the {part} of the {object}.', 'plain name'),
])
def test_bad_template_line_names_file_and_line(tmp_path, bad, problem):
    good = load_templates('keypoint')[0]
    path = tmp_path / 'keypoint.txt'
    path.write_text(f'{good}\n{good.replace("Please", "Kindly")}\n{bad}\n')
    if problem is None:
        assert len(load_templates('keypoint', str(tmp_path))) == 3
        return
    with pytest.raises(ValueError) as err:
        load_templates('keypoint', str(tmp_path))
    assert f'{path}, line 3' in str(err.value)
    assert problem in str(err.value)


def test_fill():
    assert fill('Please use {color} to encircle the {part} of the {object}.', color='red',
                part='left shoulder', object='man') == \
        'Please use red to encircle the left shoulder of the man.'
    assert fill('Draw a {color} circle.', color='orange') == 'Draw an orange circle.'
    assert fill('A {color} mask.', color='blue') == 'A blue mask.'
    assert fill('Make the image brighter.', color='unused') == 'Make the image brighter.'
    with pytest.raises(ValueError, match='no value for {part}'):
        fill('Use {color} on the {part}.', color='red')
    with pytest.raises(ValueError, match='empty value'):
        fill('Use {color}.', color=' ')
    with pytest.raises(ValueError, match='non-empty'):
        fill('', color='red')


# --------------------------------------------------------------------------- errors
def test_unknown_colour_lists_the_palette():
    for make in (lambda: KeypointInstruction(colors=['red', 'mauve']),
                 lambda: KeypointInstruction(palette=['mauve']),
                 lambda: SegmentationInstruction(color='mauve', class_names=['a']),
                 lambda: SegmentationInstruction(palette=['blue', 'mauve'])):
        with pytest.raises(ValueError, match="'mauve'") as err:
            make()
        for name in PALETTE:
            assert name in str(err.value)


def test_unknown_part_lists_the_dataset_parts():
    t = KeypointInstruction(parts=['left_shoulder', 'left tail'])
    with pytest.raises(ValueError, match="unknown keypoint 'left tail'") as err:
        t(fake_pose_results())
    for name in COCO_KEYPOINT_NAMES:
        assert name.replace('_', ' ') in str(err.value)
    # names from the dataset's metainfo win over COCO's
    results = fake_pose_results(num=3)
    results['dataset_meta'] = dict(keypoint_id2name={0: 'beak', 1: 'left_wing', 2: 'tail'})
    with pytest.raises(ValueError, match='beak, left wing, tail'):
        KeypointInstruction(parts=['nose'])(results)


def test_empty_instruction_is_refused():
    with pytest.raises(ValueError, match='non-empty'):
        KeypointInstruction(instruction='')
    with pytest.raises(ValueError, match='non-empty'):
        SegmentationInstruction(instruction='  ', class_names=['a'])
    with pytest.raises(ValueError, match='non-empty'):
        EnhancementInstruction(instruction='')
    with pytest.raises(ValueError, match='missing {part}'):
        KeypointInstruction(instruction='Circle it in {color} on the {object}.')
    results = KeypointInstruction()(fake_pose_results())
    results['instruction'] = ''
    with pytest.raises(ValueError, match='instruction is empty'):
        PackInstructionInputs()(results)


def test_other_argument_errors():
    with pytest.raises(ValueError, match='max_keypoints=12'):
        KeypointInstruction(max_keypoints=12)  # more than the 9 saturated colours
    with pytest.raises(ValueError, match='same length'):
        KeypointInstruction(colors=['red'], parts=['nose', 'left_eye'])
    with pytest.raises(ValueError, match='mode'):
        SegmentationInstruction(mode='panoptic')
    with pytest.raises(ValueError, match='task'):
        EnhancementInstruction(task='derain')
    with pytest.raises(ValueError, match='class_names='):
        SegmentationInstruction()(dict(img=np.zeros((4, 4, 3), np.uint8),
                                       gt_seg_map=np.zeros((4, 4), np.uint8)))
    with pytest.raises(ValueError, match='holds \\[7\\]'):
        SegmentationInstruction(class_names=['a', 'b'])(
            dict(img=np.zeros((4, 4, 3), np.uint8), gt_seg_map=np.full((4, 4), 7, np.uint8)))
    with pytest.raises(KeyError, match='PackInstructionInputs needs'):
        PackInstructionInputs()(dict(img=np.zeros((4, 4, 3), np.uint8)))


# --------------------------------------------------------------------------- keypoints
@pytest.mark.parametrize('select_from', ['all', 'visible'])
@pytest.mark.parametrize('case', ['invisible', 'outside'])
def test_no_visible_keypoint_gives_target_equal_to_source(case, select_from):
    if case == 'invisible':
        results = fake_pose_results(visible=np.zeros(17))
    else:
        results = fake_pose_results()
        results['transformed_keypoints'][..., 0] = SIZE + 10  # all right of the crop
    src = results['img'].copy()
    np.random.seed(0)
    results = KeypointInstruction(select_from=select_from)(results)
    np.testing.assert_array_equal(results['target_img'], src)
    assert results['target_img'] is not results['img']
    assert results['instructed'] == []
    named = [n.replace('_', ' ') for n in COCO_KEYPOINT_NAMES
             if n.replace('_', ' ') in results['instruction']]
    sentences = results['instruction'].count('.')
    if select_from == 'visible':
        assert named and sentences == 1  # one (invisible) keypoint
    else:  # the released code's draw: 1-5 of all keypoints, each named, none drawn
        assert named and 1 <= sentences <= 5
    packed = PackInstructionInputs()(results)
    np.testing.assert_array_equal(packed['data_samples'].gt_image.data.numpy(),
                                  src[..., ::-1].transpose(2, 0, 1))


def test_released_code_names_invisible_keypoints_without_drawing_them():
    """select_from='all' (dataset/pose/pose.py) picks among all keypoints: invisible ones are
    named, never drawn; 'visible' (Sec. 4.1's reading) never names one while some are
    visible."""
    visible = [1] * 8 + [0] * 9
    invisible_names = {n.replace('_', ' ') for n, v in zip(COCO_KEYPOINT_NAMES, visible)
                       if not v}
    named_invisible = dict(all=0, visible=0)
    for select_from in named_invisible:
        np.random.seed(0)
        t = KeypointInstruction(select_from=select_from)
        for _ in range(40):
            results = t(fake_pose_results(visible=visible))
            drawn = {d['keypoint_index'] for d in results['instructed']}
            assert all(visible[k] for k in drawn)  # an invisible keypoint is never drawn
            named_invisible[select_from] += any(
                f'the {n} of' in results['instruction'] for n in invisible_names)
    assert named_invisible['visible'] == 0 and named_invisible['all'] > 10
    with pytest.raises(ValueError, match='select_from'):
        KeypointInstruction(select_from='some')


def test_forced_parts_and_colours():
    results = fake_pose_results(visible=[1] * 16 + [0])
    src = results['img'].copy()
    t = KeypointInstruction(parts=['left_shoulder', 'nose', 'right_ankle'],
                            colors=['red', 'blue', 'green'],
                            instruction='Please use {color} to encircle the {part} of the '
                                        '{object}.')
    results = t(results)
    assert results['instruction'] == (
        'Please use red to encircle the left shoulder of the person. Please use blue to '
        'encircle the nose of the person. Please use green to encircle the right ankle of '
        'the person.')
    # the right ankle (index 16) is invisible: named, not drawn
    assert results['instructed'] == [dict(keypoint_index=5, part='left shoulder', color='red'),
                                     dict(keypoint_index=0, part='nose', color='blue')]
    x, y = np.round(results['transformed_keypoints'][0, 5]).astype(int)
    assert tuple(results['target_img'][y, x]) == (0, 0, 255)  # red, in BGR
    x, y = np.round(results['transformed_keypoints'][0, 16]).astype(int)
    np.testing.assert_array_equal(results['target_img'][y, x], src[y, x])


def test_keypoint_pipeline_circles_exactly_the_instructed_keypoints(synthetic_root):
    ds = keypoint_dataset(synthetic_root, KEYPOINT_HEAD + [dict(type='KeypointInstruction')])
    pack = TRANSFORMS.build(dict(type='PackInstructionInputs'))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    counts = set()
    np.random.seed(1)
    for idx in range(len(ds)):
        results = ds[idx]
        kpts = results['transformed_keypoints'][0]
        vis = results['keypoints_visible'][0]
        instructed = results['instructed']
        counts.add(len(instructed))
        assert 1 <= len(instructed) <= 5
        colors = [d['color'] for d in instructed]
        assert len(set(colors)) == len(colors)
        # the radius: 2 % of the person box's longer side after the affine, at least 2 px
        box = results['bbox'][0]
        box_size = max(box[2] - box[0], box[3] - box[1]) * SIZE / results['bbox_scale'][0, 0]
        radius = max(2.0, 0.02 * box_size)

        packed = pack(results)
        sample = packed['data_samples']
        src = rgb(packed['inputs'].numpy().transpose(1, 2, 0))  # packed BGR -> RGB
        tgt = sample.gt_image.data.numpy().transpose(1, 2, 0).astype(np.int64)
        assert sample.gt_image.data.dtype == torch.uint8
        assert sample.metainfo['instruction'] == results['instruction']
        assert sample.metainfo['instructed'] == instructed
        assert sample.metainfo['img_shape'] == (SIZE, SIZE)

        expected = src.copy()
        covered = np.zeros((SIZE, SIZE), bool)
        for d in instructed:
            k = d['keypoint_index']
            assert vis[k] > 0
            part = COCO_KEYPOINT_NAMES[k].replace('_', ' ')
            assert part == d['part']
            assert re.search(rf'\b{d["color"]}\b.*\b{part}\b|\b{part}\b.*\b{d["color"]}\b',
                             results['instruction'])
            disc = (xx - kpts[k, 0]) ** 2 + (yy - kpts[k, 1]) ** 2 <= radius ** 2
            assert disc.any()
            expected[disc] = PALETTE[d['color']]
            covered |= disc
        np.testing.assert_array_equal(tgt, expected)  # circles, in their colours, only there
        assert (tgt != src).any(-1)[covered].mean() > 0.5
        assert not (tgt != src).any(-1)[~covered].any()
    assert len(counts) > 1  # the number of keypoints is random


def test_keypoint_pipeline_is_deterministic_under_np_random_seed(synthetic_root):
    ds = keypoint_dataset(synthetic_root, KEYPOINT_HEAD + [
        dict(type='KeypointInstruction'), dict(type='PackInstructionInputs')])

    def run(seed):
        np.random.seed(seed)
        return [ds[i] for i in range(len(ds))]

    a, b, c = run(3), run(3), run(4)
    for x, y in zip(a, b):
        assert x['data_samples'].metainfo['instruction'] == \
            y['data_samples'].metainfo['instruction']
        assert x['data_samples'].metainfo['instructed'] == \
            y['data_samples'].metainfo['instructed']
        assert torch.equal(x['data_samples'].gt_image.data, y['data_samples'].gt_image.data)
    assert [x['data_samples'].metainfo['instruction'] for x in a] != \
        [x['data_samples'].metainfo['instruction'] for x in c]


# --------------------------------------------------------------------------- segmentation
def test_semantic_pipeline_blends_the_class_mask_only(synthetic_root):
    ds = ade_dataset(synthetic_root, ade_pipeline())
    np.random.seed(0)
    classes = set()
    for idx in range(len(ds)):
        packed = ds[idx]
        sample = packed['data_samples']
        meta = sample.metainfo
        (rec,) = meta['instructed']
        classes.add(rec['class_id'])
        assert rec['name'] == SYNTHETIC_ADE_CLASSES[rec['class_id']]
        assert rec['name'] in meta['instruction'] and rec['color'] in meta['instruction']
        assert rec['color'] not in ('white', 'black')  # the default palette is saturated
        seg = sample.gt_sem_seg.data[0].numpy()
        mask = seg == rec['class_id']
        assert mask.any() and not mask.all()
        src = rgb(packed['inputs'].numpy().transpose(1, 2, 0))
        tgt = sample.gt_image.data.numpy().transpose(1, 2, 0).astype(np.int64)
        np.testing.assert_array_equal(tgt[~mask], src[~mask])
        blend = np.round(0.5 * src[mask] + 0.5 * np.array(PALETTE[rec['color']]))
        np.testing.assert_array_equal(tgt[mask], blend)
    assert len(classes) > 1


def test_semantic_forced_colour_and_all_ignored_map():
    img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    seg = np.full((8, 8), 255, np.uint8)
    seg[2:5, 3:6] = 1
    out = SegmentationInstruction(class_names=['sky', 'tree'], color='green',
                                  alpha=0.5)(dict(img=img.copy(), gt_seg_map=seg))
    assert 'tree' in out['instruction'] and 'green' in out['instruction']
    expected = img.astype(float)
    expected[2:5, 3:6] = np.round(0.5 * expected[2:5, 3:6] + 0.5 * np.array([0, 255, 0]))
    np.testing.assert_array_equal(out['target_img'], expected)
    # nothing but ignore_index: no mask, no crash
    out = SegmentationInstruction(class_names=['sky', 'tree'])(
        dict(img=img.copy(), gt_seg_map=np.full((8, 8), 255, np.uint8)))
    np.testing.assert_array_equal(out['target_img'], img)
    assert out['instructed'] == [] and out['instruction']


def test_referring_pipeline_blends_the_referred_mask(synthetic_root):
    init_default_scope('mmdet')
    ds = DATASETS.build(dict(
        type='RefCocoDataset', data_root=osp.join(synthetic_root, 'refcoco'),
        ann_file='instances.json', split_file='refs(unc).p', split='train',
        data_prefix=dict(img_path='train2014/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=False, with_label=False,
                       with_mask=True),
                  dict(type='SegmentationInstruction', mode='referring')]))
    np.random.seed(0)
    for idx in range(len(ds)):
        results = ds[idx]
        (rec,) = results['instructed']
        assert rec['text'] == results['text'][rec['text_index']]
        assert rec['text'] in results['instruction']
        assert results['instruction_task'] == 'referring'
        mask = results['gt_masks'].to_ndarray()[rec['text_index']].astype(bool)
        src, tgt = rgb(results['img']), rgb(results['target_img'])
        np.testing.assert_array_equal(tgt[~mask], src[~mask])
        blend = np.round(0.5 * src[mask] + 0.5 * np.array(PALETTE[rec['color']]))
        np.testing.assert_array_equal(tgt[mask], blend)


# --------------------------------------------------------------------------- enhancement
@pytest.mark.parametrize('task', ['denoise', 'deblur', 'lowlight'])
def test_enhancement_target_is_the_clean_image(synthetic_root, task):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadRestorationTarget'),
                dict(type='EnhancementInstruction', task=task),
                dict(type='PackInstructionInputs')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(dict(type='PairedRestorationDataset', task=task,
                                 data_root=osp.join(synthetic_root, 'restoration'),
                                 pipeline=pipeline))
        raw = DATASETS.build(dict(type='PairedRestorationDataset', task=task,
                                  data_root=osp.join(synthetic_root, 'restoration'),
                                  pipeline=pipeline[:2]))
    packed, loaded = ds[0], raw[0]
    sample = packed['data_samples']
    assert sample.metainfo['instruction'] in load_templates(f'enhancement_{task}')
    assert sample.metainfo['instruction_task'] == f'enhancement_{task}'
    np.testing.assert_array_equal(sample.gt_image.data.numpy(),
                                  loaded['gt_img'][..., ::-1].transpose(2, 0, 1))
    np.testing.assert_array_equal(packed['inputs'].numpy(), loaded['img'].transpose(2, 0, 1))
    assert not np.array_equal(loaded['img'], loaded['gt_img'])


def test_enhancement_size_mismatch():
    results = dict(img=np.zeros((8, 8, 3), np.uint8), gt_img=np.full((16, 16, 3), 9, np.uint8))
    with pytest.raises(ValueError, match='resize_target'):
        EnhancementInstruction()(dict(results))
    out = EnhancementInstruction(resize_target='bilinear')(dict(results))
    assert out['target_img'].shape == (8, 8, 3) and (out['target_img'] == 9).all()


# --------------------------------------------------------------------------- registry
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpose'])
def test_transforms_build_from_the_codebases_scopes(scope):
    with DefaultScope.overwrite_default_scope(scope):
        for cfg in (dict(type='KeypointInstruction', max_keypoints=3),
                    dict(type='SegmentationInstruction', mode='referring'),
                    dict(type='EnhancementInstruction', task='lowlight'),
                    dict(type='PackInstructionInputs')):
            assert type(TRANSFORMS.build(cfg)).__name__ == cfg['type']


def test_circle_radius_follows_the_person_box_after_the_affine():
    results = fake_pose_results()
    # a 40 px box, warped by input_size / bbox_scale = 64 / 32 = 2: 80 px; radius 0.1 * 80
    results['bbox'] = np.array([[100, 100, 140, 120]], np.float32)
    results['bbox_scale'] = np.array([[32, 32]], np.float32)
    results['transformed_keypoints'][0, 0] = (30, 30)
    results = KeypointInstruction(radius_ratio=0.1, parts=['nose'], colors=['red'])(results)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    disc = (xx - 30) ** 2 + (yy - 30) ** 2 <= 8.0 ** 2
    red = (results['target_img'] == (0, 0, 255)).all(-1)
    np.testing.assert_array_equal(red, disc | ((results['img'] == (0, 0, 255)).all(-1)))
    # without a box: the image's longer side, 0.1 * 64
    results = fake_pose_results()
    for key in ('bbox', 'bbox_scale', 'input_size'):
        del results[key]
    results['transformed_keypoints'][0, 0] = (30, 30)
    results = KeypointInstruction(radius_ratio=0.1, parts=['nose'], colors=['red'])(results)
    red = (results['target_img'] == (0, 0, 255)).all(-1)
    np.testing.assert_array_equal(red, (xx - 30) ** 2 + (yy - 30) ** 2 <= 6.4 ** 2)


def test_parse_instruction_reads_every_filled_template_back():
    from mmgeneralist.datasets.instructions import fill, load_templates, parse_instruction
    values = dict(color='orange', part='left shoulder', object='man in the red coat')
    for task in ('keypoint', 'segmentation', 'referring'):
        for template in load_templates(task):
            (parsed, ) = parse_instruction(fill(template, **values))
            assert parsed['color'] == 'orange', template
            assert parsed['object'].removeprefix('the ') == values['object'], template
            if task == 'keypoint':
                assert parsed == dict(task='keypoint', **values), template
            else:  # a segmentation and a referring template may read the same
                assert parsed['task'] in ('segmentation', 'referring'), template
    joined = ' '.join(fill(t, color=c, part=p, object='person') for t, c, p in zip(
        load_templates('keypoint'), ('red', 'blue'), ('nose', 'left eye')))
    assert [(a['color'], a['part']) for a in parse_instruction(joined)] == [
        ('red', 'nose'), ('blue', 'left eye')]
    assert parse_instruction('Make the image brighter.') == []  # not read back
    with pytest.raises(ValueError, match='teal.*not in the palette: use one of red'):
        parse_instruction('Place a teal mask on the ball.')
