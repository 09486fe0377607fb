/*
 * Captions under the video: what the avatar says and what each user was heard saying,
 * from the server's `caption` messages ({role: 'user' | 'avatar', text, final, peerId}).
 *
 * A line that is not final (the server sends "…" while a user speaks) is replaced by the
 * next caption of the same role and peer; a final one with empty text takes it away
 * (nothing was understood). The newest MAX_LINES stay. The toggle hides or shows them,
 * and the choice is remembered (localStorage) across visits.
 */
(() => {
  'use strict';

  const MAX_LINES = 6;
  const HIDDEN_KEY = 'avatar-captions-hidden';

  class Panel {
    /** `list`: the element the lines go in; `toggle`: the show/hide button. */
    constructor(list, toggle) {
      this.list = list;
      this.toggle = toggle;
      this.received = []; // every caption, as it came (window.avatarClient.captions)
      this.hidden = readHidden();
      toggle.addEventListener('click', () => this.setHidden(!this.hidden));
      this.setHidden(this.hidden);
    }

    setHidden(hidden) {
      this.hidden = hidden;
      this.list.hidden = hidden;
      this.toggle.textContent = hidden ? 'Show captions' : 'Hide captions';
      this.toggle.setAttribute('aria-pressed', String(!hidden));
      try { localStorage.setItem(HIDDEN_KEY, hidden ? '1' : ''); } catch (err) { /* private mode */ }
    }

    /** One `caption` message's data; `ownPeerId` tells this page's user from others. */
    show(data, ownPeerId) {
      if (!data || typeof data.text !== 'string') return;
      const role = data.role === 'user' ? 'user' : 'avatar';
      const caption = { role, text: data.text, final: data.final !== false,
                        peerId: String(data.peerId ?? ''), at: Date.now() };
      this.received.push(caption);
      const key = `${role}:${caption.peerId}`;
      const pending = this.list.querySelector(`[data-pending="${CSS.escape(key)}"]`);
      if (caption.final && !caption.text) {
        if (pending) pending.remove();
        return;
      }
      const line = pending || document.createElement('p');
      line.className = `caption caption-${role}`;
      if (caption.final) delete line.dataset.pending;
      else line.dataset.pending = key;
      line.replaceChildren(speaker(role, caption.peerId, ownPeerId), document.createTextNode(caption.text));
      if (!pending) this.list.append(line);
      while (this.list.children.length > MAX_LINES) this.list.firstElementChild.remove();
    }

    clear() {
      this.list.replaceChildren();
    }
  }

  function speaker(role, peerId, ownPeerId) {
    const who = document.createElement('span');
    who.className = 'caption-speaker';
    who.textContent = role === 'avatar' ? 'Avatar' : (peerId && peerId === ownPeerId ? 'You' : 'Guest');
    return who;
  }

  function readHidden() {
    try { return localStorage.getItem(HIDDEN_KEY) === '1'; } catch (err) { return false; }
  }

  window.AvatarCaptions = { Panel, MAX_LINES };
})();
