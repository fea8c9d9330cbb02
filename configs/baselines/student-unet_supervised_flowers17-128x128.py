# The self-training stage's student (configs/redo/student_unet_image_folder_cpu.py:
# mmseg's UNet-S5-D16 width 8 + FCN head, random init, 128x128, AdamW, 750
# iterations of batch 16, the last checkpoint), trained instead on the true
# masks of the 404 Flowers-17 train.txt photos that have one: the supervised
# row beside the students on pseudo-labels (issue 26), so the table shows
# what the labels cost and nothing else. Scored like every photo-size row:
#   python tools/segment_folder.py THIS_CONFIG WORK_DIR/iter_750.pth \
#       FLOWERS17_TEST_PHOTOS --out OUT
# Validation (every 250 iterations) is mIoU on val.txt's true masks at the
# 128x128 crop; it is logged, not used to choose (the last checkpoint, as
# the students).
_base_ = ['../redo/student_unet_image_folder_cpu.py']
data_root = '../shared/data/flowers17'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='Flowers17Dataset',
        data_root=data_root,
        ann_file='{{fileDirname}}/../../benchmarks/splits/'
        'flowers17_train_masked.txt',
        require_masks=True,
        pipeline=_base_.train_dataloader.dataset.pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='Flowers17Dataset',
        data_root=data_root,
        ann_file='val.txt',
        require_masks=True,
        pipeline=_base_.val_dataloader.dataset.pipeline))
