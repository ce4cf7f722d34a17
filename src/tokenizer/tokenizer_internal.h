/* tokenizer_internal.h — the byte-level BPE tokenizer's internal structures, shared by the loader
 * and encoder (tokenizer.c), the streaming detokenizer (detok.c) and the trainer (train.c). */
#ifndef EXA_TOKENIZER_INTERNAL_H
#define EXA_TOKENIZER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "exaone.h"

/* token flags */
enum { EXA_TOKF_ADDED = 1, EXA_TOKF_SPECIAL = 2, EXA_TOKF_PRESENT = 4 };

/* one added token (HF AddedToken) */
typedef struct exa_added_token {
    int32_t id;
    uint32_t off, len;                 /* content in tok->added_text */
    uint8_t special, lstrip, rstrip, single_word, normalized;
} exa_added_token;

/* byte trie over added-token contents: edges in an open-addressing table keyed (node, byte) */
typedef struct exa_trie {
    int32_t *term;                     /* per node: index into tok->added or -1 */
    int n_nodes, cap_nodes;
    uint64_t *ekey;                    /* (node << 8 | byte) + 1, 0 = empty */
    int32_t *echild;
    size_t ecap;                       /* power of two */
    uint8_t first[256];                /* bytes that start some pattern */
    int n_patterns;
} exa_trie;

/* merges hash slot: key = ((a << 32) | b) + 1, 0 = empty */
typedef struct exa_merge_slot { uint64_t key; uint32_t rank; int32_t nw; } exa_merge_slot;

/* word cache slot (one cache line holds 2-3 of them) */
typedef struct exa_cache_slot {
    uint64_t hash;                     /* hash | 1, 0 = empty */
    uint32_t koff, voff;               /* key bytes / ids offsets in the arenas */
    uint16_t klen, nids;
} exa_cache_slot;

typedef struct exa_word_cache {
    pthread_mutex_t lock;
    exa_cache_slot *slot;
    size_t cap, count;
    uint8_t *karena; size_t kused, kcap;
    int32_t *varena; size_t vused, vcap;
} exa_word_cache;

struct exa_tokenizer {
    int n_vocab;                       /* max id + 1 */
    /* per id: HF id_to_token string (added-token content, else the model vocabulary string) */
    char *text; uint32_t *text_off;    /* text_off[n_vocab + 1]; each string NUL-terminated */
    /* per id: the model vocabulary string (empty when in_model[id] == 0) */
    char *mtext; uint32_t *mtext_off;
    /* per id: the bytes the ByteLevel decoder produces for the token */
    uint8_t *bytes; uint32_t *bytes_off;
    uint8_t *flags;                    /* EXA_TOKF_* */
    uint8_t *in_model;                 /* 1 if the id is in the BPE model vocabulary */
    /* model vocabulary: mtext string -> id */
    int32_t *vmap; size_t vmap_cap;
    /* merges: (a, b) -> rank, new id */
    exa_merge_slot *merges; size_t mcap; int n_merges;
    int32_t byte_id[256];              /* token of each single byte (-1: not in vocabulary) */
    /* added tokens */
    exa_added_token *added; int n_added; char *added_text;
    exa_trie trie_raw, trie_norm;      /* non-normalized / normalized tokens */
    /* pipeline options */
    int digits;                        /* 0: none, 1: individual digits, 2: contiguous runs */
    int bl_regex;                      /* ByteLevel use_regex */
    int bl_prefix_space;               /* ByteLevel add_prefix_space */
    int ignore_merges;
    int32_t *post_prefix; int n_post_prefix;   /* ids added by add_special */
    int32_t *post_suffix; int n_post_suffix;
    int32_t bos_id, eos_id, pad_id, unk_id;
    int fuse_unk;
    int pretok_kind;                   /* exa_pretok actually in use */
    exa_word_cache cache;
};

/* What the loaders (tokenizer.json, vocab.json + merges.txt, the trainer) hand to
 * exa_tokenizer_build: model vocabulary (id -> string, NULL = hole), merges as pairs of strings,
 * added tokens with their flags, pipeline options. Strings are borrowed. */
typedef struct exa_added_spec {
    const char *content; int32_t id; uint8_t special, lstrip, rstrip, single_word, normalized;
} exa_added_spec;

typedef struct exa_tok_spec {
    const char **vocab; int n_vocab;
    const char **merge_a, **merge_b; int n_merges;
    const exa_added_spec *added; int n_added;
    int digits, bl_regex, bl_prefix_space, ignore_merges;
    const char *unk_token;            /* NULL: none */
    int fuse_unk;
    const char *post_prefix[4]; int n_post_prefix;   /* token strings added by add_special */
    const char *post_suffix[4]; int n_post_suffix;
    const char *bos, *eos, *pad;      /* token strings from the config (NULL: unknown) */
    int pretok_kind;
} exa_tok_spec;

/* GPT-2 byte <-> unicode tables */
extern const uint16_t exa_byte_to_unicode[256];
int exa_unicode_to_byte(uint32_t cp); /* -1 if not in the table */

/* Splits text[0..n) into pre-tokenizer pieces (after added-token splitting) and calls fn for each. */
typedef void (*exa_piece_fn)(void *user, const uint8_t *s, size_t n);
void exa_pretokenize(int digits, int use_regex, const uint8_t *s, size_t n, exa_piece_fn fn, void *user);

/* Builds a tokenizer from a spec; `what` names the source in error messages. */
exa_status exa_tokenizer_build(const exa_tok_spec *spec, const char *what, exa_tokenizer **out, char *err,
                               size_t err_size);

/* Parsers behind exa_tokenizer_load (memory in, for the fuzz targets too). config may be NULL. */
exa_status exa_tokenizer_from_json(const char *json, size_t len, const char *config, size_t config_len,
                                   const char *what, exa_tokenizer **out, char *err, size_t err_size);
exa_status exa_tokenizer_from_files(const char *vocab_json, size_t vocab_len, const char *merges, size_t merges_len,
                                    const char *config, size_t config_len, int pretok, const char *what,
                                    exa_tokenizer **out, char *err, size_t err_size);

/* GGUF tokenizer metadata (tokenizer_gguf.c). present: the file has a vocabulary (tokenizer.ggml.tokens,
 * or a tokenizer.ggml.model other than none/no_vocab). pretok != AUTO overrides tokenizer.ggml.pre. */
struct exa_gguf;
int exa_tokenizer_gguf_present(const struct exa_gguf *g);
exa_status exa_tokenizer_from_gguf(const struct exa_gguf *g, exa_pretok pretok, exa_tokenizer **out, char *err,
                                   size_t err_size);
/* EXAONE names for bos/eos/pad ([BOS], [|endofturn|], [PAD]) among the added tokens when the
 * source names none (tokenizer_load.c) */
void exa_tok_spec_default_special(exa_tok_spec *sp);

/* Encodes into a growable array (*ids malloc'd by the callee). */
exa_status exa_tokenizer_encode_vec(const exa_tokenizer *t, const char *text, size_t len, int add_special,
                                    int32_t **ids, size_t *n);

#endif
