"""From edited images to each codebase's predictions: the editor's decoding, and the test-time
transforms that ask for every keypoint, class or sentence.

The decoding is fed perfect renders (what a perfect model would draw, made by the same codecs
the training transforms use) and must give back the annotations: keypoints in the original
image's coordinates (mmpose), a semantic map (mmseg), referring masks and boxes (mmdet).
"""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmgeneralist.codecs import KeypointCircleCodec, MaskOverlayCodec
from mmgeneralist.datasets import (
    AllClassesInstruction,
    AllKeypointsInstruction,
    AllSentencesInstruction,
    PackInstructionInputs,
)
from mmgeneralist.models.editors import InstructionEditor

SIZE = 32


@pytest.fixture(scope='module')
def editor(tiny_sd_dir):
    return InstructionEditor(tiny_sd_dir, num_inference_steps=2,
                             test_scheduler=dict(type='DDIMScheduler')).eval()


def _noise_image(seed=0, size=SIZE):
    rng = np.random.default_rng(seed)
    return rng.integers(60, 200, (size, size, 3), dtype=np.uint8)


def _to_unit(img_bgr: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` BGR uint8 -> ``(3, H, W)`` RGB in [-1, 1], as the preprocessor makes it."""
    rgb = torch.from_numpy(np.ascontiguousarray(img_bgr[..., ::-1].transpose(2, 0, 1)))
    return rgb.float() / 127.5 - 1


def _unit(rgb255: torch.Tensor) -> torch.Tensor:
    return rgb255.float() / 127.5 - 1


# --------------------------------------------------------------------------- transforms
def _pose_results(num=17, seed=0):
    """Made-up top-down results: keypoints 6 px apart on a jittered grid (circles of
    radius 2 do not touch)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(4, SIZE - 3, 6), np.arange(4, SIZE - 3, 6)), -1)
    kpts = (grid.reshape(-1, 2)[:num] + rng.uniform(-1, 1, (num, 2)))[None].astype(np.float32)
    return dict(img=_noise_image(seed), img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                keypoints=kpts.copy(), transformed_keypoints=kpts,
                keypoints_visible=np.ones((1, num), np.float32),
                bbox=np.array([[4, 4, SIZE - 4, SIZE - 4]], np.float32),
                bbox_scale=np.array([[SIZE, SIZE]], np.float32), input_size=(SIZE, SIZE))


def test_all_keypoints_are_asked_in_groups():
    results = AllKeypointsInstruction(group_size=5, palette=['red', 'green', 'blue', 'yellow',
                                                             'cyan'])(_pose_results())
    assert len(results['instruction']) == 4  # ceil(17 / 5)
    assert [a['edit'] for a in results['instructed']] == [k // 5 for k in range(17)]
    assert [a['color'] for a in results['instructed'][:6]] == ['red', 'green', 'blue',
                                                                'yellow', 'cyan', 'red']
    assert results['instruction'][0].count('.') == 5 and 'left eye' in results['instruction'][0]
    assert results['instruction'][3].count('.') == 2  # the last two keypoints
    assert results['instruction_task'] == 'keypoint' and 'target_img' not in results
    assert results['circle_radius'] == KeypointCircleCodec().radius(SIZE - 8)
    # the same request every time: no randomness at test time
    again = AllKeypointsInstruction(group_size=5, palette=['red', 'green', 'blue', 'yellow',
                                                           'cyan'])(_pose_results())
    assert again['instruction'] == results['instruction']
    with pytest.raises(ValueError, match='group_size'):
        AllKeypointsInstruction(group_size=12)


def test_all_classes_and_all_sentences():
    results = AllClassesInstruction(class_names=['wall', 'floor', 'person'],
                                    palette=['red', 'blue'])(dict(img=_noise_image()))
    assert results['instruction'][2] == ('Apply a red semi-transparent mask to the person '
                                         'while keeping the rest unchanged.')
    assert [(a['class_id'], a['color'], a['edit']) for a in results['instructed']] == [
        (0, 'red', 0), (1, 'blue', 1), (2, 'red', 2)]
    assert results['instruction_task'] == 'segmentation'
    detection = AllClassesInstruction(class_names=['a'], output='detection')(
        dict(img=_noise_image()))
    assert detection['instruction_task'] == 'detection'
    with pytest.raises(ValueError, match='output'):
        AllClassesInstruction(output='panoptic')
    results = AllSentencesInstruction(palette=['green'])(
        dict(img=_noise_image(), text=['the  ball on the left', 'the person']))
    assert results['instruction'] == [
        'Apply a green semi-transparent mask to the ball on the left while keeping the rest '
        'unchanged.', 'Apply a green semi-transparent mask to the person while keeping the '
        'rest unchanged.']
    assert [a['text_index'] for a in results['instructed']] == [0, 1]
    with pytest.raises(KeyError, match='text'):
        AllSentencesInstruction()(dict(img=_noise_image()))


def test_pack_with_the_codebases_own_packer():
    """mmpose's PackPoseInputs makes the sample (its gt_instances, its metainfo); the
    instruction keys are added; a test-time sample has no target."""
    init_default_scope('mmpose')
    results = AllKeypointsInstruction()(_pose_results())
    results.update(id=7, img_id=3, input_center=np.array([16., 16.]),
                   input_scale=np.array([32., 32.]), bbox_score=np.ones(1, np.float32))
    packed = PackInstructionInputs(packer=dict(type='mmpose.PackPoseInputs'))(results)
    sample = packed['data_samples']
    assert type(sample).__name__ == 'PoseDataSample'
    assert sample.metainfo['id'] == 7 and sample.metainfo['instruction_task'] == 'keypoint'
    assert len(sample.metainfo['instruction']) == 4
    assert 'circle_radius' in sample.metainfo and 'gt_image' not in sample
    assert 'bbox_scores' in sample.gt_instances
    with pytest.raises(ValueError, match='instruction is empty'):
        PackInstructionInputs()(dict(results, instruction=['Circle it.', ' ']))


# --------------------------------------------------------------------------- decoding
def _sample(**meta) -> SegDataSample:
    sample = SegDataSample()
    sample.set_metainfo(dict(dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)), **meta))
    return sample


def test_keypoints_decode_into_the_original_image(editor):
    """Perfect circles in a 32 px crop of a 2x larger box come back as mmpose keypoints in
    the image's coordinates (mmpose's crop-to-image mapping), each confidently."""
    results = AllKeypointsInstruction(group_size=5)(_pose_results())
    source = torch.from_numpy(results['img'][..., ::-1].transpose(2, 0, 1).copy()).float()
    crop_xy = results['transformed_keypoints'][0]
    codec, edits = KeypointCircleCodec(), []
    for e, _ in enumerate(results['instruction']):
        group = [a for a in results['instructed'] if a['edit'] == e]
        edits.append(_unit(codec.render(source, crop_xy[[a['keypoint_index'] for a in group]],
                                        [a['color'] for a in group],
                                        results['circle_radius'])))
    center, scale = np.array([100., 50.]), np.array([64., 64.])
    sample = _sample(instruction=results['instruction'], instructed=results['instructed'],
                     instruction_task='keypoint', circle_radius=results['circle_radius'],
                     input_size=(SIZE, SIZE), input_center=center, input_scale=scale)
    sample.gt_instances = InstanceData(bboxes=np.array([[68., 18., 132., 82.]]),
                                       bbox_scores=np.ones(1))
    editor.decode(sample, _unit(source), edits)
    pred = sample.pred_instances
    expected = crop_xy / SIZE * scale + center - scale / 2
    assert pred.keypoints.shape == (1, 17, 2) and pred.keypoint_scores.shape == (1, 17)
    # a disc of radius 2 px locates its centre to within half a crop pixel (2 image pixels)
    np.testing.assert_allclose(pred.keypoints[0], expected, atol=1.0)
    assert (pred.keypoint_scores > 0.5).all()
    np.testing.assert_array_equal(pred.bbox_scores, np.ones(1))
    # an unchanged image: nothing found, every score 0
    editor.decode(sample, _unit(source), [_unit(source)] * 4)
    assert (sample.pred_instances.keypoint_scores == 0).all()


def test_semantic_map_assembles_one_edit_per_class(editor):
    """Each class's edit overlays its own mask; the argmax of the soft masks is the label map,
    at the original size (here twice the model's input)."""
    labels = torch.zeros(SIZE, SIZE, dtype=torch.long)
    labels[:, 10:] = 1
    labels[20:, 20:] = 2
    results = AllClassesInstruction(class_names=['wall', 'floor', 'ball'])(
        dict(img=_noise_image()))
    source = torch.from_numpy(results['img'][..., ::-1].transpose(2, 0, 1).copy()).float()
    codec = MaskOverlayCodec(alpha=0.5)
    edits = [_unit(codec.render(source, labels == a['class_id'], a['color']))
             for a in results['instructed']]
    sample = _sample(instruction=results['instruction'], instructed=results['instructed'],
                     instruction_task='segmentation', ori_shape=(2 * SIZE, 2 * SIZE))
    editor.decode(sample, _unit(source), edits)
    big = labels.repeat_interleave(2, 0).repeat_interleave(2, 1)
    assert sample.pred_sem_seg.data.shape == (1, 2 * SIZE, 2 * SIZE)
    agree = (sample.pred_sem_seg.data[0] == big).float().mean()
    assert agree > 0.97, agree  # bilinear upsampling moves the class borders by a pixel


def test_referring_masks_and_detection_boxes(editor):
    masks = torch.zeros(2, SIZE, SIZE, dtype=torch.bool)
    masks[0, 4:12, 6:20] = True
    masks[1, 16:30, 2:9] = True
    results = AllSentencesInstruction()(dict(img=_noise_image(), text=['a', 'b']))
    source = torch.from_numpy(results['img'][..., ::-1].transpose(2, 0, 1).copy()).float()
    codec = MaskOverlayCodec(alpha=0.5)
    edits = [_unit(codec.render(source, masks[a['text_index']], a['color']))
             for a in results['instructed']]
    sample = _sample(instruction=results['instruction'], instructed=results['instructed'],
                     instruction_task='referring')
    editor.decode(sample, _unit(source), edits)
    pred = sample.pred_instances
    assert torch.equal(pred.masks, masks)
    torch.testing.assert_close(pred.bboxes, torch.tensor([[6., 4., 20., 12.], [2., 16., 9., 30.]]))
    assert (pred.scores > 0.9).all()
    # detection: one box per class whose mask is not empty, labelled with the class
    results = AllClassesInstruction(class_names=['x', 'y', 'z'], output='detection')(
        dict(img=_noise_image()))
    edits = [_unit(codec.render(source, masks[0], results['instructed'][0]['color'])),
             _unit(source),
             _unit(codec.render(source, masks[1], results['instructed'][2]['color']))]
    sample = _sample(instruction=results['instruction'], instructed=results['instructed'],
                     instruction_task='detection')
    editor.decode(sample, _unit(source), edits)
    assert sample.pred_instances.labels.tolist() == [0, 2]
    torch.testing.assert_close(sample.pred_instances.bboxes, pred.bboxes)


def test_enhancement_prediction_has_the_targets_size(editor):
    sample = _sample(instruction='Make the image brighter.', ori_shape=(64, 64))
    sample.gt_image = PixelData(data=torch.zeros(3, SIZE, SIZE, dtype=torch.uint8))
    edit = torch.rand(3, SIZE, SIZE) * 2 - 1
    editor.decode(sample, torch.zeros(3, SIZE, SIZE), [edit])
    torch.testing.assert_close(sample.pred_image.data, (edit + 1) * 127.5)
    del sample.gt_image
    editor.decode(sample, torch.zeros(3, SIZE, SIZE), [edit])
    assert sample.pred_image.shape == (64, 64)


def test_predict_runs_every_edit_and_does_not_depend_on_batching(editor):
    """A sample asking for three edits next to one asking for one, in chunks of two edits:
    each edit equals the same edit sampled alone."""
    images = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    many = _sample(instruction=['Place a red mask on the wall.', 'Place a red mask on the '
                                'floor.', 'Place a red mask on the ball.'], img_path='a.png')
    one = _sample(instruction='Make the image brighter.', img_path='b.png')
    editor.max_edits_per_call = 2
    try:
        out = editor.predict(images, [many, one])
    finally:
        editor.max_edits_per_call = None
    alone = editor.predict(images[1:], [_sample(instruction='Make the image brighter.',
                                                img_path='b.png')])
    # same noise, same edit: equal up to float rounding of other batch shapes (0..255 units)
    torch.testing.assert_close(out[1].pred_image.data, alone[0].pred_image.data, rtol=0,
                               atol=0.01)
    assert len(editor.predict(images[:1], [many])) == 1
    with pytest.raises(ValueError, match='no instruction'):
        editor.predict(images[:1], [_sample(instruction=[])])
    with pytest.raises(ValueError, match='asked for nothing'):
        editor.decode(_sample(instruction='x', instruction_task='segmentation', instructed=[]),
                      images[0], [images[0]])
