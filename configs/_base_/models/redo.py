# ReDO with the reference's networks at 128x128 (Flowers command: nfX=32,
# self-attention in the generators and the discriminator).
num_regions = 2
z_dim = 32
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # Images in [-1, 1], the range of the generators' tanh.
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    # Pipelines crop every image to the same size: nothing to pad.
    size_divisor=1,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='ReDO',
    data_preprocessor=data_preprocessor,
    z_dim=z_dim,
    lambda_z=5.0,
    init_gain=0.8,
    # Speed only, same computation: bf16 autocast on CUDA (spectral norm,
    # losses and Adam in fp32), NHWC layout, compiled networks. Off with
    # `tools/train.py --faithful` (exact fp32 eager reference step).
    fast_path=dict(amp_dtype='bfloat16', channels_last=True, compile=True),
    # The reference recomputes the composites for the discriminator step.
    reuse_composites=False,
    mask_net=dict(
        type='ReDOMaskNet',
        encoder=dict(type='ReDOMaskEncoder', channels=64, num_res_blocks=3),
        head=dict(
            type='ReDOPSPHead',
            in_channels=64,
            channels=64,
            pool_scales=(1, 2, 3, 6),
            num_classes=num_regions,
            out_channels=num_regions,
            dropout_ratio=0.0,
            # GN works on PSP's 1x1 pooled maps and at batch 1.
            norm_cfg=dict(type='GN', num_groups=8),
            align_corners=False)),
    region_generators=dict(
        type='RegionGenerators',
        num_regions=num_regions,
        generator=dict(
            type='MaskedRegionGenerator',
            img_size=128,
            z_dim=z_dim,
            base_channels=32,
            self_attention=True)),
    discriminator=dict(
        type='SNResNetEncoder',
        out_features=1,
        base_channels=64,
        self_attention=True),
    z_encoder=dict(
        type='SNResNetEncoder',
        out_features=num_regions * z_dim,
        base_channels=64),
    test_cfg=dict(mode='whole'))
