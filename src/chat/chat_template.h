/* chat_template.h — the exa_chat_template handle shared by template.c (loading and
 * identification) and render.c (the native renderers). */
#ifndef EXA_CHAT_TEMPLATE_H
#define EXA_CHAT_TEMPLATE_H

#include "exaone.h"

struct exa_chat_template {
    exa_chat_kind kind;
    char desc[512];
};

#endif
