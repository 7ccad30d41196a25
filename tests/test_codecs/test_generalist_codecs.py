"""The diffusion generalist's codecs (Fan et al., Sec. 3.1): Painter colours, quantised
depth, instance colours, panoptic merging, images."""
import pytest
import torch

from mmgeneralist.codecs import (
    DepthCodec,
    ImageCodec,
    InstanceColorCodec,
    PainterClassCodec,
    QuantizedDepthCodec,
    merge_panoptic,
)


def unit(*values):
    """0..255 colour values -> [-1, 1]."""
    return torch.tensor(values, dtype=torch.float32) / 127.5 - 1


# ---------------------------------------------------------------- Painter class colours


def test_painter_codebook_follows_the_formula():
    codec = PainterClassCodec(8)
    assert (codec.base, codec.margin) == (2, 128)
    assert codec.colors[5].tolist() == [128, 0, 128]  # 5 = 101 in base 2
    assert codec.colors.tolist() == [[0, 0, 0], [0, 0, 128], [0, 128, 0], [0, 128, 128],
                                     [128, 0, 0], [128, 0, 128], [128, 128, 0],
                                     [128, 128, 128]]
    codec = PainterClassCodec(150)  # ADE20K: b = 6 (5**3 = 125 < 150 <= 216), m = 42
    assert (codec.base, codec.margin) == (6, 42)
    assert codec.colors[149].tolist() == [4 * 42, 0 * 42, 5 * 42]  # 149 = 4*36 + 0*6 + 5
    assert (PainterClassCodec(27).base, PainterClassCodec(28).base) == (3, 4)
    assert PainterClassCodec(1).colors.tolist() == [[0, 0, 0]]
    assert len(set(map(tuple, PainterClassCodec(300, -1).colors.tolist()))) == 300


@pytest.mark.parametrize('num_classes', [1, 7, 150, 300])
def test_painter_round_trip_is_exact_also_under_noise(num_classes):
    codec = PainterClassCodec(num_classes, ignore_index=-1)
    label = torch.cat([torch.arange(num_classes), torch.randint(0, num_classes, (600, ))])
    label = label[torch.randperm(len(label))[:600]]
    label[:num_classes] = torch.arange(num_classes)  # every class occurs
    label = label.view(2, 15, 20)
    rgb = codec.encode(label)
    assert rgb.shape == (2, 3, 15, 20) and rgb.min() >= -1 and rgb.max() <= 1
    assert torch.equal(codec.decode(rgb), label)
    assert torch.equal(codec.encode(label[:, None]), rgb)  # (B, 1, H, W) alike
    half = codec.margin / 127.5 / 2
    noisy = rgb + (torch.rand_like(rgb) * 2 - 1) * half * 0.999
    assert torch.equal(codec.decode(noisy), label)
    assert torch.equal(codec.scores(noisy).argmax(1), label)


@pytest.mark.parametrize('num_classes', [2, 7, 8, 150, 300])
def test_painter_fast_decode_is_brute_force_including_ties(num_classes):
    torch.manual_seed(num_classes)
    codec = PainterClassCodec(num_classes, ignore_index=-1)
    b, m = codec.base, codec.margin
    # the whole cube and beyond it, plus points on (and one float step off) the midpoints
    # between grid levels, where the nearest colours tie
    anywhere = torch.rand(2, 3, 40, 40) * 3 - 1.5
    level = torch.randint(0, b - 1, (3, 3, 40, 40)).float()
    on_mid = ((level + 0.5) * m) / 127.5 - 1
    keep = torch.rand(on_mid.shape) < 0.5  # others: an exact codebook level
    on_mid = torch.where(keep, on_mid, (torch.randint(0, b, on_mid.shape) * m) / 127.5 - 1)
    rgb = torch.cat([anywhere, on_mid, torch.nextafter(on_mid, torch.tensor(2.0)),
                     torch.nextafter(on_mid, torch.tensor(-2.0))])
    fast, brute = codec.decode(rgb), codec.decode_brute_force(rgb)
    assert torch.equal(fast, brute)
    scores = codec.scores(rgb)
    assert scores.shape == (len(rgb), num_classes, 40, 40)
    assert torch.equal(scores.argmax(1), fast)
    # exact ties occur, and are won by the lowest class, as brute force does
    best = scores.max(1, keepdim=True).values
    tied = (scores == best).sum(1) > 1
    assert tied.sum() > 50
    classes = torch.arange(num_classes)[None, :, None, None]
    lowest = torch.where(scores == best, classes, num_classes).amin(1)
    assert torch.equal(fast[tied], lowest[tied])
    # the brute force itself is the nearest colour
    d = torch.cdist(rgb.permute(0, 2, 3, 1).reshape(-1, 3).double(),
                    codec.colors.double() / 127.5 - 1)
    clear = (d.topk(min(2, num_classes), largest=False).values.diff(1) > 1e-6)[:, 0]
    assert torch.equal(brute.flatten()[clear], d.argmin(1)[clear])


def test_painter_ignored_pixels_are_white_with_zero_weight():
    codec = PainterClassCodec(7)
    label = torch.tensor([[[0, 255], [6, 3]]])
    rgb = codec.encode(label)
    assert torch.equal(rgb[0, :, 0, 1], torch.ones(3))  # white
    assert torch.equal(rgb[0, :, 1, 0], unit(128, 128, 0))  # 6 = 110 in base 2
    assert codec.weights(label).tolist() == [[[[1.0, 0.0], [1.0, 1.0]]]]
    assert not (codec.colors == 255).all(1).any()
    assert DepthCodec().weights(torch.rand(2, 1, 3, 4)).tolist() == torch.ones(
        2, 1, 3, 4).tolist()  # the base class's default


def test_painter_refuses_bad_labels_and_ambiguous_ignore_index():
    with pytest.raises(ValueError, match=r'labels \[-3, 7\].*0\.\.6'):
        PainterClassCodec(7).encode(torch.tensor([[[0, 7, -3, 255]]]))
    with pytest.raises(ValueError, match='ignore_index 255 is one of the classes'):
        PainterClassCodec(300)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        PainterClassCodec(7).decode(torch.zeros(1, 1, 2, 2))


# ---------------------------------------------------------------- quantised depth


def test_quantized_depth_round_trips_to_the_nearest_level():
    codec = QuantizedDepthCodec(0.0, 10.0, bits=8)
    depth = torch.rand(2, 1, 32, 32) * 10
    rgb = codec.encode(depth)
    assert rgb.shape == (2, 3, 32, 32) and torch.equal(rgb[:, 0], rgb[:, 2])
    level = 10 / 255
    decoded = codec.decode(rgb)
    assert torch.allclose(decoded, torch.round(depth / level) * level, atol=1e-5)
    assert (decoded - depth).abs().max() <= level / 2 + 1e-5
    assert ((decoded - depth).square().mean().sqrt() < level).item()  # 8-bit RMSE < 10/255
    assert torch.allclose(((rgb[:, :1] + 1) * 127.5), torch.round(depth / level), atol=1e-4)
    # outside the range: clamped
    assert torch.allclose(codec.decode(codec.encode(torch.full((1, 2, 2), 15.0))),
                          torch.full((1, 1, 2, 2), 10.0))


def test_quantized_depth_invalid_pixels_and_full_precision():
    codec = QuantizedDepthCodec(bits=None, min_valid=0.1)
    depth = torch.rand(1, 1, 16, 16) * 9 + 0.5
    depth[0, 0, 3, 4] = 0.05
    rgb = codec.encode(depth[:, 0])  # (B, H, W) alike
    assert torch.equal(rgb[0, :, 3, 4], -torch.ones(3))
    weights = codec.weights(depth)
    assert weights[0, 0, 3, 4] == 0 and weights.sum() == 16 * 16 - 1
    decoded = codec.decode(rgb)
    valid = weights.bool()
    assert torch.allclose(decoded[valid], depth[valid], rtol=0, atol=1e-5)
    assert not torch.allclose(QuantizedDepthCodec(bits=4).decode(rgb)[valid], depth[valid],
                              atol=1e-3)
    with pytest.raises(ValueError, match='min_depth < max_depth'):
        QuantizedDepthCodec(5, 5)


# ---------------------------------------------------------------- instance colours


def box(h, w, top, left, bottom, right):
    m = torch.zeros(h, w, dtype=torch.bool)
    m[top:bottom, left:right] = True
    return m


def test_instances_are_coloured_in_raster_order_of_their_centres():
    codec = InstanceColorCodec(7)  # 8 colours: b = 2, m = 128
    lower_right, upper_left, upper_right = box(8, 8, 5, 5, 8, 8), box(8, 8, 0, 0, 2, 2), \
        box(8, 8, 0, 5, 3, 8)
    empty = torch.zeros(8, 8, dtype=torch.bool)
    masks = torch.stack([lower_right, empty, upper_left, upper_right])
    assert codec.order(masks).tolist() == [2, 3, 0, 1]  # by cy (0.5, 1, 6), empty last
    rgb = codec.encode([masks])
    assert torch.equal(rgb[0, :, 0, 0], unit(0, 0, 128))  # colour 1: upper left
    assert torch.equal(rgb[0, :, 0, 7], unit(0, 128, 0))  # colour 2
    assert torch.equal(rgb[0, :, 7, 7], unit(0, 128, 128))  # colour 3
    assert torch.equal(rgb[0, :, 4, 0], -torch.ones(3))  # background: black
    # same rows: columns decide
    left, right = box(4, 8, 1, 5, 3, 7), box(4, 8, 1, 0, 3, 2)
    assert codec.order(torch.stack([left, right])).tolist() == [1, 0]


def test_instances_decode_back_exactly_and_empty_images_are_background():
    codec = InstanceColorCodec(20)
    torch.manual_seed(0)
    blocks = torch.randperm(36)[:9].view(1, 1, 3, 3).float()  # 9 regions, random labels
    index = torch.nn.functional.interpolate(blocks, size=(12, 12), mode='nearest')[0, 0].long()
    masks = index[None] == index.unique()[:, None, None]  # in no particular order
    masks = masks[torch.randperm(len(masks))]
    rgb = codec.encode([masks, torch.zeros(0, 12, 12, dtype=torch.bool)])
    decoded = codec.decode(rgb)
    assert decoded.shape == (2, 12, 12) and decoded.dtype == torch.long
    assert torch.equal(codec.masks(decoded[0]), masks[codec.order(masks)])
    assert torch.equal(decoded[1], torch.zeros(12, 12, dtype=torch.long))
    assert torch.equal(rgb[1], -torch.ones(3, 12, 12))
    assert codec.scores(rgb).shape == (2, 21, 12, 12)
    assert codec.masks(decoded[0], min_area=17).shape == (0, 12, 12)  # regions are 16 px


def test_instances_overlap_and_limits():
    codec = InstanceColorCodec(3)
    first, second = box(6, 6, 0, 0, 4, 4), box(6, 6, 2, 2, 6, 6)  # overlap at [2:4, 2:4]
    index = codec.decode(codec.encode([torch.stack([second, first])]))[0]
    assert index[0, 0] == 1 and index[5, 5] == 2 and (index[2:4, 2:4] == 2).all()
    with pytest.raises(ValueError, match='4 instances.*raise max_instances to at least 4'):
        codec.encode([torch.zeros(4, 6, 6, dtype=torch.bool)])


def test_instances_read_mmdet_bitmap_masks():
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    masks = np.zeros((2, 5, 6), dtype=np.uint8)
    masks[0, :2, :2] = masks[1, 3:, 3:] = 1
    sample = DetDataSample(gt_instances=InstanceData(masks=BitmapMasks(masks, 5, 6)))
    codec = InstanceColorCodec(5)
    labels = codec.labels([sample])
    assert labels[0].dtype == torch.bool and torch.equal(labels[0], torch.from_numpy(masks > 0))
    assert codec.weights(labels).shape == (1, 1, 5, 6)
    with pytest.raises(ValueError, match='no gt_instances.masks'):
        codec.labels([DetDataSample(gt_instances=InstanceData())])


# ---------------------------------------------------------------- panoptic merge


def test_merge_panoptic_on_a_hand_built_example():
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    assert INSTANCE_OFFSET == 1000
    # classes: 0 sky (stuff), 1 person, 2 car (things); VOID = 3
    semantic = torch.tensor([[0, 0, 0, 0, 0, 0],
                             [0, 1, 1, 0, 0, 0],
                             [0, 1, 1, 0, 2, 2],
                             [0, 0, 0, 0, 2, 2],
                             [1, 1, 0, 0, 2, 1],
                             [1, 1, 0, 0, 0, 0]])
    instances = torch.tensor([[0, 0, 0, 0, 0, 0],
                              [0, 1, 1, 1, 0, 0],   # 1: 4 of 6 person -> kept, all of it
                              [0, 1, 1, 1, 2, 2],   # 2: 5 car, 1 person -> car
                              [0, 0, 0, 0, 2, 2],
                              [3, 3, 3, 3, 2, 2],   # 3: 2 of 6 thing -> dropped
                              [0, 0, 3, 3, 0, 0]])
    expected = torch.tensor([[0, 0, 0, 0, 0, 0],
                             [0, 1001, 1001, 1001, 0, 0],
                             [0, 1001, 1001, 1001, 2002, 2002],
                             [0, 0, 0, 0, 2002, 2002],
                             [3, 3, 0, 0, 2002, 2002],
                             [3, 3, 0, 0, 0, 0]])
    panoptic = merge_panoptic(semantic, instances, thing_classes=[1, 2], num_classes=3)
    assert torch.equal(panoptic, expected)
    # a region below min_area is ignored; ids stay consecutive
    panoptic = merge_panoptic(semantic, instances, [1, 2], 3, min_area=7)
    assert set(panoptic.unique().tolist()) == {0, 3}
    panoptic = merge_panoptic(semantic, instances.masked_fill(instances == 1, 0), [1, 2], 3)
    assert (panoptic == 1002).sum() == 6 and (panoptic[1:3, 1:3] == 3).all()
    # a looser thing_fraction keeps region 3: person (2 thing pixels, both person)
    panoptic = merge_panoptic(semantic, instances, [1, 2], 3, thing_fraction=0.3)
    assert (panoptic == 3001).sum() == 6
    with pytest.raises(ValueError, match='0..2'):
        merge_panoptic(semantic + 1, instances, [1, 2], 3)


# ---------------------------------------------------------------- images and registry


def test_image_codec_round_trip():
    codec = ImageCodec()
    image = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8)
    rgb = codec.encode(image)
    assert rgb.min() >= -1 and rgb.max() <= 1
    assert torch.allclose(codec.decode(rgb), image.float(), atol=1e-4)
    assert torch.equal(codec.decode(torch.tensor([-2.0, 0.0, 2.0]).view(1, 3, 1, 1)).flatten(),
                       torch.tensor([0.0, 127.5, 255.0]))  # clamped, not rounded


def test_generalist_codecs_are_built_from_config():
    from mmgeneralist.registry import build_codec
    assert build_codec(dict(type='PainterClassCodec', num_classes=150)).base == 6
    assert build_codec(dict(type='QuantizedDepthCodec', bits=None)).levels is None
    assert build_codec(dict(type='InstanceColorCodec', max_instances=10)).out_channels == 11
    assert build_codec(dict(type='ImageCodec')).label_field == 'gt_image'
