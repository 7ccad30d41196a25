# VPD depth (Zhao et al., ICCV 2023, Sec. 3.4) with Stable Diffusion 1.5, in mmseg's
# DepthEstimator: the text is each image's scene class ("kitchen", ...), which mmseg's
# NYUDataset parses from the file name and DepthEstimator hands to the backbone; a DPT-style
# head with the scale-invariant loss; flip + sliding-window test.
sd_pretrained = 'checkpoints/stable-diffusion-v1-5'
unet_widths = [320, 640, 1280, 1280]  # SD-1.5's up-block widths, strides 8, 16, 32, 64
model = dict(
    type='DepthEstimator',
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        class_names='NYUDataset',  # the 27 scene classes of mmseg's NYU METAINFO
        context='image_class',  # one scene prompt per image (Sec. 3.4)
        # the released NYU embeddings: CLIP's 80 ImageNet templates averaged per scene name,
        # '_' -> ' ' (depth/dump_nyu_text_embeddings.py)
        prompt_template='imagenet80',
        replace_underscores=True,
        timestep=1,  # released depth/models_depth/model.py (Sec. 3.2's text: t = 0)
        attn_map_levels=()),  # a one-token context has no informative attention map
    decode_head=dict(
        type='DiffusionDepthHead',
        in_channels=unet_widths,
        channels=256,
        in_stride=8,  # SD's VAE downsamples 8x
        max_depth=10.0,
        loss_decode=dict(type='SiLogLoss')),
    # flip + sliding windows (Sec. 4); 480x640 images are padded to 512x640, crops are 512
    test_cfg=dict(mode='slide_flip', crop_size=(512, 512), stride=(160, 160)))
