# Supervised upper bound of ReDO's mask network: the same network as
# configs/redo/redo_flowers17_cpu.py's mask net (ReDOMaskEncoder +
# ReDOPSPHead, 16 channels, trained from scratch) trained on the ground-truth
# masks as an ordinary mmseg EncoderDecoder with cross-entropy.
# Data: the 400 Flowers-17 train.txt images that have a mask (val.txt and
# test.txt untouched), 64x64 as the ReDO CPU row, best checkpoint on val
# mIoU, scored on test.txt at the 64x64 crop. Sized for CPU: 4000 iterations
# of batch 16 (160 epochs), ~0.1 CPU-s each with one thread: ~7 minutes.
_base_ = [
    '../_base_/models/redo_masknet_64x64.py',
    '../_base_/datasets/flowers17_64x64.py',
    '../_base_/schedules/supervised_cpu.py'
]
# Only the images that have a mask (the list is train.txt filtered by
# masks/; ann_file is absolute, so data_root is not prepended).
train_dataloader = dict(
    dataset=dict(
        ann_file='{{fileDirname}}/../../benchmarks/splits/'
        'flowers17_train_masked.txt',
        require_masks=True,
        pipeline={{_base_.labelled_train_pipeline}}))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=4000,
         by_epoch=False)
]
train_cfg = dict(max_iters=4000)
