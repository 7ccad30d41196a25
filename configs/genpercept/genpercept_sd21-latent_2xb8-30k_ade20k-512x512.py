# GenPercept two-stage semantic segmentation, stage 1 (Xu et al., Sec. 3.2): the UNet maps
# the RGB latent in one step (t = 1, empty prompt, Eq. 8) to the latent of the class colour
# map, supervised with an L2 loss against the VAE-encoded colour map; the frozen VAE decoder
# and the nearest class colour turn the prediction back into labels. Stage 2
# (genpercept_sd21-upernet_2xb8-30k_ade20k-512x512.py) starts from this checkpoint.
#   bash tools/dist_train.sh configs/genpercept/genpercept_sd21-latent_2xb8-30k_ade20k-512x512.py 2
# The paper trains on Hypersim's 40 classes and tests on the ADE20K classes they share,
# without giving a schedule; this config trains on ADE20K's 150 classes with the paper's
# default settings (batch 16, lr 3e-5, linear decay; Sec. 3.5 "Implementation Details"), and
# 30k iterations, our choice.
# Weights: a diffusers-format SD-2.1 folder in checkpoints/stable-diffusion-2-1.
_base_ = [
    '../_base_/models/genpercept_sd21-latent.py', '../_base_/models/sd_preprocessors.py',
    'mmseg::_base_/datasets/ade20k.py', '../_base_/schedules/genpercept_30k.py',
    '../_base_/default_runtime.py'
]

crop_size = (512, 512)
# training crops padded to 512 (padding renders black, like any unlabelled pixel)
model = dict(
    data_preprocessor=dict(_base_.seg_data_preprocessor, size=crop_size, size_divisor=None))
# mmseg's ADE20K training pipeline, its two loaders wrapped: unreadable files are logged and
# skipped (at most 1% of them)
train_pipeline = [
    dict(type='SkipBadSamples', transforms=_base_.train_pipeline[:2]), *_base_.train_pipeline[2:]
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))  # x 2 GPUs = 16
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
