# LFW-funneled faces, object = hair + face from the part labels, ReDO's
# lists: train.txt 10,306 unlabelled, val.txt 1,327, test.txt 1,600.
# Layout and download: docs/datasets.md. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
_base_ = ['./redo_photos_128.py']
dataset_type = 'LFWDataset'
data_root = 'data/lfw'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='train.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='val.txt'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='test.txt'))
