// hf_encode.js — the Hugging Face `tokenizers` side of the tokenizer parity test and benchmark.
// Reads records "<len>\n<bytes>" (bytes decoded to a JS string as UTF-8 with U+FFFD replacement),
// encodes each with the given tokenizer.json (add_special_tokens = true), writes one line of
// space-separated ids per record.   usage: node hf_encode.js TOKENIZER_JSON CORPUS OUT
// bench mode: node hf_encode.js TOKENIZER_JSON CORPUS --bench REPEATS  (all records in one
// encodeBatch call per pass, REPEATS passes; prints the median seconds of a pass as JSON)
'use strict';
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

function records(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const nl = buf.indexOf(10, i);
    const n = parseInt(buf.toString('latin1', i, nl), 10);
    out.push(buf.subarray(nl + 1, nl + 1 + n).toString('utf8'));
    i = nl + 1 + n;
  }
  return out;
}

async function main() {
  const [tokPath, corpus, outPath, reps] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  if (outPath === '--bench') {
    const recs = records(fs.readFileSync(corpus));
    const bytes = recs.reduce((a, r) => a + Buffer.byteLength(r), 0);
    const times = [];
    let n = 0;
    for (let r = 0; r < Number(reps || 5); r++) {
      const t0 = process.hrtime.bigint();
      // one encodeBatch call: the Rust core does the work, the JS binding overhead is paid once;
      // with RAYON_NUM_THREADS=1 it is single-threaded
      const encs = await tok.encodeBatch(recs, { addSpecialTokens: false });
      n = encs.reduce((a, e) => a + e.getLength(), 0);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ median_s: times[times.length >> 1], tokens: n, bytes }));
    return;
  }
  const recs = records(fs.readFileSync(corpus));
  const lines = [];
  const B = 512;
  for (let i = 0; i < recs.length; i += B) {
    const encs = await tok.encodeBatch(recs.slice(i, i + B), { addSpecialTokens: true });
    for (const e of encs) lines.push(e.getIds().join(' '));
  }
  fs.writeFileSync(outPath, lines.join('\n') + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
