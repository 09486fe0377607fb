"""Self-contained demo content for the avatar: a face, a voice and a parrot.

Why: the streaming core needs something to stream and something to do with
the user's microphone, without model weights or external services. This
package draws a cartoon face (:class:`FaceRenderer`), makes it speak with
espeak-ng or a tone melody (:func:`synthesize`, :func:`mouth_envelope`,
:func:`chunks`) and detects what each user said so the avatar can repeat it
(:class:`Parrot`). It depends on numpy only.
"""

from __future__ import annotations

from avatar_streaming.demo.face import FaceRenderer, FaceSettings, eye_openness
from avatar_streaming.demo.parrot import Parrot, ParrotSettings
from avatar_streaming.demo.speech import chunks, melody, mouth_envelope, synthesize

__all__ = [
    "FaceRenderer",
    "FaceSettings",
    "Parrot",
    "ParrotSettings",
    "chunks",
    "eye_openness",
    "melody",
    "mouth_envelope",
    "synthesize",
]
