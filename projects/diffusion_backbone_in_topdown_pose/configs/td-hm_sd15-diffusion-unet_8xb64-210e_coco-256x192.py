# mmpose's own SimpleBaseline (ResNet-50 heatmap) COCO config, unchanged but for its backbone:
# the plugin pattern under mmpose. The base comes from the installed mmpose package (mim's
# `mmpose::` prefix); the scope stays mmpose's, and custom_imports makes
# `DiffusionUNetBackbone` resolvable by its plain name.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py']
custom_imports = dict(imports=['mmgeneralist'], allow_failed_imports=False)

model = dict(
    # the VAE expects RGB in [-1, 1]; 256x192 crops already divide by SD's total stride 64
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        _delete_=True,  # drops the base's ResNet and its torchvision checkpoint
        type='DiffusionUNetBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',
        class_names=['person'],  # one prompt for every crop: "a photo of a person"
        attn_map_levels=()),  # the UNet's features alone (VPD adds attention maps)
    # the finest UNet level (stride 8, 320 channels); one deconvolution brings it to the
    # codec's stride-4 heatmap, where the ResNet's stride 32 needed three
    neck=dict(type='FeatureMapProcessor', select_index=0),
    head=dict(in_channels=320, deconv_out_channels=(256, ), deconv_kernel_sizes=(4, )))
