def pool_forward(*args, **kwargs):  # placeholder until the kernel lands
    raise NotImplementedError('pool_forward')

def pool_backward(*args, **kwargs):  # placeholder until the kernel lands
    raise NotImplementedError('pool_backward')

def create_mask_from_window(*args, **kwargs):  # placeholder until the kernel lands
    raise NotImplementedError('create_mask_from_window')

def distribute_value(*args, **kwargs):  # placeholder until the kernel lands
    raise NotImplementedError('distribute_value')

