# VPD referring image segmentation (Zhao et al., ICCV 2023, Sec. 3.4 and Sec. 4) with Stable
# Diffusion 1.5, under mmdet: the referring expression is the UNet's text context, LAVT's
# simple convolutional head fuses the features, two-class cross-entropy. One expression is
# drawn at random per image and iteration in training; every expression is evaluated.
# Inferred, not stated in the paper: 40 text tokens per expression (VPD's referring head
# widths 320, 640 + 40, 1280 + 40, 1280 are SD's up-block widths plus 40 attention-map
# channels at the two middle levels); LAVT's head width (half the lowest-resolution width),
# BatchNorm and cross-entropy class weights (0.9, 1.1) from LAVT's training code.
sd_pretrained = 'checkpoints/stable-diffusion-v1-5'
unet_widths = [320, 640, 1280, 1280]  # SD-1.5's up-block widths, strides 8, 16, 32, 64
max_text_length = 40
attn_map_levels = (1, 2)  # maps at 1/16 and 1/32, not the lowest resolution (Sec. 3.3)
feature_widths = [
    w + max_text_length * (i in attn_map_levels) for i, w in enumerate(unet_widths)
]
model = dict(
    type='DiffusionReferringSegmentor',
    backbone=dict(
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        context='sentence',  # the referring expression is the text (Sec. 3.4)
        max_text_length=max_text_length,
        timestep=1,  # released refer/models_refer/model.py (Sec. 3.2's text: t = 0)
        adapter_gamma=1e-4,  # Sec. 4
        attn_map_levels=attn_map_levels),
    head=dict(
        type='ReferringMaskHead',  # LAVT's simple decoding head (Sec. 4)
        in_channels=feature_widths,
        channels=640,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        class_weight=[0.9, 1.1],  # cross-entropy (Sec. 3.4), LAVT's class weights
        # bilinear resizes as the released refer/lib/mask_predictor.py and
        # refer/models_refer/model.py do them
        align_corners=True),
    train_expression='random',  # "we randomly choose a language description" (Sec. 4)
    inference_batch_size=8)  # (image, expression) pairs per backbone pass in evaluation
