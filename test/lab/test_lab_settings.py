"""The JupyterLab settings scripts/install-jupyter.sh installs: no news prompt on `npm start`.

JupyterLab 4 asks "Would you like to get notified about official Jupyter news?" while the
setting @jupyterlab/apputils-extension:notification fetchNews is "none" (its default). The
project installs overrides.d/lora-recycle.json (scripts/install-lab-settings.sh) to make it
"false". These tests install into a temporary prefix and read the result with JupyterLab's own
settings code and schemas from the .venv.
"""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
from jupyterlab_server.settings_utils import get_settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
PLUGIN = "@jupyterlab/apputils-extension:notification"


def install(prefix: Path) -> Path:
    subprocess.run(["bash", str(ROOT / "scripts" / "install-lab-settings.sh"), str(prefix)], check=True)
    return prefix / "share" / "jupyter" / "lab" / "settings"


def effective(app_settings: Path, user_settings: Path) -> dict:
    result, warnings = get_settings(str(app_settings), str(SCHEMAS), str(user_settings), schema_name=PLUGIN)
    assert warnings == [] or all(w is None for w in warnings), warnings
    properties = result["schema"]["properties"]
    return {key: value.get("default") for key, value in properties.items()}


def test_installed_overrides_turn_jupyter_news_off(tmp_path):
    app_settings = install(tmp_path / "env")
    installed = json.loads((app_settings / "overrides.d" / "lora-recycle.json").read_text())
    assert installed[PLUGIN]["fetchNews"] == "false"
    defaults = effective(app_settings, tmp_path / "user")
    assert defaults["fetchNews"] == "false"  # "none" (ask) without the overrides
    assert defaults["checkForUpdates"] is False


def test_without_the_overrides_jupyterlab_would_ask(tmp_path):
    (tmp_path / "empty").mkdir()
    assert effective(tmp_path / "empty", tmp_path / "user")["fetchNews"] == "none"


def test_the_overrides_fit_the_installed_jupyterlab_schema():
    overrides = json.loads((ROOT / "scripts" / "lab-overrides.json").read_text())
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((SCHEMAS / package / f"{name}.json").read_text())
        jsonschema.validate(values, schema)  # the schema has additionalProperties: false

