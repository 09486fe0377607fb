"""The shipped page in Janus mode, in Chromium; run by test_janus_page.py as root in a
fresh network namespace.

Janus refuses loopback for media, so everything runs in a namespace of its own with
one private address (janus_server.ADDRESS) on an interface there: Janus, our system in
SFU mode (pushing 512x512 frames at 30 fps and a 660 Hz tone) and Chromium. The page is
served by our system at http://127.0.0.1:PAGE_PORT/ (a secure context, so the page may
use the microphone); Janus allows that origin only (CORS, enforced). The page must learn
the room from GET /sfu, watch our feed through Janus, and publish its fake microphone
(a 440 Hz tone from a WAV file) into the room, which our system must hear as
"incoming-audio" from the page's id there. Then Janus is killed and started again: the
page must come back by itself, watching our new publication and heard under its new id.
Prints one JSON object of what was measured.

    unshare -n python -m tests.browser.janus_page_scenario    (from the repository root)
"""

from __future__ import annotations

import asyncio
import sys
import time
import wave
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

from avatar_streaming import StreamingSystem, create_streaming_system
from avatar_streaming.sfu import RelayState
from tests.browser.conftest import CHROMIUM_FLAGS, chromium_path, wait_state
from tests.browser.probes import AUDIO_PITCH, AUDIO_STATS, VIDEO_RATE
from tests.feeds import feeding_frames, feeding_tone
from tests.integration import janus_server
from tests.integration.janus_scenario import Heard, wait_for
from tests.signals import quadrants, tone

ROOM = 4343
PAGE_PORT = 8080
PAGE = f"http://127.0.0.1:{PAGE_PORT}"
OUR_TONE_HZ = 660.0
MIC_TONE_HZ = 440.0
WINDOW_S = 4.0


def write_mic_wav(path: Path) -> Path:
    """Ten seconds of the microphone's tone; Chromium's fake device plays it in a loop."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(tone(MIC_TONE_HZ, 10.0, 48000)[:, 0].astype("<i2").tobytes())
    return path


async def watch_page(page: Page, system: StreamingSystem, heard: Heard) -> dict[str, Any]:
    """Open the page as a user would; what it shows, what it plays, what we hear of it."""
    opened = time.monotonic()
    await page.goto(f"{PAGE}/")
    await wait_state(page, "connected", 15)
    out: dict[str, Any] = {"connected_after_s": round(time.monotonic() - opened, 2)}
    out["client"] = await page.evaluate("""() => {
        const c = window.avatarClient;
        return {mode: c.mode, peerId: c.peerId, janus: c.janus && {url: c.janus.url,
                room: c.janus.room, watch: c.janus.watch, name: c.janus.name},
                hasRemoteStream: !!c.remoteStream, hasLocalStream: !!c.localStream,
                pcIsViewers: c.pc === c.viewer.pc, errors: c.errors};
    }""")
    await asyncio.sleep(1.0)  # past the first keyframe and the jitter buffer's start
    out["video"] = await page.evaluate(VIDEO_RATE, WINDOW_S)
    out["audio"] = await page.evaluate(AUDIO_STATS)
    out["audio_hz"] = round(await page.evaluate(AUDIO_PITCH, 2), 1)
    mic_id = str(out["client"]["peerId"])
    await wait_for(lambda: len(heard.chunks.get(mic_id, [])) >= 20, 10, "the page's microphone")
    out["mic"] = {"page_id": mic_id, **heard.figures(mic_id)}
    out["page_stats"] = await page.evaluate("window.avatarClient.stats")
    relay = system.sfu
    assert relay is not None
    out["status_users"] = relay.status()["users"]
    out["direct_peers"] = len(system.server.peers)
    out["encoded_once"] = {"video_viewers": system.video_stream.viewer_count,
                           "audio_viewers": system.audio_stream.viewer_count}
    return out


async def after_restart(page: Page, janus: janus_server.JanusProcess, system: StreamingSystem,
                        heard: Heard) -> dict[str, Any]:
    """Janus crashes and comes back: the page reconnects by itself, to our new feed."""
    relay = system.sfu
    assert relay is not None
    janus.kill()
    killed = time.monotonic()
    await page.wait_for_function("window.avatarClient.state !== 'connected'", timeout=10_000)
    await asyncio.to_thread(janus.start)
    await wait_for(lambda: relay.publications == 2 and relay.state is RelayState.PUBLISHED,
                   15, "publishing again")
    await wait_state(page, "connected", 15)
    out: dict[str, Any] = {"reconnected_after_s": round(time.monotonic() - killed, 2),
                           "feed_id": relay.feed_id,
                           "connect_count": await page.evaluate("window.avatarClient.connectCount")}
    out["video"] = await page.evaluate(VIDEO_RATE, 2)
    mic_id = str(await page.evaluate("window.avatarClient.peerId"))
    await wait_for(lambda: len(heard.chunks.get(mic_id, [])) >= 10, 10, "the microphone again")
    out["mic"] = {"page_id": mic_id, **heard.figures(mic_id)}
    return out


async def scenario(folder: Path, janus: janus_server.JanusProcess) -> dict[str, Any]:
    began = time.monotonic()
    system = await create_streaming_system({
        "webrtc": {"signalingPort": PAGE_PORT, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": [janus_server.ADDRESS],
                   "sfu": {"type": "janus", "url": janus_server.URL, "room": ROOM}},
        "media": {"videoWidth": 512, "videoHeight": 512, "videoFps": 30}})
    heard = Heard(system)
    relay = system.sfu
    assert relay is not None
    console: list[str] = []
    wav = write_mic_wav(folder / "mic.wav")
    result: dict[str, Any] = {}
    try:
        await system.start()
        async with feeding_frames(system, quadrants()), feeding_tone(system, OUR_TONE_HZ), \
                async_playwright() as playwright:
            await wait_for(lambda: relay.state is RelayState.PUBLISHED, 10, "publishing")
            result["feed_id"] = relay.feed_id
            browser = await playwright.chromium.launch(
                executable_path=chromium_path(),
                args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}"])
            try:
                page = await browser.new_page()
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
                result.update(await watch_page(page, system, heard))
                result["restart"] = await after_restart(page, janus, system, heard)
            finally:
                await browser.close()
    except BaseException:
        print("\n".join(console[-40:]), file=sys.stderr)
        raise
    finally:
        await system.stop()
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    return result


def main() -> None:
    janus_server.scenario_main("janus-page-", scenario, allow_origin=PAGE)


if __name__ == "__main__":
    main()
