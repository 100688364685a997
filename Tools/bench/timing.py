"""Timing shared by the reference benchmark scripts: one warm-up, then the median of `repeats` runs, in ms."""
import statistics, time


def timed(fn, repeats):
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)
