# The reference's schedule with faster learning rates for CPU budgets: at
# the reference's rates (mask net 1e-5, others 1e-4) the mask net forms no
# masks within minutes of CPU training.
_base_ = ['./redo_40k.py']
optim_wrapper = dict(
    generator=dict(
        optimizer=dict(lr=2e-4), modules=dict(mask_net=dict(lr=1e-4))),
    discriminator=dict(optimizer=dict(lr=2e-4)))
