"""aiortc peers: negotiation, ICE options and the life of one browser connection."""
