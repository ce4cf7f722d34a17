// hf_train.js — trains a byte-level BPE with Hugging Face `tokenizers` (its default BpeTrainer:
// vocab 30000, min_frequency 0, no special tokens, alphabet from the data) using the EXAONE 4.0
// pre-tokenizer, and saves tokenizer.json; the tokenizer trainer test compares our trainer's
// vocabulary and merges with it.   usage: node hf_train.js TEXT_FILE OUT_JSON
'use strict';
const { Tokenizer } = require('@anush008/tokenizers');
const [file, out] = process.argv.slice(2);
const tok = Tokenizer.fromString(JSON.stringify({
  version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
           fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [] },
}));
tok.train([file]);
tok.save(out, false);
