# Oxford Flowers-102 with the official segmentations, ReDO's inverted split:
# train = setid 'tstid' (6149), val = 'valid' (1020), test = 'trnid' (1020).
# Layout and download: docs/datasets.md. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
_base_ = ['./redo_photos_128.py']
dataset_type = 'Flowers102Dataset'
data_root = 'data/flowers102'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='val'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
