"""One viewer's end of a shared stream: its RTP header, its SRTP, its socket.

aiortc negotiates the sender, runs ICE, DTLS and RTCP; once it starts the
sender we learn the negotiated payload types, SSRCs and header extension ids
and from then on write every shared payload with this viewer's header. NACKs
are answered from the broadcast's shared history (as RTX when negotiated);
PLI and FIR ask the shared encoder for a keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections.abc import Callable

from aiortc import RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from ..media.fanout import Broadcast, Payload
from . import _aiortc_compat as compat

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_SEQ_MASK = 0xFFFF
_TS_MASK = 0xFFFFFFFF


class ParkedTrack(MediaStreamTrack):
    """A track that never yields a frame: aiortc's own RTP loop for the sender waits on it."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> None:  # type: ignore[override]
        await asyncio.get_running_loop().create_future()  # until the sender's task is cancelled


class RtpOut:
    """Sends a Broadcast to one peer through one aiortc RTCRtpSender."""

    def __init__(self, sender: RTCRtpSender, broadcast: Broadcast,
                 request_keyframe: Callable[[], None] | None = None) -> None:
        self._sender = sender
        self._broadcast = broadcast
        self._payload_type = 0
        self._rtx_payload_type: int | None = None
        self._ssrc, self._rtx_ssrc = compat.sender_ssrcs(sender)
        self._path: compat.SendPath | None = None
        self._seq_origin = random.randrange(1 << 15)  # low half: no wrap early on
        self._rtx_seq = random.randrange(1 << 15)
        self._ts_origin = random.randrange(1 << 32)
        self._first_index = 0
        self._mid = b""
        self._mid_id = 0
        self._abs_id = 0
        self._ext_head = b""
        self._ext_tail = b""
        self.packets = 0
        self.octets = 0
        self.retransmits = 0
        self.closed = False
        self._request_keyframe = request_keyframe
        compat.take_over_sender(sender, on_send=self._start, on_path=self._set_path,
                                on_nack=self._retransmit,
                                on_keyframe_request=self._keyframe_requested)

    def _set_path(self, path: compat.SendPath | None) -> None:
        """Where packets go: resolved once when the sender starts (DTLS is up), None after."""
        self._path = path

    def _keyframe_requested(self, kind: str) -> None:
        """PLI or FIR (``kind`` "pli" or "fir") from this viewer."""
        log.debug("%s viewer asks for a keyframe (%s)", self._broadcast.kind, kind.upper())
        self._broadcast.note_keyframe_request(kind)
        if self._request_keyframe is not None:
            self._request_keyframe()

    def _start(self, parameters: RTCRtpSendParameters) -> None:
        """aiortc started the sender: learn what was negotiated, then join the broadcast."""
        codec = parameters.codecs[0]
        self._payload_type = codec.payloadType or 0
        self._rtx_payload_type = next(
            (c.payloadType for c in parameters.codecs
             if is_rtx(c) and c.parameters.get("apt") == codec.payloadType), None)
        for ext in parameters.headerExtensions:
            if ext.uri == _MID_URI:
                self._mid_id = ext.id
            elif ext.uri == _ABS_SEND_TIME_URI:
                self._abs_id = ext.id
        self._mid = (parameters.muxId or "").encode()
        if not self._mid:
            self._mid_id = 0
        self._prepare_extensions()
        if self.closed:
            return
        self._first_index = self._broadcast.next_index
        self._broadcast.join(self)

    def close(self) -> None:
        self.closed = True
        self._broadcast.leave(self)

    def send_frame(self, payloads: list[Payload], send_time_ntp: int, media_ntp: int) -> None:
        """Write, protect and send one frame's payloads (called by the Broadcast)."""
        path = self._path
        if path is None:
            return
        protect, send = path.protect, path.send
        extensions = self._extensions(send_time_ntp)
        octets = 0
        for payload in payloads:
            packet = self._header(payload, self._payload_type, self._ssrc,
                                  self._seq(payload.index), extensions) + payload.data
            send(protect(packet))
            octets += len(payload.data)
        self.packets += len(payloads)
        self.octets += octets
        self._broadcast.packets_sent += len(payloads)
        self._broadcast.bytes_sent += octets
        compat.record_sent(self._sender, ntp_time=media_ntp,
                           rtp_timestamp=self._timestamp(payloads[-1]),
                           packets=self.packets, octets=self.octets)

    def _seq(self, index: int) -> int:
        return (self._seq_origin + index - self._first_index) & _SEQ_MASK

    def _timestamp(self, payload: Payload) -> int:
        return (self._ts_origin + payload.timestamp) & _TS_MASK

    def _header(self, payload: Payload, payload_type: int, ssrc: int, seq: int,
                extensions: bytes) -> bytes:
        first = 0x80 | (0x10 if extensions else 0)
        second = (0x80 if payload.marker else 0) | payload_type
        return _HEADER.pack(first, second, seq, self._timestamp(payload), ssrc) + extensions

    def _extensions(self, send_time_ntp: int) -> bytes:
        """The one-byte-header extension block (RFC 8285): abs-send-time, then mid."""
        if not self._abs_id:
            return self._ext_head + self._ext_tail
        abs_send_time = ((send_time_ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")
        return self._ext_head + abs_send_time + self._ext_tail

    def _prepare_extensions(self) -> None:
        """Everything of the extension block but the abs-send-time value, once."""
        body_len = (4 if self._abs_id else 0) + (1 + len(self._mid) if self._mid_id else 0)
        if body_len == 0:
            self._ext_head, self._ext_tail = b"", b""
            return
        words = (body_len + 3) // 4
        self._ext_head = struct.pack("!HH", 0xBEDE, words)
        if self._abs_id:
            self._ext_head += bytes([self._abs_id << 4 | 2])
        tail = bytes([self._mid_id << 4 | (len(self._mid) - 1)]) + self._mid \
            if self._mid_id else b""
        self._ext_tail = tail + b"\0" * (words * 4 - body_len)

    def _retransmit(self, seq: int) -> None:
        """Answer a NACK from the shared history, as RTX when negotiated."""
        self._broadcast.nacks_received += 1
        delta = (seq - self._seq_origin) & _SEQ_MASK
        index = self._first_index + delta
        while index + (1 << 16) < self._broadcast.next_index:
            index += 1 << 16
        payload = self._broadcast.lookup(index)
        path = self._path
        if payload is None or path is None:
            return
        protect, send = path.protect, path.send
        extensions = self._extensions(clock.current_ntp_time())
        if self._rtx_payload_type is None:
            packet = self._header(payload, self._payload_type, self._ssrc, seq, extensions)
            packet += payload.data
        else:
            packet = self._header(payload, self._rtx_payload_type, self._rtx_ssrc,
                                  self._rtx_seq, extensions) + struct.pack("!H", seq)
            packet += payload.data
            self._rtx_seq = (self._rtx_seq + 1) & _SEQ_MASK
        send(protect(packet))
        self.retransmits += 1
