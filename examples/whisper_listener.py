"""Hear every user with Whisper: one transcript per utterance, as a JSON line.

    pip install 'avatar-streaming[whisper]'
    python examples/whisper_listener.py [--port 8080] [--seconds 60]

Open http://127.0.0.1:8080/ and speak: each user is endpointed on their own (speech
start, then 500 ms of silence ends the utterance, 15 s at most), transcribed by Whisper
tiny.en in a thread, and shown the transcript as a caption.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from avatar_streaming import create_streaming_system
from avatar_streaming.listen import Listener, WhisperRecognizer
from avatar_streaming.types import SpeechStartedEvent, TranscriptEvent


def print_line(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(port: int, seconds: float | None) -> None:
    config = {"webrtc": {"signalingPort": port, "iceServers": [],
                         "iceHostAddresses": ["127.0.0.1"]}}
    async with await create_streaming_system(config) as system:
        await system.start()
        async with Listener(WhisperRecognizer()).attach(system) as listener:

            def started(event: SpeechStartedEvent) -> None:
                print_line(event="speech-started", peer=event.peer_id, room=event.room)

            def heard(event: TranscriptEvent) -> None:
                print_line(event="transcript", peer=event.peer_id, room=event.room,
                           text=event.text, final=event.final,
                           seconds=round((event.end - event.start) / 1000, 2))

            listener.on("speech-started", started)
            listener.on("transcript", heard)
            print_line(event="listening", url=f"ws://127.0.0.1:{system.server.port}/")
            with contextlib.suppress(TimeoutError):  # --seconds passed
                await asyncio.wait_for(asyncio.Event().wait(), seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--seconds", type=float, default=None, help="default: until Ctrl+C")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.seconds))
