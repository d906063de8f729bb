import subprocess
import sys

from conftest import REPO


def test_log_to_captures_python_and_native_output(tmp_path):
    log = tmp_path / "step.log"
    code = (
        f"import sys, os, logging; sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r}); "
        "from edsmaps.logs import log_to; "
        f"log_to({str(log)!r}); print('from print'); logging.getLogger('x').info('from logging'); "
        "os.write(2, b'from native code\\n'); raise SystemExit('from a failure')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr == ""
    text = log.read_text()
    for line in ("from print", "from logging", "from native code", "from a failure"):
        assert line in text
