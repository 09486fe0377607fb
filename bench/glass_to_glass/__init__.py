"""Glass-to-glass latency: from ``push_video_frame`` to the moment Chromium shows that frame.

Why: the number a person feels is not how fast we encode, but how long after the
renderer hands us a frame it appears on their screen. This benchmark measures
exactly that, end to end, through the real system and the shipped browser page.

How:

- A system listens on loopback; frames of the demo face are pushed at 30 fps on a
  fixed schedule. Each frame carries its counter in its top 64 rows: 16 black/white
  32x32 blocks (the counter's bits) above 16 blocks holding the complement, so a
  frame decodes only when every block pair disagrees clearly (VP8 cannot fake that).
  The Unix time of each push (taken right before ``push_video_frame``) is kept.
- Audio (a quiet tone, 20 ms chunks) is kept queued 100 ms ahead of the video, as in
  a real avatar where speech drives the face and exists first.
- Chromium (Playwright) opens the shipped page. On every presented frame,
  ``requestVideoFrameCallback`` draws the video's top rows to a canvas, decodes the
  counter and records ``performance.timeOrigin + expectedDisplayTime`` (when a person
  sees it) and ``receiveTime`` (when its last packet arrived). Python and Chromium
  share the host's clock (the offset is measured and reported), so
  latency = display time - push time, per frame.

Phases, in this order: 1 viewer; an A/V sync A/B (the shipped page next to one whose
audio is moved out of the video's lip-sync group, to show what lip-sync adds); time to
first frame on fresh pages (WebSocket open, seen by an init script that wraps
``WebSocket``, to the first frame presented, step by step); then 10 viewers (10 pages of
one browser, every page measuring, samples pooled). The heaviest phase runs last: on a
small machine it may overrun its time bound, and then reports an error alone.

Diagnostics to show where the time goes: Chromium's getStats (jitter buffer, decode,
processing delay, audio delays), CPU use, and, on the server, when the shared encoder
started and finished each frame (from the bridge's documented "frame-sent" diagnostics
event).

As root, the script re-executes itself under ``unshare -n`` so Chromium and the server
can pair nothing but 127.0.0.1; elsewhere it runs on the host network (``"netns": false``).

    .venv/bin/python bench/glass_to_glass [--seconds 10] [--viewers 1,10]

Prints one JSON line on stdout; progress goes to stderr.

Modules: ``stamp`` (the counter in the pixels), ``feeds`` (the pushers and the server's
"frame-sent" log), ``page_js`` (the scripts run in Chromium), ``pages`` (Playwright
helpers), ``figures`` (samples into statistics), ``host`` (CPU use, the device),
``phases`` (what is measured, within its time bounds), ``cli`` (options, start-up, JSON).
"""
