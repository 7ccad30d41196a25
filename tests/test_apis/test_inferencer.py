"""DiffusionInferencer and the demo: own images in, data samples and readable pictures out.

The three tiny VPD configs (semantic, depth, referring) on the session's tiny random SD
folder, without a checkpoint (random heads): what is checked is the plumbing (inputs of every
kind, sizes, files, messages), not the quality of the predictions. Each model is built once.
"""
import importlib.util
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmgeneralist.apis import DiffusionInferencer, Inferencer, load_image
from mmgeneralist.visualization import default_palette, draw_depth, draw_segmentation

from ..conftest import ROOT

SEG_CONFIG = osp.join(ROOT, 'configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py')
DEPTH_CONFIG = osp.join(ROOT, 'configs/vpd/vpd_tiny-dpt_1xb8-600_synthetic-nyu-64x64.py')
REFER_CONFIG = osp.join(ROOT, 'configs/vpd/vpd_tiny-refer_1xb8-1k_synthetic-refcoco-64x64.py')
GENERALIST_CONFIG = osp.join(
    ROOT, 'configs/pixel_generalist/'
    'pixel-generalist_tiny-convnext_1xb8-600_synthetic-multitask-32x32.py')
EDITOR_CONFIG = osp.join(
    ROOT, 'configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py')
MIN_HEIGHT = 256  # the pictures' upscaling target (drawing's default)


def _scene(h, w, seed=0):
    """A BGR uint8 picture with a few blobs (not noise: the pictures stay readable)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = rng.integers(60, 200, 3)
    img[h // 2:] = rng.integers(20, 120, 3)
    for _ in range(3):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, c, int(rng.integers(3, max(4, min(h, w) // 4))),
                   tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    return img


def _build(config, tiny_sd_dir, key='model.backbone.pretrained'):
    with pytest.warns(UserWarning, match='heads are randomly initialised'):
        return DiffusionInferencer(config, device='cpu', show_progress=True,
                                   cfg_options={key: tiny_sd_dir})


@pytest.fixture(scope='module')
def seg(tiny_sd_dir):
    torch.manual_seed(0)
    return _build(SEG_CONFIG, tiny_sd_dir)


@pytest.fixture(scope='module')
def depth(tiny_sd_dir):
    torch.manual_seed(0)
    return _build(DEPTH_CONFIG, tiny_sd_dir)


@pytest.fixture(scope='module')
def refer(tiny_sd_dir):
    torch.manual_seed(0)
    return _build(REFER_CONFIG, tiny_sd_dir)


@pytest.fixture(scope='module')
def image_dir(tmp_path_factory):
    """Two image files (written out of order) and a non-image file."""
    folder = tmp_path_factory.mktemp('images')
    cv2.imwrite(str(folder / 'b_scene.png'), _scene(64, 64, seed=2))
    cv2.imwrite(str(folder / 'a_scene.jpg'), _scene(48, 80, seed=1))
    (folder / 'notes.txt').write_text('not an image')
    return str(folder)


def _picture_size_ok(path, h, w):
    """The picture exists, and holds two panels of the input enlarged to >= 256 px."""
    assert osp.isfile(path), path
    picture = cv2.imread(path)
    assert picture is not None, path
    factor = math.ceil(MIN_HEIGHT / h)
    assert picture.shape[0] >= factor * h, (picture.shape, h, factor)
    assert picture.shape[1] > 2 * factor * w, (picture.shape, w, factor)
    return picture


# ------------------------------------------------------------------ semantic segmentation


def test_semantic_inputs_of_every_kind(seg, image_dir, tmp_path, capsys):
    from mmseg.structures import SegDataSample
    rgba = np.zeros((40, 56, 4), np.uint8)
    rgba[..., :3] = _scene(40, 56, seed=3)
    rgba[:, :28, 3] = 255  # left half opaque, right half transparent
    inputs = [
        _scene(64, 64),  # array
        osp.join(image_dir, 'b_scene.png'),  # path
        image_dir,  # folder: a_scene.jpg, b_scene.png (not notes.txt)
        cv2.cvtColor(_scene(50, 70, seed=4), cv2.COLOR_BGR2GRAY),  # grayscale (H, W)
        _scene(33, 45, seed=5)[..., :1],  # one channel (H, W, 1)
        rgba,  # BGRA
        _scene(61, 47, seed=6),  # odd size
    ]
    sizes = [(64, 64), (64, 64), (48, 80), (64, 64), (50, 70), (33, 45), (40, 56), (61, 47)]
    results = seg(inputs, batch_size=2, out_dir=str(tmp_path), save_pred=True)
    assert len(results) == len(sizes)
    # the input file's name, else the index in the flattened inputs; repeats get a suffix
    names = ['000000', 'b_scene', 'a_scene', 'b_scene_1', '000004', '000005', '000006',
             '000007']
    num_classes = len(seg.class_names)
    for sample, (h, w), name in zip(results, sizes, names):
        assert isinstance(sample, SegDataSample)
        labels = sample.pred_sem_seg.data
        assert tuple(labels.shape) == (1, h, w), (name, labels.shape)
        assert 0 <= int(labels.min()) and int(labels.max()) < num_classes
        picture = _picture_size_ok(osp.join(tmp_path, 'vis', name + '.png'), h, w)
        assert picture.shape[1] > 2 * math.ceil(MIN_HEIGHT / h) * w + 40  # + the legend
        saved = cv2.imread(osp.join(tmp_path, 'pred', name + '.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(saved, labels[0].numpy())
    assert results[2].metainfo['img_path'].endswith('a_scene.jpg')  # sorted folder
    # visualize() draws what the call wrote
    pictures = seg.visualize(inputs[:2], results[:2])
    np.testing.assert_array_equal(pictures[1][..., ::-1],
                                  cv2.imread(osp.join(tmp_path, 'vis', 'b_scene.png')))
    assert 'inference' in capsys.readouterr().err  # the progress bar of a list


def test_class_names_come_from_the_config(seg):
    assert seg.class_names == ('wall', 'floor', 'person', 'box', 'flower', 'tent', 'ball')
    assert len(seg.palette) == len(seg.class_names)


def test_semantic_takes_no_text(seg):
    with pytest.raises(ValueError, match='takes no text'):
        seg(_scene(64, 64), texts='a ball')


def test_a_missing_image_is_named(seg, tmp_path):
    missing = str(tmp_path / 'nope.png')
    with pytest.raises(FileNotFoundError, match='image file not found: .*nope.png'):
        seg(missing)


@pytest.fixture(scope='module')
def seg_work_dir(seg, tmp_path_factory):
    """A work dir as training leaves it: a checkpoint (the fixture model's weights, other
    class names in its meta) and ``last_checkpoint`` naming it."""
    work_dir = tmp_path_factory.mktemp('work_dir')
    path = str(work_dir / 'iter_1.pth')
    names = tuple(f'k{i}' for i in range(len(seg.class_names)))
    meta = dict(dataset_meta=dict(classes=names, palette=default_palette(7).tolist()))
    torch.save(dict(state_dict=seg.model.state_dict(), meta=meta), path)
    (work_dir / 'last_checkpoint').write_text(path)
    return str(work_dir)


def test_a_checkpoint_gives_the_weights_and_the_class_names(seg, seg_work_dir, tiny_sd_dir):
    image = _scene(64, 64, seed=7)
    # the work dir resolves to the checkpoint its last_checkpoint names
    loaded = DiffusionInferencer(SEG_CONFIG, seg_work_dir, device='cpu',
                                 cfg_options={'model.backbone.pretrained': tiny_sd_dir})
    assert loaded.checkpoint == osp.join(seg_work_dir, 'iter_1.pth')
    assert loaded.class_names[0] == 'k0'
    a = seg(image)[0].seg_logits.data
    b = loaded(image)[0].seg_logits.data
    torch.testing.assert_close(a, b)


def test_the_demo_writes_pictures_and_says_where(seg_work_dir, image_dir, tiny_sd_dir,
                                                 tmp_path, capsys, monkeypatch):
    demo = _load_demo(monkeypatch)
    out = str(tmp_path / 'out')
    demo.main([image_dir, SEG_CONFIG, seg_work_dir, '--out-dir', out, '--device', 'cpu',
               '--save-pred', '--cfg-options', f'model.backbone.pretrained={tiny_sd_dir}'])
    stdout = capsys.readouterr().out
    assert f'2 pictures in {osp.join(out, "vis")}' in stdout, stdout
    for name in ('a_scene', 'b_scene'):
        assert osp.join(out, 'vis', name + '.png') in stdout
        assert osp.isfile(osp.join(out, 'vis', name + '.png'))
        assert osp.isfile(osp.join(out, 'pred', name + '.png'))


def test_the_demo_runs_on_scikit_images_sample_photos(seg_work_dir, tiny_sd_dir, tmp_path,
                                                      capsys, monkeypatch):
    """The walk-through of demo/README.md: the five photos (colour, grayscale, RGBA, not
    square) written by demo/sample_photos.py, then the demo on their folder."""
    photos = _demo_script('sample_photos')
    folder = tmp_path / 'photos'
    paths = photos.write_photos(str(folder), height=48)
    written = {osp.basename(p)[:-4]: cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in paths}
    assert sorted(written) == sorted(photos.PHOTOS)
    assert written['camera'].ndim == 2 and written['logo'].shape[2] == 4
    assert all(img.shape[0] == 48 for img in written.values())
    assert written['chelsea'].shape[1] != 48  # the aspect ratio is kept

    demo = _load_demo(monkeypatch)
    out = str(tmp_path / 'out')
    demo.main([str(folder), SEG_CONFIG, seg_work_dir, '--out-dir', out, '--device', 'cpu',
               '--cfg-options', f'model.backbone.pretrained={tiny_sd_dir}'])
    assert f'5 pictures in {osp.join(out, "vis")}' in capsys.readouterr().out
    for name, img in written.items():
        _picture_size_ok(osp.join(out, 'vis', name + '.png'), *img.shape[:2])


# ------------------------------------------------------------------ depth


def test_depth_is_finite_positive_at_the_input_size(depth, tmp_path):
    from mmseg.structures import SegDataSample
    results = depth([_scene(64, 64), _scene(61, 47, seed=1)], out_dir=str(tmp_path),
                    save_pred=True)
    for sample, (h, w), name in zip(results, [(64, 64), (61, 47)], ['000000', '000001']):
        assert isinstance(sample, SegDataSample)
        d = sample.pred_depth_map.data
        assert tuple(d.shape) == (1, h, w)
        assert torch.isfinite(d).all() and (d > 0).all()
        # the VPD NYU context needs a scene class: -1, unknown
        assert sample.metainfo['category_id'] == -1
        _picture_size_ok(osp.join(tmp_path, 'vis', name + '.png'), h, w)
        np.testing.assert_allclose(np.load(osp.join(tmp_path, 'pred', name + '.npy')),
                                   d[0].numpy(), rtol=1e-6)


# ------------------------------------------------------------------ referring


def test_referring_predicts_one_mask_per_image(refer, tmp_path):
    from mmdet.structures import DetDataSample
    texts = ['the ball on the left', 'the tent']
    results = refer([_scene(64, 64), _scene(61, 47, seed=1)], texts=texts,
                    out_dir=str(tmp_path))
    for sample, (h, w), text, name in zip(results, [(64, 64), (61, 47)], texts,
                                          ['000000', '000001']):
        assert isinstance(sample, DetDataSample)
        assert sample.metainfo['text'] == text
        masks = sample.pred_instances.masks
        assert tuple(masks.shape) == (1, h, w) and masks.dtype == torch.bool
        _picture_size_ok(osp.join(tmp_path, 'vis', name + '.png'), h, w)


def test_referring_without_text_says_what_to_pass(refer):
    with pytest.raises(ValueError, match=r'needs one referring expression.*pass texts='):
        refer(_scene(64, 64))
    with pytest.raises(ValueError, match='2 texts for 1 images'):
        refer(_scene(64, 64), texts=['a', 'b'])


# ------------------------------------------------------------------ generalist and editor


def test_the_generalist_predicts_the_task_it_is_given(tiny_sd_dir, tmp_path):
    from mmseg.structures import SegDataSample
    generalist = _build(GENERALIST_CONFIG, tiny_sd_dir, key='model.pretrained')
    images = [_scene(64, 64), _scene(61, 47, seed=1)]
    # a task by its name, or by its instruction
    results = generalist(images, texts=['depth', 'Performance semantic segmentation'],
                         out_dir=str(tmp_path))
    assert [s.metainfo['task'] for s in results] == ['depth', 'semantic']
    assert all(isinstance(s, SegDataSample) for s in results)
    assert tuple(results[0].pred_depth_map.shape) == (64, 64)
    assert tuple(results[1].pred_sem_seg.shape) == (61, 47)
    _picture_size_ok(osp.join(tmp_path, 'vis', '000001.png'), 61, 47)
    with pytest.raises(ValueError, match=r"not a task of this model: pass one of \['semantic'"):
        generalist(images[0], texts='cartoonify')
    with pytest.raises(ValueError, match='needs a task name per image'):
        generalist(images[0])


def test_the_editor_edits_by_instruction(tiny_sd_dir, tmp_path):
    editor = _build(EDITOR_CONFIG, tiny_sd_dir, key='model.pretrained')
    results = editor(_scene(61, 47), texts='Make the image brighter.', out_dir=str(tmp_path))
    edited = results[0].pred_image.data
    assert results[0].metainfo['instruction'] == 'Make the image brighter.'
    assert tuple(edited.shape) == (3, 61, 47)
    _picture_size_ok(osp.join(tmp_path, 'vis', '000000.png'), 61, 47)
    with pytest.raises(ValueError, match='needs an instruction per image'):
        editor(_scene(32, 32))


def test_the_editor_reads_instructed_keypoints_and_masks_back(tiny_sd_dir, tmp_path):
    """An edit as a perfect model makes it (two circles and a mask, drawn by the model's
    own codecs) is read back at the instructed places; the picture adds a third panel."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    editor = _build(EDITOR_CONFIG, tiny_sd_dir, key='model.pretrained')
    rgb = np.ascontiguousarray(_scene(61, 47)[..., ::-1])
    source = torch.from_numpy(rgb).permute(2, 0, 1).float()
    mask = np.zeros((61, 47), bool)
    mask[5:25, 20:40] = True
    edited = editor.model.keypoint_codec.render(source, [[10.0, 20.0], [30.0, 45.0]],
                                                ['red', 'blue'])
    edited = editor.model.mask_codec.render(edited, mask, 'green')
    text = ('Put a red circle on the nose of the person. Use blue to circle the left eye of '
            'the person. Place a green mask on the ball.')
    sample = SegDataSample(metainfo=dict(instruction=text))
    sample.pred_image = PixelData(data=edited)
    editor.kind.finish(editor.model, rgb, sample)
    nose, eye, ball = sample.read_back
    assert (nose['task'], nose['part'], eye['part']) == ('keypoint', 'nose', 'left eye')
    assert np.allclose(nose['keypoint'], (10, 20), atol=0.5) and nose['score'] > 0.5
    assert np.allclose(eye['keypoint'], (30, 45), atol=0.5) and eye['score'] > 0.5
    assert ball['task'] == 'segmentation' and ball['object'] == 'ball'
    iou = (ball['mask'] & mask).sum() / (ball['mask'] | mask).sum()
    assert iou > 0.9, iou
    picture = editor.kind.draw(editor, rgb, sample)
    factor = math.ceil(MIN_HEIGHT / 61)
    assert picture.shape[1] > 3 * factor * 47  # input | edited | read back, and a legend

    # through the call: a free-form edit reads nothing back, an instructed one its colours
    plain, asked = editor([_scene(61, 47)] * 2, texts=['Make the image brighter.', text],
                          out_dir=str(tmp_path))
    assert plain.get('read_back') is None
    assert [a['color'] for a in asked.read_back] == ['red', 'blue', 'green']
    assert asked.read_back[2]['mask'].shape == (61, 47)
    assert all(0 <= a['score'] <= 1 for a in asked.read_back[:2])
    assert cv2.imread(osp.join(tmp_path, 'vis', '000001.png')).shape[1] > picture.shape[1] // 2
    with pytest.raises(ValueError, match='not in the palette: use one of .*red'):
        editor(_scene(32, 32), texts='Place a teal mask on the ball.')


# ------------------------------------------------------------------ construction errors


def test_a_missing_config_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_config.py')
    with pytest.raises(FileNotFoundError, match='config file not found: .*no_such_config.py'):
        Inferencer(missing)


def test_a_missing_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'no_such.pth')
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*no_such.pth'):
        DiffusionInferencer(SEG_CONFIG, missing, device='cpu')


def _demo_script(name: str):
    """``demo/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, f'demo/{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_demo(monkeypatch):
    """demo/image_demo.py as a module (its ``main`` takes ``argv``)."""
    monkeypatch.delenv('MMGEN_TRACEBACK', raising=False)
    monkeypatch.setenv('OMP_NUM_THREADS', str(torch.get_num_threads()))
    return _demo_script('image_demo')


def test_the_demo_reports_a_missing_checkpoint_in_one_line(tmp_path, capsys, monkeypatch):
    demo = _load_demo(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        demo.main([osp.join(ROOT, 'demo'), SEG_CONFIG, str(tmp_path / 'gone.pth')])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert errors == [f'error: checkpoint file not found: {tmp_path / "gone.pth"}'], err
    assert 'Traceback' not in err


# ------------------------------------------------------------------ inputs and pictures


def test_load_image_normalises_to_bgr_uint8(tmp_path):
    bgra = np.zeros((5, 7, 4), np.uint8)
    bgra[..., 2] = 200  # red in BGR order
    bgra[:, :3, 3] = 255  # opaque left, transparent right
    path = str(tmp_path / 'rgba.png')
    cv2.imwrite(path, bgra)
    for loaded in (load_image(path), load_image(bgra)):
        assert loaded.shape == (5, 7, 3) and loaded.dtype == np.uint8
        np.testing.assert_array_equal(loaded[0, 0], [0, 0, 200])  # opaque: as it was
        np.testing.assert_array_equal(loaded[0, 6], [255, 255, 255])  # transparent: white
    gray = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    loaded = load_image(gray)
    assert loaded.shape == (3, 4, 3)
    assert (loaded[..., 0] == loaded[..., 2]).all() and loaded.max() == round(55000 / 257)


def test_the_legend_lists_only_the_classes_present():
    image = np.full((16, 20, 3), 128, np.uint8)
    labels = np.zeros((16, 20), np.int64)
    labels[:, 10:] = 3
    labels[0, 0] = 255  # ignored
    palette = default_palette(6)
    picture = draw_segmentation(image, labels, [f'c{i}' for i in range(6)], palette)
    assert picture.shape[0] >= MIN_HEIGHT and picture.shape[1] > 2 * 16 * 20

    def pixels_of(color):
        return int((picture == np.asarray(color, np.uint8)).all(-1).sum())

    # a swatch is drawn in the pure class colour; the prediction panel only blends it
    assert pixels_of(palette[0]) > 0 and pixels_of(palette[3]) > 0
    assert all(pixels_of(palette[c]) == 0 for c in (1, 2, 4, 5))


def test_the_depth_picture_spans_the_colour_map():
    from mmgeneralist.visualization import depth_colormap
    d = np.linspace(1.0, 4.0, 30 * 40).reshape(30, 40)
    d[0, 0] = 0  # missing: black
    picture = draw_depth(np.zeros((30, 40, 3), np.uint8), d)
    near, far = depth_colormap(np.array([1.0, 4.0]), 1.0, 4.0)
    assert (picture == near).all(-1).any() and (picture == far).all(-1).any()
    assert not np.array_equal(near, far)
    assert picture.shape[0] >= MIN_HEIGHT and picture.shape[1] > 2 * 9 * 40
