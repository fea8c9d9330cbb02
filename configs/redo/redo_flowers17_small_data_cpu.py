# ReDO on Flowers-17 at 64x64 with the small-data recipe (the benchmark
# table's recipe row; redo_flowers17_cpu.py stays the reference recipe's
# row): the same narrow networks, data and budget, plus ADA-steered
# augmentation of the discriminator's inputs, a minimum-area prior, mask
# consistency (a composite keeps its photo's masks), an EMA of the weights
# for validation and inference, and horizontal flips of the training
# photos; at test time, the object mask is sharpened by a guided filter
# guided by the network's input, upsampled to the output size.
# Measurements: configs/redo/README.md#small-data-recipe.
_base_ = [
    '../_base_/models/redo_narrow_64x64_small_data.py',
    '../_base_/datasets/flowers17_64x64.py',
    '../_base_/schedules/redo_cpu_small_data.py',
    '../_base_/default_runtime.py'
]
# Flips double a few hundred photos at no cost and keep every photo a
# photo; they reach the redrawn images and the discriminator's real ones.
# The base's training pipeline, flipped before packing:
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='RandomFlip', prob=0.5),
    _base_.train_pipeline[-1],
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))

train_cfg = dict(max_iters=4000, val_interval=250)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=250),
    redraw=dict(
        type='RedrawVisualizationHook',
        interval=250,
        num_images=4,
        num_redraws=3))
