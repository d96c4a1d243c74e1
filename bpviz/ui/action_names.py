"""The property naming an action in Help › Keyboard Shortcuts when its text changes
as it is used (Undo's names the command it undoes, Play's says Pause while playing)."""

STABLE_NAME = "stable_name"
