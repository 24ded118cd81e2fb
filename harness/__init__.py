"""What the tests and the benchmarks share: the simulated pages, feeds and story pairs, a
real local HTTP server, fault injection (kills, power cuts, full disks, damaged caches,
hostile servers and files) and the trial runners that drive the program through them.

It lives apart from ``tests/`` so that ``bench/`` measures the same scenarios the suite
checks without importing test modules, and apart from ``app`` and ``nrms_core`` so that
the wheel never ships it.
"""
