# ReDO on CUB-200-2011 (full images). The reference gives no CUB command;
# this uses its Flowers settings (nfX=32, self-attention in G and D).
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/cub.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
# 20 images to redraw + 20 real images for the discriminator.
train_dataloader = dict(batch_size=40)
