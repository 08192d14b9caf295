"""The perturbation suite: real applications (xcalc, xgc, the Qt test app) under Xvfb, perturbed the way
a real desktop perturbs them, with ground-truth element boxes and state labels.

``python -m benchmarks.suite.build --out data/suite [--full]`` builds it;
``benchmarks.suite.load.load_suite()`` reads it.
"""
