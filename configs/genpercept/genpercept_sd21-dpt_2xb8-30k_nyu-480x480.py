# GenPercept affine-invariant depth with Stable Diffusion 2.1 (Xu et al., Sec. 2.3 and
# Sec. 3.1 "Implementation Details"): one deterministic UNet step on the RGB latent at
# t = 1 with the empty prompt (Eq. 8), the UNet's multi-level features into a DPT decoder,
# only the VAE encoder frozen, batch 16, lr 3e-5 with linear decay, 30k iterations (Sec. 3.5,
# "Key Components Analysis" 2); evaluation aligns each prediction to the ground truth by
# least-squares scale and shift before AbsRel and delta1 (Sec. 3.1).
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-dpt_2xb8-30k_nyu-480x480.py 2
# Differences from the paper, because of what mmseg reads: the paper trains on Hypersim and
# Virtual KITTI at 768 px with VNL, HDN, MSE and L1 losses; this config trains on NYUv2
# (mmseg's NYUDataset, 480x480 crops padded to 512) with mmseg's scale-invariant log loss.
# Weights: a diffusers-format SD-2.1 folder in checkpoints/stable-diffusion-2-1.
_base_ = [
    '../_base_/models/genpercept_sd21-dpt.py', '../_base_/models/sd_preprocessors.py',
    '../_base_/datasets/nyu_480x480.py', '../_base_/schedules/genpercept_30k.py',
    '../_base_/default_runtime.py'
]

crop_size = (480, 480)
model = dict(data_preprocessor=_base_.depth_data_preprocessor)
train_dataloader = dict(batch_size=8)  # x 2 = 16; the base's pipeline: flip and crop
val_evaluator = dict(
    type='AffineInvariantDepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
    crop_type='nyu_crop')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='abs_rel', rule='less', max_keep_ckpts=1))
