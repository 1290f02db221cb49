# The amgrad package is found through PYTHONPATH (CTest sets it to <build>/python).
import torch

torch.set_num_threads(1)  # two shared cores: keep torch's pool out of the kernels' way


def has_low_rank():
    """Whether amgrad has the low-rank scheme: False where it was built without LAPACKE (the SVD's
    library), which the library must then say."""
    import amgrad
    try:
        amgrad.lut.low_rank(amgrad.multiplier("exact", bits=2), amgrad.lut2d_lowrank(hws=0, rank=1))
        return True
    except amgrad.Error as e:
        assert "LAPACKE" in str(e)
        return False
