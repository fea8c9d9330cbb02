"""ReDO: unsupervised object segmentation by redrawing, as an mmseg model."""
from contextlib import contextmanager, nullcontext
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)

from ..utils.checkpoint import (check_state_dict_compatible,
                                load_mask_net_weights)
from ..utils.mask_geometry import border_band
from .equivariance import mask_equivariance_loss
from .refinement import refine_predictions

#: The networks updated together by the generator-side loss.
GENERATOR_SIDE = ('mask_net', 'region_generators', 'z_encoder')


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Stop gradients into ``module``'s parameters inside the block.

    The generator-side loss flows *through* the discriminator; freezing it
    saves the weight-gradient work and leaves its ``.grad`` untouched.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def hinge_discriminator_loss(d_real: torch.Tensor,
                             d_fake: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Hinge loss of D: ``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``.

    Returns the two terms separately, so each is logged by name.
    """
    return dict(
        loss_d_real=F.relu(1.0 - d_real).mean(),
        loss_d_fake=F.relu(1.0 + d_fake).mean())


def generator_side_loss(d_fake: torch.Tensor, z: torch.Tensor,
                        z_pred: torch.Tensor,
                        lambda_z: float) -> Dict[str, torch.Tensor]:
    """``-mean(D(fake)) + lambda_z * MSE(z, z_pred)``, as two named terms."""
    return dict(
        loss_gan=-d_fake.mean(), loss_z=lambda_z * F.mse_loss(z_pred, z))


def mask_prior_losses(masks: torch.Tensor,
                      min_area: float,
                      area_weight: float,
                      binarization_weight: float,
                      border_weight: float = 0.0) -> Dict[str, torch.Tensor]:
    """Priors against collapsed, fuzzy and frame-filling masks.

    ``area_weight * mean(relu(min_area - area))``, the area of every region
    of every image, is zero unless a region shrinks below ``min_area``;
    ``binarization_weight * mean(min(m, 1 - m))`` pulls soft masks towards
    0 or 1, so that the redraws see the hard masks predict() gives (MOVE's
    two terms). ``border_weight * mean(1 - M_0)`` on a band along the
    image's edge makes region 0 the background: photographed objects rarely
    fill the frame's rim (the prior of GrabCut's box and of the label-free
    object choice, here during training).
    """
    area = masks.mean(dim=(2, 3))
    losses = dict(
        loss_area=area_weight * F.relu(min_area - area).mean(),
        loss_binary=binarization_weight *
        torch.minimum(masks, 1.0 - masks).mean())
    if border_weight:
        band = border_band(*masks.shape[-2:], device=masks.device)
        losses['loss_border'] = border_weight * (
            1.0 - masks[:, 0, band]).mean()
    return losses


def mask_consistency_loss(masks: torch.Tensor,
                          masks_of_composites: torch.Tensor,
                          weight: float) -> Dict[str, torch.Tensor]:
    """``weight * mean|F(composite_k) - F(image)|`` over every redraw k.

    Redrawing region k leaves every region where it was, so the mask net
    should give a composite the masks of its source image (the target,
    ``masks``, is detached: only the masks of composites are pulled).

    Args:
        masks (Tensor): Masks of the source images, (B, n, H, W).
        masks_of_composites (Tensor): Masks of the composites, (B, n, n,
            H, W), the redrawn region first.
        weight (float): The loss weight.
    """
    target = masks.detach().unsqueeze(1).expand_as(masks_of_composites)
    return dict(
        loss_consistency=weight * (masks_of_composites - target).abs().mean())


@MODELS.register_module()
class ReDO(BaseSegmentor):
    """ReDO (Chen, Artieres, Denoyer, NeurIPS 2019).

    A mask network splits each image into ``n`` soft regions. For every
    region k, the generator G_k repaints it from a random code z_k while the
    rest of the image is kept; the discriminator must tell these composites
    from real images, and the z-encoder must recover every z_k from the fully
    generated image (the sum of all painted regions), so the generators
    cannot ignore their codes. Masks that follow the object are the only way
    to keep the composites realistic.

    At test time, :meth:`predict` returns the object probability of the
    region stored in the ``object_index`` buffer (chosen on the validation
    split by :class:`MaskAssignmentHook` and saved with the checkpoint) as
    two-class logits: 0 = background, 1 = object.

    Args:
        mask_net (dict): Config of :class:`ReDOMaskNet`.
        region_generators (dict): Config of :class:`RegionGenerators`.
        discriminator (dict): Config of the discriminator
            (:class:`SNResNetEncoder` with ``out_features=1``).
        z_encoder (dict): Config of the z-encoder (:class:`SNResNetEncoder`
            with ``out_features = num_regions * z_dim``).
        z_dim (int): Dimension of each region's code. Defaults to 32.
        lambda_z (float): Weight of the z-reconstruction loss. Defaults to 5.
        init_gain (float): Gain of the orthogonal init of every conv and
            linear weight. Defaults to 0.8.
        reuse_composites (bool): Let the discriminator step reuse the
            generator step's composites (detached) instead of recomputing
            them with the updated mask net and generators, as the reference
            does. Saves a mask-net and a generator forward pass per
            iteration, but changes the algorithm slightly. Defaults to False.
        augment (dict, optional): Config of a differentiable augmentation
            (:class:`DiffAugment`) applied to every image the discriminator
            sees, real images and composites, in both steps; its ADA
            controller is fed D's outputs on the real images. None (the
            default, the reference) augments nothing.
        mask_priors (dict, optional): Weights of :func:`mask_prior_losses`,
            added to the generator-side loss (they reach the mask net
            only): ``min_area`` (float), ``area_weight`` (float),
            ``binarization_weight`` (float), ``binarization_ramp_iters``
            (int, iterations over which the binarisation weight grows
            linearly from 0) and ``border_weight`` (float, region 0 made the
            background). None (the default, the reference) adds none.
        consistency_weight (float): Weight of
            :func:`mask_consistency_loss` (one more mask-net pass over the
            composites); 0 (the default, the reference) skips it.
        equivariance (dict, optional): Arguments of
            :func:`mask_equivariance_loss` (``weight``, ``min_scale``,
            ``color``): the mask net's masks of a random crop-rescale and
            flip of each photo, colour-jittered, must be the same crop of
            its masks of the photo (one more mask-net pass over the
            photos). None (the default, the reference) adds none.
        mask_net_init (str, optional): Checkpoint whose mask net starts
            training (a warm start, e.g. from masks of box GrabCut fitted by
            configs/redo/redo_masknet_warm_start_cpu.py): a ReDO checkpoint
            or an mmseg ``EncoderDecoder`` of the mask net's architecture
            (:func:`load_mask_net_weights`). The other networks start from
            the orthogonal init. None (the default, the reference) starts
            the mask net from it too.
        fast_path (dict, optional): Speed settings that leave the algorithm
            unchanged; None (the default) is the exact fp32 eager step. Keys:
            ``amp_dtype`` ('bfloat16'): autocast the networks' forward
            passes on CUDA (their outputs, the losses, spectral norm's power
            iteration and the optimizers stay in fp32; ignored on CPU, where
            autocast slows convolutions down; float16 needs a loss scaler:
            use mmengine's ``AmpOptimWrapper`` for it, whose
            ``optim_context`` and ``update_params`` the train step goes
            through); ``channels_last`` (bool): NHWC memory
            layout for images and weights; ``compile`` (bool or dict):
            ``torch.compile`` each network in place (state-dict keys are
            unchanged), with the dict as its options; CUDA only, like
            ``amp_dtype``.
        train_cfg (dict, optional): Unused; accepted for mmseg's APIs.
        test_cfg (dict, optional): mmseg's test settings, with the
            refinements of :func:`refine_predictions`: ``guided_filter``
            (dict, optional): ``radius``, ``eps`` and ``guide_channels`` of
            :func:`refine_with_guided_filter`, which sharpens predictions
            at ``ori_shape`` with the image's edges; ``grabcut`` (dict,
            optional): the arguments of :func:`refine_with_grabcut`, GrabCut
            on the photo the test pipeline kept, seeded by the prediction's
            confident object pixels. Absent: no refinement.
        data_preprocessor (dict, optional): Config of
            ``SegDataPreProcessor``; use mean = std = 127.5 so images are in
            [-1, 1] like the generators' tanh output.
        pretrained (str, optional): Unused; accepted for mmseg's APIs.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 mask_net: ConfigType,
                 region_generators: ConfigType,
                 discriminator: ConfigType,
                 z_encoder: ConfigType,
                 z_dim: int = 32,
                 lambda_z: float = 5.0,
                 init_gain: float = 0.8,
                 reuse_composites: bool = False,
                 augment: OptConfigType = None,
                 mask_priors: Optional[dict] = None,
                 consistency_weight: float = 0.0,
                 equivariance: Optional[dict] = None,
                 mask_net_init: Optional[str] = None,
                 fast_path: Optional[dict] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.mask_net = MODELS.build(mask_net)
        self.region_generators = MODELS.build(region_generators)
        self.discriminator = MODELS.build(discriminator)
        self.z_encoder = MODELS.build(z_encoder)
        self.num_regions = self.mask_net.num_regions
        self.z_dim = z_dim
        self.lambda_z = lambda_z
        self.init_gain = init_gain
        self.reuse_composites = reuse_composites
        self.augment = MODELS.build(augment) if augment else None
        self.mask_priors = dict(mask_priors) if mask_priors else None
        self.consistency_weight = consistency_weight
        self.equivariance = dict(equivariance) if equivariance else None
        self.mask_net_init = mask_net_init
        self.fast_path = dict(fast_path or {})
        if self.fast_path.get('amp_dtype') not in (None, 'bfloat16'):
            raise ValueError(
                "fast_path.amp_dtype must be 'bfloat16' (no loss scaling "
                "needed); for float16 use optim_wrapper type "
                f"'AmpOptimWrapper', got {self.fast_path['amp_dtype']!r}")
        self._fast_path_ready = False
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        # mmseg's postprocess_result resizes logits with this setting.
        self.align_corners = False
        # Which region is the object: part of the state dict, so it travels
        # with every checkpoint.
        self.register_buffer('object_index', torch.tensor(0))
        # Loading a checkpoint of another config fails with a clear error
        # (mmengine would only warn and keep random weights).
        self.register_load_state_dict_pre_hook(check_state_dict_compatible)

    # ------------------------------------------------------------------
    # Initialisation
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Orthogonal init (gain ``init_gain``) of every conv/linear weight.

        As in the reference, this reaches the unnormalised weight under
        spectral norm, and biases and norm layers keep PyTorch's defaults
        (so mmengine's per-module init configs are deliberately not run).
        With ``mask_net_init``, the mask net then takes that checkpoint's
        weights.
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.orthogonal_(_raw_weight(module), self.init_gain)
        if self.mask_net_init:
            load_mask_net_weights(self.mask_net, self.mask_net_init)

    # ------------------------------------------------------------------
    # The parts of the algorithm
    # ------------------------------------------------------------------
    def sample_z(self, batch_size: int) -> torch.Tensor:
        """Codes z ~ N(0, I) for every region, (B, n, z_dim)."""
        device = self.object_index.device
        return torch.randn(
            batch_size, self.num_regions, self.z_dim, device=device)

    def masks(self, images: torch.Tensor) -> torch.Tensor:
        """The mask network's soft masks, (B, n, H, W), float32."""
        return self.mask_net(images).float()

    def redraw(self, images: torch.Tensor, masks: torch.Tensor,
               z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Redraw each region in turn, keeping the rest of the image.

        Args:
            images (Tensor): Images in [-1, 1], (B, C, H, W).
            masks (Tensor): Soft masks, (B, n, H, W).
            z (Tensor): Codes, (B, n, z_dim).

        Returns:
            tuple[Tensor, Tensor]: ``composites`` (B, n, C, H, W), where
            ``composites[:, k] = M_k * G_k(M_k, z_k) + (1 - M_k) * I``, and
            ``painted`` (B, n, C, H, W), the generators' outputs
            ``M_k * G_k(M_k, z_k)``; float32.
        """
        painted = self.region_generators(masks, z).float()
        kept = (1.0 - masks).unsqueeze(2) * images.unsqueeze(1)
        return painted + kept, painted

    def predict_z(self, generated: torch.Tensor) -> torch.Tensor:
        """The z-encoder's estimate of every region's code, (B, n, z_dim)."""
        return self.z_encoder(generated).float().view(
            -1, self.num_regions, self.z_dim)

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """D's score of every image, as D sees it (augmented), float32."""
        if self.augment is not None:
            images = self.augment(images)
        return self.discriminator(images).float()

    # ------------------------------------------------------------------
    # Training: one generator-side and one discriminator update per batch
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One ReDO iteration, in the reference's order.

        The batch holds ``2B`` images: the first half is redrawn, the second
        half serves as the discriminator's real images (the two halves of
        one shuffled draw, independent of each other, as the reference's
        second data iterator). Both updates draw on the same codes z.

        1. :meth:`train_generator`: mask net, region generators and
           z-encoder, one loss through the frozen discriminator.
        2. :meth:`train_discriminator`: real images against composites of
           the *updated* networks.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): Wrappers named ``generator``
                (the mask net, region generators and z-encoder) and
                ``discriminator``.

        Returns:
            dict[str, Tensor]: Losses and the mean area of every region,
            for logging.
        """
        self._prepare_fast_path()
        data = self.data_preprocessor(data, True)
        images, real_images = _split_halves(self._to_layout(data['inputs']))
        z = self.sample_z(images.size(0))
        log_vars, masks, composites = self.train_generator(
            images, z, optim_wrapper['generator'])
        log_vars.update(
            self.train_discriminator(images, real_images, z, composites,
                                     optim_wrapper['discriminator']))
        for k, area in enumerate(masks.detach().mean(dim=(0, 2, 3))):
            log_vars[f'area_{k}'] = area
        if self.augment is not None:
            log_vars.update(self.augment.stats())
        return log_vars

    def train_generator(
        self, images: torch.Tensor, z: torch.Tensor,
        optim_wrapper: OptimWrapper
    ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """The generator-side update (D frozen: its weights get no grad).

        ``-D(composites) + lambda_z * MSE(z, z_encoder(sum_k painted_k))``,
        plus the mask priors, the mask consistency and the mask
        equivariance where the config asks for them, in one backward pass
        through the mask net, the region generators and the z-encoder.

        Args:
            images (Tensor): Images to redraw, (B, C, H, W) in [-1, 1].
            z (Tensor): Their codes, (B, n, z_dim).
            optim_wrapper (OptimWrapper): The ``generator`` wrapper.

        Returns:
            tuple: The losses to log, the masks and the composites (both
            still attached to the graph, for logging and reuse).
        """
        with optim_wrapper.optim_context(self), frozen(
                self.discriminator), self._autocast():
            masks = self.masks(images)
            composites, painted = self.redraw(images, masks, z)
            losses = generator_side_loss(
                self.discriminate(composites.flatten(0, 1)), z,
                self.predict_z(painted.sum(dim=1)), self.lambda_z)
            if self.mask_priors:
                losses.update(self._mask_prior_losses(masks))
            if self.consistency_weight:
                masks_of_composites = self.masks(
                    composites.detach().flatten(0, 1)).unflatten(
                        0, composites.shape[:2])
                losses.update(
                    mask_consistency_loss(masks, masks_of_composites,
                                          self.consistency_weight))
            if self.equivariance:
                losses.update(
                    mask_equivariance_loss(self.mask_net, images, masks,
                                           **self.equivariance))
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        log_vars.pop('loss')
        return log_vars, masks, composites

    def train_discriminator(
            self, images: torch.Tensor, real_images: torch.Tensor,
            z: torch.Tensor, composites: torch.Tensor,
            optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """The discriminator update: hinge loss, real against composites.

        The composites are recomputed without gradients from the updated
        networks and the same z, as the reference does, or, with
        ``reuse_composites``, taken from the generator step (detached).
        With ``augment``, its ADA controller is fed D's outputs on the real
        images.

        Args:
            images (Tensor): The images the generator step redrew.
            real_images (Tensor): D's real images, (B, C, H, W).
            z (Tensor): The generator step's codes.
            composites (Tensor): The generator step's composites.
            optim_wrapper (OptimWrapper): The ``discriminator`` wrapper.

        Returns:
            dict[str, Tensor]: The losses to log.
        """
        with optim_wrapper.optim_context(self.discriminator), \
                self._autocast():
            if self.reuse_composites:
                composites = composites.detach()
            else:
                with torch.no_grad():
                    composites, _ = self.redraw(images, self.masks(images),
                                                z)
            d_out = self.discriminate(
                torch.cat([real_images,
                           composites.flatten(0, 1)]))
        d_real, d_fake = d_out.split(
            [real_images.size(0), d_out.size(0) - real_images.size(0)])
        if self.augment is not None:
            self.augment.update(d_real)
        loss, log_vars = self.parse_losses(
            hinge_discriminator_loss(d_real, d_fake))
        optim_wrapper.update_params(loss)
        log_vars.pop('loss')
        return log_vars

    def _mask_prior_losses(self,
                           masks: torch.Tensor) -> Dict[str, torch.Tensor]:
        """:func:`mask_prior_losses` with the binarisation weight ramped in.

        The ramp lets the masks find the object while still soft before
        they are pushed to 0 or 1.
        """
        priors = self.mask_priors
        ramp = priors.get('binarization_ramp_iters', 0)
        it = MessageHub.get_current_instance().get_info('iter', 0)
        scale = min(1.0, it / ramp) if ramp else 1.0
        return mask_prior_losses(
            masks, priors.get('min_area', 0.0),
            priors.get('area_weight', 0.0),
            scale * priors.get('binarization_weight', 0.0),
            priors.get('border_weight', 0.0))

    # ------------------------------------------------------------------
    # Fast path: the same computation, laid out and compiled for speed
    # ------------------------------------------------------------------
    def _autocast(self):
        """bf16 autocast on CUDA where ``fast_path.amp_dtype`` asks."""
        dtype = self.fast_path.get('amp_dtype')
        if dtype is None or self.object_index.device.type != 'cuda':
            return nullcontext()
        return torch.autocast('cuda', dtype=torch.bfloat16)

    def _to_layout(self, images: torch.Tensor) -> torch.Tensor:
        """Images in the memory layout the networks were converted to."""
        if self.fast_path.get('channels_last'):
            return images.contiguous(memory_format=torch.channels_last)
        return images

    def _prepare_fast_path(self) -> None:
        """Convert and compile the networks once, on the first train step."""
        if self._fast_path_ready:
            return
        self._fast_path_ready = True
        if self.fast_path.get('channels_last'):
            self.to(memory_format=torch.channels_last)
        compile_cfg = self.fast_path.get('compile')
        # GPU only: on a small CPU, compiling costs minutes for little gain.
        if compile_cfg and self.object_index.device.type == 'cuda':
            options = compile_cfg if isinstance(compile_cfg, dict) else {}
            for name in GENERATOR_SIDE + ('discriminator', ):
                getattr(self, name).compile(**options)

    # ------------------------------------------------------------------
    # Inference: mmseg's segmentor API
    # ------------------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """Features of the mask network's encoder."""
        return self.mask_net.encoder(inputs)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """Two-class logits (background, object) at the input's size.

        The object is region ``object_index``; the background is every
        other region. Logits are log-probabilities, so argmax is the
        0.5 threshold of the object mask.
        """
        masks = self.mask_net(inputs)
        obj = masks.gather(
            1, self.object_index.view(1, 1, 1, 1).expand(
                masks.size(0), 1, *masks.shape[-2:]))
        probs = torch.cat([1.0 - obj, obj], dim=1)
        return probs.clamp_min(1e-6).log()

    def predict(self,
                inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Segment ``inputs``; see :meth:`encode_decode`.

        The refinements ``test_cfg`` asks for (guided filter, GrabCut) then
        run at ``ori_shape`` (:func:`refine_predictions`).

        Returns:
            list[SegDataSample]: With ``seg_logits`` and ``pred_sem_seg``
            (0 = background, 1 = object) at each image's ``ori_shape``.
        """
        if data_samples is None:
            metas = [dict(ori_shape=inputs.shape[2:])] * inputs.size(0)
        else:
            metas = [sample.metainfo for sample in data_samples]
        samples = self.postprocess_result(
            self.encode_decode(inputs, metas), data_samples)
        refine_predictions(samples, inputs, self.data_preprocessor,
                           self.test_cfg)
        return samples

    def _forward(self,
                 inputs: torch.Tensor,
                 data_samples: OptSampleList = None) -> torch.Tensor:
        """The soft masks of all regions, (B, n, H, W)."""
        return self.mask_net(inputs)

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Not used: ReDO's adversarial updates live in :meth:`train_step`."""
        raise NotImplementedError(
            'ReDO has no single loss: it trains through train_step(), which '
            "mmengine's runner calls with the generator and discriminator "
            'optimizer wrappers.')


def _raw_weight(module: nn.Module) -> torch.Tensor:
    """The weight an optimiser updates, under spectral norm or not."""
    if hasattr(module, 'parametrizations'):
        return module.parametrizations.weight.original
    return module.weight


def _split_halves(
        inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split a batch of 2B images into the images to redraw and D's reals."""
    if inputs.size(0) % 2:
        raise ValueError(
            'ReDO draws 2B images per iteration (B to redraw, B real images '
            'for the discriminator): set train_dataloader.batch_size to an '
            f'even number, got {inputs.size(0)}.')
    return inputs.chunk(2)
