/*
 * The page's options, read once from its query string, and where it watches from:
 * directly (our WebSocket) or through a Janus VideoRoom (GET /sfu on the page's server,
 * or ?janus=).
 *
 * Page options (query string):
 *   ?ws=ws://host:port/   signaling URL (default: same origin; given, GET /sfu is not asked)
 *   ?token=TOKEN          passed on to the server (its authToken, or a room token)
 *   ?room=NAME            the room (conversation) to join, passed on to the server; none:
 *                         the default room (with ?janus=URL, the Janus room id instead)
 *   ?processing=1         turn on browser echo cancellation / noise suppression / AGC
 *   ?autoconnect=0        don't connect on load
 *   ?janus=URL&room=N     watch through this Janus (HTTP API URL) and VideoRoom room
 *   ?janus=0              connect to the server directly even when it relays through Janus
 *   ?feed=NAME            Janus mode: the avatar's display name in the room (default: /sfu's)
 *   ?name=NAME            Janus mode: this page's display name in the room (default "browser")
 *   ?pin=PIN              Janus mode: the room's pin, if it has one
 *   ?janusToken=TOKEN     Janus mode: a Janus token (token_auth)
 *
 * No DOM here: client.js reads it (window.AvatarOptions).
 */
(() => {
  'use strict';

  const params = new URLSearchParams(location.search);

  const room = params.get('room') || 'default';

  const options = Object.freeze({
    wsUrl: withQuery(resolveWsUrl(params.get('ws')), ourQuery()),
    room,
    processing: isOn(params.get('processing')),
    autoconnect: !isOff(params.get('autoconnect')),
  });

  const FILE_URL_HELP =
    'This page was opened from a file, so it does not know where the server is. ' +
    'Add the signaling address to the URL, e.g. index.html?ws=ws://localhost:8081/';

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
      const url = withQuery(new URL('/sfu', location.href).toString(), ourQuery());
      const response = await fetch(url, { cache: 'no-store' });
      const sfu = response.ok ? await response.json() : null;
      if (!sfu || sfu.type !== 'janus') return null;
      return { url: sfu.url, room: sfu.room, watch: sfu.display, pinned: Boolean(sfu.pinned),
               iceServers: sfu.iceServers || [] };
    } catch (err) {
      return null; // a server without /sfu (or none reachable): the WebSocket will say
    }
  }

  function resolveWsUrl(explicit) {
    if (explicit) return explicit;
    if (location.protocol === 'http:' || location.protocol === 'https:') {
      return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
    }
    return null; // file:// and friends: no server to guess
  }

  /** What the page passes on to its server: its own ?token= (the server may require one)
   * and ?room= (given). */
  function ourQuery() {
    const query = {};
    for (const name of ['token', 'room']) if (params.get(name)) query[name] = params.get(name);
    return query;
  }

  function withQuery(url, query) {
    if (!url) return url;
    const u = new URL(url);
    for (const [name, value] of Object.entries(query)) u.searchParams.set(name, value);
    return u.toString();
  }

  function isOn(value) {
    return value !== null && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
  }

  function isOff(value) {
    return value !== null && ['0', 'false', 'no', 'off'].includes(value.toLowerCase());
  }

  window.AvatarOptions = Object.freeze({ options, resolveJanus, FILE_URL_HELP });
})();
