# The amgrad package is found through PYTHONPATH (CTest sets it to <build>/python).
import torch

torch.set_num_threads(1)  # two shared cores: keep torch's pool out of the kernels' way
