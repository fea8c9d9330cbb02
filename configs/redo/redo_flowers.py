# ReDO on Oxford Flowers-102 with the reference's Flowers command:
# nfX=32, self-attention in G and D, batch 20, 128x128, 40k iterations.
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/flowers102.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
# Each iteration draws 2 x 20 images: 20 to redraw and 20 real images for
# the discriminator (the reference's second, independent data iterator).
train_dataloader = dict(batch_size=40)
