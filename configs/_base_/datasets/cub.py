# CUB-200-2011 full images with binarised soft masks, ReDO's split file
# train_val_test_split.txt: 10,000 train, 788 val, 1,000 test.
# Layout and download: docs/datasets.md. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
_base_ = ['./redo_photos_128.py']
dataset_type = 'CUBDataset'
data_root = 'data/CUB_200_2011'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='val'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
