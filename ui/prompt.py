"""The self-healing prompt: when a replay step is unsure, ask the person, without hiding the element.

``HealingPrompt`` shows the recorded target, the current screenshot with the candidates and their
confidences, and offers Confirm (Enter), Pick another (P, then click the element), Skip (S) and
Abort (Esc). It stays on top and places itself on the screen away from the candidate boxes.

``QtDecisionProvider`` is the replayer's ``DecisionProvider``: ``decide`` is called on the replay
thread; it hands the request to the GUI thread (a queued signal), blocks until the person has
answered, and returns the answer (an abort when the replay is cancelled meanwhile).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPoint, QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rpa_vision.core.errors import ReplayAborted
from rpa_vision.core.geometry import Box, Point
from rpa_vision.core.logging import get_logger
from rpa_vision.workflow.decisions import Decision, DecisionProvider, DecisionRequest
from ui.qt_images import bgr_to_pixmap, bgr_to_qimage, confidence_color, draw_boxes

log = get_logger("ui.prompt")

PICK_BOX_PX = 24  # a click outside every candidate picks a box this size around the point


# --- placement ----------------------------------------------------------------------------------
def place_away(size_wh: tuple[int, int], screen: Box, avoid: Sequence[Box], margin: int = 16) -> tuple[int, int]:
    """Top-left corner for a ``size_wh`` window inside ``screen`` that overlaps ``avoid`` the least.

    Tries the corners and the middles of the edges (and the far side of the boxes); ties go to
    the position farthest from the boxes. All in the same coordinates (logical desktop points).
    """
    w, h = size_wh
    x0, y0 = screen.x1 + margin, screen.y1 + margin
    x1, y1 = max(x0, screen.x2 - w - margin), max(y0, screen.y2 - h - margin)
    xm, ym = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    spots = [(x1, y0), (x0, y0), (x1, y1), (x0, y1), (xm, y0), (xm, y1), (x0, ym), (x1, ym)]
    if avoid:
        u = Box.union_all(avoid)
        spots += [(min(x1, max(x0, u.x2 + margin)), y0), (max(x0, min(x1, u.x1 - w - margin)), y0),
                  (x0, min(y1, max(y0, u.y2 + margin))), (x0, max(y0, min(y1, u.y1 - h - margin)))]

    def cost(spot: tuple[float, float]) -> tuple[float, float]:
        win = Box(spot[0], spot[1], spot[0] + w, spot[1] + h)
        overlap = sum((inter.area if (inter := win.intersection(b.expand(4))) else 0.0) for b in avoid)
        dist = min((win.center.distance(b.center) for b in avoid), default=0.0)
        return (overlap, -dist)

    best = min(spots, key=cost)
    return int(round(best[0])), int(round(best[1]))


# --- the screenshot with candidates ---------------------------------------------------------------
class CandidateView(QWidget):
    """The screenshot scaled to fit, the candidates drawn on it; in pick mode a click picks a box."""

    picked = Signal(object)  # Box in screenshot pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._wh = (1, 1)
        self.boxes: tuple[Box, ...] = ()
        self.labels: tuple[str, ...] = ()
        self.colors: tuple[QColor, ...] = ()
        self.selected: Box | None = None
        self.pick_mode = False
        self.view_box = Box(0, 0, 1, 1)  # the part of the screenshot shown (screenshot pixels)

    def sizeHint(self) -> QSize:
        return QSize(720, 405)

    def set_content(self, screenshot: object, boxes: Sequence[Box], labels: Sequence[str],
                    colors: Sequence[QColor]) -> None:
        import numpy as np

        if isinstance(screenshot, np.ndarray):
            self._image = bgr_to_qimage(screenshot)
            self._wh = (screenshot.shape[1], screenshot.shape[0])
        self.boxes, self.labels, self.colors = tuple(boxes), tuple(labels), tuple(colors)
        self.view_box = Box(0, 0, *self._wh)
        self.update()

    def zoom_to_candidates(self, on: bool = True, min_wh: tuple[int, int] = (640, 360)) -> None:
        """Show the part of the screenshot around the candidates (or, off, the whole screen)."""
        full = Box(0, 0, *self._wh)
        if not on or not self.boxes:
            self.view_box = full
        else:
            u = Box.union_all(self.boxes)
            u = u.expand(max(60.0, 0.5 * max(u.width, u.height)))
            w, h = max(u.width, float(min_wh[0])), max(u.height, float(min_wh[1]))
            w, h = max(w, h * 16 / 9), max(h, w * 9 / 16)  # the view's own shape
            w, h = min(w, full.width), min(h, full.height)
            c = u.center
            x1 = min(max(0.0, c.x - w / 2), full.width - w)
            y1 = min(max(0.0, c.y - h / 2), full.height - h)
            self.view_box = Box(x1, y1, x1 + w, y1 + h)
        self.update()

    def set_pick_mode(self, on: bool) -> None:
        self.pick_mode = on
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.update()

    def _scale(self) -> float:
        vb = self.view_box
        return min(self.width() / max(1.0, vb.width), self.height() / max(1.0, vb.height))

    def image_rect(self) -> QRectF:
        """Where the shown part of the screenshot is drawn in the widget."""
        vb, s = self.view_box, self._scale()
        w, h = vb.width * s, vb.height * s
        return QRectF((self.width() - w) / 2.0, (self.height() - h) / 2.0, w, h)

    def to_image(self, pos: QPoint) -> Point | None:
        r = self.image_rect()
        if r.width() <= 0 or not r.contains(pos.toPointF()):
            return None
        s = self._scale()
        return Point(self.view_box.x1 + (pos.x() - r.left()) / s, self.view_box.y1 + (pos.y() - r.top()) / s)

    def to_widget(self, p: Point) -> QPoint:
        r, s = self.image_rect(), self._scale()
        return QPoint(int(round(r.left() + (p.x - self.view_box.x1) * s)),
                      int(round(r.top() + (p.y - self.view_box.y1) * s)))

    def box_at(self, p: Point) -> Box:
        """The smallest candidate containing ``p``, else a small box centred on it."""
        inside = [b for b in self.boxes if b.contains(p)]
        if inside:
            return min(inside, key=lambda b: b.area)
        half = PICK_BOX_PX / 2.0
        return Box(p.x - half, p.y - half, p.x + half, p.y + half).clip(*self._wh)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.pick_mode or event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        p = self.to_image(event.position().toPoint())
        if p is None:
            return
        self.selected = self.box_at(p)
        self.update()
        self.picked.emit(self.selected)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor(40, 40, 44))
            if self._image is None:
                p.setPen(QColor(220, 220, 220))
                p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), "no screenshot")
                return
            r, s, vb = self.image_rect(), self._scale(), self.view_box
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(r, self._image, QRectF(vb.x1, vb.y1, vb.width, vb.height))
            p.setClipRect(r)
            off = (r.left() - vb.x1 * s, r.top() - vb.y1 * s)
            # the best candidate last, so its label is on top
            draw_boxes(p, self.boxes[::-1], s, labels=self.labels[::-1], colors=self.colors[::-1], width=2.5,
                       offset=off)
            if self.selected is not None:
                draw_boxes(p, [self.selected], s, labels=["picked"], colors=[QColor(0, 120, 255)], width=3.0,
                           offset=off)
        finally:
            p.end()


# --- the dialog ---------------------------------------------------------------------------------------
class HealingPrompt(QDialog):
    """Asks about one step. ``decision`` holds the answer once the dialog is done."""

    answered = Signal(object)  # Decision

    def __init__(self, request: DecisionRequest, parent: QWidget | None = None, *, auto_place: bool = True) -> None:
        super().__init__(parent)
        self.request = request
        self.decision: Decision | None = None
        self.setWindowTitle(f"RPA Vision: is this right? ({request.workflow}, step "
                            f"{request.step_index + 1} of {request.step_count})")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setModal(False)

        head = QLabel(f"<b>Step {request.step_index + 1} of {request.step_count}:</b> {request.description}"
                      f"<br>Unsure: {request.reason}", self)
        head.setWordWrap(True)
        self.target_label = QLabel(self)
        self.target_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.target_label.setMinimumSize(120, 80)
        if request.target_crop is not None and request.target_crop.size:
            pm = bgr_to_pixmap(request.target_crop)
            if pm.width() > 240 or pm.height() > 240 or (pm.width() < 120 and pm.height() < 120):
                pm = pm.scaled(240 if pm.width() > 120 else 160, 160, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
            self.target_label.setPixmap(pm)
        else:
            self.target_label.setText("(no recorded image)")
        left = QVBoxLayout()
        left.addWidget(QLabel("Recorded element:", self))
        left.addWidget(self.target_label)
        self.cand_text = QLabel(self)
        self.cand_text.setWordWrap(True)
        left.addWidget(self.cand_text)
        left.addStretch(1)

        self.view = CandidateView(self)
        boxes = [c.box for c in request.candidates]
        labels = [f"#{i + 1} {c.confidence:.2f}" for i, c in enumerate(request.candidates)]
        floor = min(0.35, request.min_confidence)
        colors = [confidence_color(c.confidence, request.min_confidence, floor) for c in request.candidates]
        self.zoom_box = QCheckBox("Zoom to the candidates", self)
        if request.screenshot is not None:
            self.view.set_content(request.screenshot, boxes, labels, colors)
            self.zoom_box.setChecked(bool(boxes))
            self.view.zoom_to_candidates(bool(boxes))
        self.zoom_box.setEnabled(bool(boxes))
        self.zoom_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.zoom_box.toggled.connect(self.view.zoom_to_candidates)
        left.insertWidget(left.count() - 1, self.zoom_box)
        lines = [f"#{i + 1}: confidence {c.confidence:.2f} at {int(c.box.x1)},{int(c.box.y1)}"
                 for i, c in enumerate(request.candidates[:5])]
        self.cand_text.setText("\n".join(lines) if lines else "No candidate found on the screen.")
        self.view.picked.connect(self._picked)

        self.confirm_button = QPushButton("Confirm (Enter)", self)
        self.pick_button = QPushButton("Pick another (P)", self)
        self.skip_button = QPushButton("Skip (S)", self)
        self.abort_button = QPushButton("Abort (Esc)", self)
        self.confirm_button.setEnabled(bool(request.candidates))
        self.confirm_button.setDefault(bool(request.candidates))
        self.confirm_button.clicked.connect(self.confirm)
        self.pick_button.clicked.connect(self.start_pick)
        self.skip_button.clicked.connect(self.skip)
        self.abort_button.clicked.connect(self.abort)
        self.hint = QLabel("", self)
        buttons = QHBoxLayout()
        for b in (self.confirm_button, self.pick_button, self.skip_button, self.abort_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        self.confirm_button.setAutoDefault(bool(request.candidates))

        body = QHBoxLayout()
        body.addLayout(left, 0)
        body.addWidget(self.view, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addLayout(body, 1)
        lay.addWidget(self.hint)
        lay.addLayout(buttons)

        self.resize(900, 560)
        if auto_place:
            self.place()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter confirms, P picks, S skips, Esc aborts (whichever button has the focus)."""
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirm()
        elif key == Qt.Key.Key_P:
            self.start_pick()
        elif key == Qt.Key.Key_S:
            self.skip()
        elif key == Qt.Key.Key_Escape:
            self.abort()
        else:
            super().keyPressEvent(event)

    # answers ------------------------------------------------------------------------------------
    def _answer(self, d: Decision) -> None:
        if self.decision is not None:
            return
        self.decision = d
        self.answered.emit(d)
        self.accept() if d.kind.value != "abort" else self.reject()

    @Slot()
    def confirm(self) -> None:
        if self.view.pick_mode and self.view.selected is not None:
            self._answer(Decision.choose(self.view.selected))
        elif self.request.candidates:
            self._answer(Decision.confirm())

    @Slot()
    def start_pick(self) -> None:
        self.view.set_pick_mode(True)
        self.hint.setText("Click the right element on the screenshot.")

    def _picked(self, box: Box) -> None:
        self._answer(Decision.choose(box))

    @Slot()
    def skip(self) -> None:
        self._answer(Decision.skip("skipped in the app"))

    @Slot()
    def abort(self) -> None:
        self._answer(Decision.abort("aborted in the app"))

    def reject(self) -> None:  # Esc and the close button
        if self.decision is None:
            self.decision = Decision.abort("aborted in the app")
            self.answered.emit(self.decision)
        super().reject()

    # placement ---------------------------------------------------------------------------------
    def candidate_rects(self) -> list[Box]:
        """The candidate boxes in logical desktop points (the screenshot covers the primary screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or self.request.screenshot is None:
            return []
        g = screen.geometry()
        sw = self.request.screenshot.shape[1]
        s = g.width() / sw if sw else 1.0
        return [Box(g.x() + c.box.x1 * s, g.y() + c.box.y1 * s, g.x() + c.box.x2 * s, g.y() + c.box.y2 * s)
                for c in self.request.candidates]

    def place(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        ag = screen.availableGeometry()
        area = Box(ag.x(), ag.y(), ag.x() + ag.width(), ag.y() + ag.height())
        self.resize(self.size().boundedTo(QSize(int(ag.width() * 0.6), int(ag.height() * 0.7))))
        size = self.frameGeometry().size().expandedTo(self.size())  # the minimum size may win
        x, y = place_away((size.width(), size.height()), area, self.candidate_rects())
        self.move(x, y)

    def frame_rect(self) -> QRect:
        return self.frameGeometry()


def ask_secret_dialog(name: str, parent: QWidget | None = None) -> str | None:
    """A password field for a secret; None when cancelled."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("RPA Vision: secret needed")
    dlg.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
    edit = QLineEdit(dlg)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    ok, cancel = QPushButton("OK", dlg), QPushButton("Cancel", dlg)
    ok.setDefault(True)
    ok.clicked.connect(dlg.accept)
    cancel.clicked.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(QLabel(f"The workflow types the secret <b>{name}</b>. Its value:", dlg))
    lay.addWidget(edit)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(ok)
    row.addWidget(cancel)
    lay.addLayout(row)
    dlg.secret_edit = edit  # type: ignore[attr-defined]
    try:
        return edit.text() if dlg.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dlg.deleteLater()


# --- the decision provider ------------------------------------------------------------------------------
@dataclass
class _Pending:
    request: DecisionRequest | None
    secret: str | None
    done: threading.Event
    decision: Decision | None = None
    value: str | None = None


class PromptBridge(QObject):
    """The Qt side of ``QtDecisionProvider`` (signals live on the GUI thread)."""

    ask = Signal(object)  # _Pending, delivered on the GUI thread
    prompt_shown = Signal(object)  # HealingPrompt (for the window, the tray and tests)
    decided = Signal(object, object)  # DecisionRequest, Decision

    def __init__(self, handler: Callable[[object], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handler = handler
        self.ask.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _dispatch(self, pending: object) -> None:
        self._handler(pending)


class QtDecisionProvider(DecisionProvider):
    """Answers the replayer from the GUI: the worker thread blocks until the person answers.

    Create it on the GUI thread. ``bridge.prompt_shown`` fires with each dialog, ``bridge.decided``
    with each answer.
    """

    def __init__(self, parent: QWidget | None = None, *,
                 secret_asker: Callable[[str], str | None] | None = None) -> None:
        self.bridge = PromptBridge(self._on_ask, parent)  # type: ignore[arg-type]
        self._parent_widget = parent
        self._cancel = threading.Event()
        self._current: HealingPrompt | None = None
        self._secret_asker = secret_asker or (lambda n: ask_secret_dialog(n, self._parent_widget))
        self.history: list[tuple[DecisionRequest, Decision]] = []

    @property
    def current_prompt(self) -> HealingPrompt | None:
        return self._current

    def cancel(self) -> None:
        """Answer any open (and any later) question with an abort: the replay was stopped."""
        self._cancel.set()
        if self._current is not None:
            self._current.abort()

    def reset(self) -> None:
        self._cancel.clear()

    def _wait(self, pending: _Pending) -> None:
        if threading.current_thread() is threading.main_thread():
            self._on_ask(pending)  # called on the GUI thread itself: ask synchronously
            while not pending.done.is_set():
                from PySide6.QtCore import QCoreApplication, QEventLoop

                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                if self._cancel.is_set():
                    self.cancel()
            return
        self.bridge.ask.emit(pending)
        while not pending.done.wait(0.1):
            if self._cancel.is_set():
                pending.decision = Decision.abort("replay cancelled")
                return

    def decide(self, request: DecisionRequest) -> Decision:
        if self._cancel.is_set():
            return Decision.abort("replay cancelled")
        pending = _Pending(request, None, threading.Event())
        self._wait(pending)
        d = pending.decision or Decision.abort("no answer")
        self.history.append((request, d))
        return d

    def ask_secret(self, name: str) -> str:
        if self._cancel.is_set():
            raise ReplayAborted("replay cancelled")
        pending = _Pending(None, name, threading.Event())
        self._wait(pending)
        if pending.value is None:
            raise ReplayAborted(f"no value given for secret {name!r}")
        return pending.value

    def _on_ask(self, pending: _Pending) -> None:
        if pending.secret is not None:
            pending.value = self._secret_asker(pending.secret)
            pending.done.set()
            return
        assert pending.request is not None
        if self._cancel.is_set():
            pending.decision = Decision.abort("replay cancelled")
            pending.done.set()
            return
        dlg = HealingPrompt(pending.request, self._parent_widget)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._current = dlg
        request = pending.request

        def done(d: Decision) -> None:
            pending.decision = d
            self._current = None
            self.bridge.decided.emit(request, d)
            pending.done.set()

        dlg.answered.connect(done)
        dlg.show()
        dlg.raise_()
        self.bridge.prompt_shown.emit(dlg)
