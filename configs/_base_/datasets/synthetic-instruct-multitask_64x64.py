# InstructDiffusion's tasks on the generated data, as one multi-task data set, 32 px inputs:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
# keypoint: mmpose's CocoDataset (top-down, ground-truth boxes, 32x32 crops); semantic:
# mmseg's ADE20KDataset; referring: mmdet's RefCocoDataset; lowlight: paired restoration (the
# darkened image to the clean one: resized to 32 px, the generated noisy inputs are already at
# 28 dB, the dark ones at 7 dB).
# Training draws one random instruction per sample (KeypointInstruction ...); validation asks
# for every keypoint, class or sentence (AllKeypointsInstruction ...) and scores each task by
# its codebase's own metric: mmpose CocoMetric (AP), mmseg IoUMetric (mIoU), mmdet
# RefSegMetric (cIoU), PSNR / SSIM. The per-codebase configs evaluate the same tasks alone.
data_root = 'data/synthetic'
img_scale = (32, 32)  # every task's model input (the generated images are 64 px)
class_names = ('wall', 'floor', 'person', 'box', 'flower', 'tent', 'ball')  # ADE20K order
# the colours of the tiny runs: saturated, far apart (the default palette has nine)
palette = ('red', 'green', 'blue', 'yellow', 'cyan', 'magenta')
# one visible keypoint per sample: the real configs' 'all' (the released code's choice, which
# names invisible keypoints without drawing them) would spend many of the tiny run's few
# keypoint samples on unchanged targets
# keypoint circles of radius 3 at 32 px (29 pixels; the real configs' 2 px minimum draws 13)
keypoint_radius = 3
keypoint_instruction = dict(type='KeypointInstruction', max_keypoints=1, palette=palette,
                            select_from='visible', min_radius=keypoint_radius)
all_keypoints = dict(type='AllKeypointsInstruction', group_size=1, palette=palette,
                     min_radius=keypoint_radius)
# validation asks in one fixed wording, so that two evaluations of a model agree
lowlight_instruction = 'Make the image brighter.'
pose_meta_keys = ('id', 'img_id', 'img_path', 'category_id', 'ori_shape', 'img_shape',
                  'input_size', 'input_center', 'input_scale', 'flip', 'flip_direction')
ref_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
load_masks = dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
                  with_label=False)
resize = dict(type='Resize', scale=img_scale, keep_ratio=False)


def _tasks(split, test_mode):
    """The four data sets of one split (a function, so train and val stay in step)."""
    ade_dir = 'training' if split == 'train' else 'validation'
    keypoint_steps = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
                      dict(type='TopdownAffine', input_size=img_scale)]
    if test_mode:
        keypoint_steps += [all_keypoints, dict(type='PackInstructionInputs', packer=dict(
            type='PackPoseInputs', meta_keys=pose_meta_keys))]
        semantic_steps = [dict(type='LoadImageFromFile'), resize,
                          dict(type='LoadAnnotations', reduce_zero_label=True),  # full size
                          dict(type='AllClassesInstruction', class_names=class_names,
                               palette=palette), dict(type='PackInstructionInputs')]
        referring_steps = [dict(type='LoadImageFromFile'), resize, load_masks,
                           dict(type='AllSentencesInstruction', palette=palette),
                           dict(type='PackInstructionInputs', packer=dict(
                               type='PackDetInputs', meta_keys=ref_meta_keys + ('gt_masks', )))]
    else:
        keypoint_steps += [keypoint_instruction, dict(type='PackInstructionInputs')]
        semantic_steps = [dict(type='LoadImageFromFile'),
                          dict(type='LoadAnnotations', reduce_zero_label=True), resize,
                          dict(type='SegmentationInstruction', class_names=class_names,
                               palette=palette), dict(type='PackInstructionInputs')]
        referring_steps = [dict(type='LoadImageFromFile'), load_masks, resize,
                           dict(type='SegmentationInstruction', mode='referring',
                                palette=palette), dict(type='PackInstructionInputs')]
    return dict(
        keypoint=dict(
            type='CocoDataset',
            _scope_='mmpose',
            data_mode='topdown',
            data_root=data_root + '/coco_keypoints',
            ann_file=f'annotations/person_keypoints_{split}2017.json',
            data_prefix=dict(img=f'{split}2017/'),
            test_mode=test_mode,
            pipeline=keypoint_steps),
        semantic=dict(
            type='ADE20KDataset',
            data_root=data_root + '/ade',
            metainfo=dict(classes=class_names),
            test_mode=test_mode,
            data_prefix=dict(img_path='images/' + ade_dir, seg_map_path='annotations/' + ade_dir),
            pipeline=semantic_steps),
        referring=dict(
            type='RefCocoDataset',
            _scope_='mmdet',
            data_root=data_root + '/refcoco',
            ann_file='instances.json',
            split_file='refs(unc).p',
            data_prefix=dict(img_path='train2014/'),
            text_mode='original',
            split=split,
            test_mode=test_mode,
            pipeline=referring_steps),
        lowlight=dict(
            type='PairedRestorationDataset',
            data_root=data_root + '/restoration',
            task='lowlight',
            split=split,
            test_mode=test_mode,
            # the target is resized as the image is: the metric compares them at 32 px
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadRestorationTarget'),
                      resize, dict(type='EnhancementInstruction', task='lowlight',
                                   resize_target='bilinear',
                                   instruction=lowlight_instruction if test_mode else None),
                      dict(type='PackInstructionInputs')]),
    )


train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='MultiTaskSampler'),
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
        keypoint=dict(type='mmpose.CocoMetric', ann_file=data_root +
                      '/coco_keypoints/annotations/person_keypoints_val2017.json'),
        semantic=dict(type='IoUMetric', iou_metrics=['mIoU']),
        referring=dict(type='mmdet.RefSegMetric', metric=['cIoU', 'mIoU']),
        lowlight=dict(type='ImageQualityMetric')))
test_evaluator = val_evaluator
