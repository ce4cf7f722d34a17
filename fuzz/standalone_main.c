/* standalone_main.c — runs a libFuzzer target without libFuzzer: replays every file of the seed
 * corpus folder given on the command line, then deterministic mutations of each (bit flips,
 * truncations, byte insertions), so ctest + ASan/UBSan exercise the parser on hostile input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}

static void run_mutations(const uint8_t *buf, size_t n, int rounds) {
    LLVMFuzzerTestOneInput(buf, n);
    uint8_t *m = malloc(n + 64);
    if (!m) return;
    for (int r = 0; r < rounds; r++) {
        size_t len = n;
        memcpy(m, buf, n);
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = (size_t)(rng() % len);
            switch (rng() % 5) {
            case 0: m[at] ^= (uint8_t)(1u << (rng() % 8)); break;
            case 1: m[at] = (uint8_t)rng(); break;
            case 2: len = at; break;                                    /* truncate */
            case 3: if (len < n + 60) { memmove(m + at + 1, m + at, len - at); m[at] = (uint8_t)rng(); len++; } break;
            case 4: m[at] = "\"{}[],:0\\\xff\x00"[rng() % 12]; break;
            }
        }
        LLVMFuzzerTestOneInput(m, len);
    }
    free(m);
}

int main(int argc, char **argv) {
    int files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) { fprintf(stderr, "cannot open corpus folder %s\n", argv[a]); return 1; }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            FILE *f = fopen(path, "rb");
            if (!f) continue;
            fseek(f, 0, SEEK_END);
            long sz = ftell(f);
            fseek(f, 0, SEEK_SET);
            if (sz < 0 || sz > (1 << 24)) { fclose(f); continue; }
            uint8_t *buf = malloc((size_t)sz + 1);
            if (buf && fread(buf, 1, (size_t)sz, f) == (size_t)sz) { run_mutations(buf, (size_t)sz, 2000); files++; }
            free(buf);
            fclose(f);
        }
        closedir(d);
    }
    printf("replayed %d corpus files with mutations: no crash\n", files);
    return files > 0 ? 0 : 1;
}
