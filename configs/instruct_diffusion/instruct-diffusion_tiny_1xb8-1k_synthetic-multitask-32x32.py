# The tiny InstructDiffusion editor on the generated data of four tasks, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
#   python tools/model_converters/make_tiny_diffusion.py --editor data/synthetic \
#       --out checkpoints/tiny-editor
#   python tools/train.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py
# One model for keypoints, semantic and referring segmentation and low-light enhancement, as
# the paper trains one; one validation reports keypoint/coco/AP, semantic/mIoU, referring/cIoU and
# lowlight/PSNR, each from its codebase's metric.
_base_ = [
    '../_base_/models/instruct_diffusion_sd15.py',
    '../_base_/datasets/synthetic-instruct-multitask_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (32, 32)
model = dict(
    pretrained='checkpoints/tiny-editor',
    # A tiny UNet from random weights, unlike SD's pretrained one, must first learn to copy the
    # source through the whole network: it diffuses the change target - source instead
    # (residual=True; the edits then start from a faithful copy, which InstructPix2Pix's
    # parameterisation had not reached after 1000 iterations here), and predicts it directly
    # (x0) rather than SD's noise. The real configs keep InstructPix2Pix's choices.
    residual=True,
    noise_scheduler=dict(type='DDPMScheduler', num_train_timesteps=1000,
                         beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012,
                         prediction_type='sample'),
    test_scheduler=dict(type='DDIMScheduler'),
    num_inference_steps=10,
    # plain conditional sampling: one UNet call per step instead of three
    guidance_scale=1.0,
    image_guidance_scale=1.0,
    max_edits_per_call=64)
max_iters = 1000
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=500))
