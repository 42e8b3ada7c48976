"""``make class``: the app served to a classroom's network, with its address as a terminal QR code.

Streamlit listens on every interface (``--server.address 0.0.0.0``) so that phones on the same
network reach it; this prints the machine's address, a QR code of it for the terminal, and how
students join, then runs the server in the foreground (Ctrl+C stops it). The join links and QR
codes the app shows use the same address ($BERTLAB_CLASS_URL), also when the teacher's browser
opens it as localhost.

    python scripts/class_server.py [--port 8501]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def network_address() -> str:
    """This machine's address on its network (the interface of the default route), else
    127.0.0.1. A UDP socket's connect sends nothing; it only picks the interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8501)))
    args = parser.parse_args(argv)
    url = f"http://{network_address()}:{args.port}"

    import segno

    print(f"\nBERT Lab for a class: {url}\n")
    segno.make(url, error="m").terminal(compact=True)
    print(f"\nStudents: scan this code or open {url} on the same network, then type the class "
          "code (or scan the QR code) that \"Start a class\" in the sidebar shows.\n", flush=True)
    os.environ["BERTLAB_CLASS_URL"] = url
    # ui.serve: `streamlit run app.py` with the models loaded before the first student arrives.
    cmd = [sys.executable, "-m", "ui.serve",
           "--server.address", "0.0.0.0", "--server.port", str(args.port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    os.chdir(REPO)
    os.execv(sys.executable, cmd)


if __name__ == "__main__":
    main()
