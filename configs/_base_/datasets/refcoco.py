# RefCOCO (UNC split) in mmdet's RefCocoDataset layout, under data/refcoco/: train2014/ (the
# COCO 2014 training images), instances.json and refs(unc).p (from the refer toolkit's
# refcoco folder; mmdet's own config keeps them in data/coco/refcoco/).
# text_mode='original': every expression of every object. Training iterates over the referred
# objects (RefCocoObjectsDataset, as VPD's released refer/data/dataset_refer_clip.py does) and
# the referring segmentor draws one of the object's expressions each time; evaluation goes
# image by image over every expression (mmdet's RefCocoDataset).
# Images are resized to 512 x 512 without keeping the aspect ratio (LAVT resizes to a square;
# VPD Sec. 3.2: "the size of the input image is 512x512"); the predictions are resized back to
# the original image for the metric. No flip: expressions say "left" and "right".
data_root = 'data/refcoco/'
dataset_type = 'RefCocoDataset'
img_scale = (512, 512)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
train_pipeline = [
    dict(type='SkipBadSamples', transforms=[  # unreadable files: logged and skipped
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
             with_label=False),
    ]),
    dict(type='Resize', scale=img_scale, keep_ratio=False),  # resizes the masks too
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    # loaded after Resize: the masks keep the original size, which RefSegMetric compares with
    # the predictions (resized back by the model); it reads them from the metainfo gt_masks
    dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
         with_label=False),
    dict(type='PackDetInputs', meta_keys=meta_keys + ('gt_masks', )),
]
refcoco_split = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='instances.json',
    split_file='refs(unc).p',
    data_prefix=dict(img_path='train2014/'),
    text_mode='original')
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(refcoco_split, type='RefCocoObjectsDataset', split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # VPD's Table 3 reports val; 'testA' / 'testB' for the test splits
    dataset=dict(refcoco_split, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RefSegMetric', metric=['cIoU', 'mIoU'])  # cIoU = VPD's oIoU
test_evaluator = val_evaluator
