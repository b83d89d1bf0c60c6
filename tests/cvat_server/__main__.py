"""``python -m cvat_server --port 8080`` (from tests/): run the emulator."""
import argparse
import time

from .profiles import DEFAULT, PROFILES
from .server import CVATServer
from .state import State


def main():
    parser = argparse.ArgumentParser(description="CVAT emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT,
                        help="the CVAT version to speak")
    parser.add_argument("--instant-processing", action="store_true",
                        help="process uploads before answering (default: "
                        "asynchronous, as CVAT does)")
    args = parser.parse_args()
    server = CVATServer(args.host, args.port, profile=args.profile)
    if args.instant_processing:
        server.instant_processing()
    server.start()
    print(f"CVAT {args.profile} emulator on {server.url} (users: "
          f"'{State.ADMIN[0]}' admin, '{State.OTHER[0]}'; passwords in "
          "tests/cvat_server/README.md)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
