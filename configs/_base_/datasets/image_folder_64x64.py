# Your own photos at 64x64, for training on CPU: image_folder.py (splits,
# broken files, label-free validation, data_root) with every pipeline at
# img_size = 64.
_base_ = ['./image_folder.py']
img_size = 64
# After _base_, so mmengine still reads this file as a _base_ config.
from mmseg_redo.utils.config import pipeline_at_size  # noqa: E402

train_pipeline = pipeline_at_size(_base_.train_pipeline, img_size)
eval_pipeline = pipeline_at_size(_base_.eval_pipeline, img_size)
test_pipeline = pipeline_at_size(_base_.test_pipeline, img_size)
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=eval_pipeline))
