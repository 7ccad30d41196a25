# InstructDiffusion (Geng et al.): an InstructPix2Pix-style editor from SD-1.5 (Sec. 3.3,
# 4.1), trained on the paper's multi-task mixture (keypoints, semantic and referring
# segmentation, denoising, deblurring: _base_/datasets/instruct_multitask_coco-cocostuff-
# refcoco-sidd-gopro.py) at 256x256, batch 3072 (48 GPUs x 64), 200 epochs (_base_/schedules/
# instruct_diffusion_200e.py), and evaluated here on COCO val2017 object detection, a task it
# never trained on (Sec. 4.9, Fig. 11: shown, no number reported), in mmdet's runner with
# mmdet's CocoMetric (bbox AP). Each of COCO's 80 classes is asked for in its own edit, as in
# semantic segmentation; the box is the extent of the marked region ("identifying the top,
# bottom, left, and right boundaries of the marked region"), one box per class present (open:
# instances of a class are not separated; the score is the mask's mean confidence).
# The other task configs of this folder train the same mixture: one trained checkpoint is
# evaluated by each of them (tools/test.py).
#   bash tools/dist_train.sh \
#       configs/instruct_diffusion/instruct-diffusion_sd15_48xb64-200e_coco-detection-256x256.py 8
# Weights: SD-1.5 in diffusers format in checkpoints/stable-diffusion-v1-5 (see the model
# base). Data: see the data base.
_base_ = [
    '../_base_/models/instruct_diffusion_sd15.py',
    '../_base_/datasets/instruct_multitask_coco-cocostuff-refcoco-sidd-gopro.py',
    '../_base_/schedules/instruct_diffusion_200e.py', '../_base_/default_runtime_mmdet.py'
]

crop_size = (256, 256)  # Sec. 4.1
val_dataloader = dict(_base_.test_loader, dataset=_base_.detection_test)
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', metric='bbox', format_only=False,
                     ann_file=_base_.coco_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
default_hooks = _base_.iter_hooks
log_processor = dict(by_epoch=False)
