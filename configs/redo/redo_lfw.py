# ReDO on LFW funneled + part labels with the reference's LFW command:
# nfX=64, self-attention in G and D, batch 20, 128x128.
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/lfw.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
model = dict(region_generators=dict(generator=dict(base_channels=64)))
# 20 images to redraw + 20 real images for the discriminator.
train_dataloader = dict(batch_size=40)
