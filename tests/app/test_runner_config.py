"""The dashboard's Streamlit configuration keeps the post-script collection off.

``runner.postScriptGC`` is a hidden option (not in ``streamlit config show``):
this is what notices when the line is lost. Why it is off: .streamlit/config.toml.
"""

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_streamlit_does_not_collect_garbage_after_every_run():
    runner = tomllib.loads(CONFIG.read_text())["runner"]
    assert runner["postScriptGC"] is False
