# The generated ADE20K-format data (mmseg's ADE20KDataset, real ADE20K ids):
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats ade
# The classes of the generated world, by their real ADE20K names, in ADE20K order
# (mmgeneralist.datasets.synthetic.SYNTHETIC_ADE_CLASSES): the annotation PNGs use ADE20K's
# 150-class ids, and mmseg's label_map remaps these to 0..K-1.
class_names = ('wall', 'floor', 'person', 'box', 'flower', 'tent', 'ball')
data_root = 'data/synthetic/ade'
dataset_type = 'ADE20KDataset'
metainfo = dict(classes=class_names)
train_pipeline = [
    # an image or label that does not decode is logged and skipped (at most 1% of them)
    dict(type='SkipBadSamples', transforms=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
    ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
