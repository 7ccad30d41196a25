"""RefCocoObjectsDataset: one item per referred object, nothing lost or mixed up."""
import json

import pytest

from ..conftest import run_tool


@pytest.fixture(scope='module')
def refcoco_root(tmp_path_factory):
    out = tmp_path_factory.mktemp('refcoco-objects')
    run_tool('tools/dataset_converters/generate_synthetic.py', '--out', str(out), '--formats',
             'refcoco', '--num-train', '6', '--num-val', '2', '--size', '64', '--seed', '0')
    return str(out / 'refcoco')


def _datasets(root):
    from mmdet.datasets import RefCocoDataset

    from mmgeneralist.datasets import RefCocoObjectsDataset
    kwargs = dict(data_root=root, ann_file='instances.json', split_file='refs(unc).p',
                  data_prefix=dict(img_path='train2014/'), split='train', pipeline=[])
    return (RefCocoDataset(text_mode='original', **kwargs), RefCocoObjectsDataset(**kwargs))


def test_one_item_per_object_with_its_own_expressions(refcoco_root):
    images, objects = _datasets(refcoco_root)
    per_image = [images.get_data_info(i) for i in range(len(images))]
    per_object = [objects.get_data_info(i) for i in range(len(objects))]
    num_objects = sum(len({json.dumps(x['mask']) for x in info['instances']})
                      for info in per_image)
    assert len(per_object) == num_objects > len(per_image)
    for obj in per_object:  # one object: one mask, one expression per repeat of it
        assert len({json.dumps(x['mask']) for x in obj['instances']}) == 1
        assert len(obj['text']) == len(obj['instances']) >= 1
    # the same expressions and masks, regrouped
    def pairs(infos):  # noqa: E306
        return sorted((i['img_path'], t, json.dumps(x['mask'])) for i in infos
                      for t, x in zip(i['text'], i['instances']))
    assert pairs(per_object) == pairs(per_image)


def test_other_text_modes_are_refused(refcoco_root):
    from mmgeneralist.datasets import RefCocoObjectsDataset
    with pytest.raises(ValueError, match="needs text_mode='original'"):
        RefCocoObjectsDataset(data_root=refcoco_root, ann_file='instances.json',
                              split_file='refs(unc).p', text_mode='random', split='train',
                              data_prefix=dict(img_path='train2014/'), pipeline=[])
