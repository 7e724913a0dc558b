"""devenv: a project's whole development environment in tmux, up with one command, down leaving nothing."""

__version__ = "0.1.0"
