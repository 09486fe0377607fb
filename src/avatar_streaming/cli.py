"""The ``avatar-streaming`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from .demo.runner import run_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="avatar-streaming", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="serve a talking, listening demo avatar")
    demo.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8081, help="port (default 8081; 0 = any)")
    demo.add_argument("--duration", type=float, default=None,
                      help="stop after this many seconds (default: run until Ctrl+C)")
    demo.add_argument("--parrot", action="store_true",
                      help="repeat what is heard instead of transcribing it (the default "
                           "where the [whisper] extra is not installed)")
    demo.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_demo(args.host, args.port, args.duration, False if args.parrot else None))


async def _demo(host: str, port: int, duration_s: float | None,
                transcribe: bool | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_demo(host, port, duration_s=duration_s, stop=stop, transcribe=transcribe)


if __name__ == "__main__":
    main()
