"""The report and simulation figures leave matplotlib's global state alone.

Importing :mod:`hepatrial.report` or :mod:`hepatrial.simulate` and drawing their figures must not
select a backend, load pyplot or change ``matplotlib.rcParams``: a user's notebook or application
keeps its own settings. Checked in a fresh interpreter, since other tests import both packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

SCRIPT = textwrap.dedent(
    """
    import sys

    import matplotlib

    def raw():
        # the stored values, read past RcParams.__getitem__: reading "backend" through it
        # would resolve the backend (and import pyplot) itself
        return dict(dict.items(matplotlib.rcParams))

    before = raw()
    import hepatrial.report
    import hepatrial.report.html
    import hepatrial.simulate
    assert raw() == before, "import changed rcParams"

    import pandas as pd

    from hepatrial.report import figures

    rows = pd.DataFrame(
        {
            "subgroup": ["Overall", "Sex"],
            "level": ["", "F"],
            "n": [40, 18],
            "estimate": [0.1, 0.2],
            "ci_low": [-0.1, -0.2],
            "ci_high": [0.3, 0.6],
        }
    )
    uri = figures.forest_plot(rows, xlabel="difference", favours=("A", "B"))
    assert uri.startswith("data:image/png;base64,")
    changed = sorted(k for k, v in raw().items() if before.get(k) != v)
    assert not changed, f"drawing changed rcParams: {changed}"
    assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
    print("ok")
    """
)


def test_importing_and_drawing_leave_matplotlib_settings_and_backend_unchanged() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("MPLBACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_house_style_applies_while_drawing_only() -> None:
    import matplotlib

    from hepatrial.report import figures

    seen: dict[str, object] = {}

    @figures.in_house_style
    def draw() -> str:
        seen["font.size"] = matplotlib.rcParams["font.size"]
        return "drawn"

    before = matplotlib.rcParams["font.size"]
    assert draw() == "drawn"
    assert seen["font.size"] == figures.STYLE["font.size"]
    assert matplotlib.rcParams["font.size"] == before
