"""Names of the on-disk formats and how configs point at them.

Plain data, standard library only: tools and checks can read it without numpy or OpenCV (the
writers themselves are in :mod:`.writers`, whose ``WRITERS`` follows this order).
"""
from __future__ import annotations

#: The formats, in the order they are written.
FORMATS: tuple[str, ...] = (
    'ade', 'nyu', 'coco_panoptic', 'coco_keypoints', 'refcoco', 'restoration')

#: How a config points at each format (``{root}`` is the format's directory).
FORMAT_CONFIGS: dict[str, str] = {
    'ade': ("dict(type='ADE20KDataset', data_root='{root}', "
            "data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'), "
            "metainfo=dict(classes=SYNTHETIC_ADE_CLASSES))  # val: images/validation; omit "
            "metainfo for the full 150 classes"),
    'nyu': ("dict(type='NYUDataset', data_root='{root}', "
            "data_prefix=dict(img_path='images/train', depth_map_path='annotations/train'))  "
            "# val: images/test; LoadDepthAnnotation(depth_rescale_factor=1e-3)"),
    'coco_panoptic': ("dict(type='CocoPanopticDataset', data_root='{root}', "
                      "ann_file='annotations/panoptic_train2017.json', "
                      "data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'), "
                      "metainfo=SYNTHETIC_PANOPTIC_METAINFO)  # val: *val2017*"),
    'coco_keypoints': ("dict(type='CocoDataset', data_mode='topdown', data_root='{root}', "
                       "ann_file='annotations/person_keypoints_train2017.json', "
                       "data_prefix=dict(img='train2017/'))  # mmpose; val: *val2017*"),
    'refcoco': ("dict(type='RefCocoDataset', data_root='{root}', ann_file='instances.json', "
                "split_file='refs(unc).p', split='train', "
                "data_prefix=dict(img_path='train2014/'))  # splits: train, val, testA, testB"),
    'restoration': ("{root}/<denoise|deblur|lowlight>/<train|val>/<input|target>/*.png "
                    "(paired by file name)"),
}
