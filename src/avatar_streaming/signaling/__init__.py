"""The WebSocket signaling protocol of the contract, and the server that speaks it."""
