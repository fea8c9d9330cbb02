# The small-data recipe's 64x64 network scored at the 128x128 crop, beside
# GrabCut's 128x128 row (configs/baselines/grabcut_flowers17-128x128.py):
# the crop and its mask are kept at 128x128, the image alone is resized to
# the network's 64x64, and the mask comes back at 128x128 through the
# test-time guided filter (guided by the network's input, upsampled).
# For tools/test.py with a checkpoint of redo_flowers17_small_data_cpu.py:
#     python tools/test.py configs/redo/redo_flowers17_small_data_cpu_test128.py \
#         work_dirs/redo_flowers17_small_data_cpu_seed0/best_mIoU_iter_4000.pth
_base_ = ['./redo_flowers17_small_data_cpu.py']
test_dataloader = dict(
    batch_size=10,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFileChecked'),
        dict(type='LoadObjectMask'),
        dict(type='ResizeShorterSide', size=128),
        dict(type='CenterCrop', crop_size=128),
        dict(type='ResetOriShape'),
        dict(type='ResizeImageShorterSide', size={{_base_.img_size}}),
        dict(type='PackSegInputs'),
    ]))
