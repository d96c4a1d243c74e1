"""The desktop app (PySide6). Qt is imported only below this package."""
