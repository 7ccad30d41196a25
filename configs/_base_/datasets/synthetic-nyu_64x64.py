# The generated NYUv2-format data (mmseg's NYUDataset; uint16 depth PNGs in millimetres;
# scenes are named like NYU's "playroom_<id>", which NYUDataset turns into a category id):
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats nyu
data_root = 'data/synthetic/nyu'
dataset_type = 'NYUDataset'
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id')
train_pipeline = [
    # an image or depth map that does not decode is logged and skipped (at most 1% of them)
    dict(type='SkipBadSamples', transforms=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),  # uint16 mm -> m
    ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/train', depth_map_path='annotations/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        data_prefix=dict(img_path='images/test', depth_map_path='annotations/test'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# crop_type=None: mmseg's 'nyu_crop' is the Eigen crop of 480x640 images, not of 64 px ones
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                     crop_type=None)
test_evaluator = val_evaluator
