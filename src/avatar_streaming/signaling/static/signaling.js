/*
 * Direct mode: the messages of one session's WebSocket to the signaling server, and the
 * RTCPeerConnection negotiated over them.
 *
 * The server speaks first ("config": our peer id and ICE servers); the page then sends
 * the offer (video recvonly, audio sendrecv for the microphone), made while the socket
 * opened (`prepare`), the server answers, and both sides trickle ICE candidates. "ping" is answered with "pong"; "error" is shown.
 *
 * The session object and its life belong to client.js, which passes `page`, the hooks
 * this file may use: page.isCurrent(s) (false once `s` was torn down: late events are
 * dropped), page.client (window.avatarClient), page.setState, page.STATES,
 * page.reportError, page.renderPeerId, page.linkLost, page.onRemoteTrack,
 * page.onPeerState, page.attachMic and page.startStats (window.AvatarSignaling).
 */
(() => {
  'use strict';

  // The DTLS certificate is made while the page loads, once, for every connection of the
  // page: made in the offer instead, it is a step between the server's config and our offer.
  const certificate = (typeof RTCPeerConnection !== 'undefined' && RTCPeerConnection.generateCertificate)
    ? RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' }).catch(() => null)
    : Promise.resolve(null);

  function send(s, message) {
    if (s.ws && s.ws.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify(message));
  }

  /** One message from session `s`'s WebSocket. */
  function onMessage(page, s, raw) {
    if (!page.isCurrent(s)) return;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (err) {
      console.warn('[avatar] non-JSON signaling message ignored', raw);
      return;
    }
    if (!msg || typeof msg !== 'object') return;

    switch (msg.type) {
      case 'ping':
        send(s, { type: 'pong' });
        break;
      case 'config':
        onConfig(page, s, msg);
        break;
      case 'answer':
        onAnswer(page, s, msg);
        break;
      case 'ice-candidate':
        onRemoteCandidate(page, s, msg.data);
        break;
      case 'error':
        page.reportError(String(msg.error ?? 'unknown server error'));
        break;
      case 'caption':
        page.showCaption(msg.data);
        break;
      default:
        console.debug('[avatar] ignoring signaling message', msg.type);
    }
  }

  async function onConfig(page, s, msg) {
    if (s.configured) {
      console.warn('[avatar] duplicate config ignored');
      return;
    }
    s.configured = true;
    page.client.peerId = msg.peerId ?? null;
    if (typeof msg.room === 'string') page.client.room = msg.room;
    page.renderPeerId();
    page.setState(page.STATES.NEGOTIATING);
    try {
      await startPeer(page, s, msg);
    } catch (err) {
      if (!page.isCurrent(s)) return; // torn down meanwhile; the failure is expected
      page.reportError(`Could not start the call: ${err.message || err}`);
      page.linkLost(s, 'negotiation failed');
    }
  }

  /**
   * Make session `s`'s peer connection and its offer while the WebSocket opens: neither
   * needs the server's config, and both take Chromium some 10-20 ms that would otherwise
   * come between the config and our offer. The ICE servers are set when the config comes,
   * before gathering starts.
   */
  function prepare(page, s) {
    s.prepared = (async () => {
      const cert = await certificate;
      if (!page.isCurrent(s)) return null;
      const pc = new RTCPeerConnection(cert ? { certificates: [cert] } : {});
      s.pc = pc;
      s.remoteStream = new MediaStream();
      page.client.pc = pc;
      page.client.remoteStream = s.remoteStream;

      pc.ontrack = (ev) => page.onRemoteTrack(s, ev);
      pc.onicecandidate = (ev) => onLocalCandidate(page, s, ev.candidate);
      pc.onconnectionstatechange = () => page.onPeerState(s);

      // Order matters to the server only in that both m-lines exist: video first, then
      // audio. The audio transceiver is sendrecv from the start and gets the microphone
      // track when (if) permission comes: the offer does not wait for the prompt, so the
      // avatar starts at once, and no renegotiation is needed when the microphone arrives.
      pc.addTransceiver('video', { direction: 'recvonly' });
      const audio = pc.addTransceiver('audio', { direction: 'sendrecv' });
      page.attachMic(s, audio.sender);
      return { pc, cert, offer: await pc.createOffer() };
    })();
    return s.prepared;
  }

  async function startPeer(page, s, config) {
    const prepared = await (s.prepared || prepare(page, s));
    if (!prepared || !page.isCurrent(s)) return;
    const { pc, cert, offer } = prepared;
    const iceServers = Array.isArray(config.iceServers) ? config.iceServers : [];
    if (iceServers.length) {
      pc.setConfiguration(cert ? { iceServers, certificates: [cert] } : { iceServers });
    }

    // Trickle ICE: the offer goes out at once, candidates follow as they are found.
    await pc.setLocalDescription(offer);
    if (!page.isCurrent(s)) return;
    send(s, { type: 'offer', data: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    s.offerSent = true;
    for (const data of s.pendingLocalCandidates.splice(0)) {
      send(s, { type: 'ice-candidate', data });
    }

    page.startStats(s);
  }

  function onLocalCandidate(page, s, candidate) {
    if (!page.isCurrent(s)) return;
    // Some browsers signal the end with an empty candidate string; null is the standard one.
    if (candidate && !candidate.candidate) return;
    if (!candidate) {
      if (s.gatheringDone) return;
      s.gatheringDone = true;
    }
    const data = candidate ? candidate.toJSON() : null; // {candidate, sdpMid, sdpMLineIndex, usernameFragment}
    if (s.offerSent) send(s, { type: 'ice-candidate', data });
    else s.pendingLocalCandidates.push(data);
  }

  async function onAnswer(page, s, msg) {
    if (!s.pc) {
      console.warn('[avatar] answer before offer ignored');
      return;
    }
    if (msg.peerId) {
      page.client.peerId = msg.peerId;
      page.renderPeerId();
    }
    try {
      await s.pc.setRemoteDescription(msg.data);
    } catch (err) {
      if (!page.isCurrent(s)) return;
      page.reportError(`Could not apply the server's answer: ${err.message || err}`);
      page.linkLost(s, 'negotiation failed');
      return;
    }
    if (!page.isCurrent(s)) return;
    s.remoteDescriptionSet = true;
    for (const data of s.pendingRemoteCandidates.splice(0)) {
      await addRemoteCandidate(page, s, data);
    }
  }

  async function onRemoteCandidate(page, s, data) {
    // End-of-candidates needs no action: the answer SDP already carries the server's candidates.
    if (!data || !data.candidate) return;
    if (!s.remoteDescriptionSet) s.pendingRemoteCandidates.push(data);
    else await addRemoteCandidate(page, s, data);
  }

  async function addRemoteCandidate(page, s, data) {
    if (!page.isCurrent(s)) return;
    try {
      await s.pc.addIceCandidate(data);
    } catch (err) {
      // One unusable candidate (e.g. an address family we lack) is not fatal.
      console.warn('[avatar] remote ICE candidate rejected', data, err);
    }
  }

  /** Why the WebSocket closed, in words for the notice. */
  function describeClose(ev) {
    if (ev.code === 1006) return 'connection to the server lost';
    const reason = ev.reason ? `: ${ev.reason}` : '';
    return `server closed the connection (code ${ev.code}${reason})`;
  }

  window.AvatarSignaling = Object.freeze({ onMessage, describeClose, prepare });
})();
