"""The visualizers behind ``--show-dir``: input | ground truth | prediction, readable."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)


def _seg_sample(pred, gt):
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    return sample


def test_segmentation_picture_shows_input_truth_and_prediction(image, tmp_path):
    from mmgeneralist.visualization import ReadableSegVisualizer
    vis = ReadableSegVisualizer(name='seg-test', save_dir=str(tmp_path))
    vis.dataset_meta = dict(classes=('wall', 'floor', 'box'),
                            palette=[(200, 0, 0), (0, 200, 0), (0, 0, 200)])
    gt = np.zeros((40, 60), np.int64)
    gt[:, 30:] = 1
    pred = np.full((40, 60), 2, np.int64)  # all "box": differs from the truth
    out = tmp_path / 'seg.png'
    vis.add_datasample('img', image, _seg_sample(pred, gt), out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]
    # enlarged to >= 256 px tall, three panels side by side and a legend
    assert drawn.shape[0] >= 256 and drawn.shape[1] > 3 * 60 * (256 // 40)
    # the truth panel is mostly red-green, the prediction panel mostly blue
    third = drawn.shape[1] // 4  # rough panel width (legend included in the total)
    truth, prediction = drawn[60:-20, third:2 * third], drawn[60:-20, 2 * third:3 * third]
    assert truth[..., 2].mean() < prediction[..., 2].mean() - 40
    # without a ground truth: two panels only
    vis.add_datasample('img', image, _seg_sample(pred, gt), draw_gt=False,
                       out_file=str(tmp_path / 'pred.png'))
    assert cv2.imread(str(tmp_path / 'pred.png')).shape[1] < drawn.shape[1]


def test_depth_picture_has_truth_on_the_same_scale(image, tmp_path):
    from mmseg.structures import SegDataSample

    from mmgeneralist.visualization import ReadableSegVisualizer
    vis = ReadableSegVisualizer(name='depth-test', save_dir=str(tmp_path))
    sample = SegDataSample()
    sample.pred_depth_map = PixelData(data=torch.full((1, 40, 60), 2.0))
    sample.gt_depth_map = PixelData(data=torch.linspace(1, 3, 60).expand(1, 40, 60))
    vis.add_datasample('d', image, sample, out_file=str(tmp_path / 'd.png'))
    drawn = cv2.imread(str(tmp_path / 'd.png'))
    assert drawn.shape[0] >= 256 and drawn.shape[1] > 3 * 60 * (256 // 40)


def test_referring_picture_has_one_row_per_expression(image, tmp_path):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks

    from mmgeneralist.visualization import ReferringVisualizer
    vis = ReferringVisualizer(name='refer-test', save_dir=str(tmp_path))
    masks = np.zeros((2, 40, 60), bool)
    masks[0, :20], masks[1, 20:] = True, True
    sample = DetDataSample(metainfo=dict(text=['the top half', 'the bottom half'],
                                         gt_masks=BitmapMasks(masks, 40, 60)))
    sample.pred_instances = InstanceData(masks=torch.as_tensor(masks))
    vis.add_datasample('r', image, sample, out_file=str(tmp_path / 'two.png'))
    two = cv2.imread(str(tmp_path / 'two.png'))
    one_sample = DetDataSample(metainfo=dict(text=['the top half'],
                                             gt_masks=BitmapMasks(masks[:1], 40, 60)))
    one_sample.pred_instances = InstanceData(masks=torch.as_tensor(masks[:1]))
    vis.add_datasample('r', image, one_sample, out_file=str(tmp_path / 'one.png'))
    one = cv2.imread(str(tmp_path / 'one.png'))
    assert one.shape[0] >= 256 and two.shape[0] >= 2 * one.shape[0] - 10
    assert one.shape[1] > 3 * 60 * (256 // 40)  # input | true mask | prediction


def test_samples_of_other_kinds_go_to_the_base_class(image, tmp_path):
    from mmdet.structures import DetDataSample

    from mmgeneralist.visualization import ReferringVisualizer
    vis = ReferringVisualizer(name='boxes-test', save_dir=str(tmp_path))
    vis.dataset_meta = dict(classes=('box', ))
    sample = DetDataSample()
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[5., 5., 30., 30.]]),
                                         labels=torch.tensor([0]), scores=torch.tensor([0.9]))
    vis.add_datasample('b', image, sample, draw_gt=False, out_file=str(tmp_path / 'b.png'))
    assert cv2.imread(str(tmp_path / 'b.png')).shape[:2] == (40, 60)  # mmdet's own drawing


def test_summary_grid(tmp_path):
    from mmgeneralist.visualization import draw_summary
    pictures = [np.full((30, 50, 3), 10 * i, np.uint8) for i in range(5)]
    grid = draw_summary(pictures, ['metrics: mIoU 32.4'], columns=2)
    assert grid.shape[1] == 100 and grid.shape[0] > 3 * 30  # 3 rows and the header
    with pytest.raises(ValueError, match='at least one picture'):
        draw_summary([])


def test_edit_picture_marks_found_keypoints_and_lists_missing_ones():
    from mmgeneralist.visualization import draw_edit, draw_image_pair
    image = np.full((40, 60, 3), 128, np.uint8)
    edited = image.copy()
    mask = np.zeros((40, 60), bool)
    mask[:10, :10] = True
    pair = draw_image_pair(image, edited, 'Make it brighter.')
    found = draw_edit(image, edited, 'instr', masks=[(mask, (0, 255, 0), 'ball')],
                      keypoints=[((30.0, 20.0), (255, 0, 0), 'nose', 0.9)])
    missing = draw_edit(image, edited, 'instr', masks=[(mask, (0, 255, 0), 'ball')],
                        keypoints=[((30.0, 20.0), (255, 0, 0), 'nose', 0.0)])
    assert found.shape[1] > pair.shape[1] * 3 // 2  # a third panel and a legend
    # the ring is drawn in the keypoint's colour only when it was found
    red = (found[..., 0] > 200) & (found[..., 1] < 60) & (found[..., 2] < 60)
    red_missing = (missing[..., 0] > 200) & (missing[..., 1] < 60) & (missing[..., 2] < 60)
    assert red.sum() > red_missing.sum() + 50
    with pytest.raises(ValueError, match='mask is 3x3'):
        draw_edit(image, edited, masks=[(np.ones((3, 3), bool), (0, 255, 0), 'x')])


def test_legend_is_as_wide_as_its_title(monkeypatch):
    """Short class names made the legend narrower than "classes (% predicted)", which was
    then cut to "classes (%..." in every segmentation picture with a ground truth."""
    from mmgeneralist.visualization import drawing
    shown = []
    ellipsize = drawing._ellipsize

    def record(font, text, width):
        shown.append(ellipsize(font, text, width))
        return shown[-1]

    monkeypatch.setattr(drawing, '_ellipsize', record)
    labels = np.zeros((16, 16), np.int64)
    drawing.draw_segmentation(np.zeros((16, 16, 3), np.uint8), labels, ['a'],
                              ground_truth=labels)
    assert 'classes (% predicted)' in shown, shown
