"""Label <-> RGB codecs: round trips, separation, invalid input."""
import pytest
import torch

from mmgeneralist.codecs import ClassColorCodec, DepthCodec


@pytest.mark.parametrize('num_classes', [1, 7, 8, 150])
def test_class_colors_round_trip_and_are_separated(num_classes):
    codec = ClassColorCodec(num_classes)
    label = torch.randint(0, num_classes, (2, 5, 6))
    label[0, 0, 0] = 255
    rgb = codec.encode(label)
    assert rgb.shape == (2, 3, 5, 6) and rgb.min() >= -1 and rgb.max() <= 1
    assert torch.equal(rgb[0, :, 0, 0], torch.full((3, ), -1.0))  # ignored: black
    decoded = codec.decode(rgb)
    assert torch.equal(decoded[label != 255], label[label != 255])
    pal = codec.palette
    dist = torch.cdist(pal, torch.cat([pal, -torch.ones(1, 3)]))
    dist.fill_diagonal_(9)
    assert dist.min() >= codec.spacing - 1e-6  # classes and black at least one step apart
    # noise below half a step decodes to the same class
    noisy = rgb + (torch.rand_like(rgb) - 0.5) * codec.spacing * 0.9 / 3**0.5
    assert torch.equal(codec.decode(noisy)[label != 255], label[label != 255])


def test_class_colors_refuse_unknown_labels():
    with pytest.raises(ValueError, match=r'labels \[9\]'):
        ClassColorCodec(3).encode(torch.tensor([[[0, 9]]]))


def test_depth_codec_is_affine_invariant_and_round_trips_relative_depth():
    codec = DepthCodec(0.0, 1.0)
    depth = torch.rand(2, 1, 8, 8) * 5 + 1
    rgb = codec.encode(depth)
    assert rgb.shape == (2, 3, 8, 8) and rgb.min() == -1 and rgb.max() == 1
    assert torch.allclose(codec.encode(3 * depth + 2), rgb, atol=1e-5)
    rel = codec.decode(rgb)
    d, r = depth[0].flatten(), rel[0].flatten()
    assert torch.allclose((d - d.min()) / (d.max() - d.min()), r, atol=1e-5)


def test_depth_codec_renders_missing_depth_far_and_clips_outliers():
    codec = DepthCodec()
    depth = torch.linspace(1, 2, 100).reshape(1, 1, 10, 10)
    depth[0, 0, 0, 0] = 0  # missing
    depth[0, 0, 9, 9] = 100  # outlier beyond the 98th percentile
    rgb = codec.encode(depth)
    assert rgb[0, 0, 0, 0] == 1 and rgb[0, 0, 9, 9] == 1
    assert rgb[0, 0, 5, 5] > -1 and rgb[0, 0, 5, 5] < 1
    assert torch.equal(codec.encode(torch.zeros(1, 4, 4)), torch.ones(1, 3, 4, 4))


def test_codecs_are_built_from_config_in_any_scope():
    from mmengine.registry import init_default_scope

    from mmgeneralist.codecs import BaseCodec
    from mmgeneralist.registry import CODECS, build_codec
    assert {'ClassColorCodec', 'DepthCodec'} <= set(CODECS.module_dict)
    for scope in ('mmseg', 'mmdet'):
        init_default_scope(scope)
        codec = build_codec(dict(type='ClassColorCodec', num_classes=150, ignore_index=0))
        assert isinstance(codec, ClassColorCodec) and isinstance(codec, BaseCodec)
        assert (codec.out_channels, codec.ignore_index, codec.label_field) == (
            150, 0, 'gt_sem_seg')
    depth = DepthCodec()
    assert build_codec(depth) is depth and depth.label_field == 'gt_depth_map'
    with pytest.raises(TypeError, match='ClassColorCodec'):
        build_codec('DepthCodec')


def test_codec_reads_its_label_field():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(gt_sem_seg=PixelData(data=torch.full((1, 4, 5), i)))
               for i in range(2)]
    codec = ClassColorCodec(3)
    labels = codec.labels(samples)
    assert labels.shape == (2, 1, 4, 5) and labels[1].unique().tolist() == [1]
    # (B, 1, H, W) and (B, H, W) labels render alike; scores' argmax is decode
    rgb = codec.encode(labels)
    assert torch.equal(rgb, codec.encode(labels[:, 0]))
    assert torch.equal(codec.scores(rgb).argmax(1), codec.decode(rgb))
    with pytest.raises(ValueError, match="no 'gt_depth_map'"):
        DepthCodec().labels(samples)
