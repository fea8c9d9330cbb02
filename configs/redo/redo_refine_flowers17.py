# Refinement of ReDO (no labels used): ReDO's mask network architecture
# trained, as an ordinary supervised mmseg EncoderDecoder, on the masks that
# a trained ReDO (configs/redo/redo_flowers17_cpu.py) predicts for the 914
# train.txt images. The ground truth is never read for training; the best
# checkpoint is chosen on val mIoU and scored on test, as the ReDO row.
#
# Step 1, the pseudo-labels (0/1 PNGs at the photos' size):
#   python tools/make_pseudo_labels.py configs/redo/redo_flowers17_cpu.py \
#       work_dirs/redo_flowers17_cpu/best_mIoU_iter_NNNN.pth \
#       --out work_dirs/redo_flowers17_cpu/pseudo_labels
# Step 2, this config:
#   python tools/train.py configs/redo/redo_refine_flowers17.py
# (--cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/dir
# reads pseudo-labels from elsewhere; the path must be absolute).
_base_ = ['../baselines/redo-masknet_supervised_flowers17-64x64.py']
# Absolute (mmengine joins relative prefixes to data_root): the work dir of
# the ReDO CPU row, beside configs/.
pseudo_label_dir = ('{{fileDirname}}/../../work_dirs/redo_flowers17_cpu/'
                    'pseudo_labels')
train_dataloader = dict(
    dataset=dict(
        ann_file='train.txt',
        data_prefix=dict(img_path='images', seg_map_path=pseudo_label_dir),
        # Every training image must have its pseudo-label.
        require_masks=True))
