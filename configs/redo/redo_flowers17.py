# ReDO on Oxford Flowers-17 with masks, the project's real development data
# (kept outside the repository, in ../shared/data/flowers17): the Flowers
# command's networks at 128x128. Trained on train.txt images only (masks are
# never read for training), best checkpoint on val.txt, scored on test.txt.
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/flowers17.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
data_root = '../shared/data/flowers17'
# 20 images to redraw + 20 real images for the discriminator.
train_dataloader = dict(batch_size=40, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
