"""Evaluation on the perturbation suite: our Locator against PyAutoGUI and plain template matching,
state recognition, ROI recall and encoder invariance (``python -m benchmarks.eval.run``)."""
