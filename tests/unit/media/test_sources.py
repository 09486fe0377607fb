from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import av
import numpy as np
import pytest

from avatar_streaming import VideoFrame
from avatar_streaming.media.audio import FRAME_SAMPLES, TRACK_RATE, AudioQueue
from avatar_streaming.media.holds import MAX_HELD_FRAMES, HeldPixels
from avatar_streaming.media.pixels import PixelRing
from avatar_streaming.media.sources import AudioPlayout, VideoSource
from avatar_streaming.media.sync import AvSync
from avatar_streaming.media.video import Picture, accept_frame
from avatar_streaming.types import PlaybackEvent, PlaybackInterruptedEvent


class Played:
    def __init__(self) -> None:
        self.frames: list[tuple[np.ndarray, int]] = []
        self.events: list[tuple[str, object]] = []
        self.wall_ms = 5000.0

    def frame(self, samples: np.ndarray, position: int) -> None:
        self.frames.append((samples, position))

    def event(self, name: str, payload: object) -> None:
        self.events.append((name, payload))


def playout(max_s: float = 10) -> tuple[AudioPlayout, Played]:
    played = Played()
    out = AudioPlayout(AudioQueue(int(max_s * TRACK_RATE)), played.frame, played.event,
                       wall_clock=lambda: played.wall_ms)
    return out, played


def test_queued_audio_plays_in_20ms_frames_then_silence_never_faster() -> None:
    out, played = playout()
    speech = np.arange(1, 2 * FRAME_SAMPLES + 1, dtype=np.int16)  # 40 ms
    out.queue.push(speech, timestamp_ms=1000.0)
    for _ in range(3):
        out.tick()
    assert [p for _, p in played.frames] == [0, FRAME_SAMPLES, 2 * FRAME_SAMPLES]
    assert np.array_equal(np.concatenate([f for f, _ in played.frames[:2]]), speech)
    assert not played.frames[2][0].any(), "silence once the queue is dry"


def test_started_and_finished_carry_the_timestamps_they_concern() -> None:
    out, played = playout()
    out.tick()
    assert played.events == [], "silence starts nothing"
    out.queue.push(np.ones(FRAME_SAMPLES + FRAME_SAMPLES // 2, np.int16), timestamp_ms=1000.0)
    out.tick()
    played.wall_ms += 20
    out.tick()
    assert played.events == [
        ("playback-started", PlaybackEvent(timestamp=1000.0, at=5000.0)),
        ("playback-finished", PlaybackEvent(timestamp=pytest.approx(1030.0), at=5030.0)),
    ]


def test_interrupt_drops_everything_and_the_next_frame_is_silence() -> None:
    out, played = playout()
    out.queue.push(np.ones(TRACK_RATE * 2, np.int16), timestamp_ms=1000.0)  # 2 s
    out.tick()
    event = out.interrupt()
    out.tick()
    assert not played.frames[-1][0].any()
    assert event == PlaybackInterruptedEvent(dropped_ms=pytest.approx(1980.0),
                                             timestamp=pytest.approx(1020.0), at=5000.0)
    assert [name for name, _ in played.events] == ["playback-started", "playback-interrupted"]
    out.queue.push(np.ones(FRAME_SAMPLES, np.int16), timestamp_ms=9000.0)
    out.tick()
    assert played.events[-2][0] == "playback-started", "speech after a barge-in starts anew"


def test_speech_waits_for_a_renderer_behind_it_once_per_utterance() -> None:
    out, played = playout()
    for _ in range(40):  # frames of capture time T go out at T + 100 ms
        out.sync.note_sent(played.wall_ms - 100)
    out.queue.push(np.ones(TRACK_RATE // 5, np.int16), timestamp_ms=played.wall_ms)  # 200 ms
    started_at = None
    for _ in range(14):
        out.tick()
        if started_at is None and played.frames[-1][0].any():
            started_at = played.wall_ms
        played.wall_ms += 20
        out.sync.note_sent(played.wall_ms - 100)
    assert started_at == 5000.0 + 100, "held until the frames of its time go out"
    loud = [bool(f.any()) for f, _ in played.frames]
    assert loud == [False] * 5 + [True] * 9, "then it plays without a gap"
    assert played.events[0] == ("playback-started", PlaybackEvent(timestamp=5000.0, at=5100.0))


def picture(stamp_ms: float) -> Picture:
    frame = av.VideoFrame(16, 16, "yuv420p")
    return Picture(lambda: frame, stamp_ms)


class Call:
    def __init__(self, at_ms: float, callback: Callable[[], None]) -> None:
        self.at_ms, self.callback, self.cancelled = at_ms, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimer:
    """The holds' time, moved by the test: callbacks run as ``advance`` passes their time."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self._calls: list[Call] = []

    def now_ms(self) -> float:
        return self.now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Call:
        call = Call(self.now + delay_s * 1000, callback)
        self._calls.append(call)
        return call

    def advance(self, ms: float) -> None:
        end = self.now + ms
        while due := [c for c in self._calls if c.at_ms <= end and not c.cancelled]:
            call = min(due, key=lambda c: c.at_ms)
            self._calls.remove(call)
            self.now = max(self.now, call.at_ms)
            call.callback()
        self.now = end


def timed_source(**sync: float) -> tuple[VideoSource, ManualTimer]:
    timer = ManualTimer()
    return VideoSource(16, 16, AvSync(wall_clock=timer.now_ms, **sync), timer=timer), timer


def test_a_frame_pushed_ahead_of_its_audio_waits_until_that_audio_plays() -> None:
    source, timer = timed_source()
    seq, shown = source.mailbox.latest
    ahead = picture(timer.now + 150)
    source.publish(ahead)
    assert source.mailbox.latest == (seq, shown) and source.held == 1, "held, not shown"
    timer.advance(149)
    assert source.mailbox.latest == (seq, shown), "not before its time"
    timer.advance(1)
    assert source.mailbox.latest[1] is ahead and source.held == 0, "shown when due"
    on_time = picture(timer.now)
    source.publish(on_time)
    assert source.mailbox.latest[1] is on_time, "a frame due now goes at once"


def test_drop_held_drops_the_frames_waiting_and_they_never_show() -> None:
    source, timer = timed_source()
    for i in range(5):
        source.publish(picture(timer.now + 100 + i * 33))
    seq, _ = source.mailbox.latest
    assert source.drop_held() == 5
    timer.advance(350)
    assert source.mailbox.latest[0] == seq, "nothing shown after the drop"


def test_frames_due_together_show_the_latest_and_a_burst_past_the_cap_goes_at_once() -> None:
    source, timer = timed_source()
    first, second = picture(timer.now + 100), picture(timer.now + 110)
    source.publish(first)
    source.publish(second)
    timer.advance(100)  # the second is due within half a frame of the first
    assert source.mailbox.latest[1] is second and source.held == 0
    seq = source.mailbox.latest[0]
    assert source.mailbox.next_after(seq - 1)[1] is second, "the first was never shown"
    burst = [picture(timer.now + 1000 + i) for i in range(MAX_HELD_FRAMES + 1)]
    for p in burst:
        source.publish(p)
    assert source.held == MAX_HELD_FRAMES and source.mailbox.latest[1] is burst[0], \
        "one over the cap: the oldest goes at once"


def test_a_frame_pushed_with_its_audio_leaves_at_once_whatever_the_audio_lead() -> None:
    source, timer = timed_source(audio_lead_ms=35)
    frame = picture(timer.now)
    source.publish(frame)
    assert source.held == 0 and source.mailbox.latest[1] is frame, \
        "video is never held for the lead"
    source.sync.note_audio(capture_ms=timer.now, played_at_ms=timer.now - 100)  # TTS ahead
    later = picture(timer.now + 20)
    source.publish(later)
    assert source.held == 0 and source.mailbox.latest[1] is later, "its audio has left: not held"


def test_speech_held_for_a_renderer_starts_to_the_sample_not_to_the_frame() -> None:
    out, played = playout()
    for _ in range(40):  # frames of capture time T go out at T + 110 ms
        out.sync.note_sent(played.wall_ms - 110)
    out.queue.push(np.ones(TRACK_RATE // 5, np.int16), timestamp_ms=played.wall_ms)
    for _ in range(8):
        out.tick()
        played.wall_ms += 20
        out.sync.note_sent(played.wall_ms - 110)
    first = next(i for i, (f, _) in enumerate(played.frames) if f.any())
    assert first == 5, "the frame from 100 to 120 ms holds the start"
    samples = played.frames[first][0]
    assert not samples[:FRAME_SAMPLES // 2].any() and samples[FRAME_SAMPLES // 2:].all(), \
        "silence for its first 10 ms, speech from 110 ms on"
    assert played.events[0] == ("playback-started", PlaybackEvent(timestamp=5000.0, at=5110.0))
    assert out.sync.audio_delay_ms == pytest.approx(110.0)


async def test_a_briefly_held_frame_is_converted_by_the_encoder_not_in_the_push() -> None:
    source, timer = timed_source()
    converted_in: list[str] = []

    def convert() -> av.VideoFrame:
        converted_in.append("loop" if threading.current_thread() is threading.main_thread()
                            else "thread")
        return av.VideoFrame(16, 16, "yuv420p")

    source.publish(Picture(convert, timer.now + 30))  # 30 ms ahead of its time
    assert source.held == 1 and converted_in == [], "held, its pixels still in the ring"
    timer.advance(30)
    await asyncio.get_running_loop().run_in_executor(None, source.mailbox.latest[1].yuv)
    assert converted_in == ["thread"], "converted once, off the event loop"


@pytest.mark.parametrize("slots", [3, 4, 8])
def test_frames_of_a_renderer_running_ahead_outlive_the_pixel_ring(slots: int) -> None:
    ring = PixelRing(slots)
    source, timer = timed_source()
    source = VideoSource(16, 16, source.sync, timer=timer, ring_slots=slots)
    pictures = []
    for i in range(12):  # pushed in a burst, shown 200 ms on
        shade = np.full((16, 16, 4), i * 20, np.uint8)
        pictures.append(accept_frame(VideoFrame(shade, 16, 16, timer.now + 200 + i), ring))
        source.publish(pictures[-1])
    assert source.held == 12
    frames = [p.yuv() for p in pictures]
    kept = 12 - HeldPixels(slots).convert_after
    assert all(f is not None for f in frames[:kept]), "the ring reused no held frame's slot"
    lumas = [int(f.to_ndarray()[0, 0]) for f in frames if f is not None]
    assert lumas == sorted(lumas) and len(set(lumas)) == len(lumas), "each kept its own pixels"


def test_a_ring_too_small_to_hold_frames_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a ring of at least 3 slots, got 2"):
        VideoSource(16, 16, ring_slots=2)


def test_speech_queued_ahead_waits_for_its_time_less_the_audio_lead() -> None:
    played = Played()
    out = AudioPlayout(AudioQueue(10 * TRACK_RATE), played.frame, played.event,
                       wall_clock=lambda: played.wall_ms,
                       sync=AvSync(wall_clock=lambda: played.wall_ms, audio_lead_ms=20))
    out.queue.push(np.ones(TRACK_RATE // 10, np.int16), timestamp_ms=played.wall_ms + 100)
    for _ in range(8):  # a synthesizer 100 ms ahead of its stamps; frames on time
        out.sync.note_sent(played.wall_ms)
        out.tick()
        played.wall_ms += 20
    assert played.events[0] == ("playback-started", PlaybackEvent(timestamp=5100.0, at=5080.0)), \
        "20 ms before its time: the lead, not as soon as it was queued"


def test_a_renderer_catching_up_is_followed_within_2s_without_a_gap_or_a_repeat() -> None:
    out, played = playout()
    ramp = (np.arange(6 * TRACK_RATE) // 8).astype(np.int16)  # rises, never repeats a run
    lag_ms = 200.0
    for _ in range(40):
        out.sync.note_sent(played.wall_ms - lag_ms)
    out.queue.push(ramp, timestamp_ms=played.wall_ms)
    delays = []
    for i in range(250):  # 5 s
        if i == 50:
            lag_ms = 50.0  # the renderer catches up
        out.sync.note_sent(played.wall_ms - lag_ms)
        out.tick()
        if out.playing:
            delays.append((i, out.sync.audio_delay_ms))
        played.wall_ms += 20
    assert delays[0][1] == pytest.approx(200.0), "it started with the renderer's lag"
    settled = next(i for i, d in delays if i > 50 and abs(d - 50.0) <= 10)
    assert (settled - 50) * 20 <= 2000, f"followed in {(settled - 50) * 20} ms"
    assert all(abs(d - 50.0) <= 10 for i, d in delays if i >= settled), "and stays there"
    out_samples = np.concatenate([f for f, _ in played.frames])
    speech = out_samples[np.argmax(out_samples > 0):]
    speech = speech[:np.argmax(speech == ramp[-1])]
    assert np.all(np.diff(speech.astype(int)) >= 0), "no repeat: the ramp never goes back"
    assert np.all(np.diff(speech.astype(int)) <= 1), "no gap: nothing of the ramp skipped"


def test_a_steady_renderer_lag_holds_for_ten_minutes_without_drift() -> None:
    out, played = playout(max_s=2)
    chunk = np.ones(TRACK_RATE // 10, np.int16)  # 100 ms a chunk, kept 300 ms ahead
    stamp, lag_ms = played.wall_ms, 120.0
    delays = []
    for i in range(30_000):  # 10 minutes of 20 ms frames
        while stamp < played.wall_ms + 300:
            out.queue.push(chunk, timestamp_ms=stamp)
            stamp += 100
        out.sync.note_sent(played.wall_ms - lag_ms)
        out.tick()
        if i % 1000 == 999:
            delays.append(out.sync.audio_delay_ms)
        played.wall_ms += 20
    assert all(abs(d - lag_ms) <= 1 for d in delays[1:]), f"drifted: {delays}"
    assert all(f.any() for f, _ in played.frames[10:]), "no gap in ten minutes"


def test_after_an_interrupt_the_next_utterance_starts_on_its_own_time() -> None:
    out, played = playout()
    for _ in range(40):
        out.sync.note_sent(played.wall_ms - 100)
    out.queue.push(np.ones(TRACK_RATE, np.int16), timestamp_ms=played.wall_ms)
    for _ in range(20):
        out.sync.note_sent(played.wall_ms - 100)
        out.tick()
        played.wall_ms += 20
    out.interrupt()
    stamp = played.wall_ms + 40  # the reply, stamped 40 ms on
    out.queue.push(np.ones(TRACK_RATE // 5, np.int16), timestamp_ms=stamp)
    for _ in range(12):
        out.sync.note_sent(played.wall_ms - 100)
        out.tick()
        played.wall_ms += 20
    started = [e for name, e in played.events if name == "playback-started"]
    assert started[-1] == PlaybackEvent(timestamp=stamp, at=stamp + 100)
    assert out.sync.delay_for(stamp) == pytest.approx(100.0), "the frames of the reply too"


def test_a_frame_pushed_while_the_encoder_is_busy_is_taken_next_not_skipped() -> None:
    source, timer = timed_source()
    box = source.mailbox
    seen, _ = box.latest
    now = timer.now
    first, second, third = picture(now), picture(now + 1), picture(now + 2)
    source.publish(first)
    source.publish(second)  # both while the encoder was busy
    seen, taken, fresh = box.next_after(seen)
    assert taken is first and fresh
    seen, taken, fresh = box.next_after(seen)
    assert taken is second and fresh
    assert box.next_after(seen) == (seen, second, False), "then the latest, as a repeat"
    for p in (picture(now + 3), picture(now + 4), third):
        source.publish(p)
    seen, taken, fresh = box.next_after(seen)
    assert fresh and taken is not third and box.next_after(seen)[1] is third, \
        "three behind: the oldest is skipped, the last two go in order"
