"""GenPercept's VAE route: a latent-space loss in training, the VAE decoder at test time."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from torch import Tensor

from ...codecs import BaseCodec
from ...diffusion import check_pretrained, load_vae
from ...registry import build_codec, register
from .utils import prediction_size


@register('models')
class VAELatentHead(BaseModule):
    """Supervise a predicted latent with the VAE-encoded label; decode it with the VAE.

    GenPercept (Xu et al., Sec. 2.3, Eq. 8): the UNet maps the RGB latent to the target's
    latent in one step (``DiffusionUNetBackbone(mode='genpercept', outputs='latent')``);
    the loss is the squared error to ``VAE.encode(codec.encode(label))``, and the prediction
    is ``codec.scores(VAE.decode(latent))``. The codec says which ground-truth field it
    renders and how: depth as a grey image, normalised per image (affine-invariant,
    ``dict(type='DepthCodec')``, for ``DepthEstimator``), or classes as colours
    (``dict(type='ClassColorCodec', num_classes=K)``, the first stage of GenPercept's
    two-stage segmentation, Sec. 3.2, for ``EncoderDecoder``). The frozen VAE is loaded here
    from the same folder as the backbone's (a second copy: the backbone only encodes images).

    Invalid pixels: the text's loss (Sec. 2.3, Eq. 8) is the L2 distance between the whole
    latents. GenPercept's released training (``src/trainer/genpercept_trainer.py`` of
    aim-uofa/GenPercept, ``GenPerceptTrainer.train``: "Masked latent loss") leaves out the
    latent entries that see an invalid pixel, and that produced the published models, so it
    is the default (``mask_invalid=True``): the pixel mask (its ``gt_mask_type``, e.g.
    ``valid_mask_raw``, depth inside the data set's range) goes to latent resolution by a
    max-pool of the *invalid* mask over each latent cell (8 x 8 pixels for SD's VAE), so a
    cell is kept only if all its pixels are valid; the kept cells of all 4 channels and of
    the whole batch enter one mean squared error (``MSELoss(reduction='mean')`` on the
    selected entries), and a batch without a valid cell gives ``0 * mean(prediction)``.
    ``mask_invalid=False`` is the text's reading. Here a pixel is invalid where the codec
    renders no target: ``codec.weights`` is 0, or the label is the codec's
    ``ignore_index`` (classes) or at most its ``min_valid`` (depth), see
    :meth:`valid_pixels`.

    Attributes the segmentor reads (mmseg's ``EncoderDecoder`` / ``DepthEstimator``):
    ``align_corners``, ``num_classes`` and ``out_channels`` (the codec's: 1 for depth, the
    number of classes for segmentation), and the methods ``forward``, ``loss`` and
    ``predict``.

    Args:
        pretrained: the diffusers-format folder (its ``vae/``) or hub id.
        codec: the label codec's config (built from ``mmgeneralist.registry.CODECS``) or
            a codec.
        loss_weight: weight of the latent MSE.
        mask_invalid: average the MSE over the latent cells whose pixels are all valid
            (default, as released) or over all of them (``False``, Eq. 8 as written).
        align_corners: of the final resize.
        init_cfg: unused; the VAE's weights come from ``pretrained``.
    """

    def __init__(self,
                 pretrained: str,
                 codec: dict | BaseCodec,
                 loss_weight: float = 1.0,
                 mask_invalid: bool = True,
                 align_corners: bool = False,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.codec = build_codec(codec)
        self.vae = load_vae(check_pretrained(pretrained, ('vae', )))
        self.vae.requires_grad_(False)
        self.num_classes = self.out_channels = self.codec.out_channels
        self.ignore_index = getattr(self.codec, 'ignore_index', 255)
        self.loss_weight = loss_weight
        self.mask_invalid = mask_invalid
        self.align_corners = align_corners

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()
        return self

    @staticmethod
    def _latent(inputs: Sequence[Tensor]) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 1 or inputs[0].ndim != 4:
            raise ValueError('VAELatentHead takes the one predicted latent of '
                             "DiffusionUNetBackbone(mode='genpercept', outputs='latent'); got "
                             f'{type(inputs).__name__} of {len(inputs)} tensors')
        return inputs[0]

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """The decoded image ``(B, 3, H, W)`` in [-1, 1]."""
        latent = self._latent(inputs) / self.vae.config.scaling_factor
        return self.vae.decode(latent.to(self.vae.dtype)).sample.float()

    @torch.no_grad()
    def encode_target(self, batch_data_samples: Sequence, label: Tensor | None = None
                      ) -> Tensor:
        """The scaled VAE latent of the rendered ground truth (``label``, if given, is the
        codec's ``labels(batch_data_samples)``, to read them once)."""
        if label is None:
            label = self.codec.labels(batch_data_samples)
        rgb = self.codec.encode(label.to(self.vae.device))
        latent = self.vae.encode(rgb.to(self.vae.dtype)).latent_dist.mode()
        return latent.float() * self.vae.config.scaling_factor

    def valid_pixels(self, label: Tensor) -> Tensor:
        """``(B, 1, H, W)`` bool: the pixels of ``label`` (the codec's ``labels``) that have
        a target: ``codec.weights > 0``, not the codec's ``ignore_index`` and above its
        ``min_valid`` where it has them (``ClassColorCodec`` and ``DepthCodec`` keep the
        base class's all-ones ``weights``)."""
        valid = self.codec.weights(label) > 0
        label = label if label.ndim == 4 else label.unsqueeze(1)
        ignore_index = getattr(self.codec, 'ignore_index', None)
        if ignore_index is not None:
            valid = valid & (label != ignore_index)
        min_valid = getattr(self.codec, 'min_valid', None)
        if min_valid is not None:
            valid = valid & (label > min_valid)
        return valid

    @staticmethod
    def latent_valid_mask(valid: Tensor, latent_size: Sequence[int]) -> Tensor:
        """``(B, 1, H, W)`` pixel validity -> ``(B, 1, h, w)``: a latent cell is valid when
        every pixel it covers is (the released max-pool of the invalid mask)."""
        (height, width), (h, w) = valid.shape[-2:], tuple(latent_size)
        factor = height // h
        if factor < 1 or (height, width) != (h * factor, w * factor):
            raise ValueError(f'labels of size {(height, width)} are not a whole multiple of '
                             f'the latent size {(h, w)}')
        invalid = (~valid.bool()).float()
        return ~F.max_pool2d(invalid, kernel_size=factor, stride=factor).bool()

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: Sequence,
             train_cfg: dict | None) -> dict[str, Tensor]:
        """``{'loss_latent': weight * MSE(predicted latent, VAE.encode(codec(gt)))}``,
        over the latent cells without an invalid pixel unless ``mask_invalid=False``."""
        del train_cfg
        pred = self._latent(inputs)
        label = self.codec.labels(batch_data_samples)
        target = self.encode_target(batch_data_samples, label)
        if target.shape != pred.shape:
            raise ValueError(f'ground truth of size {tuple(target.shape[-2:])} in latent space '
                             f'does not match the prediction {tuple(pred.shape[-2:])}: pad '
                             'images and labels alike (the data preprocessor\'s size or '
                             'size_divisor)')
        if not self.mask_invalid:
            return dict(loss_latent=self.loss_weight * F.mse_loss(pred, target))
        valid = self.latent_valid_mask(self.valid_pixels(label.to(pred.device)),
                                       pred.shape[-2:]).expand_as(pred)
        if bool(valid.any()):
            loss = F.mse_loss(pred[valid], target[valid])
        else:  # nothing to learn from; keeps the graph, as released
            loss = pred.mean() * 0.0
        return dict(loss_latent=self.loss_weight * loss)

    def predict(self, inputs: Sequence[Tensor], batch_img_metas: list[dict],
                test_cfg: dict | None) -> Tensor:
        """The codec's scores, e.g. depth ``(B, 1, H, W)`` in [0, 1] or class scores
        ``(B, K, H, W)``, resized like mmseg's heads to the input tensor's size
        (``img_shape`` in slide inference, else ``pad_shape``)."""
        del test_cfg
        out = self.codec.scores(self.forward(inputs))
        return resize(out, size=prediction_size(batch_img_metas), mode='bilinear',
                      align_corners=self.align_corners)
