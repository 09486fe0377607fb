/*
 * The page's Janus mode: watching the avatar through a Janus VideoRoom, and publishing
 * the microphone into the same room, over Janus's HTTP API (its REST transport).
 *
 * JanusSession mirrors the server's sfu/janus.py: Janus answers a request at once
 * ("success" or "error"), or acknowledges it ("ack") and delivers the plugin's reply
 * later, as an event carrying the same transaction, on the session's long poll (a GET
 * that Janus holds until it has events). Janus drops a session that has been silent for
 * 60 s, so a keepalive goes out every 25 s.
 *
 * RoomViewer joins the room as a publisher (that is how a VideoRoom tells a
 * participant who publishes), subscribes to the publisher whose display name is the
 * avatar's, and publishes the microphone, audio only. The system subscribes to every
 * audio publisher in the room: what this page says comes back to it as "incoming-audio"
 * from "janus-<our publisher id>" (RoomViewer.userId).
 *
 * No DOM here: client.js drives it (window.AvatarJanus).
 */
(() => {
  'use strict';

  const KEEPALIVE_MS = 25000;
  const REQUEST_TIMEOUT_MS = 10000;
  // Janus answers a long poll within 30 s (with a keepalive event when it has nothing).
  const POLL_TIMEOUT_MS = 45000;
  const SESSION_NOT_FOUND = 458;
  const PLUGIN = 'janus.plugin.videoroom';
  const HANDLE_EVENTS = new Set(['event', 'webrtcup', 'media', 'hangup', 'slowlink', 'detached', 'trickle']);

  class JanusError extends Error {
    constructor(message, code = null) {
      super(message);
      this.name = 'JanusError';
      this.code = code;
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function transactionId() {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  class JanusSession {
    /** ``onlost(reason)`` is called once when the session is gone (not after close()). */
    constructor(url, { token = null } = {}) {
      this.url = url.replace(/\/+$/, '');
      this.id = null;
      this.token = token;
      this.lost = false;
      this.onlost = null;
      this._pending = new Map(); // transaction -> {resolve, reject}
      this._handles = new Map(); // handle id -> JanusHandle
      this._abort = new AbortController();
      this._keepalive = null;
    }

    get sessionUrl() {
      return `${this.url}/${this.id}`;
    }

    /** Create the session; start the long poll and the keepalives. */
    async open() {
      const reply = await this._post(this.url, { janus: 'create' });
      this.id = reply.data.id;
      this._poll();
      this._keepalive = setInterval(() => {
        this._post(this.sessionUrl, { janus: 'keepalive' }).catch(() => {});
      }, KEEPALIVE_MS);
    }

    async attach(plugin) {
      const reply = await this._post(this.sessionUrl, { janus: 'attach', plugin });
      const handle = new JanusHandle(this, reply.data.id);
      this._handles.set(handle.id, handle);
      return handle;
    }

    /** End the session on Janus (best effort), then stop everything. */
    destroy() {
      if (this.id !== null && !this.lost) {
        this._post(this.sessionUrl, { janus: 'destroy' }, null, false).catch(() => {});
      }
      this.close();
    }

    /** Stop polling and keepalives, abort what is in flight. Idempotent; no onlost. */
    close() {
      this.onlost = null;
      this._setLost('closed');
      clearInterval(this._keepalive);
      this._abort.abort();
    }

    /** POST one request; the immediate reply ("success" or "ack"), else JanusError. */
    async _post(url, body, transaction = null, abortable = true) {
      if (this.lost && body.janus !== 'destroy') throw new JanusError('janus: the session is closed');
      const message = { ...body, transaction: transaction || transactionId() };
      if (this.token) message.token = this.token;
      const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      const signal = abortable ? AbortSignal.any([this._abort.signal, timeout]) : timeout;
      let reply;
      try {
        const response = await fetch(url, { method: 'POST', body: JSON.stringify(message), signal });
        reply = await response.json();
      } catch (err) {
        this._setLost(`${body.janus} request failed: ${err.message || err}`);
        throw new JanusError(`janus: ${body.janus} request to ${url} failed: ${err.message || err}`);
      }
      this._raiseForError(reply, body.janus);
      return reply;
    }

    _raiseForError(reply, request) {
      if (!reply || reply.janus !== 'error') return;
      const { code = null, reason = '' } = reply.error || {};
      if (code === SESSION_NOT_FOUND) this._setLost(reason);
      throw new JanusError(`janus: ${request}: error ${code} ${reason}`, code);
    }

    /** A plugin message; the plugin's reply ({data, jsep}), whether at once or as a later event. */
    async message(handleId, body, jsep = null) {
      const transaction = transactionId();
      const waiter = new Promise((resolve, reject) => this._pending.set(transaction, { resolve, reject }));
      waiter.catch(() => {}); // a session lost before the ack must not leave it unhandled
      const request = { janus: 'message', body };
      if (jsep) request.jsep = jsep;
      let reply;
      try {
        reply = await this._post(`${this.sessionUrl}/${handleId}`, request, transaction);
        if (reply.janus === 'ack') {
          let timer;
          const late = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new JanusError(`janus: no reply to ${body.request} in time`)),
              REQUEST_TIMEOUT_MS);
          });
          try {
            reply = await Promise.race([waiter, late]);
          } finally {
            clearTimeout(timer);
          }
          this._raiseForError(reply, body.request);
        }
      } finally {
        this._pending.delete(transaction);
      }
      const plugindata = reply.plugindata || {};
      const data = plugindata.data || {};
      if ('error' in data || 'error_code' in data) {
        throw new JanusError(`janus ${plugindata.plugin || 'plugin'}: ${data.error || 'error'}`, data.error_code);
      }
      return { data, jsep: reply.jsep || null };
    }

    async _poll() {
      let failures = 0;
      while (!this.lost) {
        let events;
        try {
          const url = new URL(this.sessionUrl);
          url.searchParams.set('maxev', '10');
          url.searchParams.set('rid', String(Date.now()));
          if (this.token) url.searchParams.set('token', this.token);
          const signal = AbortSignal.any([this._abort.signal, AbortSignal.timeout(POLL_TIMEOUT_MS)]);
          const response = await fetch(url, { cache: 'no-store', signal });
          const body = await response.json();
          events = Array.isArray(body) ? body : [body];
        } catch (err) {
          if (this.lost) return;
          failures += 1;
          if (failures >= 2) {
            this._setLost(`event poll failed: ${err.message || err}`);
            return;
          }
          await sleep(1000);
          continue;
        }
        failures = 0;
        for (const event of events) {
          if (event && typeof event === 'object') this._dispatch(event);
        }
      }
    }

    _dispatch(event) {
      const kind = event.janus;
      const error = event.error || {};
      if (kind === 'keepalive') return;
      if (kind === 'timeout') {
        this._setLost('Janus timed the session out');
        return;
      }
      if (kind === 'error' && error.code === SESSION_NOT_FOUND) {
        this._setLost(error.reason || 'no such session');
        return;
      }
      const waiter = this._pending.get(String(event.transaction));
      if (waiter && ['event', 'success', 'error'].includes(kind)) {
        this._pending.delete(String(event.transaction));
        waiter.resolve(event);
        return;
      }
      const handle = this._handles.get(event.sender);
      if (!handle || !HANDLE_EVENTS.has(kind)) return;
      const data = kind === 'event' ? (event.plugindata || {}).data || {} : event;
      if (handle.onevent) handle.onevent({ kind, data, jsep: event.jsep || null });
    }

    _setLost(reason) {
      if (this.lost) return;
      this.lost = true;
      for (const waiter of this._pending.values()) {
        waiter.reject(new JanusError(`janus: session lost (${reason})`));
      }
      this._pending.clear();
      if (reason !== 'closed' && this.onlost) this.onlost(reason);
    }
  }

  class JanusHandle {
    constructor(session, id) {
      this.session = session;
      this.id = id;
      this.onevent = null; // ({kind, data, jsep}) => void
    }

    send(body, jsep = null) {
      return this.session.message(this.id, body, jsep);
    }

    /** One of our ICE candidates for this handle's PeerConnection; null: no more. */
    trickle(candidate) {
      const body = candidate
        ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
        : { completed: true };
      return this.session._post(`${this.session.sessionUrl}/${this.id}`, { janus: 'trickle', candidate: body });
    }
  }

  /** Trickles a PeerConnection's candidates to a handle once its description has gone out. */
  function trickleTo(pc, handle) {
    const queued = [];
    let ready = false;
    const send = (candidate) => handle.trickle(candidate).catch(() => {});
    pc.onicecandidate = (ev) => {
      const candidate = ev.candidate && ev.candidate.candidate ? ev.candidate : null;
      if (!candidate && ev.candidate) return; // an empty one: some browsers' end marker
      if (ready) send(candidate);
      else queued.push(candidate);
    };
    return () => {
      ready = true;
      for (const candidate of queued.splice(0)) send(candidate);
    };
  }

  function description(pc) {
    return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
  }

  /**
   * Watches the publisher named ``watch`` in ``room`` and publishes the microphone there.
   *
   * Callbacks: onsubscriber(pc) when a PeerConnection for the avatar is made (before its
   * remote description, so ontrack can be set), onfeedgone() when the avatar stopped
   * publishing (its pc is closed; a new one follows when it publishes again), onlost(reason)
   * when the Janus session is gone.
   */
  class RoomViewer {
    constructor({ url, room, watch = 'avatar', name = 'browser', pin = null, token = null, iceServers = [] }) {
      this.room = room;
      this.watch = watch;
      this.name = name;
      this.pin = pin;
      this.iceServers = iceServers;
      this.session = new JanusSession(url, { token });
      this.publisher = null; // our handle in the room (joined as publisher)
      this.feedId = null; // our publisher id: the system hears us as janus-<feedId>
      this.privateId = null;
      this.watchedId = null; // the avatar's publisher id
      this.subscriber = null;
      this.pc = null; // the avatar's PeerConnection (subscriber)
      this.micPc = null; // our microphone's PeerConnection (publisher)
      this.onsubscriber = null;
      this.onfeedgone = null;
      this.onlost = null;
      this.session.onlost = (reason) => this.onlost && this.onlost(reason);
    }

    get userId() {
      return this.feedId === null ? null : `janus-${this.feedId}`;
    }

    _withPin(body) {
      if (this.pin !== null) body.pin = this.pin;
      return body;
    }

    /** Session, handle, join; then the avatar is subscribed to once it is in the room. */
    async join() {
      await this.session.open();
      this.publisher = await this.session.attach(PLUGIN);
      this.publisher.onevent = (ev) => this._onRoomEvent(ev);
      const reply = await this.publisher.send(this._withPin({
        request: 'join', ptype: 'publisher', room: this.room, display: this.name,
      }));
      this.feedId = reply.data.id;
      this.privateId = reply.data.private_id ?? null;
      this._lookFor(reply.data.publishers);
    }

    _onRoomEvent({ kind, data }) {
      if (kind === 'hangup') {
        console.warn('[avatar] Janus hung up our microphone:', data.reason);
        return;
      }
      if (kind !== 'event') return;
      for (const key of ['unpublished', 'leaving']) {
        if (this.watchedId !== null && data[key] === this.watchedId) this._dropAvatar();
      }
      this._lookFor(data.publishers);
    }

    _lookFor(publishers) {
      if (this.watchedId !== null || !Array.isArray(publishers)) return;
      const avatar = publishers.find((p) => p && p.display === this.watch);
      if (avatar) {
        this.watchedId = avatar.id;
        this._subscribe(avatar.id).catch((err) => {
          if (this.onlost && !this.session.lost) this.onlost(`could not watch the avatar: ${err.message || err}`);
        });
      }
    }

    async _subscribe(feedId) {
      const handle = await this.session.attach(PLUGIN);
      this.subscriber = handle;
      const body = { request: 'join', ptype: 'subscriber', room: this.room, streams: [{ feed: feedId }] };
      if (this.privateId !== null) body.private_id = this.privateId;
      const reply = await handle.send(this._withPin(body));
      if (handle !== this.subscriber) return; // the avatar left meanwhile
      const pc = new RTCPeerConnection({ iceServers: this.iceServers });
      this.pc = pc;
      handle.onevent = ({ kind, data }) => {
        if (kind === 'trickle' && data.candidate && !data.candidate.completed) {
          pc.addIceCandidate(data.candidate).catch(() => {});
        }
      };
      const ready = trickleTo(pc, handle);
      if (this.onsubscriber) this.onsubscriber(pc);
      await pc.setRemoteDescription(reply.jsep);
      await pc.setLocalDescription(await pc.createAnswer());
      await handle.send({ request: 'start' }, description(pc));
      ready();
    }

    _dropAvatar() {
      const handle = this.subscriber;
      this.watchedId = null;
      this.subscriber = null;
      if (this.pc) this.pc.close();
      this.pc = null;
      if (handle) this.session._post(`${this.session.sessionUrl}/${handle.id}`, { janus: 'detach' }).catch(() => {});
      if (this.onfeedgone) this.onfeedgone();
    }

    /** Publish ``stream``'s audio into the room (audio only). */
    async publish(stream) {
      const pc = new RTCPeerConnection({ iceServers: this.iceServers });
      this.micPc = pc;
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      const ready = trickleTo(pc, this.publisher);
      await pc.setLocalDescription(await pc.createOffer());
      const reply = await this.publisher.send({ request: 'publish', display: this.name }, description(pc));
      await pc.setRemoteDescription(reply.jsep);
      ready();
    }

    /** Leave: the PeerConnections closed, the session destroyed (Janus detaches the handles). */
    close() {
      for (const pc of [this.pc, this.micPc]) if (pc) pc.close();
      this.pc = null;
      this.micPc = null;
      this.session.destroy();
    }
  }

  window.AvatarJanus = Object.freeze({ JanusSession, JanusError, RoomViewer });
})();
