# The data of Fan et al.'s generalist (Sec. 4.1) as one multi-task data set
# (mmgeneralist's MultiTaskDataset; each sample is tagged with its task, which picks the
# model's instruction and colour codec):
#   depth:    NYUv2 in mmseg's layout (data/nyu), DepthMetric RMSE (Eigen crop, 10 m)
#   semantic: ADE20K (data/ade/ADEChallengeData2016), IoUMetric mIoU
#   panoptic: COCO panoptic 2017 (data/coco), mmdet's CocoPanopticMetric PQ
#   denoise / derain / lowlight: SIDD, the 5 merged deraining sets (Rain13K) and LoL, each
#     arranged as data/restoration/<task>/<train|val>/<input|target>/<name>.png (input and
#     target share the file name), PSNR and SSIM
# Images are resized to the 512x512 conditioning size (open: the paper gives no
# augmentation; no aspect-preserving crop here); labels stay at their own size: the model
# renders them at its target size and upsamples its predictions to the original image.
cond_size = (512, 512)
seg_meta_keys = ('img_path', 'seg_map_path', 'depth_map_path', 'ori_shape', 'img_shape',
                 'pad_shape', 'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label')


def _tasks(train):
    """The six data sets of one split (a function, so train and val stay in step)."""
    resize = dict(type='Resize', scale=cond_size, keep_ratio=False)
    load = dict(type='LoadImageFromFile')
    ade, nyu, coco = ('training', 'train', 'train') if train else ('validation', 'test', 'val')
    flip = [dict(type='RandomFlip', prob=0.5)] if train else []
    seg_pack = dict(type='PackSegInputs', meta_keys=seg_meta_keys)
    ade_ann = dict(type='LoadAnnotations', reduce_zero_label=True)
    nyu_ann = dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)
    check = dict(type='CheckPanopticSegments')  # a PNG whose ids differ from its JSON: error
    tasks = dict(
        depth=dict(
            type='NYUDataset',
            data_root='data/nyu',
            test_mode=not train,
            data_prefix=dict(img_path='images/' + nyu, depth_map_path='annotations/' + nyu),
            pipeline=[load, nyu_ann, resize, *flip, seg_pack] if train else
            [load, resize, nyu_ann, seg_pack]),
        semantic=dict(
            type='ADE20KDataset',
            data_root='data/ade/ADEChallengeData2016',
            test_mode=not train,
            data_prefix=dict(img_path='images/' + ade, seg_map_path='annotations/' + ade),
            pipeline=[load, ade_ann, resize, *flip, seg_pack] if train else
            [load, resize, ade_ann, seg_pack]),
        panoptic=dict(
            type='CocoPanopticDataset',
            _scope_='mmdet',  # its pipeline is built from mmdet's transforms
            data_root='data/coco',
            ann_file=f'annotations/panoptic_{coco}2017.json',
            data_prefix=dict(img=f'{coco}2017/', seg=f'annotations/panoptic_{coco}2017/'),
            test_mode=not train,
            pipeline=[load, check, dict(type='LoadPanopticAnnotations'), resize, *flip,
                      dict(type='PackDetInputs')] if train else
            [load, resize, check, dict(type='LoadPanopticAnnotations'),
             dict(type='PackDetInputs')]))
    for name in ('denoise', 'derain', 'lowlight'):  # no flips: the target is not flipped
        tasks[name] = dict(
            type='PairedRestorationDataset',
            data_root='data/restoration',
            task=name,
            split='train' if train else 'val',
            test_mode=not train,
            pipeline=[load, dict(type='LoadRestorationTarget'), resize,
                      dict(type='PackRestorationInputs')])
    return tasks


train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    # tasks sampled uniformly, panoptic twice as often (its two passes), Sec. 4.1
    sampler=dict(type='MultiTaskSampler', task_weights=dict(panoptic=2.0)),
    dataset=dict(type='MultiTaskDataset', datasets=_tasks(train=True)))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MultiTaskDataset', datasets=_tasks(train=False)))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiTaskEvaluator',
    metrics=dict(
        depth=dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                   crop_type='nyu_crop'),
        semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
        panoptic=dict(type='mmdet.CocoPanopticMetric',
                      ann_file='data/coco/annotations/panoptic_val2017.json',
                      seg_prefix='data/coco/annotations/panoptic_val2017/'),
        denoise=dict(type='ImageQualityMetric'),
        derain=dict(type='ImageQualityMetric'),
        lowlight=dict(type='ImageQualityMetric')))
test_evaluator = val_evaluator
