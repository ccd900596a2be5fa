"""The profiler: time real Transformer training and inference on this machine's CPU or GPUs.

The only package of dcplan that imports torch, and only in the modules that run kernels
(transformer, kernels, workloads, sweep, distributed, memory, energy, environment). Its typed
result (:mod:`dcplan.profile.result`) and the timing statistics (:mod:`dcplan.profile.timing`)
are plain Python, so that the calibration stage and the profile loader run without torch.
"""
