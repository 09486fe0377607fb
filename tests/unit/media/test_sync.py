from __future__ import annotations

import pytest

from avatar_streaming.media.sync import AvSync, ntp_from_unix_ms


class Clock:
    def __init__(self, now_ms: float = 10_000.0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms


def test_ntp_conversion() -> None:
    assert ntp_from_unix_ms(0) == 2_208_988_800 << 32
    assert ntp_from_unix_ms(1500) == ((2_208_988_801 << 32) | (1 << 31))


def test_a_frame_takes_the_delay_its_audio_left_with() -> None:
    clock = Clock()
    sync = AvSync(wall_clock=clock)
    assert sync.video_time_ms(9_990.0) == 9_990.0, "no speech, no video lag: at capture time"
    sync.queued_head = lambda: 9_990.0  # speech of that time, queued as it is due
    sync.next_audio_ms = 10_015.0
    assert sync.video_time_ms(9_990.0) == 10_015.0, "it leaves with the playout's next frame"
    sync.queued_head = lambda: None
    for i in range(10):  # an utterance captured from 10 000, leaving 250 ms later
        sync.note_audio(capture_ms=10_000.0 + 20 * i, played_at_ms=10_250.0 + 20 * i)
    sync.note_audio(capture_ms=10_200.0, played_at_ms=10_480.0)  # then 30 ms later still
    assert sync.video_time_ms(10_000.0) == 10_250.0
    assert sync.video_time_ms(10_199.0) == 10_449.0, "each frame with its own audio's delay"
    assert sync.video_time_ms(10_210.0) == 10_490.0


def test_ahead_of_the_audio_a_frame_takes_the_playing_or_the_coming_delay() -> None:
    clock = Clock()
    sync = AvSync(wall_clock=clock, audio_lead_ms=20)
    sync.note_audio(capture_ms=10_000.0, played_at_ms=10_100.0)
    sync.speaking = True
    assert sync.video_time_ms(10_300.0) == 10_400.0, "the utterance playing goes on"
    sync.speaking = False
    for _ in range(40):  # frames leave 100 ms after their capture time
        sync.note_sent(clock.now_ms - 100)
        clock.now_ms += 33
    assert sync.target_delay_ms() == pytest.approx(80.0)
    assert sync.video_time_ms(clock.now_ms + 500) == pytest.approx(clock.now_ms + 580), \
        "the next utterance gets the target delay"


def test_an_implausible_capture_time_is_replaced_by_now() -> None:
    sync = AvSync(wall_clock=lambda: 50_000.0)
    assert sync.video_time_ms(0.0) == pytest.approx(50_000.0)
    assert sync.note_frame(0.0) == pytest.approx(50_000.0)


def test_the_video_lag_is_how_far_behind_frames_leave_capped_and_forgotten() -> None:
    clock = Clock()
    sync = AvSync(wall_clock=clock, audio_lead_ms=35)
    assert sync.video_lag_ms() == 0.0 and sync.target_delay_ms() == -35.0, \
        "no video: the audio may leave the lead before its capture time"
    for _ in range(60):  # a renderer 100 ms behind, 30 fps
        sync.note_sent(clock.now_ms - 100)
        clock.now_ms += 33
    assert sync.video_lag_ms() == pytest.approx(100.0)
    assert sync.target_delay_ms() == pytest.approx(65.0), "the audio leaves 35 ms before"
    sync.note_sent(clock.now_ms - 5_000)
    assert sync.video_lag_ms() < 200, "one late frame moves the lag a little, capped at 1 s"
    clock.now_ms += 1_500
    assert sync.video_lag_ms() == 0.0, "video that stopped is not waited for"


def test_a_new_timeline_that_starts_earlier_replaces_the_history() -> None:
    sync = AvSync(wall_clock=Clock())
    sync.note_audio(capture_ms=10_000.0, played_at_ms=10_100.0)
    sync.note_audio(capture_ms=9_000.0, played_at_ms=10_120.0)  # after an interrupt
    assert sync.delay_for(9_000.0) == 1_120.0
    assert sync.delay_for(10_000.0) == sync.target_delay_ms(), "the old timeline is gone"
