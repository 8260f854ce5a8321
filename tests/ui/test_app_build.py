"""Building the app: twice in one process, with no model loaded and no torch imported."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_build_twice_loads_nothing(studio):
    from genart_demo.ui.app import build_app

    loads = studio.cache.loads
    first, second = build_app(studio), build_app(studio)
    assert first is not second
    names = {d.api_name for d in second.fns.values() if d.api_name}
    assert {"generate", "compare"} <= names
    assert studio.cache.loads == loads


def test_building_the_app_imports_no_torch():
    code = (
        "import os, sys; os.environ['GENART_OFFLINE']='1';"
        "from genart_demo.studio import Studio; from genart_demo.ui.app import build_app;"
        "build_app(Studio.create()); print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]
