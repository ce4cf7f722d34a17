/* lineedit.h — terminal line editing for the interactive `exaone chat` prompt, on libedit
 * (BSD editline) through its wide-character API, so that cursor movement, deletion and redraw
 * work on whole characters and terminal columns (Hangul: 3 UTF-8 bytes, 2 columns), with an
 * in-session history (Up/Down). CLI-only: the library does not depend on libedit. */
#ifndef EXA_CLI_LINEEDIT_H
#define EXA_CLI_LINEEDIT_H

typedef struct exa_lineedit exa_lineedit;

/* Starts line editing on stdin/stdout (both must be terminals). Sets LC_CTYPE from the
 * environment, or C.UTF-8 when the environment's locale is not UTF-8. prompt: the visible
 * prompt text; bold: show it in bold. Returns NULL where editing is not possible (TERM unset or
 * "dumb", no UTF-8 locale, libedit failure): the caller then reads plain lines. */
exa_lineedit *exa_lineedit_open(const char *prog, const char *prompt, int bold);

/* Shows the prompt and reads one edited line. Returns it as malloc'd UTF-8 without the newline
 * (and adds it to the history unless it is blank or repeats the previous entry), or NULL at end
 * of input (Ctrl-D on an empty line) or when the read was interrupted by a signal (Ctrl-C: the
 * caller's SIGINT handler has run; errno is EINTR). */
char *exa_lineedit_read(exa_lineedit *le);

/* Restores the terminal and frees everything. NULL is fine. */
void exa_lineedit_close(exa_lineedit *le);

#endif
