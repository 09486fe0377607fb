/*
 * Browser client for the avatar streaming server.
 *
 * One "session" = one WebSocket to the signaling server plus the
 * RTCPeerConnection negotiated over it. A session is never reused: when either
 * link is lost the whole session is torn down and, unless the user pressed
 * Disconnect, a fresh one is opened after an exponential backoff.
 *
 * Every async callback receives the session it belongs to and checks
 * `s === session` before touching shared state, so late events from a
 * torn-down session can't disturb the current one.
 *
 * Janus mode: when the server relays through a Janus VideoRoom (GET /sfu says where),
 * or with ?janus=, the page watches the avatar through Janus instead and publishes its
 * microphone into the room (janus.js). Same states, same window.avatarClient: `pc` is
 * then the PeerConnection that receives the avatar from Janus, and `peerId` the id the
 * server hears this page's microphone under ("janus-<publisher id>").
 *
 * Page options (query string):
 *   ?ws=ws://host:port/   signaling URL (default: same origin; given, GET /sfu is not asked)
 *   ?processing=1         turn on browser echo cancellation / noise suppression / AGC
 *   ?autoconnect=0        don't connect on load
 *   ?janus=URL&room=N     watch through this Janus (HTTP API URL) and VideoRoom room
 *   ?janus=0              connect to the server directly even when it relays through Janus
 *   ?feed=NAME            Janus mode: the avatar's display name in the room (default: /sfu's)
 *   ?name=NAME            Janus mode: this page's display name in the room (default "browser")
 *   ?pin=PIN              Janus mode: the room's pin, if it has one
 *   ?janusToken=TOKEN     Janus mode: a Janus token (token_auth)
 *
 * Test hook: window.avatarClient (see the `client` object below).
 */
(() => {
  'use strict';

  // ---- Tunables ----------------------------------------------------------

  const RECONNECT_BASE_MS = 500; // first retry; doubles each failed attempt
  const RECONNECT_MAX_MS = 5000;
  const STATS_INTERVAL_MS = 1000;
  // An unanswered permission prompt must not keep the avatar from starting.
  const MIC_TIMEOUT_MS = 15000;

  const STATES = Object.freeze({
    CONNECTING: 'connecting', // WebSocket opening, or media path re-establishing
    NEGOTIATING: 'negotiating', // config received, offer/answer/ICE in progress
    CONNECTED: 'connected', // RTCPeerConnection connected
    DISCONNECTED: 'disconnected',
  });

  // ---- Options -----------------------------------------------------------

  const params = new URLSearchParams(location.search);

  const options = Object.freeze({
    wsUrl: withToken(resolveWsUrl(params.get('ws')), params.get('token')),
    processing: isOn(params.get('processing')),
    autoconnect: !isOff(params.get('autoconnect')),
  });

  /** ?janus=URL&room=N: Janus mode without asking the server; null otherwise. */
  function janusFromQuery() {
    const url = params.get('janus');
    if (!url || isOff(url)) return null;
    return { url, room: Number(params.get('room')), watch: params.get('feed') || 'avatar' };
  }

  /** The Janus room to watch through (with the page's own options), or null: direct. */
  async function resolveJanus() {
    if (isOff(params.get('janus'))) return null;
    let janus = janusFromQuery();
    if (!janus && !params.get('ws') && options.wsUrl) janus = await askServer();
    if (!janus) return null;
    return {
      iceServers: [],
      ...janus,
      watch: params.get('feed') || janus.watch,
      name: params.get('name') || 'browser',
      pin: params.get('pin'),
      token: params.get('janusToken'),
    };
  }

  /** GET /sfu on the page's server: {url, room, display, iceServers} when it relays. */
  async function askServer() {
    try {
      const url = withToken(new URL('/sfu', location.href).toString(), params.get('token'));
      const response = await fetch(url, { cache: 'no-store' });
      const sfu = response.ok ? await response.json() : null;
      if (!sfu || sfu.type !== 'janus') return null;
      return { url: sfu.url, room: sfu.room, watch: sfu.display, pinned: Boolean(sfu.pinned),
               iceServers: sfu.iceServers || [] };
    } catch (err) {
      return null; // a server without /sfu (or none reachable): the WebSocket will say
    }
  }

  const FILE_URL_HELP =
    'This page was opened from a file, so it does not know where the server is. ' +
    'Add the signaling address to the URL, e.g. index.html?ws=ws://localhost:8081/';

  function resolveWsUrl(explicit) {
    if (explicit) return explicit;
    if (location.protocol === 'http:' || location.protocol === 'https:') {
      return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
    }
    return null; // file:// and friends: no server to guess
  }

  /** The server may require a token (authToken): the page passes on its own ?token=. */
  function withToken(url, token) {
    if (!url || !token) return url;
    const u = new URL(url);
    u.searchParams.set('token', token);
    return u.toString();
  }

  function isOn(value) {
    return value !== null && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
  }

  function isOff(value) {
    return value !== null && ['0', 'false', 'no', 'off'].includes(value.toLowerCase());
  }

  // ---- DOM ---------------------------------------------------------------

  const byId = (id) => document.getElementById(id);

  const el = {
    video: byId('video'),
    stage: byId('stage'),
    placeholder: byId('placeholder'),
    playOverlay: byId('play-overlay'),
    state: byId('state'),
    connect: byId('connect'),
    mute: byId('mute'),
    meterFill: byId('mic-meter-fill'),
    errorBox: byId('error-box'),
    error: byId('error'),
    errorDismiss: byId('error-dismiss'),
    notice: byId('notice'),
    micNote: byId('mic-note'),
    stats: byId('stats'),
    peerId: byId('peer-id'),
    serverUrl: byId('server-url'),
  };

  // ---- Public state (window.avatarClient) ---------------------------------

  function emptyStats() {
    return {
      fps: null,
      width: null,
      height: null,
      bitrateKbps: null,
      rttMs: null,
      jitterBufferMs: null,
      audioPacketsReceived: null,
      audioEnergy: null, // inbound audio totalAudioEnergy (cumulative; > 0 once sound arrived)
      audioLevel: null, // inbound audio level, 0..1
      framesDecoded: null,
      framesDropped: null,
      videoPacketsLost: null,
      micPacketsSent: null, // outbound audio packets (our microphone)
    };
  }

  const client = {
    state: STATES.DISCONNECTED,
    peerId: null,
    ws: null,
    pc: null,
    remoteStream: null,
    localStream: null,
    muted: false,
    lastError: null,
    errors: [],
    stats: emptyStats(),
    connectCount: 0,
    options,
    mode: null, // 'direct' (our WebSocket) or 'janus', once known
    janus: null, // Janus mode: {url, room, watch, name, ...}
    viewer: null, // Janus mode: the AvatarJanus.RoomViewer of the current session
    connect,
    disconnect,
    setMuted,
  };
  window.avatarClient = client;

  // ---- Connection lifecycle ----------------------------------------------

  let session = null; // current session, or null
  let wanted = false; // the user wants to be connected (false after Disconnect)
  let reconnectAttempts = 0; // failed attempts since the last successful connection
  let reconnectTimer = null;
  let nextSessionId = 1;
  let modeKnown = null; // a promise, settled once client.mode is known

  function connect() {
    if (client.mode === 'direct' && !options.wsUrl) {
      reportError(FILE_URL_HELP);
      return;
    }
    wanted = true;
    reconnectAttempts = 0;
    clearReconnectTimer();
    if (!session) {
      if (client.mode) openSession();
      else modeKnown.then(() => wanted && !session && openSession());
    }
    renderControls();
  }

  function disconnect() {
    wanted = false;
    clearReconnectTimer();
    teardown();
    setState(STATES.DISCONNECTED);
    setNotice('');
    renderControls();
  }

  /** A session's state; see the header for its life. */
  function newSession(fields) {
    return {
      id: nextSessionId++,
      ws: null,
      viewer: null, // Janus mode
      pc: null,
      localStream: null,
      remoteStream: null,
      wsOpened: false,
      remoteDescriptionSet: false,
      pendingRemoteCandidates: [], // server candidates that came before the answer
      offerSent: false,
      pendingLocalCandidates: [], // our candidates gathered before the offer went out
      gatheringDone: false,
      everConnected: false,
      statsTimer: null,
      prevSample: null,
      ...fields,
    };
  }

  function openSession() {
    setState(STATES.CONNECTING);
    setNotice('');
    if (client.mode === 'janus') {
      openJanusSession();
      return;
    }

    let ws;
    try {
      ws = new WebSocket(options.wsUrl);
    } catch (err) {
      // A malformed ?ws= will never work, so don't retry it.
      wanted = false;
      reportError(`Invalid signaling URL "${options.wsUrl}": ${err.message}`);
      setState(STATES.DISCONNECTED);
      renderControls();
      return;
    }

    const s = newSession({ ws });
    session = s;
    client.ws = ws;

    ws.onopen = () => {
      s.wsOpened = true;
    };
    ws.onmessage = (ev) => onSignal(s, ev.data);
    // 'error' is always followed by 'close', but either one ends the session.
    ws.onerror = () =>
      linkLost(s, s.wsOpened ? 'signaling connection error' : 'cannot reach the signaling server');
    ws.onclose = (ev) => linkLost(s, describeClose(ev));
  }

  /** Either link of session `s` broke: tear it down and maybe schedule a retry. */
  function linkLost(s, reason) {
    if (s !== session) return;
    console.info(`[avatar] session ${s.id} ended: ${reason}`);
    teardown();
    setState(STATES.DISCONNECTED);
    if (wanted) scheduleReconnect(reason);
    else setNotice('');
  }

  function scheduleReconnect(reason) {
    const delay = Math.min(RECONNECT_BASE_MS * 2 ** reconnectAttempts, RECONNECT_MAX_MS);
    reconnectAttempts += 1;
    setNotice(`${reason}; reconnecting in ${formatSeconds(delay)} s`);
    clearReconnectTimer();
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      if (wanted && !session) openSession();
    }, delay);
  }

  function clearReconnectTimer() {
    if (reconnectTimer !== null) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
    }
  }

  /** Release everything the current session holds. Safe to call twice. */
  function teardown() {
    const s = session;
    session = null;
    if (!s) return;

    clearInterval(s.statsTimer);
    stopMicMeter();

    if (s.pc) {
      s.pc.ontrack = null;
      s.pc.onicecandidate = null;
      s.pc.onconnectionstatechange = null;
      s.pc.close();
    }
    if (s.viewer) {
      s.viewer.onsubscriber = null;
      s.viewer.onfeedgone = null;
      s.viewer.onlost = null;
      s.viewer.close(); // leaves the room: our microphone's publication ends with it
    }
    if (s.ws) {
      s.ws.onopen = null;
      s.ws.onmessage = null;
      s.ws.onerror = null;
      s.ws.onclose = null;
      if (s.ws.readyState === WebSocket.CONNECTING || s.ws.readyState === WebSocket.OPEN) {
        s.ws.close(1000, 'client closing');
      }
    }
    stopStream(s.localStream); // the mic is re-acquired by the next session
    stopStream(s.remoteStream);

    el.video.srcObject = null;
    el.stage.classList.remove('has-video');
    hidePlayOverlay();

    client.ws = null;
    client.viewer = null;
    client.pc = null;
    client.remoteStream = null;
    client.localStream = null;
    client.peerId = null;
    client.stats = emptyStats();
    renderPeerId();
    renderStats();
  }

  // ---- Janus mode (janus.js) ---------------------------------------------

  function openJanusSession() {
    const viewer = new window.AvatarJanus.RoomViewer(client.janus);
    const s = newSession({ viewer, remoteStream: new MediaStream() });
    session = s;
    client.viewer = viewer;
    client.remoteStream = s.remoteStream;
    viewer.onlost = (reason) => linkLost(s, `Janus: ${reason}`);
    viewer.onsubscriber = (pc) => watchThrough(s, pc);
    viewer.onfeedgone = () => avatarLeft(s);
    viewer.join().then(() => joined(s), (err) => {
      if (s !== session) return;
      const hint = client.janus.pinned && !client.janus.pin ? ' (the room has a pin: add ?pin= to the address)' : '';
      reportError(`Could not join Janus room ${client.janus.room}: ${err.message || err}${hint}`);
      linkLost(s, 'cannot join the Janus room');
    });
    s.statsTimer = setInterval(() => collectStats(s), STATS_INTERVAL_MS);
  }

  async function joined(s) {
    if (s !== session) return;
    client.peerId = s.viewer.userId;
    renderPeerId();
    if (!s.pc) setNotice(`Waiting for "${client.janus.watch}" to publish in room ${client.janus.room}…`);
    const mic = await acquireMic();
    if (s !== session) {
      stopStream(mic);
      return;
    }
    if (!mic) return; // watch only
    s.localStream = mic;
    client.localStream = mic;
    mic.getAudioTracks()[0].enabled = !client.muted;
    startMicMeter(mic);
    try {
      await s.viewer.publish(mic);
    } catch (err) {
      if (s === session) reportError(`Could not publish the microphone into the room: ${err.message || err}`);
    }
  }

  /** The avatar's PeerConnection from Janus: the one the page shows, as in direct mode. */
  function watchThrough(s, pc) {
    if (s !== session) return;
    s.pc = pc;
    s.everConnected = false;
    client.pc = pc;
    setState(STATES.NEGOTIATING);
    setNotice('');
    pc.ontrack = (ev) => onRemoteTrack(s, ev);
    pc.onconnectionstatechange = () => onPeerState(s);
  }

  function avatarLeft(s) {
    if (s !== session) return;
    s.pc = null;
    client.pc = null;
    for (const track of s.remoteStream.getTracks()) s.remoteStream.removeTrack(track);
    el.video.srcObject = null;
    setState(STATES.CONNECTING);
    setNotice(`"${client.janus.watch}" left room ${client.janus.room}; waiting for it to come back…`);
  }

  // ---- Signaling ---------------------------------------------------------

  function send(s, message) {
    if (s.ws && s.ws.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify(message));
  }

  function onSignal(s, raw) {
    if (s !== session) return;
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
        onConfig(s, msg);
        break;
      case 'answer':
        onAnswer(s, msg);
        break;
      case 'ice-candidate':
        onRemoteCandidate(s, msg.data);
        break;
      case 'error':
        reportError(String(msg.error ?? 'unknown server error'));
        break;
      default:
        console.debug('[avatar] ignoring signaling message', msg.type);
    }
  }

  async function onConfig(s, msg) {
    if (s.pc) {
      console.warn('[avatar] duplicate config ignored');
      return;
    }
    client.peerId = msg.peerId ?? null;
    renderPeerId();
    setState(STATES.NEGOTIATING);
    try {
      await startPeer(s, msg);
    } catch (err) {
      if (s !== session) return; // torn down meanwhile; the failure is expected
      reportError(`Could not start the call: ${err.message || err}`);
      linkLost(s, 'negotiation failed');
    }
  }

  async function startPeer(s, config) {
    const iceServers = Array.isArray(config.iceServers) ? config.iceServers : [];
    const pc = new RTCPeerConnection({ iceServers });
    s.pc = pc;
    s.remoteStream = new MediaStream();
    client.pc = pc;
    client.remoteStream = s.remoteStream;

    pc.ontrack = (ev) => onRemoteTrack(s, ev);
    pc.onicecandidate = (ev) => onLocalCandidate(s, ev.candidate);
    pc.onconnectionstatechange = () => onPeerState(s);

    // Order matters to the server only in that both m-lines exist: video first, then audio.
    // The audio transceiver is sendrecv from the start and gets the microphone track when
    // (if) permission comes: the offer does not wait for the prompt, so the avatar starts
    // at once, and no renegotiation is needed when the microphone arrives.
    pc.addTransceiver('video', { direction: 'recvonly' });
    const audio = pc.addTransceiver('audio', { direction: 'sendrecv' });
    attachMic(s, audio.sender);

    // Trickle ICE: the offer goes out at once, candidates follow as they are found.
    const offer = await pc.createOffer();
    if (s !== session) return;
    await pc.setLocalDescription(offer);
    if (s !== session) return;
    send(s, { type: 'offer', data: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    s.offerSent = true;
    for (const data of s.pendingLocalCandidates.splice(0)) {
      send(s, { type: 'ice-candidate', data });
    }

    s.statsTimer = setInterval(() => collectStats(s), STATS_INTERVAL_MS);
  }

  /** Ask for the microphone and, once granted, send it on ``sender``. */
  async function attachMic(s, sender) {
    const mic = await acquireMic();
    if (s !== session) {
      stopStream(mic); // session ended while the permission prompt was open
      return;
    }
    if (!mic) return; // receive only: the sender stays without a track
    s.localStream = mic;
    client.localStream = mic;
    const track = mic.getAudioTracks()[0];
    track.enabled = !client.muted;
    await sender.replaceTrack(track);
    if (sender.setStreams) sender.setStreams(mic);
    startMicMeter(mic);
  }

  function onLocalCandidate(s, candidate) {
    if (s !== session) return;
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

  async function onAnswer(s, msg) {
    if (!s.pc) {
      console.warn('[avatar] answer before offer ignored');
      return;
    }
    if (msg.peerId) {
      client.peerId = msg.peerId;
      renderPeerId();
    }
    try {
      await s.pc.setRemoteDescription(msg.data);
    } catch (err) {
      if (s !== session) return;
      reportError(`Could not apply the server's answer: ${err.message || err}`);
      linkLost(s, 'negotiation failed');
      return;
    }
    if (s !== session) return;
    s.remoteDescriptionSet = true;
    for (const data of s.pendingRemoteCandidates.splice(0)) {
      await addRemoteCandidate(s, data);
    }
  }

  async function onRemoteCandidate(s, data) {
    // End-of-candidates needs no action: the answer SDP already carries the server's candidates.
    if (!data || !data.candidate) return;
    if (!s.remoteDescriptionSet) s.pendingRemoteCandidates.push(data);
    else await addRemoteCandidate(s, data);
  }

  async function addRemoteCandidate(s, data) {
    if (s !== session) return;
    try {
      await s.pc.addIceCandidate(data);
    } catch (err) {
      // One unusable candidate (e.g. an address family we lack) is not fatal.
      console.warn('[avatar] remote ICE candidate rejected', data, err);
    }
  }

  function onPeerState(s) {
    if (s !== session) return;
    switch (s.pc.connectionState) {
      case 'connected':
        setState(STATES.CONNECTED);
        setNotice('');
        // A recovery after a transient 'disconnected' is not a new connection.
        if (!s.everConnected) {
          s.everConnected = true;
          client.connectCount += 1;
          reconnectAttempts = 0;
        }
        break;
      case 'disconnected':
        // ICE lost its path; this often heals within seconds, otherwise 'failed' follows.
        setState(STATES.CONNECTING);
        setNotice('Media connection interrupted, waiting for it to recover…');
        break;
      case 'failed':
        linkLost(s, 'media connection failed');
        break;
      default:
        break;
    }
  }

  function describeClose(ev) {
    if (ev.code === 1006) return 'connection to the server lost';
    const reason = ev.reason ? `: ${ev.reason}` : '';
    return `server closed the connection (code ${ev.code}${reason})`;
  }

  // ---- Remote media ------------------------------------------------------

  let soundBlocked = false; // autoplay policy refused sound; waiting for a click

  function onRemoteTrack(s, ev) {
    if (s !== session) return;
    const stream = s.remoteStream;
    if (!stream.getTrackById(ev.track.id)) stream.addTrack(ev.track);
    if (el.video.srcObject !== stream) el.video.srcObject = stream;
    startPlayback();
  }

  function startPlayback() {
    if (soundBlocked) return; // already playing muted, the overlay asks for the click
    el.video.muted = false;
    el.video.play().then(hidePlayOverlay, (err) => {
      if (err.name === 'NotAllowedError') {
        // Autoplay with sound refused: show the picture muted now, sound after a click.
        soundBlocked = true;
        el.video.muted = true;
        el.video.play().catch(() => {});
        el.playOverlay.hidden = false;
      } else if (err.name !== 'AbortError') {
        // AbortError just means srcObject changed under the pending play().
        console.warn('[avatar] video.play() failed', err);
      }
    });
  }

  function onPlayOverlayClick() {
    el.video.muted = false;
    resumeAudioContext();
    el.video.play().then(hidePlayOverlay, (err) => {
      console.warn('[avatar] play() after click failed', err);
    });
  }

  function hidePlayOverlay() {
    soundBlocked = false;
    el.playOverlay.hidden = true;
  }

  // ---- Microphone --------------------------------------------------------

  /** Resolves to a MediaStream with one audio track, or null (with a note shown). */
  async function acquireMic() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setMicNote('Microphone unavailable: browsers allow it only on https:// or http://localhost. Receiving only.');
      return null;
    }
    // Processing is off by default: the server's speech recognizer wants the raw signal.
    const processing = options.processing;
    const constraints = {
      audio: {
        echoCancellation: processing,
        noiseSuppression: processing,
        autoGainControl: processing,
      },
    };

    setMicNote('Waiting for microphone permission…');
    const request = navigator.mediaDevices.getUserMedia(constraints);
    let timer = null;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), MIC_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([request, timeout]);
      if (result === 'timeout') {
        request.then(stopStream, () => {}); // a late grant must not leave the mic open
        setMicNote('Microphone permission not answered in time; receiving only. Reconnect to try again.');
        return null;
      }
      setMicNote('');
      return result;
    } catch (err) {
      setMicNote(`Microphone unavailable (${describeMicError(err)}); receiving only.`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  function describeMicError(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
        return 'permission denied';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'no microphone found';
      case 'NotReadableError':
        return 'the device is busy or failed';
      case 'SecurityError':
        return 'blocked by the browser';
      default:
        return (err && (err.message || err.name)) || String(err);
    }
  }

  function setMuted(muted) {
    client.muted = Boolean(muted);
    if (client.localStream) {
      for (const track of client.localStream.getAudioTracks()) track.enabled = !client.muted;
    }
    renderControls();
  }

  function stopStream(stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  }

  // ---- Mic level meter (AnalyserNode on the local stream) -----------------

  const meter = { ctx: null, source: null, analyser: null, buffer: null, raf: 0 };

  function startMicMeter(stream) {
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!AudioCtx) return;
    try {
      // One context for the page's lifetime; browsers limit how many may exist.
      if (!meter.ctx) meter.ctx = new AudioCtx();
      meter.source = meter.ctx.createMediaStreamSource(stream);
      meter.analyser = meter.ctx.createAnalyser();
      meter.analyser.fftSize = 1024;
      meter.buffer = new Float32Array(meter.analyser.fftSize);
      meter.source.connect(meter.analyser); // not to the speakers: no local echo
      resumeAudioContext();
      meter.raf = requestAnimationFrame(drawMeter);
    } catch (err) {
      console.warn('[avatar] mic meter unavailable', err);
    }
  }

  function stopMicMeter() {
    cancelAnimationFrame(meter.raf);
    meter.raf = 0;
    if (meter.source) meter.source.disconnect();
    meter.source = null;
    meter.analyser = null;
    el.meterFill.style.transform = 'scaleX(0)';
  }

  function drawMeter() {
    if (!meter.analyser) return;
    meter.analyser.getFloatTimeDomainData(meter.buffer);
    let sum = 0;
    for (const v of meter.buffer) sum += v * v;
    const rms = Math.sqrt(sum / meter.buffer.length);
    // Map -60..0 dBFS onto the bar; speech sits around -30..-10.
    const db = 20 * Math.log10(rms || 1e-9);
    const level = Math.min(1, Math.max(0, (db + 60) / 60));
    el.meterFill.style.transform = `scaleX(${level.toFixed(3)})`;
    meter.raf = requestAnimationFrame(drawMeter);
  }

  // Autoplay policy starts an AudioContext suspended until the user interacts.
  function resumeAudioContext() {
    if (meter.ctx && meter.ctx.state === 'suspended') meter.ctx.resume().catch(() => {});
  }

  // ---- Stats -------------------------------------------------------------

  async function collectStats(s) {
    if (s !== session || !s.pc) return;
    const micPc = s.viewer ? s.viewer.micPc : null; // Janus mode: the mic has a pc of its own
    let reports;
    try {
      reports = await Promise.all([s.pc.getStats(), ...(micPc ? [micPc.getStats()] : [])]);
    } catch (err) {
      return; // pc closed between the tick and the call
    }
    if (s !== session) return;
    const sample = summarizeReport(reports);
    client.stats = computeFigures(sample, s.prevSample);
    s.prevSample = sample;
    renderStats();
  }

  /** Picks the raw counters we need out of RTCStatsReports (the receiving pc's first). */
  function summarizeReport(reports) {
    let video = null;
    let audio = null;
    let micOut = null;
    let transport = null;
    const pairs = new Map();

    reports.forEach((report, i) => report.forEach((st) => {
      const kind = st.kind || st.mediaType; // mediaType: older browsers
      if (st.type === 'inbound-rtp' && kind === 'video') video = st;
      else if (st.type === 'inbound-rtp' && kind === 'audio') audio = st;
      else if (st.type === 'outbound-rtp' && kind === 'audio') micOut = st;
      else if (i > 0) return; // round trip: the receiving pc's
      else if (st.type === 'transport') transport = st;
      else if (st.type === 'candidate-pair') pairs.set(st.id, st);
    }));

    let pair = transport && transport.selectedCandidatePairId
      ? pairs.get(transport.selectedCandidatePairId)
      : null;
    if (!pair) {
      // Firefox marks the pair with `selected`; otherwise take the nominated working one.
      for (const p of pairs.values()) {
        if (p.selected || (p.nominated && p.state === 'succeeded')) {
          pair = p;
          break;
        }
      }
    }

    const v = video || {};
    const a = audio || {};
    return {
      t: performance.now(),
      framesPerSecond: v.framesPerSecond,
      framesDecoded: v.framesDecoded,
      framesDropped: v.framesDropped,
      frameWidth: v.frameWidth,
      frameHeight: v.frameHeight,
      bytesReceived: v.bytesReceived,
      videoPacketsLost: v.packetsLost,
      jitterBufferDelay: v.jitterBufferDelay,
      jitterBufferEmittedCount: v.jitterBufferEmittedCount,
      rtt: pair ? pair.currentRoundTripTime : undefined,
      audioPackets: a.packetsReceived,
      audioEnergy: a.totalAudioEnergy,
      audioLevel: a.audioLevel,
      micPackets: micOut ? micOut.packetsSent : undefined,
    };
  }

  /** Turns two consecutive samples into the figures shown on the page. */
  function computeFigures(cur, prev) {
    const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
    const orNull = (x) => (isNum(x) ? x : null);
    const dt = prev ? (cur.t - prev.t) / 1000 : 0;
    // Counter growth since the last sample; null when unknown or the counter was reset.
    const delta = (key) =>
      prev && isNum(cur[key]) && isNum(prev[key]) && cur[key] >= prev[key] ? cur[key] - prev[key] : null;

    let fps = orNull(cur.framesPerSecond);
    const dFrames = delta('framesDecoded');
    if (fps === null && dt > 0 && dFrames !== null) fps = dFrames / dt;

    const dBytes = delta('bytesReceived');
    const bitrateKbps = dt > 0 && dBytes !== null ? (dBytes * 8) / dt / 1000 : null;

    let jitterBufferMs = null;
    const dDelay = delta('jitterBufferDelay');
    const dCount = delta('jitterBufferEmittedCount');
    if (dDelay !== null && dCount > 0) {
      jitterBufferMs = (dDelay / dCount) * 1000;
    } else if (!prev && cur.jitterBufferEmittedCount > 0) {
      jitterBufferMs = (cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * 1000; // lifetime average
    }

    const round = (x, digits) => (x === null ? null : Number(x.toFixed(digits)));
    return {
      fps: round(fps, 1),
      width: orNull(cur.frameWidth),
      height: orNull(cur.frameHeight),
      bitrateKbps: round(bitrateKbps, 0),
      rttMs: isNum(cur.rtt) ? round(cur.rtt * 1000, 1) : null,
      jitterBufferMs: round(jitterBufferMs, 1),
      audioPacketsReceived: orNull(cur.audioPackets),
      audioEnergy: orNull(cur.audioEnergy),
      audioLevel: orNull(cur.audioLevel),
      framesDecoded: orNull(cur.framesDecoded),
      framesDropped: orNull(cur.framesDropped),
      videoPacketsLost: orNull(cur.videoPacketsLost),
      micPacketsSent: orNull(cur.micPackets),
    };
  }

  // What #stats shows: one cell per row; `value` formats client.stats (null = unknown).
  const STAT_ROWS = [
    { label: 'fps', value: (st) => st.fps },
    { label: 'resolution', value: (st) => (st.width !== null && st.height !== null ? `${st.width}×${st.height}` : null) },
    { label: 'video', value: (st) => (st.bitrateKbps !== null ? `${st.bitrateKbps} kbps` : null) },
    { label: 'rtt', value: (st) => (st.rttMs !== null ? `${st.rttMs} ms` : null) },
    { label: 'jitter buffer', value: (st) => (st.jitterBufferMs !== null ? `${st.jitterBufferMs} ms` : null) },
    { label: 'audio in', value: (st) => (st.audioPacketsReceived !== null ? `${st.audioPacketsReceived} pkts` : null) },
    { label: 'audio level', value: (st) => (st.audioLevel !== null ? st.audioLevel.toFixed(2) : null) },
    { label: 'mic out', value: (st) => (st.micPacketsSent !== null ? `${st.micPacketsSent} pkts` : null) },
  ];

  const statCells = []; // <dd> per STAT_ROWS entry, built once

  function buildStats() {
    for (const row of STAT_ROWS) {
      const cell = document.createElement('div');
      cell.className = 'stat';
      const dt = document.createElement('dt');
      dt.textContent = row.label;
      const dd = document.createElement('dd');
      cell.append(dt, dd);
      el.stats.append(cell);
      statCells.push(dd);
    }
    renderStats();
  }

  function renderStats() {
    STAT_ROWS.forEach((row, i) => {
      const value = row.value(client.stats);
      statCells[i].textContent = value === null || value === undefined ? '—' : String(value);
    });
  }

  // ---- Rendering ---------------------------------------------------------

  function setState(state) {
    client.state = state;
    el.state.textContent = state;
    document.body.dataset.state = state;
    el.placeholder.textContent =
      state === STATES.DISCONNECTED ? 'Not connected' : 'Waiting for the avatar…';
  }

  function reportError(text) {
    client.lastError = text;
    client.errors.push(text);
    el.error.textContent = text;
    el.errorBox.hidden = false;
    console.warn('[avatar] error:', text);
  }

  function setNotice(text) {
    el.notice.textContent = text;
  }

  function setMicNote(text) {
    el.micNote.textContent = text;
  }

  function renderPeerId() {
    el.peerId.textContent = client.peerId || '—';
  }

  function renderControls() {
    el.connect.textContent = wanted ? 'Disconnect' : 'Connect';
    el.connect.classList.toggle('is-active', wanted);
    el.mute.textContent = client.muted ? 'Unmute microphone' : 'Mute microphone';
    el.mute.setAttribute('aria-pressed', String(client.muted));
  }

  function formatSeconds(ms) {
    return ms < 1000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
  }

  // ---- Wiring ------------------------------------------------------------

  el.connect.addEventListener('click', () => (wanted ? disconnect() : connect()));
  el.mute.addEventListener('click', () => setMuted(!client.muted));
  el.playOverlay.addEventListener('click', onPlayOverlayClick);
  el.errorDismiss.addEventListener('click', () => {
    el.errorBox.hidden = true; // lastError/errors keep the record
  });

  // The placeholder hides once frames actually render, not merely when a track exists.
  el.video.addEventListener('playing', () => el.stage.classList.add('has-video'));
  el.video.addEventListener('emptied', () => el.stage.classList.remove('has-video'));

  // Any click counts as the user gesture the meter's AudioContext may be waiting for.
  document.addEventListener('pointerdown', resumeAudioContext);

  // Leave cleanly (mic off, socket closed); come back if restored from the back/forward cache.
  let resumeOnShow = false;
  window.addEventListener('pagehide', () => {
    resumeOnShow = wanted;
    if (wanted || session) disconnect();
  });
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted && resumeOnShow) connect();
  });

  // ---- Start -------------------------------------------------------------

  buildStats();
  setState(STATES.DISCONNECTED);
  renderPeerId();
  renderControls();
  el.serverUrl.textContent = options.wsUrl || 'none (add ?ws=)';

  modeKnown = resolveJanus().then((janus) => {
    client.janus = janus;
    client.mode = janus ? 'janus' : 'direct';
    if (janus) el.serverUrl.textContent = `Janus ${janus.url}, room ${janus.room}`;
  });
  modeKnown.then(() => {
    if (client.mode === 'direct' && !options.wsUrl) reportError(FILE_URL_HELP);
    else if (options.autoconnect) connect();
  });
})();
