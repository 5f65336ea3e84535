"""ecgsk.preprocessing never imports torch (DESIGN.md section 5)."""

import subprocess
import sys


def test_no_torch_import():
    code = "import sys, ecgsk.preprocessing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
