"""The Help menu's windows: keyboard shortcuts (from the actions) and the lecture's notation."""
