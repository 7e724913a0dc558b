#!/bin/sh
# devenv pane runner: runs a pane's command with the user's shell and records what happened.
#
# tmux starts it as the pane's own process:  /bin/sh .../runner.sh (no shell in between)
# Everything comes from the environment (set by devenv with tmux -e, never on a command line):
#   DEVENV_CMD           the command, run with "$SHELL -c"
#   DEVENV_STATE         prefix of the state files: $DEVENV_STATE.status / .exit / .restarts / .logstart
#   DEVENV_RESTART       no | on-failure | always       DEVENV_MAX_RESTARTS  (default 5)
#   DEVENV_AFTER         JSON list of dependencies to wait for (devenv _await reads it)
#   DEVENV_PYTHON        the Python that runs devenv
#   DEVENV_PIPE, DEVENV_TMUX  the tmux pipe-pane command that logs the pane's output, and tmux
#   DEVENV_TASK          1: a one-shot task (run once; exit 0: "done", its window closes; else "failed")
#   DEVENV_INPUTS        a task's inputs digest, recorded when it succeeds (an unchanged task is skipped)
#   DEVENV_READY         JSON of the window's own ready: probe: `devenv _ready` turns the badge from
#                        starting to ready once it passes (session/badges.py draws the badges)
#   DEVENV_NOTICE        a line to print first, as "[devenv] LINE" (why the watcher restarted it)
#   DEVENV_INTERACTIVE   1: the pane runs the user's interactive shell, which runs DEVENV_CMD's lines as if
#                        typed (through its own start-up, never as keys) and stays at its prompt
# tmux 3.3 sometimes loses a dead pane's exit status, so the runner writes it itself.

cmd=$DEVENV_CMD
unset DEVENV_CMD
state=$DEVENV_STATE
policy=${DEVENV_RESTART:-no}
max=${DEVENV_MAX_RESTARTS:-5}
shell=${SHELL:-/bin/sh}
[ -x "$shell" ] || shell=/bin/sh
stopping=0
# Ctrl-C, down and restart signal the whole tree: the runner then records and ends, never restarts.
# SIGHUP (tmux kill-session) ends the runner, and so the kernel hangs up its foreground job too.
trap 'stopping=1' INT TERM

# devenv's own files are private (0600 in 0700 folders): the runner itself works under umask 077,
# the command gets the user's umask back (run_cmd). No subshell a record: a stop waits for these.
user_umask=
if [ -r /proc/$$/status ]; then  # read without a fork (Linux)
    while read -r key value; do [ "$key" = Umask: ] && user_umask=$value && break; done < /proc/$$/status
fi
[ -n "$user_umask" ] || user_umask=$(umask)
umask 077
put() {
    [ -n "$state" ] || return 0
    { printf '%s\n' "$2" > "$state.$1.tmp" && mv -f "$state.$1.tmp" "$state.$1"; } 2>/dev/null
}

# The pane's output goes to its log ($DEVENV_STATE.log) before anything runs. The pipe is
# replaced, never toggled: a restart or a repair (respawn-pane keeps the old pipe) gets a fresh one.
# A state folder that cannot be written (read-only, not ours) is said once; the command runs anyway.
# (up made the folder: the first try forks nothing; the second, with mkdir, says why it failed. The
# redirection is a group's: one failing on a special built-in such as `:` would end the runner.)
if [ -n "$state" ] && ! { :; } 2>/dev/null >> "$state.log"; then
    why=$( { mkdir -p "${state%/*}" && : >> "$state.log"; } 2>&1 ) || {
        printf '[devenv] cannot keep this window'"'"'s output in %s (%s); it runs on, its output only here\n' \
            "${state%/*}" "${why##*: }"
        state=""
    }
fi
tmux_bin=${DEVENV_TMUX:-tmux}
task=${DEVENV_TASK:-}
inputs=${DEVENV_INPUTS:-}
ready=${DEVENV_READY:-}
# The state as the status line's badge: the pane options @devenv_state and @devenv_count, set the
# moment it changes (never while stopping: the session is going away).
badge() {
    [ -n "$TMUX_PANE" ] && [ "$stopping" = 0 ] || return 0
    "$tmux_bin" set-option -p -t "$TMUX_PANE" @devenv_state "$1" \; \
        set-option -p -t "$TMUX_PANE" @devenv_count "${2:-}" 2>/dev/null
}
if [ -n "$DEVENV_AFTER" ]; then first=waiting; elif [ -n "$task" ]; then first=task; elif [ -n "$ready" ]; then
    first=starting; else first=running; fi
if [ -n "$TMUX_PANE" ]; then  # one tmux call: the log's pipe and the first badge
    if [ -n "$state" ] && [ -n "$DEVENV_PIPE" ]; then
        "$tmux_bin" pipe-pane -t "$TMUX_PANE" "$DEVENV_PIPE" \; \
            set-option -p -t "$TMUX_PANE" @devenv_state "$first" 2>/dev/null
    else
        badge "$first"
    fi
fi
[ -n "$DEVENV_NOTICE" ] && printf '\n[devenv] %s\n' "$DEVENV_NOTICE"
interactive=${DEVENV_INTERACTIVE:-}
unset DEVENV_PIPE DEVENV_TMUX DEVENV_TASK DEVENV_INPUTS DEVENV_READY DEVENV_NOTICE DEVENV_INTERACTIVE

# Where this run's output starts in the pane log (log probes ignore earlier runs). An empty log (a new
# session's) starts at 0, which is what no record says: no wc, no mv, two processes fewer a pane.
logstart() {
    [ -n "$state" ] || return 0
    if [ -s "$state.log" ]; then
        put logstart "$(wc -c < "$state.log" 2>/dev/null || echo 0)"
    elif [ -e "$state.logstart" ]; then
        rm -f "$state.logstart"
    fi
}

# how an exit status reads: "status 3", or "killed by SIGKILL" for 137
how() {
    if [ "$1" -gt 128 ] && sig=$(kill -l "$(($1 - 128))" 2>/dev/null); then
        printf 'killed by SIG%s' "${sig#SIG}"
    else
        printf 'exited with status %s' "$1"
    fi
}

# $1 as one single-quoted shell word, in $word (no fork)
quote() {
    rest=$1 word=
    while :; do
        case $rest in
            *\'*) word="$word${rest%%\'*}'\\''"; rest=${rest#*\'} ;;
            *) word="'$word$rest'"; return ;;
        esac
    done
}

# Write the start-up file $1 (private: 0600 in the state folder, which is 0700) from the lines that follow.
startup() {
    file=$1
    shift
    printf '%s\n' "$@" > "$file"  # the runner's umask: 0600
}

# An interactive pane: the user's shell runs the command's lines as if typed, then stays at its prompt.
# The lines reach it through its own start-up, after the user's rc file, never as keys: an rc file that
# is slow, or that flushes pending input, can neither lose nor repeat one. They run with job control
# (Ctrl-C stops the one running, Ctrl-Z suspends it) and go to the shell's history at its first prompt.
#   bash: --rcfile (~/.bashrc, then the lines)     zsh: ZDOTDIR (their .zshenv and .zshrc, then the lines)
#   fish: -C (config.fish, then the lines; fish 3 cannot add them to its history)
#   sh, dash, ksh, mksh, yash...: ENV (their $ENV file, then the lines)
#   any other shell, or no state folder to write in: /bin/sh runs the lines, then the shell starts where
#   they left it (their cd and exports carry over; aliases and functions are the shell's own, not theirs)
interact() {
    quote "$cmd"
    name=${shell##*/}
    name=${name#-}
    [ -n "$state" ] || name=other
    case $name in
        bash)
            startup "$state.rc" \
                "# devenv: this pane's start-up: your ~/.bashrc, then the window's lines as if typed" \
                'if [ -f ~/.bashrc ]; then . ~/.bashrc; fi' \
                "__devenv_lines=$word" \
                '__devenv_history() {' \
                '    local line' \
                '    while IFS= read -r line; do history -s -- "$line"; done <<< "$__devenv_lines"' \
                '    PROMPT_COMMAND=${PROMPT_COMMAND//__devenv_history;/}' \
                '    if [ -z "$PROMPT_COMMAND" ] && [ -n "$__devenv_unset" ]; then unset PROMPT_COMMAND; fi' \
                '    unset __devenv_lines __devenv_unset; unset -f __devenv_history' \
                '}' \
                '__devenv_unset=; [ -n "${PROMPT_COMMAND+set}" ] || __devenv_unset=1' \
                'PROMPT_COMMAND="__devenv_history;${PROMPT_COMMAND-}"' \
                'set -m 2>/dev/null' \
                "$cmd" || { plain; return; }
            (umask "$user_umask"; exec "$shell" --rcfile "$state.rc" -i) ;;
        zsh)
            mkdir -p "$state.zsh" 2>/dev/null
            startup "$state.zsh/.zshenv" \
                '__devenv_zdotdir=$ZDOTDIR' \
                'if [[ -n $DEVENV_ZDOTDIR ]]; then ZDOTDIR=$DEVENV_ZDOTDIR; else unset ZDOTDIR; fi' \
                'unset DEVENV_ZDOTDIR' \
                'if [[ -f ${ZDOTDIR:-$HOME}/.zshenv ]]; then source ${ZDOTDIR:-$HOME}/.zshenv; fi' \
                '__devenv_user=${ZDOTDIR-} __devenv_user_set=${ZDOTDIR+1}' \
                'ZDOTDIR=$__devenv_zdotdir' &&
            startup "$state.zsh/.zshrc" \
                "# devenv: this pane's start-up: your .zshrc, then the window's lines as if typed" \
                'if [[ -n $__devenv_user_set ]]; then ZDOTDIR=$__devenv_user; else unset ZDOTDIR; fi' \
                'unset __devenv_zdotdir __devenv_user __devenv_user_set' \
                'if [[ -f ${ZDOTDIR:-$HOME}/.zshrc ]]; then source ${ZDOTDIR:-$HOME}/.zshrc; fi' \
                "__devenv_lines=$word" \
                '__devenv_history() {' \
                '    local line' \
                '    for line in "${(@f)__devenv_lines}"; do print -rs -- "$line"; done' \
                '    precmd_functions=(${precmd_functions:#__devenv_history})' \
                '    unset __devenv_lines; unfunction __devenv_history' \
                '}' \
                'precmd_functions=(__devenv_history $precmd_functions)' \
                "$cmd" || { plain; return; }
            (umask "$user_umask"; DEVENV_ZDOTDIR=${ZDOTDIR-} ZDOTDIR="$state.zsh" exec "$shell" -i) ;;
        fish)
            startup "$state.rc" \
                "# devenv: this pane's start-up, after your config.fish: the window's lines as if typed" \
                'set -e DEVENV_RC' \
                "$cmd" || { plain; return; }
            (umask "$user_umask"; DEVENV_RC="$state.rc" exec "$shell" -i -C 'source $DEVENV_RC') ;;
        sh|dash|ash|ksh|ksh93|mksh|lksh|oksh|pdksh|yash|posh)
            startup "$state.rc" \
                "# devenv: this pane's start-up: your \$ENV file, then the window's lines as if typed" \
                'if [ -n "$DEVENV_ENV" ]; then ENV=$DEVENV_ENV; else unset ENV; fi; unset DEVENV_ENV' \
                'if [ -n "${ENV-}" ] && [ -r "$ENV" ]; then . "$ENV"; fi' \
                "$cmd" || { plain; return; }
            (umask "$user_umask"; DEVENV_ENV=${ENV-} ENV="$state.rc" exec "$shell" -i) ;;
        *) plain ;;
    esac
}

# the fallback: /bin/sh runs the lines, then the user's shell starts where they left it
plain() {
    (umask "$user_umask"; exec /bin/sh -c "$cmd
exec \"\$0\"" "$shell")
}

# the command once: the user's shell running it, or, interactive, the user's shell at its prompt
# (in a subshell that gets the user's umask back, and execs it: the shell is the runner's own child)
run_cmd() {
    if [ -n "$interactive" ]; then
        interact
    else
        (umask "$user_umask"; exec "$shell" -c "$cmd")
    fi
}

if [ -n "$DEVENV_AFTER" ]; then
    put status waiting
    "${DEVENV_PYTHON:-python3}" -m devenv _await
    rc=$?
    if [ "$rc" -ne 0 ]; then
        put exit "$rc"
        if [ "$stopping" = 1 ]; then
            put status "exited $rc"
        else  # _await left the reason ("dependency migrate failed (exit 1)")
            why=$(cat "$state.why" 2>/dev/null)
            put status "failed ${why:-dependency not ready}"
            badge failed
        fi
        exit "$rc"
    fi
fi

if [ -n "$task" ]; then  # once; its success is what its dependents wait for
    logstart
    put status "running $$"
    [ -n "$DEVENV_AFTER" ] && badge task
    started=$(date +%s)
    run_cmd
    rc=$?
    put exit "$rc"
    if [ "$rc" -eq 0 ] && [ "$stopping" = 0 ]; then
        [ -n "$inputs" ] && put inputs "$inputs"
        put status done
        badge done
        printf '\n[devenv] task done in %ss\n' "$(($(date +%s) - started))"
        [ -n "$TMUX_PANE" ] && exec "$tmux_bin" kill-pane -t "$TMUX_PANE"  # its output stays in its log
        exit 0
    fi
    if [ "$stopping" = 1 ]; then put status "exited $rc"; else put status "failed exit $rc"; badge failed "$rc"; fi
    printf '\n[devenv] task %s\n' "$(how "$rc")"
    exit "$rc"
fi

restarts=0
[ -e "$state.restarts" ] && put restarts 0  # no record reads as 0: a new pane writes none
delay=1
runs=0
while :; do
    logstart
    put status "running $$"
    if [ "$runs" -gt 0 ] || [ -n "$DEVENV_AFTER" ]; then
        if [ -n "$ready" ]; then badge starting; else badge running; fi
    fi
    prober=""
    if [ -n "$ready" ] && [ -n "$TMUX_PANE" ]; then  # turns the badge to ready once the probe passes
        DEVENV_AFTER=$ready DEVENV_TMUX=$tmux_bin "${DEVENV_PYTHON:-python3}" -m devenv _ready </dev/null >/dev/null 2>&1 &
        prober=$!
    fi
    runs=$((runs + 1))
    run_cmd
    rc=$?
    if [ -n "$prober" ]; then kill "$prober" 2>/dev/null; wait "$prober" 2>/dev/null; fi  # before the next badge
    put exit "$rc"
    put status "exited $rc"
    [ "$stopping" = 1 ] && exit "$rc"
    case "$policy" in
        always) again=1 ;;
        on-failure) if [ "$rc" -ne 0 ]; then again=1; else again=0; fi ;;
        *) again=0 ;;
    esac
    if [ "$again" != 1 ]; then
        if [ "$rc" -eq 0 ]; then badge stopped; else badge exited "$rc"; fi
        exit "$rc"
    fi
    if [ "$restarts" -ge "$max" ]; then
        printf '\n[devenv] %s; gave up after %s restarts\n' "$(how "$rc")" "$max"
        put status "failed exited $rc after $max restarts"
        badge failed "$rc"
        exit "$rc"
    fi
    restarts=$((restarts + 1))
    put restarts "$restarts"
    badge restarting "$restarts"
    printf '\n[devenv] %s; restart %s/%s in %ss\n' "$(how "$rc")" "$restarts" "$max" "$delay"
    sleep "$delay"
    [ "$stopping" = 1 ] && exit "$rc"
    delay=$((delay * 2))
    [ "$delay" -gt 8 ] && delay=8
done
