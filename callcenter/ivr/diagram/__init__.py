"""The flows drawn as a diagram, for ``callcenter flows graph`` and the console."""
