# ReDO's narrow mask net (redo_narrow_64x64.py's: ReDOMaskEncoder +
# ReDOPSPHead, 16 channels) as an ordinary mmseg EncoderDecoder trained with
# cross-entropy, in ReDO's [-1, 1] input range, so that it sees what it sees
# inside ReDO. The encoder is the backbone and the head the decode head:
# the keys ReDO's mask_net_init maps back (a warm start of ReDO).
_base_ = ['./redo_narrow_64x64.py']
model = dict(
    _delete_=True,
    type='EncoderDecoder',
    data_preprocessor=_base_.data_preprocessor,
    backbone=_base_.model.mask_net.encoder,
    decode_head=dict(
        **_base_.model.mask_net.head,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
