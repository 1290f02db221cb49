"""The kernels run with the GIL released: a Python thread keeps running during a kernel call, and
two threads run layers at the same time with the results of a single thread."""
import threading
import time

import torch

import amgrad


def test_python_runs_while_a_kernel_runs():
    torch.manual_seed(0)
    conv = amgrad.nn.ApproxConv2d(16, 32, 3, padding=1, multiplier=amgrad.models.drum(4),
                                  scheme=amgrad.lut2d())
    x = torch.randn(8, 16, 32, 32)
    conv(x)  # warm up (tables, allocations)
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.01)
        start_ticks, t0 = ticks[0], time.perf_counter()
        y = conv(x)                              # one call into C++: ~0.1 s
        y.sum().backward()                       # autograd's engine runs the C++ backward
        elapsed = time.perf_counter() - t0
        during = ticks[0] - start_ticks
    finally:
        stop.set()
        t.join()
    assert elapsed > 0.02
    # With the GIL held for the whole call, the counter could not advance (beyond a switch or two).
    assert during > 1000, (during, elapsed)


def test_two_threads_give_the_single_thread_results():
    torch.manual_seed(0)
    mult = amgrad.models.mitchell(bits=8)
    layers = [amgrad.nn.ApproxLinear(256, 128, mult, amgrad.lut2d()) for _ in range(2)]
    xs = [torch.randn(64, 256) for _ in range(2)]
    for layer, x in zip(layers, xs):
        layer(x)
        layer.eval()
    expected = [layer(x) for layer, x in zip(layers, xs)]
    results = [None, None]

    def run(i):
        for _ in range(5):
            results[i] = layers[i](xs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(r, e) for r, e in zip(results, expected))
