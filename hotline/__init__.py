"""The 1766 complaint room: agents' and committee's console."""
