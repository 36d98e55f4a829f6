"""`python -m flyte_loopback` serves until interrupted and tells where it is and how to configure flyte."""

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

TESTS_DIR = Path(__file__).resolve().parents[1]


def test_the_standalone_server_prints_its_endpoint_and_a_working_config(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "flyte_loopback", "--storage", str(tmp_path), "--log-level", "WARNING"],
        cwd=TESTS_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = server.stdout.readline().removeprefix("endpoint: ").strip()
        config_line = server.stdout.readline()

        response = httpx.post(
            f"{endpoint}/flyteidl2.cluster.ClusterService/SelectCluster",
            content=b"",
            headers={"content-type": "application/proto"},
        )
        config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)

    assert response.status_code == 200
    assert str(tmp_path / "config.yaml") in config_line
    assert config["admin"]["endpoint"] == endpoint.replace("http://", "dns:///")
    assert config["admin"]["insecure"] is True
    assert server.returncode == 0
