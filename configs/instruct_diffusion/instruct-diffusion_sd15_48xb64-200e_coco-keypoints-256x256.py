# InstructDiffusion (Geng et al.): an InstructPix2Pix-style editor from SD-1.5 (Sec. 3.3,
# 4.1), trained on the paper's multi-task mixture (keypoints, semantic and referring
# segmentation, denoising, deblurring: _base_/datasets/instruct_multitask_coco-cocostuff-
# refcoco-sidd-gopro.py) at 256x256, batch 3072 (48 GPUs x 64), 200 epochs (_base_/schedules/
# instruct_diffusion_200e.py), and evaluated here on COCO val2017 keypoints with ground-truth
# boxes (Sec. 4.2, Table 2: 71.2 AP) in mmpose's runner with mmpose's CocoMetric. Every
# keypoint of a box's 256x256 crop is asked for, 5 per edit, and read back from the colours of
# the edited image (ours: the paper reads them with a learned lightweight U-Net, not released).
# The other task configs of this folder train the same mixture: one trained checkpoint is
# evaluated by each of them (tools/test.py).
#   bash tools/dist_train.sh \
#       configs/instruct_diffusion/instruct-diffusion_sd15_48xb64-200e_coco-keypoints-256x256.py 8
# Weights: SD-1.5 in diffusers format in checkpoints/stable-diffusion-v1-5 (see the model
# base). Data: see the data base.
_base_ = [
    '../_base_/models/instruct_diffusion_sd15.py',
    '../_base_/datasets/instruct_multitask_coco-cocostuff-refcoco-sidd-gopro.py',
    '../_base_/schedules/instruct_diffusion_200e.py', '../_base_/default_runtime_mmpose.py'
]

crop_size = (256, 256)  # Sec. 4.1
val_dataloader = dict(_base_.test_loader, dataset=_base_.keypoint_test)
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric',
                     ann_file=_base_.coco_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
default_hooks = _base_.iter_hooks
log_processor = dict(by_epoch=False)
