# InstructDiffusion's training mixture (Sec. 3.2, 4.1, Table 1) as one multi-task data set,
# every task an {instruction, source, target} triple at 256x256 (Sec. 4.1: "the input image
# resolution is preprocessed to 256x256"), each data set in its own codebase's layout and
# scope:
#   keypoint: COCO 2017 person keypoints (mmpose CocoDataset, top-down, data/coco/)
#   semantic: COCO-Stuff 164k (mmseg COCOStuffDataset, data/coco_stuff164k/)
#   referring: RefCOCO, UNC split (mmdet RefCocoDataset, data/refcoco/, see refcoco.py)
#   denoise: SIDD; deblur: GoPro (PairedRestorationDataset,
#     data/restoration/<task>/<train|val>/<input|target>/, input and target share the name)
# open: the paper's other sets are left out: MPII, CrowdPose and AIC keypoints (other keypoint
# sets: further mmpose data sets as further tasks), gRefCOCO (no mmdet data set), REDS deblur
# and CLWD watermark removal, and the image-editing data (IP2P, GIER, GQA, MagicBrush, IEIW).
# The task configs evaluate one task each with the test-time transforms and data sets below
# (keypoint_test ...), which ask for every keypoint, class or sentence.
img_scale = (256, 256)
coco_root = 'data/coco/'
# COCO's 80 object classes (mmdet CocoDataset.METAINFO['classes']), which are also the first
# 80 of COCO-Stuff's 171 (mmseg COCOStuffDataset.METAINFO['classes']): mmseg does not put
# class names into the results, so SegmentationInstruction gets them here. The names are the
# instruction's {object}, spelt as COCO-Stuff's labels.txt (read by the released
# dataset/seg/coco_stuff.py) spells them, e.g. 'building-other'.
coco_classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')
coco_stuff_classes = coco_classes + (
    'banner', 'blanket', 'branch', 'bridge', 'building-other', 'bush', 'cabinet', 'cage',
    'cardboard', 'carpet', 'ceiling-other', 'ceiling-tile', 'cloth', 'clothes', 'clouds',
    'counter', 'cupboard', 'curtain', 'desk-stuff', 'dirt', 'door-stuff', 'fence',
    'floor-marble', 'floor-other', 'floor-stone', 'floor-tile', 'floor-wood', 'flower', 'fog',
    'food-other', 'fruit', 'furniture-other', 'grass', 'gravel', 'ground-other', 'hill',
    'house', 'leaves', 'light', 'mat', 'metal', 'mirror-stuff', 'moss', 'mountain', 'mud',
    'napkin', 'net', 'paper', 'pavement', 'pillow', 'plant-other', 'plastic', 'platform',
    'playingfield', 'railing', 'railroad', 'river', 'road', 'rock', 'roof', 'rug', 'salad',
    'sand', 'sea', 'shelf', 'sky-other', 'skyscraper', 'snow', 'solid-other', 'stairs',
    'stone', 'straw', 'structural-other', 'table', 'tent', 'textile-other', 'towel', 'tree',
    'vegetable', 'wall-brick', 'wall-concrete', 'wall-other', 'wall-panel', 'wall-stone',
    'wall-tile', 'wall-wood', 'water-other', 'waterdrops', 'window-blind', 'window-other',
    'wood')
# Keypoint circles: opaque discs of radius 10 px at 256 px, whatever the person's size (the
# released configs/instruct_diffusion.yaml: radius 10, dataset/pose/pose.py: transparency 0);
# a negligible radius_ratio leaves min_radius in charge. Colours: the palette's nine saturated
# colours (the released list also has nine: it has gray, white and black where ours has
# orange, purple and pink; see mmgeneralist/codecs/palette.py).
circles = dict(min_radius=10.0, radius_ratio=1e-6)
pose_meta_keys = ('id', 'img_id', 'img_path', 'category_id', 'crowd_index', 'ori_shape',
                  'img_shape', 'input_size', 'input_center', 'input_scale', 'flip',
                  'flip_direction', 'flip_indices')
ref_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text')
det_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')
square = dict(type='Resize', scale=img_scale, keep_ratio=False)
load_masks = dict(type='LoadAnnotations', with_mask=True, with_bbox=False, with_seg=False,
                  with_label=False)
refcoco_split = dict(
    type='RefCocoDataset',
    _scope_='mmdet',
    data_root='data/refcoco/',
    ann_file='instances.json',
    split_file='refs(unc).p',
    data_prefix=dict(img_path='train2014/'),
    text_mode='original')


def _restoration(task, split, instruction=None):
    """A paired restoration set, input and target resized to 256x256 alike.

    open: the released loaders (dataset/low_level/lowlevel_sidd.py ...) take random 256x256
    crops of input and target with a horizontal flip; mmcv's crops and flips do not move the
    target (gt_img), so the pair is resized instead (SIDD's benchmark patches are 256x256
    already; GoPro's 1280x720 frames are shrunk, which weakens their blur).
    """
    return dict(
        type='PairedRestorationDataset',
        _scope_='mmseg',
        data_root='data/restoration',
        task=task,
        split=split,
        test_mode=split != 'train',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadRestorationTarget'), square,
                  dict(type='EnhancementInstruction', task=task, resize_target='bilinear',
                       instruction=instruction), dict(type='PackInstructionInputs')])


train_tasks = dict(
    # released dataset/pose/pose.py: half-body crops (prob 0.3, more than 8 visible keypoints,
    # box x1.5), scale x N(1, 0.35) clipped to [0.65, 1.35], rotation N(0, 45 deg) with prob
    # 0.6, no shift, horizontal flip; here with mmpose's transforms (its truncated normal clips
    # rotations at +-45 deg, the released code at +-90 deg). 1 to 5 keypoints per instruction
    # (Sec. 4.1).
    keypoint=dict(
        type='CocoDataset',
        _scope_='mmpose',
        data_mode='topdown',
        data_root=coco_root,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[
            dict(type='LoadImage'),
            dict(type='GetBBoxCenterScale'),
            dict(type='RandomFlip', direction='horizontal'),
            dict(type='RandomHalfBody'),
            dict(type='RandomBBoxTransform', shift_prob=0.0, scale_factor=(0.65, 1.35),
                 rotate_factor=45.0),
            dict(type='TopdownAffine', input_size=img_scale),
            # 1-5 of *all* 17 keypoints, an invisible one named but not drawn (released
            # dataset/pose/pose.py; Sec. 4.1's text reads as visible ones: select_from=
            # 'visible')
            dict(type='KeypointInstruction', min_keypoints=1, max_keypoints=5,
                 select_from='all', **circles),
            dict(type='PackInstructionInputs'),
        ]),
    # released dataset/seg/coco_stuff.py: a random square crop of the short side, resized to
    # 256 (the same as: short side to 256, then a random 256x256 crop), horizontal flip 0.5,
    # one class present in the crop under a mask of transparency 0.5 (Sec. 4.1). open: the
    # released loader asks for an absent class 20% of the time (empty_percentage 0.2);
    # SegmentationInstruction always picks a present one.
    semantic=dict(
        type='COCOStuffDataset',
        _scope_='mmseg',
        data_root='data/coco_stuff164k',
        data_prefix=dict(img_path='images/train2017', seg_map_path='annotations/train2017'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='Resize', scale=(100000, img_scale[0]), keep_ratio=True),
            dict(type='RandomCrop', crop_size=img_scale),
            dict(type='RandomFlip', prob=0.5),
            dict(type='SegmentationInstruction', class_names=coco_stuff_classes),
            dict(type='PackInstructionInputs'),
        ]),
    # released dataset/seg/refcoco_segmentation.py: resized to 256x256, no flip (sentences say
    # "left" and "right"); one sentence per sample under a mask of transparency 0.5
    referring=dict(
        refcoco_split,
        split='train',
        pipeline=[
            dict(type='LoadImageFromFile'), load_masks, square,
            dict(type='SegmentationInstruction', mode='referring'),
            dict(type='PackInstructionInputs'),
        ]),
    denoise=_restoration('denoise', 'train'),
    deblur=_restoration('deblur', 'train'),
)
# Sampling weights from Table 1's effective training samples (Sec. 4.1: "distinct sampling
# weights"): keypoints 245k, segmentation 239k, enhancement 46k. open: the split within a
# group is not given; segmentation is halved between semantic and referring, enhancement
# between denoising and deblurring (the released yaml weights SIDD x20, GoPro x2, REDS x0.2).
task_weights = dict(keypoint=245.0, semantic=119.5, referring=119.5, denoise=23.0,
                    deblur=23.0)
train_dataloader = dict(
    batch_size=64,  # per GPU, as released (48 GPUs: 3072)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiTaskSampler', task_weights=task_weights),
    dataset=dict(type='MultiTaskDataset', datasets=train_tasks))

# ------------------------------------------------------------------------ evaluation
# The test-time data sets: each asks for everything its metric scores, in fixed colours and
# the first template (mmgeneralist/datasets/instructions/exhaustive.py), at 256x256; the
# labels keep their original size (loaded after the resize), the model's predictions are
# resized back to it.
test_loader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
# Sec. 4.2: COCO val2017 with ground-truth boxes (no bbox_file), each box's 256x256 crop.
# open: every keypoint is asked, in groups of 5 per edit (the most training circles at once),
# the i-th of a group in the i-th palette colour.
keypoint_test = dict(
    type='CocoDataset',
    _scope_='mmpose',
    data_mode='topdown',
    data_root=coco_root,
    ann_file='annotations/person_keypoints_val2017.json',
    data_prefix=dict(img='val2017/'),
    test_mode=True,
    pipeline=[
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=img_scale),
        dict(type='AllKeypointsInstruction', group_size=5, **circles),
        dict(type='PackInstructionInputs',
             packer=dict(type='PackPoseInputs', meta_keys=pose_meta_keys)),
    ])
# Sec. 4.3: COCO-Stuff val2017, one edit per class (171), the class of a pixel the one whose
# mask covers it most surely (open: resized to 256x256 without keeping the aspect ratio)
semantic_test = dict(
    type='COCOStuffDataset',
    _scope_='mmseg',
    data_root='data/coco_stuff164k',
    data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
    test_mode=True,
    pipeline=[
        dict(type='LoadImageFromFile'), square,
        dict(type='LoadAnnotations'),
        dict(type='AllClassesInstruction', class_names=coco_stuff_classes),
        dict(type='PackInstructionInputs'),
    ])
# Sec. 4.3: RefCOCO val (Table 3; 'testA' / 'testB' for the test splits), every sentence
referring_test = dict(
    refcoco_split,
    split='val',
    test_mode=True,
    pipeline=[
        dict(type='LoadImageFromFile'), square, load_masks,
        dict(type='AllSentencesInstruction'),
        dict(type='PackInstructionInputs',
             packer=dict(type='PackDetInputs', meta_keys=ref_meta_keys + ('gt_masks', ))),
    ])
# Sec. 4.9 (unseen task, shown, not measured): detection by "a prompt that resembles referring
# segmentation", the box from the marked region's extent; one edit per COCO class
detection_test = dict(
    type='CocoDataset',
    _scope_='mmdet',
    data_root=coco_root,
    ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/'),
    test_mode=True,
    pipeline=[
        dict(type='LoadImageFromFile'), square,
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='AllClassesInstruction', class_names=coco_classes, output='detection'),
        dict(type='PackInstructionInputs',
             packer=dict(type='PackDetInputs', meta_keys=det_meta_keys)),
    ])
# Sec. 4.4: SIDD at 256x256, PSNR (Table 5). open: one fixed instruction, the first template,
# so that two evaluations agree
denoise_test = _restoration('denoise', 'val', 'Please remove the noise from the image.')
