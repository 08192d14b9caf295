"""Turning a fused score into a confidence, and fitting that mapping on labelled data.

``confidence = sigmoid(bias + w_score * score + w_margin * margin + w_x * x)`` where ``margin`` is
the candidate's score minus the best non-overlapping other candidate's (negative for all but the
best), and ``x`` is the strongest structural evidence (surroundings when a reference screen is
known, else the template correlation). The parameters live in ``LocatorConfig.calibration``;
``fit_logistic`` refits them from ``(features, correct)`` pairs of a calibration run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rpa_vision.core.errors import ValidationError


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def confidence(params: Sequence[float], score: float, margin: float, x: float, ambiguity_gain: float = 40.0) -> float:
    """The calibrated confidence, never above ``sigmoid(ambiguity_gain * margin)``: a candidate no
    better than another non-overlapping one is at most a coin toss (0.5), whatever its score."""
    b, ws, wm, wx = params
    fitted = sigmoid(b + ws * score + wm * margin + wx * x)
    return min(fitted, sigmoid(ambiguity_gain * margin))


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, iters: int = 200
) -> tuple[float, float, float, float]:
    """Maximum-likelihood logistic regression (Newton steps, light L2) on ``(N, 3)`` features
    ``[score, margin, x]``; returns ``(bias, w_score, w_margin, w_x)``."""
    X = np.asarray(features, np.float64)
    y = np.asarray(labels, np.float64).ravel()
    if X.ndim != 2 or X.shape[1] != 3 or X.shape[0] != y.shape[0] or X.shape[0] < 4:
        raise ValidationError("fit_logistic needs (N, 3) features and N labels, N >= 4", field="features")
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    w = np.zeros(4)
    reg = l2 * np.eye(4)
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ w, -40, 40)))
        g = A.T @ (p - y) + reg @ w
        H = (A * (p * (1 - p))[:, None]).T @ A + reg + 1e-9 * np.eye(4)
        step = np.linalg.solve(H, g)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return (float(w[0]), float(w[1]), float(w[2]), float(w[3]))


def reliability(confs: Sequence[float], correct: Sequence[bool], bins: int = 5) -> list[tuple[float, float, int]]:
    """``(mean confidence, accuracy, count)`` per confidence bin: a calibrated locator has the two
    close in every bin."""
    c = np.asarray(confs, np.float64)
    k = np.asarray(correct, bool)
    out = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for i in range(bins):
        m = (c >= edges[i]) & ((c < edges[i + 1]) if i < bins - 1 else (c <= 1.0))
        if m.any():
            out.append((float(c[m].mean()), float(k[m].mean()), int(m.sum())))
    return out
