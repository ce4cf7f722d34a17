/* finetune_data.h — chat-format JSONL ({"messages": [{"role", "content"}, ...]} per line, the
 * OpenAI shape) turned into training rows for `exaone finetune`: each conversation is rendered
 * with the base model's chat template and tokenized with its tokenizer; only the tokens of
 * assistant turns are targets (others get target -1). Conversations are shuffled, packed whole
 * into rows of T tokens (padded), and the rows are served in a fresh seeded order every epoch.
 * Implements an exa_train_source (see trainer.h). */
#ifndef EXA_FINETUNE_DATA_H
#define EXA_FINETUNE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "exaone.h"
#include "train/trainer.h"

typedef struct exa_ft_data {
    int B, T;
    int32_t *x, *y;          /* n_rows × T inputs and targets (-1: no loss) */
    int n_rows;
    int64_t n_examples, n_tokens, n_target_tokens, n_truncated, n_dropped;
    uint64_t seed;
    int64_t pos;             /* rows served so far */
    int *perm;               /* row order of epoch perm_epoch */
    int64_t perm_epoch;
} exa_ft_data;

/* One conversation: tokens and a 0/1 mask of the tokens that belong to assistant turns (the
 * assistant's content and its closing end-of-turn, found by rendering message prefixes:
 * messages[:i] with the generation prompt vs messages[:i+1] without). *ids and *mask are malloc'd. */
exa_status exa_ft_tokenize_chat(const exa_chat_template *tpl, const exa_tokenizer *tok, const struct json_object *messages,
                                int32_t **ids, uint8_t **mask, size_t *n, char *err, size_t errsz);

/* Reads path (one JSON object per line; blank lines skipped), renders and tokenizes every
 * conversation with the template and tokenizer of model folder base_dir, and packs rows of T. */
exa_status exa_ft_data_load(exa_ft_data *d, const char *path, const char *base_dir, int B, int T, uint64_t seed,
                            char *err, size_t errsz);
void exa_ft_data_free(exa_ft_data *d);
/* The exa_train_source reading d. */
exa_train_source exa_ft_data_source(exa_ft_data *d);

#endif
