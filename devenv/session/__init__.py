"""The tmux session: what runs (live), what to do (plan, pure), doing it (tmux), the panes' records and processes."""
