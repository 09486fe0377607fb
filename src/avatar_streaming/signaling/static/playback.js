/*
 * Showing the avatar: the remote stream on the <video>, played with sound when the
 * browser's autoplay policy allows it, otherwise muted at once with an overlay that
 * asks for the click that turns the sound on. The stage's placeholder hides once frames
 * actually render (the video's 'playing'), not merely when a track exists.
 *
 * No session state here: client.js drives it (window.AvatarPlayback).
 */
(() => {
  'use strict';

  class Player {
    /**
     * `video`, `stage` (gets .has-video while frames render), `overlay` (the click-to-
     * start-sound button); `onGesture()` runs on the overlay's click (the user gesture an
     * AudioContext may be waiting for).
     */
    constructor({ video, stage, overlay, onGesture }) {
      this.video = video;
      this.stage = stage;
      this.overlay = overlay;
      this.onGesture = onGesture;
      this.soundBlocked = false; // autoplay policy refused sound; waiting for a click
      this.hideOverlay = this.hideOverlay.bind(this);

      overlay.addEventListener('click', () => this.onOverlayClick());
      video.addEventListener('playing', () => stage.classList.add('has-video'));
      video.addEventListener('emptied', () => stage.classList.remove('has-video'));
    }

    /** A track of `stream` arrived: show the stream and play it. */
    show(stream) {
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.start();
    }

    start() {
      if (this.soundBlocked) return; // already playing muted, the overlay asks for the click
      const video = this.video;
      video.muted = false;
      video.play().then(this.hideOverlay, (err) => {
        if (err.name === 'NotAllowedError') {
          // Autoplay with sound refused: show the picture muted now, sound after a click.
          this.soundBlocked = true;
          video.muted = true;
          video.play().catch(() => {});
          this.overlay.hidden = false;
        } else if (err.name !== 'AbortError') {
          // AbortError just means srcObject changed under the pending play().
          console.warn('[avatar] video.play() failed', err);
        }
      });
    }

    onOverlayClick() {
      this.video.muted = false;
      this.onGesture();
      this.video.play().then(this.hideOverlay, (err) => {
        console.warn('[avatar] play() after click failed', err);
      });
    }

    hideOverlay() {
      this.soundBlocked = false;
      this.overlay.hidden = true;
    }

    /** The stream lost its sender (it may come back with new tracks): no picture meanwhile. */
    detach() {
      this.video.srcObject = null;
    }

    /** The session ended: nothing on the stage. */
    clear() {
      this.video.srcObject = null;
      this.stage.classList.remove('has-video');
      this.hideOverlay();
    }
  }

  window.AvatarPlayback = Object.freeze({ Player });
})();
