"""The project's own Qt test application: a form with many kinds of widgets.

Run as ``python -m ui.testapp [--dark] [--style NAME] [--relayout] [--page N] [--geometry WxH+X+Y]
[--dump-geometry FILE] [--log FILE]``. It is the ground-truth application of the test bed: every
widget has an ``objectName``; ``--dump-geometry`` writes each named widget's box in the X
screen's physical pixels; ``--log`` appends one JSON line per user event. Importing this package
does nothing (no Qt import at module level outside ``app``/``window``).
"""
