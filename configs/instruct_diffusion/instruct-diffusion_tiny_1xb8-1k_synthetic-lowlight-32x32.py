# The tiny InstructDiffusion editor scored on image enhancement alone, in mmseg's runner with
# the PSNR / SSIM metric (ImageQualityMetric). Model, schedule and training mixture are the
# tiny multi-task config's (inherited), so one checkpoint serves this config and that one:
#   python tools/dataset_converters/generate_synthetic.py --out data/synthetic \
#       --formats coco_keypoints ade refcoco restoration
#   python tools/train.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-lowlight-32x32.py
#   python tools/test.py \
#     configs/instruct_diffusion/instruct-diffusion_tiny_1xb8-1k_synthetic-lowlight-32x32.py \
#     work_dirs/instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32/iter_1000.pth
# The enhancement task is the mixture's: low-light (darkened to clean), not denoising, whose
# noisy inputs are already at 28 dB once resized to 32 px (see the tiny data base). The real
# counterpart is instruct-diffusion_sd15_48xb64-200e_sidd-denoise-256x256.py.
_base_ = ['./instruct-diffusion_tiny_1xb8-1k_synthetic-multitask-32x32.py']

default_scope = 'mmseg'
crop_size = (32, 32)
# the multi-task validation's low-light data set, alone (one fixed instruction)
val_dataloader = dict(dataset=dict(_base_.val_dataloader.dataset.datasets.lowlight,
                                   _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='ImageQualityMetric')
test_evaluator = val_evaluator
