# ReDO on LFW-funneled faces at 64x64 with the small-data recipe, for 2 CPU
# cores: redo_flowers17_small_data_cpu.py's networks, recipe and schedule
# on ReDO's LFW splits (object = hair + face from the part labels, read as
# .ppm or .png). Trains on train.txt (no labels read), validates and picks
# the object region on val.txt; ReDO's test split is held back from
# development, so the test dataloader scores val.txt too.
#     python tools/train.py configs/redo/redo_lfw_small_data_cpu.py
# Data layout: docs/datasets.md (../shared/data/lfw here).
_base_ = ['./redo_flowers17_small_data_cpu.py']
dataset_type = 'LFWDataset'
data_root = '../shared/data/lfw'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='train.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='val.txt'))
test_dataloader = val_dataloader
