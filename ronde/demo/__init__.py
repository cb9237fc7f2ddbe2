"""``ronde demo``: one evening of patrols end to end in one process, on embedded defaults."""
