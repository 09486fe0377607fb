"""What the demo avatar answers: a few rules, no language model.

Why: the demo shows the whole conversation loop (the user speaks, Whisper hears, the
avatar answers with moving lips) on a machine without network services; a small rule
table is enough to show it, and an application puts its own dialogue here.
"""

from __future__ import annotations

import re
import time

GREETING = "Hello! I am your avatar. Say something, and I will answer you."
PARROT_GREETING = ("Hello! I am your avatar. I cannot understand speech here, so I will say "
                   "back what you say.")
NO_RECOGNIZER_NOTE = ("Speech recognition is not installed, so the avatar repeats what it "
                      "hears: pip install 'avatar-streaming[whisper]' to talk with it.")

_WORD = re.compile(r"[a-z']+")
_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"hello", "hi", "hey"}), "Hello to you too! What would you like to talk about?"),
    (frozenset({"name"}), "I am the avatar of this demo. I have no name of my own yet."),
    (frozenset({"time"}), "It is {time} here."),
    (frozenset({"bye", "goodbye"}), "Goodbye! It was nice talking with you."),
    (frozenset({"thanks", "thank"}), "You are welcome."),
)


def words(text: str) -> list[str]:
    """The words of ``text``, lower case, without punctuation."""
    return _WORD.findall(text.lower())


def reply_to(text: str, now: float | None = None) -> str | None:
    """The avatar's answer to what the user said; None when nothing was said."""
    heard = words(text)
    if not heard:
        return None
    for keys, answer in _RULES:
        if keys.intersection(heard):
            return answer.format(time=time.strftime("%H:%M", time.localtime(now)))
    return f"You said: {text.strip()}"


def sounds_like(heard: str, spoken: str, share: float = 0.6) -> bool:
    """Whether ``heard`` is mostly words of ``spoken``: the avatar hearing itself through the
    user's speakers (no echo cancellation), not the user."""
    heard_words, spoken_words = words(heard), set(words(spoken))
    if not heard_words or not spoken_words:
        return False
    return sum(w in spoken_words for w in heard_words) >= share * len(heard_words)
