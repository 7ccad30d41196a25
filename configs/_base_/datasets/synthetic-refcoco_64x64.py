# The generated RefCOCO-format data (mmdet's RefCocoDataset; 64 px images, kept at their size):
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats refcoco
_base_ = ['./refcoco.py']

data_root = 'data/synthetic/refcoco'
img_scale = (64, 64)  # the generated images' size; they are not resized
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
load_masks = dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
                  with_label=False)
train_pipeline = [  # no flip: expressions say "on the left"
    dict(type='SkipBadSamples', transforms=[dict(type='LoadImageFromFile'), load_masks]),
    dict(type='PackDetInputs', meta_keys=meta_keys)
]
test_pipeline = [  # RefSegMetric reads the original-size masks from the metainfo gt_masks
    dict(type='LoadImageFromFile'), load_masks,
    dict(type='PackDetInputs', meta_keys=meta_keys + ('gt_masks', ))
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
