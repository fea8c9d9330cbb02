# GrabCut (OpenCV) from a centred box, 5 iterations, on each photo at its own
# size: the teacher of the self-training stage on a folder of your own photos
# (mmseg_redo.apis.learn_folder, tools/learn_folder.py; the first probe of
# issue 26 in docs/benchmarks.md). Nothing is trained, no checkpoint:
#   python tools/make_pseudo_labels.py configs/redo/grabcut_box_photo_size.py \
#       none --folder PHOTOS --out LABELS
# The model is the baseline's (configs/_base_/models/grabcut_box.py); only the
# photo is loaded, with no dataloader and no resize, so the labels come out
# at the photo's size, which the student's dataset reads them at. GrabCut's
# time grows with the pixels: photos of many megapixels are slow.
_base_ = [
    '../_base_/models/grabcut_box.py', '../_base_/default_runtime.py'
]
# Decoded as configs/_base_/datasets/redo_photos_128.py's test_pipeline
# (PIL, mmcv's stock loader, which mmseg's inference_model looks for by
# name) but with the photo's EXIF rotation applied, as the folder's own
# loaders do (configs/_base_/datasets/image_folder.py, the student's
# LoadImageFromFileChecked(color_type='color')): a label of a phone photo
# taken upright must have the size and orientation that the student's
# dataset and ReDO's labels (teacher 'agree') give that photo.
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='PackSegInputs'),
]
