# ReDO with narrow networks at 64x64, for training on 2 CPU cores (the demo
# and the Flowers-17 CPU table row): the reference's layout, far fewer
# channels, no self-attention.
_base_ = ['./redo.py']
z_dim = 16
model = dict(
    z_dim=z_dim,
    mask_net=dict(
        encoder=dict(channels=16, num_res_blocks=2),
        head=dict(in_channels=16, channels=16)),
    region_generators=dict(
        generator=dict(
            img_size=64, z_dim=z_dim, base_channels=4,
            self_attention=False)),
    discriminator=dict(
        base_channels=8, num_down_blocks=3, self_attention=False),
    z_encoder=dict(
        out_features=2 * z_dim, base_channels=8, num_down_blocks=3))
