# The generated data of four tasks, in their real formats, as one multi-task data set
# (mmgeneralist's MultiTaskDataset: each sample is tagged with its task; the model picks the
# task's instruction and colour codec by it):
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats ade nyu coco_panoptic restoration
# semantic: mmseg's ADE20KDataset; depth: mmseg's NYUDataset; panoptic: mmdet's
# CocoPanopticDataset (built in mmdet's scope, _scope_='mmdet'); lowlight: paired restoration.
# Every task's validation runs its own upstream metric, keys prefixed with the task name.
data_root = 'data/synthetic'
# The generated formats render the same scenes, so the semantic and the panoptic task see the
# same images: the ADE20K-format classes are put in the panoptic order (things first, as
# mmdet requires) so that one class has one colour in both tasks. (With ADE20K's own order
# the two targets of an image would differ only in their colours, told apart by the
# instruction alone; the real data sets have different images.)
ade_classes = ('person', 'box', 'flower', 'tent', 'ball', 'wall', 'floor')
panoptic_metainfo = dict(
    classes=('person', 'box', 'flower', 'tent', 'ball', 'wall', 'floor'),
    thing_classes=('person', 'box', 'flower', 'tent', 'ball'),
    stuff_classes=('wall', 'floor'))
seg_meta_keys = ('img_path', 'seg_map_path', 'depth_map_path', 'ori_shape', 'img_shape',
                 'pad_shape', 'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label')


def _tasks(split, test_mode):
    """The four data sets of one split (a function, so train and val stay in step)."""
    ade_dir, nyu_dir = ('training', 'train') if split == 'train' else ('validation', 'test')
    load_image = dict(type='LoadImageFromFile')
    return dict(
        semantic=dict(
            type='ADE20KDataset',
            data_root=data_root + '/ade',
            metainfo=dict(classes=ade_classes),
            test_mode=test_mode,
            data_prefix=dict(img_path='images/' + ade_dir, seg_map_path='annotations/' + ade_dir),
            pipeline=[load_image, dict(type='LoadAnnotations', reduce_zero_label=True),
                      dict(type='PackSegInputs', meta_keys=seg_meta_keys)]),
        depth=dict(
            type='NYUDataset',
            data_root=data_root + '/nyu',
            test_mode=test_mode,
            data_prefix=dict(img_path='images/' + nyu_dir, depth_map_path='annotations/' + nyu_dir),
            pipeline=[load_image, dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                      dict(type='PackSegInputs', meta_keys=seg_meta_keys)]),
        panoptic=dict(
            type='CocoPanopticDataset',
            _scope_='mmdet',
            data_root=data_root + '/coco_panoptic',
            ann_file=f'annotations/panoptic_{split}2017.json',
            data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/'),
            metainfo=panoptic_metainfo,
            test_mode=test_mode,
            pipeline=[load_image, dict(type='CheckPanopticSegments'),  # PNG ids = JSON ids
                      dict(type='LoadPanopticAnnotations'), dict(type='PackDetInputs')]),
        lowlight=dict(
            type='PairedRestorationDataset',
            data_root=data_root + '/restoration',
            task='lowlight',
            split=split,
            test_mode=test_mode,
            pipeline=[load_image, dict(type='LoadRestorationTarget'),
                      dict(type='PackRestorationInputs')]),
    )


train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    # Fan et al. Sec. 4.1: tasks sampled uniformly, panoptic twice as often (two passes)
    sampler=dict(type='MultiTaskSampler', task_weights=dict(panoptic=2.0)),
    dataset=dict(type='MultiTaskDataset', datasets=_tasks('train', False)))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MultiTaskDataset', datasets=_tasks('val', True)))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiTaskEvaluator',
    metrics=dict(
        semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
        depth=dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                   crop_type=None),
        panoptic=dict(type='mmdet.CocoPanopticMetric',
                      ann_file=data_root + '/coco_panoptic/annotations/panoptic_val2017.json',
                      seg_prefix=data_root + '/coco_panoptic/annotations/panoptic_val2017/'),
        lowlight=dict(type='ImageQualityMetric')))
test_evaluator = val_evaluator
