// Keyboard shortcuts (filled in by the inbox work).
