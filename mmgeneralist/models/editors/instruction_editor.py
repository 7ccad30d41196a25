"""The instruction-driven image editor of InstructDiffusion (Geng et al.), InstructPix2Pix style.

A Stable Diffusion UNet whose input is the noisy target latent concatenated with the source
image's VAE latent (4 + 4 channels), conditioned on the instruction through the frozen CLIP
text encoder. Training drops the instruction, the source or both at InstructPix2Pix's rates
(Brooks et al., Sec. 3.4: 5% each) so that classifier-free guidance works at test time, with
a text scale and an image scale. Sampling follows diffusers'
``StableDiffusionInstructPix2PixPipeline`` step for step: on the same weights, scheduler,
generator and inputs it gives the same latents (tests/test_models/test_instruction_editor.py).

The edited image lands in ``pred_image`` (0..255 RGB at the image's size), which
:class:`~mmgeneralist.evaluation.ImageQualityMetric` scores for enhancement; colour
post-processors turn it into keypoints, masks and boxes.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData, PixelData

from ...codecs.mask_overlay import mask_to_box
from ...diffusion.loading import (
    check_pretrained,
    load_text_encoder,
    load_unet,
    load_vae,
)
from ...diffusion.lora import add_lora
from ...diffusion.sampling import build_scheduler, denoise, seeded_generators
from ...diffusion.text import encode_sentences
from ...diffusion.unet_surgery import reshape_unet_io
from ...registry import build_codec, register
from ..segmentors.pixel_generalist import SD_NOISE_SCHEDULE


@register('models')
class InstructionEditor(BaseModel):
    """Source image + instruction -> edited image, with text and image guidance.

    Args:
        pretrained: a diffusers-format folder: Stable Diffusion (its UNet's first
            convolution is widened from 4 to 8 input channels, the new ones zero, so the
            UNet computes what SD computed at initialisation) or an InstructPix2Pix folder
            (8 input channels already: used as it is).
        guidance_scale: text guidance ``s_T``; 1 disables it.
        image_guidance_scale: image guidance ``s_I``; with both at 1 sampling is plain
            conditional sampling.
        text_dropout / image_dropout / both_dropout: the probabilities of training on an
            empty instruction only, a zero source latent only, or both (InstructPix2Pix:
            0.05 each).
        noise_scheduler: the training schedule (default: the folder's ``scheduler/``
            config when it has one, else SD's).
        test_scheduler: the sampler, built from the training schedule's config with these
            options (default: Euler ancestral, the InstructPix2Pix pipeline's).
        num_inference_steps: sampling steps.
        residual: diffuse the *change* ``target - source`` of the (scaled) latents instead
            of the target latent, and add the source back after sampling. Not
            InstructPix2Pix's parameterisation (the default, ``False``, which pretrained
            weights need): an option for models trained from scratch, such as the tiny CPU
            configs', which must otherwise first learn to copy the source through the whole
            UNet before they can learn any edit.
        seed: seed of each edit's noise (with its image path, annotation id and edit
            index), so results do not depend on batching or order.
        keypoint_codec: the decoder of circles (default ``KeypointCircleCodec()``).
        mask_codec: the decoder of semi-transparent masks (default
            ``MaskOverlayCodec(alpha=0.5)``, the paper's opacity).
        max_edits_per_call: the most edits sampled in one batched call (``None``: the
            batch size); a sample may ask for many (one per class in semantic
            segmentation).
        lora: train low-rank adapters instead of the UNet's weights (``peft.LoraConfig``
            arguments, e.g. ``dict(r=8)``); the widened input convolution stays fully
            trainable.
        data_preprocessor: normalises images to [-1, 1] in RGB (the VAE's range).
    """

    #: UNet parts trained in full under ``lora``: the input convolution, widened for the
    #: source latent
    lora_train_also = ('conv_in', )

    def __init__(self,
                 pretrained: str,
                 guidance_scale: float = 7.5,
                 image_guidance_scale: float = 1.5,
                 text_dropout: float = 0.05,
                 image_dropout: float = 0.05,
                 both_dropout: float = 0.05,
                 noise_scheduler: dict | None = None,
                 test_scheduler: dict | None = None,
                 num_inference_steps: int = 100,
                 residual: bool = False,
                 seed: int = 0,
                 keypoint_codec: dict | None = None,
                 mask_codec: dict | None = None,
                 max_edits_per_call: int | None = None,
                 lora: dict | None = None,
                 data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if min(text_dropout, image_dropout, both_dropout) < 0 or \
                text_dropout + image_dropout + both_dropout > 1:
            raise ValueError('the dropout probabilities must be >= 0 and sum to at most 1; got '
                             f'{text_dropout}, {image_dropout}, {both_dropout}')
        if guidance_scale < 1 or image_guidance_scale < 1:
            raise ValueError('guidance scales below 1 are not guidance: got '
                             f'{guidance_scale}, {image_guidance_scale}')
        pretrained = check_pretrained(pretrained, ('unet', 'vae', 'text_encoder', 'tokenizer'))
        self.vae = load_vae(pretrained).requires_grad_(False)
        self.text_encoder, self.tokenizer = load_text_encoder(pretrained)
        self.text_encoder.requires_grad_(False)
        latent = self.vae.config.latent_channels
        unet = load_unet(pretrained)
        if unet.config.in_channels not in (latent, 2 * latent):
            raise ValueError(f'the UNet of {pretrained!r} takes {unet.config.in_channels} '
                             f'channels: neither a text-to-image UNet ({latent}) nor an '
                             f'InstructPix2Pix one ({2 * latent})')
        self.unet = reshape_unet_io(unet, in_channels=2 * latent)
        add_lora(self.unet, lora, train_also=self.lora_train_also)
        self.guidance_scale, self.image_guidance_scale = guidance_scale, image_guidance_scale
        self.dropout = (text_dropout, image_dropout, both_dropout)
        folder_config = _scheduler_config(pretrained)
        # the sampler starts from the folder's own scheduler config, as the pipeline does
        # (its keys, e.g. no timestep_spacing -> Euler's 'linspace'), unless the config sets
        # the training schedule, whose prediction type the sampler must then share
        sampler_base = folder_config if noise_scheduler is None else None
        if noise_scheduler is None:
            noise_scheduler = dict(SD_NOISE_SCHEDULE) if folder_config is None else dict(
                type='DDPMScheduler', **{k: folder_config[k] for k in _SCHEDULE_KEYS
                                         if k in folder_config})
        self.noise_scheduler = build_scheduler(noise_scheduler)
        self._sampler_base = (sampler_base if sampler_base is not None else
                              self.noise_scheduler.config)
        self.test_scheduler = self.build_sampler(test_scheduler)
        self.num_inference_steps = num_inference_steps
        self.seed = seed
        self.residual = residual
        self.keypoint_codec = build_codec(keypoint_codec or dict(type='KeypointCircleCodec'))
        self.mask_codec = build_codec(mask_codec or dict(type='MaskOverlayCodec', alpha=0.5))
        if max_edits_per_call is not None and max_edits_per_call < 1:
            raise ValueError(f'max_edits_per_call must be >= 1 or None; got '
                             f'{max_edits_per_call}')
        self.max_edits_per_call = max_edits_per_call

    def build_sampler(self, cfg: dict | None = None):
        """A sampler (``cfg``, default Euler ancestral: the InstructPix2Pix pipeline's) on
        the training noise schedule, or on the folder's scheduler config when the config
        sets no training schedule, as the pipeline does."""
        return build_scheduler(cfg or dict(type='EulerAncestralDiscreteScheduler'),
                               base_config=self._sampler_base)

    # ------------------------------------------------------------------ parts
    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen
        self.text_encoder.eval()
        return self

    def encode_text(self, instructions: Sequence[str]) -> torch.Tensor:
        """CLIP token embeddings of each instruction (77 tokens, as the pipeline pads)."""
        empty = [i for i, t in enumerate(instructions) if not isinstance(t, str)]
        if empty:
            raise ValueError(f'instructions {empty} are not strings: {list(instructions)!r}')
        with torch.no_grad():
            return encode_sentences(self.text_encoder, self.tokenizer, list(instructions))

    def source_latents(self, images: torch.Tensor) -> torch.Tensor:
        """The source's latent as InstructPix2Pix conditions on it: the posterior mode,
        unscaled."""
        with torch.no_grad():
            return self.vae.encode(images).latent_dist.mode()

    # ------------------------------------------------------------------ training
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> dict:
        instructions = _instructions(data_samples)
        targets = torch.stack([_target(s, inputs.shape[-2:]) for s in data_samples]).to(inputs)
        with torch.no_grad():
            latents = self.vae.encode(targets).latent_dist.sample()
        latents = latents * self.vae.config.scaling_factor
        source = self.source_latents(inputs)
        if self.residual:
            latents = latents - source * self.vae.config.scaling_factor
        text = self.encode_text(instructions)
        # drop the text, the image or both (InstructPix2Pix Sec. 3.4)
        p_text, p_image, p_both = self.dropout
        draw = torch.rand(len(inputs), device=inputs.device)
        no_text = (draw < p_text) | (draw >= p_text + p_image) & (draw < p_text + p_image + p_both)
        no_image = (draw >= p_text) & (draw < p_text + p_image + p_both)
        text = torch.where(no_text[:, None, None], self.encode_text([''])[0], text)
        source = source * (~no_image).to(source)[:, None, None, None]
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (len(inputs), ),
                          device=inputs.device)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        pred = self.unet(torch.cat([noisy, source], 1), t, encoder_hidden_states=text).sample
        kind = self.noise_scheduler.config.prediction_type
        target = dict(epsilon=noise, sample=latents).get(kind)
        if target is None:
            target = self.noise_scheduler.get_velocity(latents, noise, t)
        return dict(loss_diffusion=F.mse_loss(pred.float(), target.float()))

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def edit(self,
             images: torch.Tensor,
             instructions: Sequence[str],
             generator: torch.Generator | list[torch.Generator] | None = None,
             num_inference_steps: int | None = None,
             guidance_scale: float | None = None,
             image_guidance_scale: float | None = None,
             output_latents: bool = False,
             progress: bool | None = None) -> torch.Tensor:
        """Edit ``images`` (``(B, 3, H, W)`` in [-1, 1]) as ``instructions`` say.

        The three guidance branches (instruction + image, image only, neither) of a step
        run as one batched UNet call, in the pipeline's order; the result is the same as
        ``StableDiffusionInstructPix2PixPipeline`` with the same generator.

        Returns:
            The edited images in [-1, 1], or their latents with ``output_latents``.
        """
        from diffusers.utils.torch_utils import randn_tensor
        g_text = self.guidance_scale if guidance_scale is None else guidance_scale
        g_image = self.image_guidance_scale if image_guidance_scale is None else \
            image_guidance_scale
        guided = g_text > 1.0 and g_image >= 1.0  # as the pipeline decides
        text = self.encode_text(instructions)
        source = self.source_latents(images)
        if guided:  # the pipeline's order: (text, image), (-, image), (-, -)
            empty = self.encode_text([''] * len(images))
            text = torch.cat([text, empty, empty])
            source = torch.cat([source, source, torch.zeros_like(source)])
        scale = 2**(len(self.vae.config.block_out_channels) - 1)
        shape = (len(images), self.vae.config.latent_channels, images.shape[-2] // scale,
                 images.shape[-1] // scale)
        noise = randn_tensor(shape, generator=generator, device=images.device,
                             dtype=text.dtype)

        def model_fn(x, t):
            x = torch.cat([x] * 3) if guided else x
            out = self.unet(torch.cat([x, source], 1), t, encoder_hidden_states=text).sample
            if not guided:
                return out
            with_text, image_only, neither = out.chunk(3)
            return (neither + g_text * (with_text - image_only) + g_image *
                    (image_only - neither))

        latents = denoise(model_fn, self.test_scheduler, noise,
                          num_inference_steps or self.num_inference_steps,
                          generator, progress)
        if self.residual:  # the change, back onto the source
            latents = latents + source[:len(images)] * self.vae.config.scaling_factor
        if output_latents:
            return latents
        return self.vae.decode(latents / self.vae.config.scaling_factor).sample.clamp(-1, 1)

    def predict(self, inputs: torch.Tensor, data_samples: Sequence) -> list:
        """Run every edit a sample asks for and decode the edits into its codebase's fields.

        A sample's metainfo ``instruction`` is one string (one edit) or a list of them (the
        test-time transforms of :mod:`mmgeneralist.datasets.instructions.exhaustive`); its
        ``instruction_task`` chooses the decoding (:meth:`decode`). All edits of a batch run
        in chunks of ``max_edits_per_call``, each with its own seeded generator (from the
        image path, the annotation id and the edit's index), so results do not depend on
        batching or order.
        """
        edits = [(i, e, text) for i, sample in enumerate(data_samples)
                 for e, text in enumerate(_instruction_list(sample))]
        keys = [f'{data_samples[i].metainfo.get("img_path", i)}|'
                f'{data_samples[i].metainfo.get("id", "")}|{e}' for i, e, _ in edits]
        chunk = self.max_edits_per_call or len(inputs)
        outputs = []
        for start in range(0, len(edits), chunk):
            part = edits[start:start + chunk]
            images = inputs[torch.tensor([i for i, _, _ in part], device=inputs.device)]
            outputs += list(self.edit(images, [t for _, _, t in part],
                                      seeded_generators(self.seed, keys[start:start + chunk],
                                                        inputs.device)))
        per_sample = [[] for _ in data_samples]
        for (i, _, _), out in zip(edits, outputs):
            per_sample[i].append(out)
        for image, sample, outs in zip(inputs, data_samples, per_sample):
            self.decode(sample, image, outs)
        return list(data_samples)

    def decode(self, sample, source: torch.Tensor, edits: Sequence[torch.Tensor]) -> None:
        """Turn a sample's edited images into its predictions, in place.

        Every sample gets ``pred_image``: the first edit, 0..255 RGB, at the size of its
        target ``gt_image`` when it has one, else at the original image size (at the crop's
        size for a top-down crop, where ``input_size`` is in the metainfo). Then, by
        ``instruction_task``, the colour decoders (``keypoint_codec``, ``mask_codec``) read
        the instructed colours of ``instructed``
        (each entry's ``edit`` says which edit asked for it; 0 when absent):

        - ``'keypoint'``: mmpose's ``pred_instances.keypoints`` ``(1, K, 2)`` and
          ``keypoint_scores`` ``(1, K)`` (numpy, as mmpose's heads give them), mapped from
          the crop back to the image with ``input_center`` / ``input_scale`` /
          ``input_size`` as mmpose's top-down estimators map them; a keypoint no edit asked
          for scores 0. ``bboxes`` and ``bbox_scores`` come from ``gt_instances`` (the
          ground-truth or detected box the crop was cut from) when present.
        - ``'segmentation'``: mmseg's ``seg_logits`` (each class's soft mask,
          ``MaskOverlayCodec.read_scores``, at the original size) and ``pred_sem_seg``
          (their argmax): one instruction per class.
        - ``'referring'``: mmdet's ``pred_instances.masks`` ``(N, H, W)`` bool, one per
          instructed sentence in ``text_index`` order (``RefSegMetric`` compares them with
          ``gt_masks``), with their ``bboxes`` (``mask_to_box``; zeros for an empty mask),
          ``scores`` (the mean soft mask inside the mask) and ``labels`` (0).
        - ``'detection'``: mmdet's ``pred_instances`` for ``CocoMetric``: one box per
          instructed class whose mask is not empty (the paper's unseen detection task,
          Sec. 4.9: the extent of the marked region), ``scores`` as above, ``labels`` the
          ``class_id``.
        - anything else (enhancement, editing): ``pred_image`` is the prediction.

        Args:
            sample: the data sample (its metainfo is read, its prediction fields set).
            source: ``(3, H, W)`` the model's input image in [-1, 1].
            edits: ``(3, H, W)`` the edited images in [-1, 1], in edit order.
        """
        meta = sample.metainfo
        crop = 'input_size' in meta
        h, w = tuple(meta.get('img_shape', source.shape[-2:]))[:2]
        size = (h, w) if crop else tuple(meta.get('ori_shape', (h, w)))[:2]
        # the decoders compare the edits with the source at the model's resolution
        src = ((source[:, :h, :w].float() + 1) * 127.5).clamp(0, 255)
        outs = [((e[:, :h, :w].float() + 1) * 127.5).clamp(0, 255) for e in edits]
        # the edited image is compared with the target where there is one (enhancement)
        shown = tuple(sample.gt_image.shape[-2:]) if 'gt_image' in sample else size
        sample.set_field(PixelData(data=_resize(outs[0][None], shown)[0]), 'pred_image')
        task = meta.get('instruction_task')
        asked = [dict(entry, edit=entry.get('edit', 0)) for entry in meta.get('instructed', [])]
        if task in ('keypoint', 'segmentation') and not asked:
            raise ValueError(
                f'data sample {meta.get("img_path", "?")} is a {task!r} sample that asked for '
                'nothing ("instructed" is empty): evaluate with the test-time transforms, '
                'AllKeypointsInstruction or AllClassesInstruction, which ask for everything')
        if task == 'keypoint':
            self._decode_keypoints(sample, src, outs, asked)
        elif task == 'segmentation':  # class c's soft mask in channel c; unasked ones -1
            scores = src.new_full((max(a['class_id'] for a in asked) + 1, *src.shape[-2:]),
                                  -1.0)
            for a in asked:
                scores[a['class_id']] = self.mask_codec.read_scores(outs[a['edit']], src,
                                                                    a['color'])
            scores = _resize(scores[None], size)[0]
            sample.set_field(PixelData(data=scores), 'seg_logits')
            sample.set_field(PixelData(data=scores.argmax(0, keepdim=True)), 'pred_sem_seg')
        elif task in ('referring', 'detection'):
            order = 'text_index' if task == 'referring' else 'class_id'
            masks, scores, labels = [], [], []
            for a in sorted(asked, key=lambda a: a[order]):
                out = outs[a['edit']]
                small = self.mask_codec.read(out, src, a['color'])
                if task == 'detection' and not bool(small.any()):
                    continue
                soft = self.mask_codec.read_scores(out, src, a['color'])
                scores.append(float(soft[small].mean()) if bool(small.any()) else 0.0)
                masks.append(_resize(small[None, None].float(), size)[0, 0] > 0.5)
                labels.append(a.get('class_id', 0) if task == 'detection' else 0)
            masks = torch.stack(masks) if masks else torch.zeros(0, *size, dtype=torch.bool)
            boxes = [mask_to_box(m) for m in masks]
            sample.pred_instances = InstanceData(
                masks=masks,
                bboxes=torch.stack([b if b is not None else torch.zeros(4) for b in boxes])
                if boxes else torch.zeros(0, 4),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.tensor(labels, dtype=torch.long))

    def _decode_keypoints(self, sample, src, outs, asked) -> None:
        import numpy as np
        meta = sample.metainfo
        num = max([a['keypoint_index'] for a in asked], default=-1) + 1
        keypoints = np.zeros((num, 2), np.float32)
        keypoints[:] = ((src.shape[-1] - 1) / 2, (src.shape[-2] - 1) / 2)
        scores = np.zeros(num, np.float32)
        radius = meta.get('circle_radius')
        for e in sorted({a['edit'] for a in asked}):
            group = [a for a in asked if a['edit'] == e]
            found, conf = self.keypoint_codec.read(outs[e], src, [a['color'] for a in group],
                                                   radius)
            for a, xy, c in zip(group, found.tolist(), conf.tolist()):
                keypoints[a['keypoint_index']] = xy
                scores[a['keypoint_index']] = c
        if all(k in meta for k in ('input_center', 'input_scale', 'input_size')):
            # from the crop to the image, as mmpose's TopdownPoseEstimator maps them
            size = np.asarray(meta['input_size'], np.float32)
            scale = np.asarray(meta['input_scale'], np.float32).reshape(-1, 2)[0]
            center = np.asarray(meta['input_center'], np.float32).reshape(-1, 2)[0]
            keypoints = keypoints / size * scale + center - 0.5 * scale
        pred = InstanceData(keypoints=keypoints[None], keypoint_scores=scores[None])
        gt = sample.get('gt_instances')
        if gt is not None:
            for key in ('bboxes', 'bbox_scores'):
                if key in gt:
                    pred.set_field(gt.get(key), key)
        sample.pred_instances = pred

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':  # one UNet call on the source latents, for shapes and FLOPs
            source = self.source_latents(inputs)
            text = self.encode_text(_instructions(data_samples) if data_samples else
                                    [''] * len(inputs))
            t = torch.full((len(inputs), ), self.noise_scheduler.config.num_train_timesteps - 1,
                           device=inputs.device)
            return self.unet(torch.cat([torch.zeros_like(source), source], 1), t,
                             encoder_hidden_states=text).sample
        raise ValueError(f'unknown mode {mode!r}: use "loss", "predict" or "tensor"')


#: the keys of a scheduler config that define the training noise schedule
_SCHEDULE_KEYS = ('num_train_timesteps', 'beta_start', 'beta_end', 'beta_schedule',
                  'trained_betas', 'prediction_type')


def _scheduler_config(pretrained: str) -> dict | None:
    """A pipeline folder's ``scheduler/scheduler_config.json`` as written, or ``None``."""
    import json
    path = osp.join(pretrained, 'scheduler', 'scheduler_config.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _instructions(data_samples: Sequence) -> list[str]:
    texts = [s.metainfo.get('instruction') for s in data_samples]
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        paths = [data_samples[i].metainfo.get('img_path', i) for i in bad]
        raise ValueError(f'data samples {paths} have no instruction (an empty or missing '
                         '"instruction" metainfo): every edit needs one')
    return texts


def _instruction_list(sample) -> list[str]:
    """The edits a sample asks for: its ``instruction`` string, or its list of them."""
    texts = sample.metainfo.get('instruction')
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError(f'data sample {sample.metainfo.get("img_path", "?")} has no '
                         f'instruction (an empty or missing "instruction" metainfo: '
                         f'{texts!r}): every edit needs one')
    return texts


def _resize(images: torch.Tensor, size) -> torch.Tensor:
    """``(N, C, h, w)`` -> ``(N, C, *size)``, bilinear (a no-op at the same size)."""
    size = tuple(int(v) for v in size)
    if images.shape[-2:] == size:
        return images
    return F.interpolate(images, size, mode='bilinear', align_corners=False)


def _target(sample, size) -> torch.Tensor:
    """The sample's target image in [-1, 1] at ``size`` (from ``gt_image``, 0..255 RGB)."""
    if 'gt_image' not in sample:
        raise ValueError(f'data sample {sample.metainfo.get("img_path", "?")} has no '
                         '"gt_image": pack the edit target (PackInstructionInputs)')
    image = sample.gt_image.data.float()[None]
    if image.shape[-2:] != tuple(size):
        image = F.interpolate(image, tuple(size), mode='bilinear', antialias=True,
                              align_corners=False)
    return image[0] / 127.5 - 1
