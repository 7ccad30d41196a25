# The pixel-space diffusion generalist of Fan et al. ("Toward a Diffusion-Based Generalist for
# Dense Vision Tasks"), as Sec. 3-4.1 describe it: SD-1.4's UNet in pixel space on 128x128
# RGB-rendered targets, ConvNeXt-L (ImageNet-21k) features of the 512x512 image concatenated
# to the noisy target, the task instruction through SD's frozen CLIP text encoder, b = 0.5,
# DDIM with 50 steps. A config sets `tasks` (one entry per data set it trains on).
target_size = (128, 128)
# ImageNet normalisation for the ConvNeXt encoder (mmpretrain's), RGB
data_preprocessor = dict(
    type='ImgDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    type='PixelDiffusionGeneralist',
    data_preprocessor=data_preprocessor,
    # SD-1.4 in diffusers format (unet/, text_encoder/, tokenizer/ are read), e.g.
    # `huggingface-cli download CompVis/stable-diffusion-v1-4 --local-dir
    #  checkpoints/stable-diffusion-v1-4` on a machine that is online
    pretrained='checkpoints/stable-diffusion-v1-4',
    image_encoder=dict(
        type='ConvNeXt',
        arch='large',
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        # mmpretrain's ConvNeXt-L ImageNet-21k checkpoint (model `convnext-large_3rdparty_in21k`,
        # `mim download mmpretrain --config convnext-large_64xb64_in21k --dest checkpoints`)
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/convnext-large_3rdparty_in21k_20220124-41b5a79f.pth',
                      prefix='backbone.')),
    conditioning='features',
    target_size=target_size,
    signal_scale=0.5,
    test_scheduler=dict(type='DDIMScheduler'),
    num_inference_steps=50,
    remove_outer_self_attention=True)  # a config adds tasks=dict(...), one per data set
