from __future__ import annotations

import pytest

from avatar_streaming.media.sync import AvSync, ntp_from_unix_ms


def test_ntp_conversion() -> None:
    assert ntp_from_unix_ms(0) == 2_208_988_800 << 32
    assert ntp_from_unix_ms(1500) == ((2_208_988_801 << 32) | (1 << 31))


def test_video_is_shown_when_the_audio_of_its_capture_time_plays() -> None:
    now = [10_000.0]
    sync = AvSync(slew_ms_per_frame=1000, wall_clock=lambda: now[0])
    assert sync.video_time_ms(9_990.0) == 9_990.0, "no speech yet: shown at capture time"
    sync.note_audio(capture_ms=10_000.0, played_at_ms=10_250.0)  # audio queued 250 ms
    assert sync.video_time_ms(10_000.0) == 10_250.0


def test_the_video_clock_follows_a_new_delay_at_a_bounded_rate() -> None:
    sync = AvSync(slew_ms_per_frame=4, wall_clock=lambda: 0.0)
    sync.note_audio(capture_ms=0.0, played_at_ms=100.0)
    shown = [sync.video_time_ms(0.0) for _ in range(30)]
    assert shown[0] == 4 and shown[24] == 100 and shown[-1] == 100
    sync.note_audio(capture_ms=0.0, played_at_ms=0.0)
    assert sync.video_time_ms(0.0) == 96, "backwards no faster than forwards"


def test_an_implausible_capture_time_is_replaced_by_now() -> None:
    sync = AvSync(wall_clock=lambda: 50_000.0)
    assert sync.video_time_ms(0.0) == pytest.approx(50_000.0)


def test_render_lag_is_how_far_behind_frames_go_out_capped_and_forgotten() -> None:
    now = [10_000.0]
    sync = AvSync(wall_clock=lambda: now[0])
    assert sync.render_lag_ms() == 0.0, "no frames: nothing to wait for"
    for _ in range(60):  # a renderer 100 ms behind, 30 fps
        sync.note_frame(now[0] - 100)
        now[0] += 33
    assert sync.render_lag_ms() == pytest.approx(100.0)
    sync.note_frame(now[0] - 5_000)
    assert sync.render_lag_ms() < 200, "one late frame moves the lag a little, capped at 1 s"
    now[0] += 1_500
    assert sync.render_lag_ms() == 0.0, "a renderer that stopped is not waited for"


def test_frames_leave_the_audio_lead_after_their_audio_and_speech_waits_that_much_less() -> None:
    now = [10_000.0]
    sync = AvSync(wall_clock=lambda: now[0], audio_lead_ms=35)
    sync.note_audio(capture_ms=10_000.0, played_at_ms=10_020.0)
    assert sync.note_frame(10_000.0) == 10_055.0, "its audio plays at T + 20, the frame 35 later"
    for _ in range(60):  # a renderer 100 ms behind
        sync.note_frame(now[0] - 100)
        now[0] += 33
    assert sync.render_lag_ms() == pytest.approx(100.0, abs=1)
    assert sync.speech_hold_ms() == pytest.approx(65.0, abs=1), "35 ms before its frames"
    for _ in range(60):  # a renderer 20 ms behind: less than the lead
        sync.note_frame(now[0] - 20)
        now[0] += 33
    assert sync.speech_hold_ms() == 0.0
