"""What turns pushed frames and chunks into WebRTC media, and browser audio back into PCM."""
