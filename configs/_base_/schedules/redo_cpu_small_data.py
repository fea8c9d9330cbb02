# The CPU schedule with the small-data recipe's hook: an exponential moving
# average of every network's weights (ReDOEMAHook: mmengine's EMAHook that
# also saves the live object region), which validation,
# test, inference and the saved state_dict use (the raw weights go to the
# checkpoint's ema_state_dict, and --resume restores both). It runs before
# MaskAssignmentHook, so the object region is chosen on the averaged mask
# net that is then scored.
_base_ = ['./redo_cpu.py']
custom_hooks = [
    dict(
        type='ReDOEMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.001,
        priority='HIGH'),
    *_base_.custom_hooks,
]
