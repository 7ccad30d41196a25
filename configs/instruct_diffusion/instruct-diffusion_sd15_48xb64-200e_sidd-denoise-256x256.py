# InstructDiffusion (Geng et al.): an InstructPix2Pix-style editor from SD-1.5 (Sec. 3.3,
# 4.1), trained on the paper's multi-task mixture (keypoints, semantic and referring
# segmentation, denoising, deblurring: _base_/datasets/instruct_multitask_coco-cocostuff-
# refcoco-sidd-gopro.py) at 256x256, batch 3072 (48 GPUs x 64), 200 epochs (_base_/schedules/
# instruct_diffusion_200e.py), and evaluated here on SIDD denoising at 256x256 (Sec. 4.4,
# Table 5: 34.26 PSNR; 36.56 is the VAE's own reconstruction of the targets) in mmseg's
# runner with the PSNR / SSIM metric (ImageQualityMetric): the edited image is the
# prediction. The other task configs of this folder train the same mixture: one trained
# checkpoint is evaluated by each of them (tools/test.py).
#   bash tools/dist_train.sh \
#       configs/instruct_diffusion/instruct-diffusion_sd15_48xb64-200e_sidd-denoise-256x256.py 8
# Weights: SD-1.5 in diffusers format in checkpoints/stable-diffusion-v1-5 (see the model
# base). Data: see the data base; SIDD's validation pairs go to
# data/restoration/denoise/val/<input|target>/.
_base_ = [
    '../_base_/models/instruct_diffusion_sd15.py',
    '../_base_/datasets/instruct_multitask_coco-cocostuff-refcoco-sidd-gopro.py',
    '../_base_/schedules/instruct_diffusion_200e.py', '../_base_/default_runtime.py'
]

crop_size = (256, 256)  # Sec. 4.1, 4.4: SIDD is evaluated at 256x256
val_dataloader = dict(_base_.test_loader, dataset=_base_.denoise_test)
test_dataloader = val_dataloader
val_evaluator = dict(type='ImageQualityMetric')
test_evaluator = val_evaluator
default_hooks = dict(_base_.iter_hooks, visualization=dict(type='SegVisualizationHook'))
