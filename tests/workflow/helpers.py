"""Builders shared by the workflow tests: synthetic screens, workflows and test doubles."""

from __future__ import annotations

import numpy as np

from rpa_vision.core.events import Action, ActionKind
from rpa_vision.core.geometry import Box, Point
from rpa_vision.workflow.model import Anchor, ScreenInfo, StateSnapshot, Step, Target, Workflow

W, H = 320, 200


def screen(seed: int = 0, buttons: tuple[tuple[int, int], ...] = ((40, 40), (140, 40), (240, 40))) -> np.ndarray:
    """A synthetic screen: grey background with distinct coloured buttons at the given corners."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 200, np.uint8)
    for i, (x, y) in enumerate(buttons):
        colour = np.array([(60 * i + 30) % 255, (90 * i + 80) % 255, (150 + 40 * i) % 255], np.uint8)
        img[y:y + 30, x:x + 50] = colour
        img[y + 10:y + 20, x + 10:x + 40] = 255 - colour
    img[150:190, 10:300] = rng.integers(0, 255, (40, 290, 3), dtype=np.uint8)
    return img


def sample_workflow(name: str = "demo", n: int = 3) -> tuple[Workflow, dict[str, np.ndarray]]:
    img = screen()
    images: dict[str, np.ndarray] = {}
    steps = []
    for i in range(n):
        box = Box(40 + 100 * (i % 3), 40, 90 + 100 * (i % 3), 70)
        crop = f"step-{i:03d}-target.png"
        images[crop] = img[40:70, int(box.x1):int(box.x2)].copy()
        images[f"step-{i:03d}-before.png"] = img
        images[f"step-{i:03d}-before-thumb.png"] = img[::4, ::4].copy()
        act = Action(ActionKind.CLICK, t=float(i), point=box.center)
        steps.append(Step(
            index=i, action=act,
            target=Target(crop, box, text=f"b{i}", anchors=(Anchor("label", Box(0, 0, 30, 10)),),
                          rel_screen=(box.center.x / W, box.center.y / H)),
            before=StateSnapshot(f"step-{i:03d}-before-thumb.png", f"step-{i:03d}-before.png",
                                 np.linspace(0, 1, 8, dtype=np.float32) + i, "test"),
            delay_s=0.1 * i,
        ))
    steps.append(Step(index=n, action=Action(ActionKind.TYPE, t=float(n), text="12+3")))
    wf = Workflow(name, ScreenInfo(W, H, 1.0), tuple(steps), encoder={"name": "test"})
    return wf, images


def click(x: float, y: float) -> Action:
    return Action(ActionKind.CLICK, point=Point(x, y))
