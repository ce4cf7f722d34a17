/* lineedit.c — libedit-based line editor for the interactive `exaone chat` prompt (see
 * lineedit.h). Uses the wide-character API (el_wgets, history_w): libedit decodes the terminal's
 * UTF-8 input into wchar_t with the C library's multibyte functions and measures display width
 * with wcwidth, both of which follow LC_CTYPE, so the locale must be a UTF-8 one. The line is
 * encoded back to UTF-8 here (independently of the locale).
 *
 * Signals: EL_SIGNAL is on, so while a line is being read libedit catches SIGINT, SIGTSTP,
 * SIGCONT, SIGWINCH (and a few more), restores the terminal, then hands the signal on to the
 * handler that was installed before (the chat's SIGINT handler) and makes the read fail with
 * EINTR: el_wgets returns NULL, and the chat treats that like end of input, so Ctrl-C at the
 * prompt still quits. The same machinery redraws the line after Ctrl-Z / fg and re-reads the
 * terminal size on a resize. */
#include "lineedit.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <histedit.h>

struct exa_lineedit {
    EditLine *el;
    HistoryW *hist;
    wchar_t *prompt; /* with EL_PROMPT_ESC markers (\1) around the non-printing bold sequences */
};

static wchar_t *prompt_fn(EditLine *el) {
    exa_lineedit *le = NULL;
    el_wget(el, EL_CLIENTDATA, (void **)&le);
    return le ? le->prompt : (wchar_t *)L"";
}

static int locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* The environment's LC_CTYPE when it is UTF-8, else C.UTF-8; 0 if neither can be set. */
static int use_utf8_locale(void) {
    if (setlocale(LC_CTYPE, "") && locale_is_utf8()) return 1;
    if (setlocale(LC_CTYPE, "C.UTF-8") && locale_is_utf8()) return 1;
    setlocale(LC_CTYPE, "C");
    return 0;
}

/* UTF-8 -> malloc'd wide string (invalid bytes become U+FFFD). */
static wchar_t *utf8_to_wide(const char *s) {
    size_t n = strlen(s);
    wchar_t *w = malloc((n + 1) * sizeof *w);
    if (!w) return NULL;
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, need = 0, cp = 0;
        if (c < 0x80) { cp = c; need = 0; }
        else if (c >= 0xC2 && c < 0xE0) { cp = c & 0x1F; need = 1; }
        else if (c >= 0xE0 && c < 0xF0) { cp = c & 0x0F; need = 2; }
        else if (c >= 0xF0 && c < 0xF5) { cp = c & 0x07; need = 3; }
        else { w[k++] = 0xFFFD; p++; continue; }
        unsigned i = 1;
        for (; i <= need && (p[i] & 0xC0) == 0x80; i++) cp = (cp << 6) | (p[i] & 0x3F);
        if (i <= need || (need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp < 0xE000)) {
            w[k++] = 0xFFFD;
            p += i;
            continue;
        }
        w[k++] = (wchar_t)cp;
        p += need + 1;
    }
    w[k] = 0;
    return w;
}

/* Wide string of n characters -> malloc'd UTF-8 (characters that are not Unicode scalar values
 * become U+FFFD). */
static char *wide_to_utf8(const wchar_t *w, size_t n) {
    char *s = malloc(4 * n + 1), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned long c = (unsigned long)w[i];
        if (c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) c = 0xFFFD;
        if (c < 0x80) *o++ = (char)c;
        else if (c < 0x800) {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *o++ = (char)(0xE0 | (c >> 12));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else {
            *o++ = (char)(0xF0 | (c >> 18));
            *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *o = 0;
    return s;
}

exa_lineedit *exa_lineedit_open(const char *prog, const char *prompt, int bold) {
    const char *term = getenv("TERM");
    if (!term || !*term || !strcmp(term, "dumb")) return NULL;
    if (!use_utf8_locale()) return NULL;
    exa_lineedit *le = calloc(1, sizeof *le);
    if (!le) return NULL;
    size_t plen = strlen(prompt);
    char *p = malloc(plen + 16);
    if (!p) { free(le); return NULL; }
    if (bold) snprintf(p, plen + 16, "\1\033[1m\1%s\1\033[0m\1", prompt);
    else snprintf(p, plen + 16, "%s", prompt);
    le->prompt = utf8_to_wide(p);
    free(p);
    le->el = el_init(prog, stdin, stdout, stderr);
    le->hist = history_winit();
    if (!le->prompt || !le->el || !le->hist) { exa_lineedit_close(le); return NULL; }
    HistEventW ev;
    history_w(le->hist, &ev, H_SETSIZE, 1000);
    history_w(le->hist, &ev, H_SETUNIQUE, 1);
    el_wset(le->el, EL_CLIENTDATA, (void *)le);
    el_wset(le->el, EL_EDITOR, L"emacs");
    el_wset(le->el, EL_SIGNAL, 1);
    el_wset(le->el, EL_PROMPT_ESC, prompt_fn, L'\1');
    el_wset(le->el, EL_HIST, history_w, le->hist);
    el_source(le->el, NULL); /* the user's ~/.editrc, as other editline programs do */
    return le;
}

char *exa_lineedit_read(exa_lineedit *le) {
    int n = 0;
    const wchar_t *w = el_wgets(le->el, &n);
    if (!w || n <= 0) return NULL; /* end of input (n == 0) or a failed / interrupted read (n == -1) */
    size_t len = (size_t)n;
    while (len && (w[len - 1] == L'\n' || w[len - 1] == L'\r')) len--;
    char *s = wide_to_utf8(w, len); /* before touching the history: w is libedit's buffer */
    if (!s) { errno = ENOMEM; return NULL; }
    size_t i = 0;
    while (i < len && (w[i] == L' ' || w[i] == L'\t')) i++;
    if (i < len) {
        wchar_t *h = malloc((len + 1) * sizeof *h);
        if (h) {
            HistEventW ev;
            memcpy(h, w, len * sizeof *h);
            h[len] = 0;
            history_w(le->hist, &ev, H_ENTER, h);
            free(h);
        }
    }
    return s;
}

void exa_lineedit_close(exa_lineedit *le) {
    if (!le) return;
    if (le->el) el_end(le->el);
    if (le->hist) history_wend(le->hist);
    free(le->prompt);
    free(le);
}
