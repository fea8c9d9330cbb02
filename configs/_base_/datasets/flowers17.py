# Oxford Flowers-17 with foreground masks: 914 train images (not all masked,
# masks are never read to train), 146 val, 300 test (all masked).
# Layout and download: docs/datasets.md. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
_base_ = ['./redo_photos_128.py']
dataset_type = 'Flowers17Dataset'
data_root = 'data/flowers17'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='train.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='val.txt'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='test.txt'))
