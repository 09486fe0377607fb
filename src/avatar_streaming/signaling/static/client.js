/*
 * Browser client for the avatar streaming server: the page's connection state machine,
 * its sessions, and window.avatarClient.
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
 * The other pieces, loaded before this file by index.html (each one namespace on window):
 *   options.js    AvatarOptions    the query-string options; direct or Janus mode
 *   janus.js      AvatarJanus      Janus mode: the VideoRoom over Janus's HTTP API
 *   signaling.js  AvatarSignaling  direct mode: signaling messages, offer/answer/ICE
 *   mic.js        AvatarMic        microphone permission, level meter
 *   playback.js   AvatarPlayback   the remote stream on the <video>, autoplay overlay
 *   stats.js      AvatarStats      getStats() figures and the #stats panel
 *   captions.js   AvatarCaptions   captions under the video
 *
 * Test hook: window.avatarClient (see the `client` object below).
 */
(() => {
  'use strict';

  const { options, resolveJanus, FILE_URL_HELP } = window.AvatarOptions;
  const Signaling = window.AvatarSignaling;
  const Mic = window.AvatarMic;
  const Playback = window.AvatarPlayback;
  const Stats = window.AvatarStats;
  const Captions = window.AvatarCaptions;

  // ---- Tunables ----------------------------------------------------------

  const RECONNECT_BASE_MS = 500; // first retry; doubles each failed attempt
  const RECONNECT_MAX_MS = 5000;
  const STATS_INTERVAL_MS = 1000;

  const STATES = Object.freeze({
    CONNECTING: 'connecting', // WebSocket opening, or media path re-establishing
    NEGOTIATING: 'negotiating', // config received, offer/answer/ICE in progress
    CONNECTED: 'connected', // RTCPeerConnection connected
    DISCONNECTED: 'disconnected',
  });

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
    roomName: byId('room-name'),
    serverUrl: byId('server-url'),
    captions: byId('captions'),
    captionsToggle: byId('captions-toggle'),
  };

  const meter = new Mic.Meter(el.meterFill);
  const player = new Playback.Player({
    video: el.video, stage: el.stage, overlay: el.playOverlay, onGesture: () => meter.resume(),
  });
  const statsPanel = new Stats.Panel(el.stats);
  const captionsPanel = new Captions.Panel(el.captions, el.captionsToggle);

  // ---- Public state (window.avatarClient) ---------------------------------

  const client = {
    state: STATES.DISCONNECTED,
    peerId: null,
    room: options.room, // our room's name: ?room=, or the server's word in its config
    ws: null,
    pc: null,
    remoteStream: null,
    localStream: null,
    muted: false,
    lastError: null,
    errors: [],
    stats: Stats.empty(),
    captions: captionsPanel.received, // every caption message's data, as received
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
      configured: false, // the server's config came (direct mode)
      prepared: null, // the peer connection and offer being made meanwhile (signaling.js)
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
    ws.onmessage = (ev) => Signaling.onMessage(page, s, ev.data);
    Signaling.prepare(page, s);
    // 'error' is always followed by 'close', but either one ends the session.
    ws.onerror = () =>
      linkLost(s, s.wsOpened ? 'signaling connection error' : 'cannot reach the signaling server');
    ws.onclose = (ev) => linkLost(s, Signaling.describeClose(ev));
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
    meter.stop();

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
    Mic.stopStream(s.localStream); // the mic is re-acquired by the next session
    Mic.stopStream(s.remoteStream);

    player.clear();

    client.ws = null;
    client.viewer = null;
    client.pc = null;
    client.remoteStream = null;
    client.localStream = null;
    client.peerId = null;
    client.stats = Stats.empty();
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
    startStats(s);
  }

  async function joined(s) {
    if (s !== session) return;
    client.peerId = s.viewer.userId;
    renderPeerId();
    if (!s.pc) setNotice(`Waiting for "${client.janus.watch}" to publish in room ${client.janus.room}…`);
    const mic = await Mic.acquire(options.processing, setMicNote);
    if (s !== session) {
      Mic.stopStream(mic);
      return;
    }
    if (!mic) return; // watch only
    s.localStream = mic;
    client.localStream = mic;
    mic.getAudioTracks()[0].enabled = !client.muted;
    meter.start(mic);
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
    player.detach();
    setState(STATES.CONNECTING);
    setNotice(`"${client.janus.watch}" left room ${client.janus.room}; waiting for it to come back…`);
  }

  // ---- Direct mode (signaling.js) ----------------------------------------

  // What signaling.js may use of this page; see its header.
  const page = {
    client, STATES, setState, reportError, renderPeerId, linkLost, onRemoteTrack, onPeerState,
    attachMic, startStats, showCaption, isCurrent: (s) => s === session,
  };

  function showCaption(data) {
    captionsPanel.show(data, client.peerId);
  }

  /** Ask for the microphone and, once granted, send it on ``sender``. */
  async function attachMic(s, sender) {
    const mic = await Mic.acquire(options.processing, setMicNote);
    if (s !== session) {
      Mic.stopStream(mic); // session ended while the permission prompt was open
      return;
    }
    if (!mic) return; // receive only: the sender stays without a track
    s.localStream = mic;
    client.localStream = mic;
    const track = mic.getAudioTracks()[0];
    track.enabled = !client.muted;
    await sender.replaceTrack(track);
    if (sender.setStreams) sender.setStreams(mic);
    meter.start(mic);
  }

  // ---- Both modes: the avatar's PeerConnection ----------------------------

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

  function onRemoteTrack(s, ev) {
    if (s !== session) return;
    const stream = s.remoteStream;
    if (!stream.getTrackById(ev.track.id)) stream.addTrack(ev.track);
    player.show(stream);
  }

  function startStats(s) {
    s.statsTimer = setInterval(() => collectStats(s), STATS_INTERVAL_MS);
  }

  async function collectStats(s) {
    if (s !== session || !s.pc) return;
    const micPc = s.viewer ? s.viewer.micPc : null; // Janus mode: the mic has a pc of its own
    let reports;
    try {
      reports = await Stats.getReports(s.pc, micPc);
    } catch (err) {
      return; // pc closed between the tick and the call
    }
    if (s !== session) return;
    const sample = Stats.summarizeReport(reports);
    client.stats = Stats.computeFigures(sample, s.prevSample);
    s.prevSample = sample;
    renderStats();
  }

  // ---- Microphone (mic.js) -----------------------------------------------

  function setMuted(muted) {
    client.muted = Boolean(muted);
    if (client.localStream) {
      for (const track of client.localStream.getAudioTracks()) track.enabled = !client.muted;
    }
    renderControls();
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

  function renderStats() {
    statsPanel.render(client.stats);
  }

  function renderPeerId() {
    el.peerId.textContent = client.peerId || '—';
    el.roomName.textContent = client.room;
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
  el.errorDismiss.addEventListener('click', () => {
    el.errorBox.hidden = true; // lastError/errors keep the record
  });

  // Any click counts as the user gesture the meter's AudioContext may be waiting for.
  document.addEventListener('pointerdown', () => meter.resume());

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

  renderStats();
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
