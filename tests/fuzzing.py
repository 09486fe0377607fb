"""Hypothesis strategies for what a broken or hostile client might send."""

from __future__ import annotations

import json

from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12,
)

sdp_ish = st.lists(
    st.sampled_from(["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                     "m=video 9 UDP/TLS/RTP/SAVPF 96",
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:96 VP8/90000", "a=mid:0",
                     "a=ice-ufrag:abcd", "a=ice-pwd:0123456789012345678901",
                     "a=sendrecv",
                     "a=fingerprint:sha-256 00:11", "a=setup:actpass", "c=IN IP4 0.0.0.0"])
    | st.text(max_size=40), max_size=12).map("\r\n".join)

typed = st.fixed_dictionaries(
    {"type": st.sampled_from(["offer", "ice-candidate", "pong", "answer", "ping", "config",
                              "error", "", "OFFER"])},
    optional={"data": json_values
              | st.fixed_dictionaries({"type": st.sampled_from(["offer", "answer"]),
                                       "sdp": sdp_ish})
              | st.fixed_dictionaries({"candidate": st.text(max_size=80)},
                                      optional={"sdpMid": json_values,
                                                "sdpMLineIndex": json_values})},
)

client_messages = st.one_of(st.text(max_size=300), json_values.map(json.dumps),
                            typed.map(json.dumps))
"""Text frames a client could send: anything, any JSON, and near-misses of our protocol."""
